"""The original design, timed for `skinbot bench`: two Keras VGG16 passes per photo (random weights)."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence


def baseline_seconds_per_photo(photos: Sequence[bytes]) -> float:
    """The original design: per photo, decode + resize + two Keras VGG16 passes (TensorFlow on every core)."""
    import keras
    import numpy as np
    from PIL import Image

    models = [keras.applications.VGG16(weights=None) for _ in range(2)]  # random weights: timing only

    def one(photo: bytes) -> None:
        with Image.open(io.BytesIO(photo)) as image:
            pixels = np.asarray(image.convert("RGB").resize((224, 224)), dtype=np.float32)
        batch = keras.applications.vgg16.preprocess_input(pixels[np.newaxis])
        for model in models:
            model(batch, training=False)

    one(photos[0])  # warm-up: graph tracing and allocation are not the steady state
    start = time.perf_counter()
    for photo in photos:
        one(photo)
    return (time.perf_counter() - start) / len(photos)
