"""The shipped LiteRT model agrees with the same network in Keras, on fixture images through serving's decode."""

from pathlib import Path

import numpy as np

from inference.card import load_card
from inference.decode import decode
from inference.preprocess import to_model_input
from inference.runtime import BatchRunner
from train.export import PARITY_TOLERANCE, probability_diff
from train.model import ServingNet, SkinbotNet

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "fixtures" / "images"


def _fixture_inputs(size):
    images = []
    for path in sorted(IMAGES.glob("*.jpg")):
        decoded = decode(path.read_bytes())
        assert decoded.image is not None
        images.append(to_model_input(decoded.image, size))
    return np.stack(images).astype(np.float32)


def test_shipped_litert_model_matches_keras_on_every_output():
    card = load_card(ROOT / "models" / "model_card.json")  # also verifies both files' SHA-256
    net = SkinbotNet(card.backbone, card.input_size, len(card.lesion_types), weights=None)
    net.load_weights(str(card.file("keras_weights")))
    images = _fixture_inputs(card.input_size)
    keras_out = {k: np.asarray(v) for k, v in ServingNet(net).predict(images, verbose=0).items()}
    runner = BatchRunner(card)
    lite_out = runner.run(images)
    runner.close()
    assert set(keras_out) == set(lite_out)
    assert probability_diff(keras_out, lite_out) < PARITY_TOLERANCE
