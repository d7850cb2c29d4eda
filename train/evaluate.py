"""`skinbot evaluate`: measure the *served* model on the held-out test sets, write `models/report/` and the card's
`metrics`.

Everything goes through serving's own code: the LiteRT file the card names, run by `inference.runtime`, judged by
`inference.judge` (per-modality calibration and thresholds, as a user's photo is), on inputs made by serving's
decode and preprocessing. Each lesion set is scored twice: as stored, and re-encoded as JPEG quality 75 (what
Telegram does to a photo), to measure how much re-compression moves the risk level. Not-skin photos also go through
the whole `Pipeline`, so the verdict order (not_skin before poor_quality) is measured as users meet it.

The Kaggle test split is reported whole (comparable with published numbers), without the 97 files whose lesion is
also in the train split, and split into its HAM10000 copies and the rest (a source detector scores well on the
first). This module and `train.splits.test_sets` are the only readers of the test splits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from inference.card import ModelCard, load_card, write_card
from inference.decode import decode
from inference.judge import Judgement, judge_batch
from inference.preprocess import to_model_input
from inference.runtime import BatchRunner
from skinbot.config import Config
from train import datasets
from train.augment import jpeg_bytes
from train.datasets import LESION_TYPES, MALIGNANT, UNKNOWN, Sample
from train.images import load_rgb
from train.metrics import confusion, expected_calibration_error, roc_auc
from train.splits import test_sets
from train.validation import RASH, malignancy_mask

log = logging.getLogger(__name__)
TELEGRAM_JPEG_QUALITY = 75
LESION_SETS = ("kaggle_test", "ph2", "derm7pt", "pad_ufes_20", "clinical")
RASH_SETS = ("clinical", "dermnet_rash")
NON_LESION_SETS = ("not_skin", "healthy_skin")


def model_input(sample: Sample, size: int, jpeg_quality: int | None = None) -> np.ndarray:
    """The served model's input for a test image, optionally after a JPEG round trip at `jpeg_quality`."""
    data = sample.path.read_bytes()
    if jpeg_quality is not None:
        data = jpeg_bytes(load_rgb(sample), jpeg_quality)  # then decoded by serving's decode, as a sent photo is
    decoded = decode(data)
    if decoded.image is None:
        raise datasets.DatasetError(f"{sample.path}: {decoded.reason}")
    return to_model_input(decoded.image, size)


@dataclass(frozen=True)
class Scored:
    """Judgements of the served model for one test set, as stored and after re-encoding (if measured)."""

    name: str
    samples: list[Sample]
    judged: list[Judgement]
    reencoded: list[Judgement]

    def lesions(self) -> Scored:
        """The lesion photos with a known malignancy label (no rashes, no not-skin photos)."""
        return self.subset(self.name, malignancy_mask(self.samples).tolist())

    def labels_and_malignancy(self) -> tuple[np.ndarray, np.ndarray]:
        """Malignancy labels and the served malignancy of every sample."""
        return (np.array([x.label for x in self.samples], dtype=np.float64),
                np.array([j.malignancy for j in self.judged], dtype=np.float64))

    def subset(self, name: str, keep: Sequence[bool]) -> Scored:
        """The same scores for a subset of the samples."""
        idx = [i for i, k in enumerate(keep) if k]
        return Scored(name, [self.samples[i] for i in idx], [self.judged[i] for i in idx],
                      [self.reencoded[i] for i in idx] if self.reencoded else [])


def score(card: ModelCard, runner: BatchRunner, samples: list[Sample], name: str, reencode: bool,
          batch: int = 32) -> Scored:
    """Run and judge the served model on `samples` (and on their JPEG q75 copies if `reencode`)."""

    def judged(quality: int | None) -> list[Judgement]:
        out: list[Judgement] = []
        for i in range(0, len(samples), batch):
            images = np.stack([model_input(s, card.input_size, quality) for s in samples[i:i + batch]])
            out += judge_batch(runner.run(images.astype(np.float32)), card)
        return out

    result = Scored(name, samples, judged(None), judged(TELEGRAM_JPEG_QUALITY) if reencode else [])
    log.info("scored %s: %d images", name, len(samples))
    return result


def lesion_metrics(scored: Scored) -> dict[str, Any]:
    """Malignancy metrics on the lesions of a set with a known label, at the served (per-modality) thresholds."""
    s = scored.lesions()
    y, p = s.labels_and_malignancy()
    referred = np.array([j.risk in ("medium", "high") for j in s.judged])
    high = np.array([j.risk == "high" for j in s.judged])
    at_half = confusion(y, p, 0.5)
    at_refer = confusion(y, referred.astype(float), 0.5)
    at_high = confusion(y, high.astype(float), 0.5)
    out: dict[str, Any] = {
        "n": len(y), "malignant": int(y.sum()), "accuracy": at_half.accuracy,
        "balanced_accuracy": at_half.balanced_accuracy, "roc_auc": roc_auc(y, p),
        "sensitivity_refer": at_refer.sensitivity, "specificity_refer": at_refer.specificity,
        "sensitivity_high": at_high.sensitivity, "specificity_high": at_high.specificity,
        "ece": expected_calibration_error(y, p),
        "served_as_clinical": float(np.mean([j.modality == "clinical" for j in s.judged])),
        "confusion_refer": {"tp": at_refer.tp, "fp": at_refer.fp, "tn": at_refer.tn, "fn": at_refer.fn},
    }
    if s.reencoded:
        q = np.array([j.malignancy for j in s.reencoded], dtype=np.float64)
        out["jpeg75"] = {
            "roc_auc": roc_auc(y, q), "auc_drop": roc_auc(y, p) - roc_auc(y, q),
            "risk_unchanged": float(np.mean([a.risk == b.risk for a, b in zip(s.judged, s.reencoded, strict=True)])),
            "mean_malignancy_shift": float(np.mean(q - p)),
        }
    return out


def type_metrics(scored: list[Scored]) -> dict[str, Any]:
    """Per-class recall and the confusion matrix of the type head over every test image with a known type."""
    truth: list[int] = []
    predicted: list[int] = []
    for s in scored:
        for sample, j in zip(s.samples, s.judged, strict=True):
            if sample.kind != UNKNOWN and j.lesion_type is not None:
                truth.append(sample.kind)
                predicted.append(LESION_TYPES.index(j.lesion_type))
    matrix = np.zeros((len(LESION_TYPES), len(LESION_TYPES)), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        matrix[t, p] += 1
    recall = {name: (float(matrix[i, i] / matrix[i].sum()) if matrix[i].sum() else None)
              for i, name in enumerate(LESION_TYPES)}
    present = [r for r in recall.values() if r is not None]
    return {"n": len(truth), "recall": recall, "balanced_accuracy": float(np.mean(present)) if present else None,
            "accuracy": float(np.trace(matrix) / max(1, matrix.sum())), "labels": list(LESION_TYPES),
            "confusion": matrix.tolist()}


def rash_metrics(scored: dict[str, Scored]) -> dict[str, Any]:
    """How many rashes are told "rash", and how many lesions (above all malignant ones) wrongly are."""
    out: dict[str, Any] = {}
    for name, s in scored.items():
        kinds = np.array([x.kind for x in s.samples])
        told = np.array([j.rash for j in s.judged])
        lesions = malignancy_mask(s.samples)
        malignant = lesions & np.array([x.label == MALIGNANT for x in s.samples])
        entry: dict[str, Any] = {
            "lesions": int(lesions.sum()), "lesions_told_rash": int((told & lesions).sum()),
            "malignant": int(malignant.sum()), "malignant_told_rash": int((told & malignant).sum())}
        if (kinds == RASH).any():
            entry["rashes"] = int((kinds == RASH).sum())
            entry["rashes_told_rash"] = int((told & (kinds == RASH)).sum())
        out[name] = entry
    return out


def gate_metrics(scored: dict[str, Scored], verdicts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Acceptance of lesion and skin-problem photos, rejection of the rest (by category), and serving verdicts."""
    accepted = {n: float(np.mean([j.accepted for j in s.judged])) for n, s in scored.items()
                if n not in NON_LESION_SETS}
    rejected = {n: float(np.mean([not j.accepted for j in scored[n].judged])) for n in NON_LESION_SETS}
    by_category: dict[str, dict[str, float]] = {}
    not_skin = scored["not_skin"]
    for source in sorted({x.source for x in not_skin.samples}):
        rows = [j for x, j in zip(not_skin.samples, not_skin.judged, strict=True) if x.source == source]
        by_category[source.removeprefix("not_skin_")] = {"n": len(rows),
                                                          "rejected": float(np.mean([not j.accepted for j in rows]))}
    return {"acceptance": accepted, "rejection": rejected, "rejection_by_category": by_category,
            "not_skin_verdicts": verdicts}


def pipeline_verdicts(config: Config, samples: list[Sample]) -> dict[str, int]:
    """Statuses that the whole serving pipeline (quality checks and verdict order included) gives these photos."""
    from inference.pipeline import Pipeline

    counts: dict[str, int] = {}
    with Pipeline.from_config(config) as pipeline:
        for s in samples:
            status = pipeline.analyze(s.path.read_bytes()).status
            counts[status] = counts.get(status, 0) + 1
    return counts


def _json_safe(value: Any) -> Any:
    """NaN (a metric undefined on a set, e.g. AUC with one class) becomes None: JSON has no NaN."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def evaluate(config: Config, report_dir: Path) -> dict[str, Any]:
    """Score every test set, write the report, and store the metrics in the model card."""
    card = load_card(config.models.card_path)
    root = config.data.root
    sets = test_sets(root)
    runner = BatchRunner(card, threads=2)
    try:
        scored = {name: score(card, runner, samples, name, reencode=name in LESION_SETS)
                  for name, samples in sets.items()}
    finally:
        runner.close()
    kaggle = scored["kaggle_test"]
    rel = [datasets.kaggle_relative(s, root) for s in kaggle.samples]
    leaked = datasets.kaggle_leaked_test_files(root)
    ham = datasets.kaggle_ham_derived_test_files(root)
    lesion_sets = {name: scored[name] for name in LESION_SETS}
    lesion_sets["kaggle_test_leak_free"] = kaggle.subset("kaggle_test_leak_free", [r not in leaked for r in rel])
    lesion_sets["kaggle_test_ham10000"] = kaggle.subset("kaggle_test_ham10000", [r in ham for r in rel])
    lesion_sets["kaggle_test_other_sources"] = kaggle.subset("kaggle_test_other_sources", [r not in ham for r in rel])
    metrics: dict[str, Any] = _json_safe({
        "model_version": card.version,
        "lesion": {name: lesion_metrics(s) for name, s in lesion_sets.items()},
        "types": type_metrics([scored[n] for n in (*LESION_SETS, "dermnet_rash")]),
        "rash": rash_metrics({n: scored[n] for n in (*LESION_SETS, "dermnet_rash")}),
        "gate": gate_metrics(scored, {"not_skin": pipeline_verdicts(config, sets["not_skin"])}),
        "commands": "skinbot train all && skinbot evaluate",
    })
    from train.report import write_report

    write_report(config, card, {**scored, **lesion_sets}, metrics, report_dir)
    write_card(replace(card, metrics=metrics), config.models.card_path)
    return metrics
