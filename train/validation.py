"""Scores of the network on the validation split after each epoch, and the score that selects the best epoch.

Malignancy is scored per modality on lesions with a known label (rashes and not-skin photos excluded), because a
model can look good overall by telling dermoscopic from phone photos; the selection score is the mean of the two
modality AUCs, so phone-photo performance weighs as much as dermoscopic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.judge import sigmoid
from train import datasets
from train.datasets import MODALITIES, UNKNOWN, Sample
from train.metrics import roc_auc

RASH = datasets.type_index("rash")


def malignancy_mask(samples: list[Sample], modality: str | None = None) -> np.ndarray:
    """Lesion photos (not rashes, not not-skin) with a known malignancy label, optionally of one modality."""
    return np.array([s.is_lesion and s.label != UNKNOWN and s.kind != RASH
                     and (modality is None or s.modality == modality) for s in samples])


def balanced_type_accuracy(kinds: np.ndarray, predicted: np.ndarray) -> float:
    """Mean per-class recall over the types present."""
    recalls = [float(np.mean(predicted[kinds == k] == k)) for k in np.unique(kinds)]
    return float(np.mean(recalls)) if recalls else float("nan")


@dataclass(frozen=True)
class ValidationScores:
    """Uncalibrated validation metrics of one epoch."""

    auc: dict[str, float]  # malignancy ROC AUC by modality
    gate_auc: float
    type_balanced_accuracy: float

    @property
    def selection(self) -> float:
        """The model-selection score: mean malignancy AUC over modalities."""
        return float(np.mean(list(self.auc.values())))

    def flat(self) -> dict[str, float]:
        """One flat dict (for the history CSV)."""
        return {**{f"val_auc_{m}": v for m, v in self.auc.items()}, "val_gate_auc": self.gate_auc,
                "val_type_balanced_accuracy": self.type_balanced_accuracy, "val_selection": self.selection}

    def summary(self) -> str:
        """A short log line."""
        return " ".join(f"{k.removeprefix('val_')}={v:.4f}" for k, v in self.flat().items())


def score_validation(val: list[Sample], logits: dict[str, np.ndarray]) -> ValidationScores:
    """Score validation logits (keyed by the network's output names)."""
    labels = np.array([s.label for s in val])
    malignancy = sigmoid(logits["lesion_logit"].ravel())
    auc = {m: roc_auc(labels[mask], malignancy[mask]) for m in MODALITIES
           if (mask := malignancy_mask(val, m)).any() and len(set(labels[mask])) == 2}
    is_lesion = np.array([s.is_lesion for s in val], dtype=np.float64)
    gate_auc = roc_auc(is_lesion, logits["gate_logit"].ravel()) if len(set(is_lesion)) == 2 else float("nan")
    kinds = np.array([s.kind for s in val])
    known = kinds != UNKNOWN
    predicted = np.argmax(logits["type_logits"], axis=1)
    return ValidationScores(auc, gate_auc, balanced_type_accuracy(kinds[known], predicted[known]))
