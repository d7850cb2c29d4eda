"""Temperature scaling and threshold choice."""

import numpy as np
import pytest

from inference.judge import sigmoid
from train.calibrate import fit_temperature, threshold_for_sensitivity, threshold_for_specificity
from train.metrics import confusion


def test_sigmoid_is_stable_and_symmetric():
    x = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    s = sigmoid(x)
    assert np.all(np.isfinite(s))
    assert s[2] == 0.5 and s[0] == 0.0 and s[4] == 1.0
    assert s[1] + s[3] == pytest.approx(1.0)


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 2, 20000)
    labels = (rng.random(20000) < sigmoid(true_logits)).astype(float)
    # A model three times too confident: its best temperature is about 3.
    assert fit_temperature(3 * true_logits, labels) == pytest.approx(3.0, rel=0.08)
    assert fit_temperature(true_logits, labels) == pytest.approx(1.0, rel=0.08)


@pytest.mark.parametrize("target", [0.8, 0.95, 1.0])
def test_sensitivity_threshold_is_the_highest_that_meets_the_target(target):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 500)
    probs = np.clip(rng.random(500) * 0.6 + 0.3 * labels, 0, 1)
    t = threshold_for_sensitivity(labels, probs, target)
    assert confusion(labels, probs, t).sensitivity >= target
    higher = np.min(probs[probs > t]) if np.any(probs > t) else 1.1
    assert confusion(labels, probs, higher).sensitivity < target


def test_specificity_threshold_meets_the_target():
    labels = np.array([0, 0, 0, 0, 1, 1])
    probs = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.95])
    t = threshold_for_specificity(labels, probs, 0.75)
    assert 0.3 < t <= 0.8
    assert confusion(labels, probs, t).specificity >= 0.75
    with pytest.raises(ValueError):
        threshold_for_sensitivity(np.zeros(3), np.ones(3), 0.9)


def test_confidence_threshold_keeps_the_wanted_precision():
    from train.calibrate import confidence_threshold

    confidence = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, True, False, True, False])
    # >= 0.6: 4 of 5 right (0.8); >= 0.5: 4 of 6. The lowest threshold keeping precision 0.8 is 0.6.
    assert confidence_threshold(correct, confidence, 0.8) == 0.6
    assert confidence_threshold(correct, confidence, 1.0) == 0.8
    assert confidence_threshold(np.zeros(3, bool), confidence[:3], 0.5) == 1.0  # never right: never shown
