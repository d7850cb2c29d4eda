"""A tiny LiteRT model with the served model's signature, and its model card, for tests of serving code.

The model computes simple, known functions of the image, so tests can check every number the pipeline derives:
    gate_logit   = 20 * (mean red - mean blue) / 255 - 1      (reddish photos count as skin; grey ones do not)
    lesion_logit = 10 * (0.5 - mean brightness / 255)          (darker photos score as more suspicious)
The gate head is shaped (N, 1) and the lesion head (N,), as exported heads may be either.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from inference.card import sha256_file
from skinbot.config import Config, load_config

SIZE = 224
GATE_TEMPERATURE = 1.0
LESION_TEMPERATURE = 2.0
THRESHOLDS = {"gate": 0.5, "refer": 0.2, "high": 0.7}
REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "images"


def expected_logits(model_input: np.ndarray) -> tuple[float, float]:
    """What the test model returns for one (SIZE, SIZE, 3) input, computed independently in numpy."""
    x = model_input.astype(np.float64) / 255.0
    red, blue = x[..., 0].mean(), x[..., 2].mean()
    return 20.0 * (red - blue) - 1.0, 10.0 * (0.5 - x.mean())


def build_model(path: Path) -> None:
    import tensorflow as tf  # only tests and training import TensorFlow; serving never does

    class Tiny(tf.Module):  # type: ignore[misc]
        @tf.function(  # type: ignore[untyped-decorator]
            input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32, name="image")]
        )
        def serve(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
            x = image / 255.0
            channel_means = tf.reduce_mean(x, axis=[1, 2])  # (N, 3)
            gate = 20.0 * (channel_means[:, 0:1] - channel_means[:, 2:3]) - 1.0
            lesion = 10.0 * (0.5 - tf.reduce_mean(channel_means, axis=1))
            return {"gate_logit": gate, "lesion_logit": lesion}

    module = Tiny()
    saved = path.parent / "saved_model"
    tf.saved_model.save(module, str(saved), signatures={"serving_default": module.serve})
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serving_default"])
    path.write_bytes(converter.convert())
    shutil.rmtree(saved)


def write_card(directory: Path, model_name: str = "skinbot.tflite", **changes: object) -> Path:
    card = {
        "format": "skinbot-model-card/1",
        "version": "test-0.1",
        "created": "2026-11-23T00:00:00Z",
        "backbone": "tiny-test",
        "input": {"size": SIZE, "color": "RGB", "dtype": "float32", "range": [0, 255]},
        "files": [{"role": "model", "path": model_name, "sha256": sha256_file(directory / model_name)}],
        "outputs": {"gate": "gate_logit", "lesion": "lesion_logit"},
        "calibration": {"method": "temperature", "gate_temperature": GATE_TEMPERATURE,
                        "lesion_temperature": LESION_TEMPERATURE},
        "thresholds": THRESHOLDS,
        "metrics": {"test_accuracy": 0.5},
        "limitations": ["a test model"],
        **changes,
    }
    path = directory / "model_card.json"
    path.write_text(json.dumps(card), encoding="utf-8")
    return path


def make_model_dir(directory: Path) -> Path:
    """Build the test model and its card in `directory`."""
    build_model(directory / "skinbot.tflite")
    write_card(directory)
    return directory


def config_for(model_dir: Path, workers: int = 2, **inference: object) -> Config:
    """The repository config, serving the model in `model_dir`, with `inference` settings overridden."""
    overrides: dict[str, dict[str, object]] = {
        "models": {"dir": str(model_dir)}, "inference": {"workers": workers, **inference}
    }
    return load_config(REPO / "config.yaml", env={}, overrides=overrides)
