"""`skinbot evaluate`: measure the *served* model (the LiteRT file the card names, with the card's temperatures
and thresholds, through the serving decode and preprocessing) on held-out test sets, write `models/report/` and
the card's `metrics`.

The Kaggle test split is reported twice: whole (comparable with published numbers) and without the 97 files whose
lesion also appears in the train split. This is the only place the Kaggle test split is read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.card import ModelCard, load_card
from skinbot.config import Config
from train import datasets
from train.calibrate import sigmoid
from train.datasets import Sample
from train.features import model_input
from train.gate import gate_splits
from train.lesion import pad_split
from train.litert import LiteRTRunner
from train.metrics import confusion, expected_calibration_error, roc_auc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scored:
    """Model outputs for one test set: calibrated probabilities of both heads, with the samples."""

    name: str
    samples: list[Sample]
    lesion_probs: np.ndarray
    gate_probs: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=np.float64)

    def subset(self, name: str, keep: Sequence[bool]) -> Scored:
        mask = np.asarray(keep, dtype=bool)
        return Scored(name, [s for s, k in zip(self.samples, mask, strict=True) if k], self.lesion_probs[mask],
                      self.gate_probs[mask])


def score(card: ModelCard, runner: LiteRTRunner, samples: list[Sample], name: str, batch: int = 32) -> Scored:
    """Run the served model on `samples` (clean inputs, exactly as serving prepares a photo)."""
    gate, lesion = [], []
    for i in range(0, len(samples), batch):
        images = np.stack([model_input(s, card.input_size, 0, 0) for s in samples[i:i + batch]])
        out = runner(images.astype(np.float32))
        gate.append(out[card.gate_output].ravel())
        lesion.append(out[card.lesion_output].ravel())
    log.info("scored %s: %d images", name, len(samples))
    return Scored(name, samples, sigmoid(np.concatenate(lesion) / card.lesion_temperature),
                  sigmoid(np.concatenate(gate) / card.gate_temperature))


def lesion_metrics(scored: Scored, card: ModelCard) -> dict[str, Any]:
    """Accuracy, balanced accuracy, ROC AUC, ECE, and sensitivity/specificity/confusion at 0.5, refer and high."""
    y, p = scored.labels, scored.lesion_probs
    out: dict[str, Any] = {"n": len(y), "malignant": int(y.sum()), "roc_auc": roc_auc(y, p),
                           "ece": expected_calibration_error(y, p)}
    for key, threshold in (("0_5", 0.5), ("refer", card.thresholds.refer), ("high", card.thresholds.high)):
        c = confusion(y, p, threshold)
        out[f"sensitivity_{key}"] = c.sensitivity
        out[f"specificity_{key}"] = c.specificity
        out[f"confusion_{key}"] = {"tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn}
        if key == "0_5":
            out["accuracy"] = c.accuracy
            out["balanced_accuracy"] = c.balanced_accuracy
    return out


def test_sets(config: Config) -> dict[str, list[Sample]]:
    """Every held-out set, by name."""
    root, tc = config.data.root, config.train
    extra_test = gate_splits(root, tc.val_fraction, tc.seed).test
    sets = {
        "kaggle_test": datasets.kaggle(root, "test"),
        "ph2": datasets.ph2(root),
        "pad_ufes_20_test": pad_split(root, tc.seed)[1],
        "clinical_test": [s for s in extra_test if s.source.startswith("clinical")],
        "not_skin_test": [s for s in extra_test if s.source.startswith("not_skin")],
        "healthy_skin_test": [s for s in extra_test if s.source == "healthy_skin"],
    }
    if "ph2" in tc.lesion_sources:
        del sets["ph2"]  # not held out then
    return sets


def evaluate(config: Config, report_dir: Path) -> dict[str, Any]:
    """Score every test set, write the report, and store the metrics in the model card."""
    card = load_card(config.models.card_path)
    sets = test_sets(config)
    runner = LiteRTRunner(card.file("model").read_bytes(), num_threads=2)
    scored = {name: score(card, runner, samples, name) for name, samples in sets.items()}
    leaked = datasets.kaggle_leaked_test_files(config.data.root)
    kaggle = scored["kaggle_test"]
    rel = [f"test/{s.path.parent.name}/{s.path.name}" for s in kaggle.samples]
    scored["kaggle_test_leak_free"] = kaggle.subset("kaggle_test_leak_free", [r not in leaked for r in rel])
    gate_t = card.thresholds.gate
    metrics: dict[str, Any] = {
        "lesion": {name: lesion_metrics(scored[name], card)
                   for name in ("kaggle_test", "kaggle_test_leak_free", "ph2", "pad_ufes_20_test") if name in scored},
        "gate": {
            "threshold": gate_t,
            "acceptance": {n: float(np.mean(scored[n].gate_probs >= gate_t))
                           for n in ("kaggle_test", "ph2", "pad_ufes_20_test", "clinical_test") if n in scored},
            "rejection": {n: float(np.mean(scored[n].gate_probs < gate_t))
                          for n in ("not_skin_test", "healthy_skin_test")},
            "rejection_by_category": _rejection_by_category(scored["not_skin_test"], gate_t),
        },
        "model_version": card.version,
    }
    from train.report import write_report

    write_report(config, card, scored, metrics, report_dir)
    raw = dict(card.raw)
    raw["metrics"] = metrics
    config.models.card_path.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n")
    return metrics


def _rejection_by_category(scored: Scored, threshold: float) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for source in sorted({s.source for s in scored.samples}):
        mask = np.array([s.source == source for s in scored.samples])
        out[source.removeprefix("not_skin_")] = {"n": int(mask.sum()),
                                                  "rejected": float(np.mean(scored.gate_probs[mask] < threshold))}
    return out
