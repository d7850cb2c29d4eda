"""The confident-reject thresholds: the degradations really trigger their quality issue, and the choice is pure."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.judge import GATE_UNRELIABLE
from inference.pipeline import prepare
from skinbot.config import load_config
from train.augment import jpeg_bytes
from train.confident_reject import DEGRADATIONS, JPEG_QUALITY, WORKING_SIDE, thresholds

FIXTURES = Path(__file__).parents[1] / "fixtures" / "images"
INPUT_SIZE = 224


def test_there_is_one_degradation_per_issue_that_makes_the_gate_unreliable():
    assert set(DEGRADATIONS) == GATE_UNRELIABLE


# Blurring does not make every photo blurry enough to be flagged (1687 of 2178 validation lesion photos were), which
# is why only flagged photos are scored; these two are.
CASES = [(issue, photo) for issue in ("too_dark", "too_small")
         for photo in ("benign_1.jpg", "benign_10.jpg", "malignant_1.jpg", "malignant_3.jpg")]
CASES += [("blurry", "benign_1.jpg"), ("blurry", "benign_10.jpg")]


@pytest.mark.parametrize(("issue", "photo"), CASES)
def test_each_degradation_makes_serving_flag_its_issue(issue, photo):
    config = load_config(None)
    image = Image.open(FIXTURES / photo).convert("RGB")
    image.thumbnail((WORKING_SIDE, WORKING_SIDE))
    assert issue not in prepare(jpeg_bytes(image, JPEG_QUALITY), INPUT_SIZE, config.inference, config.quality).issues
    degraded = DEGRADATIONS[issue](image, INPUT_SIZE)
    prepared = prepare(jpeg_bytes(degraded, JPEG_QUALITY), INPUT_SIZE, config.inference, config.quality)
    assert prepared.model_input is not None
    assert issue in prepared.issues


def test_a_threshold_lets_at_most_the_given_share_of_degraded_lesions_below_it():
    scores = {"blurry": np.linspace(0.0, 0.99, 1000)}
    chosen = thresholds(scores, 0.01, ceiling=1.0)
    below = np.mean(scores["blurry"] < chosen["blurry"])
    assert below <= 0.01
    assert below > 0.005  # as high as the share allows, not a timid lower value


def test_a_threshold_never_exceeds_the_gate_threshold():
    chosen = thresholds({"too_dark": np.linspace(0.5, 1.0, 100)}, 0.2, ceiling=0.4)
    assert chosen == {"too_dark": 0.4}


def test_an_issue_no_degraded_photo_was_flagged_with_gets_no_threshold():
    chosen = thresholds({"too_small": np.zeros(0), "blurry": np.array([0.3, 0.6])}, 0.0, ceiling=0.9)
    assert chosen == {"blurry": 0.3}
