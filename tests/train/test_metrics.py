"""Metric functions against values computed by hand."""

import numpy as np
import pytest

from train.metrics import confusion, expected_calibration_error, reliability, roc_auc, roc_curve

LABELS = np.array([0, 0, 1, 1, 0, 1])
SCORES = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.9])


def test_confusion_counts_and_rates():
    c = confusion(LABELS, SCORES, 0.5)
    # predicted positive: 0.8 (y=1), 0.7 (y=0), 0.9 (y=1)
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 2, 1)
    assert c.sensitivity == pytest.approx(2 / 3)
    assert c.specificity == pytest.approx(2 / 3)
    assert c.accuracy == pytest.approx(4 / 6)
    assert c.balanced_accuracy == pytest.approx(2 / 3)


def test_roc_auc_by_pair_counting():
    # Positive/negative pairs ranked correctly: 0.35 beats 0.1 only (1 of 3); 0.8 beats all 3; 0.9 beats all 3.
    assert roc_auc(LABELS, SCORES) == pytest.approx(7 / 9)


def test_roc_auc_ties_count_half_and_extremes():
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert roc_auc(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.9])) == 1.0
    assert roc_auc(np.array([1, 1, 0]), np.array([0.1, 0.2, 0.9])) == 0.0
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))


def test_roc_curve_area_matches_auc():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.5 * y, 2)  # rounded: many ties
    fpr, tpr, thresholds = roc_curve(y, s)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert np.all(np.diff(thresholds[1:]) < 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(y, s))


def test_expected_calibration_error_by_hand():
    labels = np.array([1, 0, 1, 1])
    probs = np.array([0.05, 0.05, 0.95, 0.95])
    # bin 0: mean p 0.05, freq 0.5 -> |0.45| * 2; bin 9: p 0.95, freq 1 -> 0.05 * 2; total / 4
    assert expected_calibration_error(labels, probs) == pytest.approx((0.9 + 0.1) / 4)
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0
    _, freq, count = reliability(labels, probs)
    assert count.tolist() == [2, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert freq[0] == 0.5 and np.isnan(freq[5])
