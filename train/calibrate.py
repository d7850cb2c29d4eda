"""Calibration (temperature scaling) and the choice of decision thresholds, both on validation data only."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    # tanh form: no overflow for large |x|.
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64))))


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    # log(1 + exp(-|z|)) + max(z, 0) - y z  == binary cross-entropy from logits
    return float(np.mean(np.logaddexp(0.0, z) - labels * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of sigmoid(logit / T) (golden-section search
    on log T in [0.05, 20]; the NLL is unimodal in T)."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _nll(z, y, np.exp(a)), _nll(z, y, np.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _nll(z, y, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _nll(z, y, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def threshold_for_sensitivity(labels: np.ndarray, probs: np.ndarray, sensitivity: float) -> float:
    """The highest threshold t such that at least `sensitivity` of positives have prob >= t."""
    positives = np.sort(np.asarray(probs, dtype=np.float64)[np.asarray(labels).astype(bool)])
    if positives.size == 0:
        raise ValueError("no positive examples to choose a sensitivity threshold on")
    # Allowed misses: floor((1 - s) * n); the threshold is the score of the first positive that must be caught.
    misses = int(np.floor((1.0 - sensitivity) * positives.size + 1e-9))
    return float(positives[misses])


def threshold_for_specificity(labels: np.ndarray, probs: np.ndarray, specificity: float) -> float:
    """The lowest threshold t such that at least `specificity` of negatives have prob < t."""
    negatives = np.sort(np.asarray(probs, dtype=np.float64)[~np.asarray(labels).astype(bool)])
    if negatives.size == 0:
        raise ValueError("no negative examples to choose a specificity threshold on")
    keep = int(np.ceil(specificity * negatives.size - 1e-9))  # negatives that must fall below t
    if keep == 0:
        return float(negatives[0])
    return float(np.nextafter(negatives[keep - 1], np.inf))
