"""A tiny LiteRT model with the served model's signature, and its model card, for tests of serving code.

The model computes simple, known functions of the image x (RGB scaled to 0..1), so tests can check every number
the pipeline derives against `expected_outputs`, an independent numpy version:
    gate_logit     = 20 * (mean red - mean blue) - 1               (reddish photos count as skin; grey ones do not)
    lesion_cam     = 10 * (0.5 - mean grey of each 32x32 block)   (7x7; darker regions weigh towards "malignant")
    lesion_logit   = mean of lesion_cam = 10 * (0.5 - mean grey)  (as the real model's CAM averages to its logit)
    type_logits    = TYPE_WEIGHTS @ (mean red, mean green, mean blue, 1)   (very red photos look like a rash)
    modality_logit = 12 * (mean grey of the 32-px border - 0.35)  (a dark vignette, as dermoscopes leave, reads as
                                                                   dermoscopic; an evenly lit frame as a phone photo)
Grey is the mean of the three channels. The gate, modality and type heads are shaped (N, 1) / (N, 8), the lesion
head (N,), as exported heads may be either.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from inference.card import CARD_FILE, ModelCard, ModelFile, RiskCalibration, sha256_file, write_card
from skinbot.config import Config, load_config

SIZE = 224
CAM_SIDE = 7
BLOCK = SIZE // CAM_SIDE
BORDER = 32
LESION_TYPES = ("nevus", "melanoma", "bcc", "ak_scc", "keratosis", "dermatofibroma", "vascular", "rash")
TYPE_WEIGHTS = np.array([  # columns: mean red, mean green, mean blue, bias
    [2.0, 1.0, -1.0, 0.0],
    [-3.0, -2.0, 0.0, 2.0],
    [1.0, 2.0, 1.0, -2.0],
    [2.0, -1.0, 1.0, -1.0],
    [0.0, 1.0, -1.0, 0.5],
    [1.0, 0.0, 1.0, -0.5],
    [4.0, -3.0, 2.0, -1.0],
    [14.0, -14.0, -4.0, 0.0],
])
GATE_TEMPERATURE = 1.0
GATE_THRESHOLD = 0.5
MODALITY_THRESHOLD = 0.5
RASH_THRESHOLD = 0.6
# Deliberately different per modality, so tests can tell which one was used.
CALIBRATION = {
    "dermoscopic": RiskCalibration(temperature=2.0, refer=0.2, high=0.7),
    "clinical": RiskCalibration(temperature=1.0, refer=0.35, high=0.8),
}
REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "images"


def expected_outputs(model_input: np.ndarray) -> dict[str, np.ndarray]:
    """What the test model returns for one (SIZE, SIZE, 3) input, computed independently in numpy (float64)."""
    x = model_input.astype(np.float64) / 255.0
    red, green, blue = (x[..., c].mean() for c in range(3))
    grey = x.mean(axis=2)
    blocks = grey.reshape(CAM_SIDE, BLOCK, CAM_SIDE, BLOCK).mean(axis=(1, 3))
    border = np.ones((SIZE, SIZE), dtype=bool)
    border[BORDER:-BORDER, BORDER:-BORDER] = False
    return {
        "gate_logit": np.array(20.0 * (red - blue) - 1.0),
        "lesion_logit": np.array(10.0 * (0.5 - grey.mean())),
        "type_logits": TYPE_WEIGHTS @ np.array([red, green, blue, 1.0]),
        "modality_logit": np.array(12.0 * (grey[border].mean() - 0.35)),
        "lesion_cam": 10.0 * (0.5 - blocks),
    }


def expected_judgement(outputs: dict[str, np.ndarray]) -> dict[str, Any]:
    """The test card's judging rules (inference/card.py's docstring) written out with `math` for one image's
    gate, lesion, modality and type outputs, independently of `inference.judge`."""
    def logistic(x: float) -> float:
        return 1.0 / (1.0 + math.exp(-x))

    clinical = logistic(float(outputs["modality_logit"])) >= MODALITY_THRESHOLD
    calibration = CALIBRATION["clinical" if clinical else "dermoscopic"]
    malignancy = logistic(float(outputs["lesion_logit"]) / calibration.temperature)
    exps = [math.exp(float(t)) for t in outputs["type_logits"]]
    probs = {name: e / math.fsum(exps) for name, e in zip(LESION_TYPES, exps, strict=True)}
    lesion_score = logistic(float(outputs["gate_logit"]) / GATE_TEMPERATURE)
    risk = "high" if malignancy >= calibration.high else "medium" if malignancy >= calibration.refer else "low"
    return {
        "accepted": lesion_score >= GATE_THRESHOLD,
        "lesion_score": lesion_score,
        "modality": "clinical" if clinical else "dermoscopic",
        "malignancy": malignancy,
        "risk": risk,
        "type_probs": probs,
        "lesion_type": max(probs, key=lambda k: probs[k]),
        "rash": probs["rash"] >= RASH_THRESHOLD and risk == "low",
    }


def build_model(path: Path) -> None:
    import tensorflow as tf  # only tests and training import TensorFlow; serving never does

    weights = tf.constant(TYPE_WEIGHTS.T, dtype=tf.float32)
    inner = SIZE - 2 * BORDER

    class Tiny(tf.Module):  # type: ignore[misc]
        @tf.function(  # type: ignore[untyped-decorator]
            input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32, name="image")]
        )
        def serve(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
            x = image / 255.0
            channel_means = tf.reduce_mean(x, axis=[1, 2])  # (N, 3)
            grey = tf.reduce_mean(x, axis=3)  # (N, S, S)
            gate = 20.0 * (channel_means[:, 0:1] - channel_means[:, 2:3]) - 1.0
            blocks = tf.nn.avg_pool2d(grey[..., tf.newaxis], BLOCK, BLOCK, "VALID")[..., 0]  # (N, 7, 7)
            cam = 10.0 * (0.5 - blocks)
            lesion = tf.reduce_mean(cam, axis=[1, 2])
            features = tf.concat([channel_means, tf.ones_like(channel_means[:, :1])], axis=1)
            centre = tf.reduce_sum(grey[:, BORDER:-BORDER, BORDER:-BORDER], axis=[1, 2])
            border_mean = (tf.reduce_sum(grey, axis=[1, 2]) - centre) / float(SIZE * SIZE - inner * inner)
            return {
                "gate_logit": gate, "lesion_logit": lesion, "type_logits": tf.matmul(features, weights),
                "modality_logit": 12.0 * (border_mean[:, tf.newaxis] - 0.35), "lesion_cam": cam,
            }

    module = Tiny()
    saved = path.parent / "saved_model"
    tf.saved_model.save(module, str(saved), signatures={"serving_default": module.serve})
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serving_default"])
    path.write_bytes(converter.convert())
    shutil.rmtree(saved)


def card_for(directory: Path, model_name: str = "skinbot.tflite", **changes: Any) -> ModelCard:
    """The test model's card (files hashed from `directory` unless `files` is among the `changes`)."""
    if "files" not in changes:
        changes["files"] = (ModelFile("model", model_name, sha256_file(directory / model_name)),)
    card = ModelCard(
        version="test-0.1", created="2026-12-01T00:00:00Z", backbone="tiny-test", input_size=SIZE, files=(),
        lesion_types=LESION_TYPES, gate_temperature=GATE_TEMPERATURE, gate_threshold=GATE_THRESHOLD,
        lesion_calibration=dict(CALIBRATION), rash_threshold=RASH_THRESHOLD, modality_threshold=MODALITY_THRESHOLD,
        directory=directory, metrics={"test_accuracy": 0.5}, limitations={"en": ("a test model",)},
    )
    return dataclasses.replace(card, **changes)


def write_test_card(directory: Path, model_name: str = "skinbot.tflite", **changes: Any) -> Path:
    """Write the test card (with `changes` to its fields) through the one card writer; returns its path."""
    path = directory / CARD_FILE
    write_card(card_for(directory, model_name, **changes), path)
    return path


def make_model_dir(directory: Path) -> Path:
    """Build the test model and its card in `directory`."""
    build_model(directory / "skinbot.tflite")
    write_test_card(directory)
    return directory


def config_for(model_dir: Path, workers: int = 2, **inference: object) -> Config:
    """The repository config, serving the model in `model_dir`, with `inference` settings overridden."""
    overrides: dict[str, dict[str, object]] = {
        "models": {"dir": str(model_dir)}, "inference": {"workers": workers, **inference}
    }
    return load_config(REPO / "config.yaml", env={}, overrides=overrides)
