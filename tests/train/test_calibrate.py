"""Temperature scaling and threshold choice."""

from pathlib import Path

import numpy as np
import pytest

from inference.judge import sigmoid
from train.calibrate import calibrate, fit_temperature, threshold_for_sensitivity, threshold_for_specificity
from train.datasets import LESION_TYPES, Sample
from train.metrics import confusion
from train.settings import TrainConfig


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


def _validation_set(n: int = 400, seed: int = 3):
    """Lesions of both modalities, the modality head right 80% of the time."""
    rng = np.random.default_rng(seed)
    samples, lesion, modality, gate = [], [], [], []
    for i in range(n):
        clinical = i % 2 == 1
        label = int(rng.random() < 0.4)
        kind = LESION_TYPES.index("melanoma" if label else "nevus")
        modality_name = "clinical" if clinical else "dermoscopic"
        samples.append(Sample(Path(f"{i}.jpg"), label, f"g{i}", "test", kind, modality_name))
        lesion.append(rng.normal(1.5 if label else -1.0, 1.0 + clinical))  # clinical logits: wider, less separable
        modality.append((2.0 if clinical else -2.0) * (1 if rng.random() < 0.8 else -1))
        gate.append(rng.normal(3.0, 1.0))
    types = rng.normal(0.0, 1.0, (n, len(LESION_TYPES)))
    logits = {"gate_logit": np.array(gate), "lesion_logit": np.array(lesion), "modality_logit": np.array(modality),
              "type_logits": types}
    return samples, logits


def test_reported_numbers_apply_the_thresholds_of_the_predicted_modality():
    samples, logits = _validation_set()
    cal = calibrate(samples, logits, TrainConfig())
    assert set(cal.lesion) == {"dermoscopic", "clinical"}
    for m in ("dermoscopic", "clinical"):
        index = [i for i, s in enumerate(samples) if s.modality == m]
        y = np.array([samples[i].label for i in index], dtype=bool)
        served = [cal.lesion["clinical" if logits["modality_logit"][i] > 0 else "dermoscopic"] for i in index]
        p = np.array([sigmoid(logits["lesion_logit"][i] / c.temperature) for i, c in zip(index, served, strict=True)])
        refer = np.array([c.refer for c in served])
        report = cal.validation[m]
        assert report["n"] == len(index)
        assert report["sensitivity_refer"] == pytest.approx(np.mean(p[y] >= refer[y]))
        assert report["specificity_refer"] == pytest.approx(np.mean(p[~y] < refer[~y]))
        assert report["modality_accuracy"] == pytest.approx(0.8, abs=0.1)
