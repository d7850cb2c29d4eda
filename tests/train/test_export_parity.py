"""The shipped LiteRT model agrees with the same network in Keras, on fixture images through serving's decode."""

from pathlib import Path

import numpy as np

from inference.card import load_card
from inference.decode import decode
from inference.preprocess import to_model_input
from train.calibrate import sigmoid
from train.litert import LiteRTRunner
from train.model import SkinbotNet

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "fixtures" / "images"


def _fixture_inputs(size):
    images = []
    for path in sorted(IMAGES.glob("*.jpg")):
        decoded = decode(path.read_bytes())
        assert decoded.image is not None
        images.append(to_model_input(decoded.image, size))
    return np.stack(images).astype(np.float32)


def test_shipped_litert_model_matches_keras():
    card = load_card(ROOT / "models" / "model_card.json")  # also verifies both files' SHA-256
    net = SkinbotNet(card.backbone, card.input_size)
    net.load_weights(str(card.file("keras_weights")))
    images = _fixture_inputs(card.input_size)
    keras_out = net.predict(images, verbose=0)
    lite_out = LiteRTRunner(card.file("model").read_bytes(), num_threads=1)(images)
    for name in (card.gate_output, card.lesion_output):
        diff = np.abs(sigmoid(np.asarray(keras_out[name])) - sigmoid(lite_out[name])).max()
        assert diff < 1e-3, (name, diff)
