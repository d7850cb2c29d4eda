"""Calibration (temperature scaling) and the choice of decision thresholds, both on validation data only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from inference.card import MODALITY_THRESHOLD, RiskCalibration
from inference.judge import calibrated_malignancy, sigmoid, softmax
from train.datasets import CLINICAL, LESION_TYPES, MALIGNANT, MALIGNANT_TYPES, MODALITIES, UNKNOWN, Sample
from train.metrics import confusion, expected_calibration_error, roc_auc
from train.settings import TrainConfig


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


@dataclass(frozen=True)
class Calibration:
    """Temperatures and thresholds chosen on the validation split, and what they give there."""

    gate_temperature: float
    gate_threshold: float
    lesion: dict[str, RiskCalibration]
    rash_threshold: float
    type_threshold: float
    validation: dict[str, Any]


def confidence_threshold(correct: np.ndarray, confidence: np.ndarray, precision: float) -> float:
    """The lowest confidence t such that the predictions with confidence >= t are right at least `precision` of the
    time (1.0, never shown, if no such t exists)."""
    order = np.argsort(-confidence, kind="mergesort")
    hits = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    good = np.nonzero(hits >= precision)[0]
    return float(confidence[order][good[-1]]) if good.size else 1.0


def _modality_calibration(labels: np.ndarray, logits: np.ndarray, tc: TrainConfig) -> RiskCalibration:
    temperature = fit_temperature(logits, labels)
    probs = sigmoid(logits / temperature)
    refer = threshold_for_sensitivity(labels, probs, tc.refer_sensitivity)
    high = max(refer, threshold_for_specificity(labels, probs, tc.high_specificity))
    return RiskCalibration(temperature, refer, high)


def _at_thresholds(labels: np.ndarray, probs: np.ndarray, cal: RiskCalibration) -> dict[str, float]:
    refer, high = confusion(labels, probs, cal.refer), confusion(labels, probs, cal.high)
    return {"n": int(labels.size), "roc_auc": roc_auc(labels, probs),
            "sensitivity_refer": refer.sensitivity, "specificity_refer": refer.specificity,
            "sensitivity_high": high.sensitivity, "specificity_high": high.specificity,
            "ece": expected_calibration_error(labels, probs)}


def calibrate(val: list[Sample], logits: dict[str, np.ndarray], tc: TrainConfig) -> Calibration:
    """Fit the gate's and each modality's malignancy temperature and thresholds, and the rash threshold.

    Thresholds are fitted per true modality; the numbers reported apply the thresholds of the *predicted* modality,
    as serving does. "pooled" gives the same with one calibration for all photos, for comparison."""
    from train.validation import RASH, malignancy_mask

    is_lesion = np.array([s.is_lesion for s in val], dtype=np.float64)
    gate_logits = logits["gate_logit"].ravel()
    gate_t = fit_temperature(gate_logits, is_lesion)
    gate_probs = sigmoid(gate_logits / gate_t)
    gate_threshold = threshold_for_sensitivity(is_lesion, gate_probs, tc.gate_min_lesion_acceptance)
    gate_at = confusion(is_lesion, gate_probs, gate_threshold)

    labels = np.array([s.label for s in val])
    lesion_logits = logits["lesion_logit"].ravel()
    known = malignancy_mask(val)
    lesion = {m: _modality_calibration(labels[mask], lesion_logits[mask], tc)
              for m in MODALITIES if (mask := malignancy_mask(val, m)).any()}
    pooled = _modality_calibration(labels[known], lesion_logits[known], tc)
    predicted_clinical = sigmoid(logits["modality_logit"].ravel()) >= MODALITY_THRESHOLD
    served = {m: lesion.get(m, pooled) for m in MODALITIES}  # a modality without validation lesions: pooled
    report: dict[str, Any] = {"gate": {"lesion_acceptance": gate_at.sensitivity,
                                       "non_lesion_rejection": gate_at.specificity}}
    true_modality = np.array([s.modality for s in val])
    for m in lesion:
        mask = known & (true_modality == m)
        # As serving judges: under the calibration of the predicted modality.
        per, refer, high = calibrated_malignancy(lesion_logits[mask], predicted_clinical[mask], served)
        y = labels[mask].astype(bool)
        report[m] = {
            "n": int(mask.sum()), "roc_auc": roc_auc(y, per),
            "sensitivity_refer": float(np.mean(per[y] >= refer[y])),
            "specificity_refer": float(np.mean(per[~y] < refer[~y])),
            "sensitivity_high": float(np.mean(per[y] >= high[y])),
            "specificity_high": float(np.mean(per[~y] < high[~y])),
            "modality_accuracy": float(np.mean(predicted_clinical[mask] == (m == CLINICAL))),
            "pooled_calibration": _at_thresholds(y, sigmoid(lesion_logits[mask] / pooled.temperature), pooled),
        }

    rash_probs = softmax(logits["type_logits"])[:, RASH]
    kinds = np.array([s.kind for s in val])
    malignant_lesion = known & (labels == MALIGNANT)
    rash = kinds == RASH
    both = malignant_lesion | rash
    rash_threshold = max(0.5, threshold_for_specificity(rash[both], rash_probs[both],
                                                        1.0 - tc.rash_max_malignant_share))
    report["rash"] = {"rashes_told_rash": float(np.mean(rash_probs[rash] >= rash_threshold)) if rash.any() else None,
                      "lesions_told_rash": float(np.mean(rash_probs[known] >= rash_threshold)),
                      "malignant_told_rash": float(np.mean(rash_probs[malignant_lesion] >= rash_threshold))}
    type_probs = softmax(logits["type_logits"])
    # The alternative to the malignancy head: the summed probability of the malignant types (reported, not served).
    from_types = type_probs[:, [LESION_TYPES.index(t) for t in MALIGNANT_TYPES]].sum(axis=1)
    for m in lesion:
        mask = known & (true_modality == m)
        report[m]["roc_auc_malignancy_from_types"] = roc_auc(labels[mask], from_types[mask])
    typed = kinds != UNKNOWN
    confidence = type_probs.max(axis=1)
    correct = (type_probs.argmax(axis=1) == kinds)
    type_threshold = confidence_threshold(correct[typed], confidence[typed], tc.type_min_precision)
    shown = typed & (confidence >= type_threshold)
    report["type"] = {"threshold": type_threshold, "shown": float(np.mean(shown[typed])),
                      "precision_when_shown": float(np.mean(correct[shown])) if shown.any() else None}
    return Calibration(gate_t, gate_threshold, lesion, rash_threshold, type_threshold, report)
