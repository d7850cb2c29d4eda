"""Keras model -> LiteRT flatbuffer with a named signature (export). Running it is serving's job:
`inference.runtime.BatchRunner`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import keras
import numpy as np

from inference.runtime import DEFAULT_SIGNATURE as SIGNATURE_KEY

Precision = Literal["float32", "float16", "int8"]
INPUT_NAME = "image"


def to_litert(
    model: keras.Model,
    output_names: Sequence[str],
    input_size: int,
    precision: Precision = "float32",
    representative: np.ndarray | None = None,
) -> bytes:
    """Convert `model` (float32 image input, one output per name) to a LiteRT flatbuffer whose signature
    `serving_default` takes `image` (N, size, size, 3) and returns the outputs by name.

    "int8" quantises weights and activations (float input and output), calibrated on `representative` images.
    """
    import tempfile

    import tensorflow as tf

    spec = tf.TensorSpec([None, input_size, input_size, 3], tf.float32, name=INPUT_NAME)

    def serve(image: Any) -> dict[str, Any]:
        outputs = model(image, training=False)
        if isinstance(outputs, dict):
            return {name: outputs[name] for name in output_names}
        if not isinstance(outputs, list | tuple):
            outputs = [outputs]
        return dict(zip(output_names, outputs, strict=True))

    # Through a SavedModel: the converter then freezes Keras 3 variables into constants.
    with tempfile.TemporaryDirectory() as saved:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(name=SIGNATURE_KEY, fn=serve, input_signature=[spec])
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=[SIGNATURE_KEY])
        if precision == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif precision == "int8":
            if representative is None:
                raise ValueError("int8 conversion needs representative images")
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            reps = representative.astype(np.float32)
            converter.representative_dataset = lambda: ([reps[i : i + 1]] for i in range(len(reps)))
        flatbuffer: bytes = converter.convert()
    return flatbuffer
