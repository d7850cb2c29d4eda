"""`skinbot train lesion`: stage 2, benign vs malignant, on cached features; then calibration and thresholds.

Phase 1 trains a logit head on frozen pooled ImageNet features (all augmented views). Phase 2 fine-tunes the top
blocks and the head convolution, starting from the ImageNet weights and the phase-1 head, on cached activations
(one random augmented view per image per epoch). The temperature and both thresholds are fitted on the validation
split (made by lesion/patient); the Kaggle test split is never read here.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skinbot.config import Config
from train import datasets
from train.calibrate import fit_temperature, sigmoid, threshold_for_sensitivity, threshold_for_specificity
from train.datasets import Sample
from train.features import FeatureSpec, compute_features
from train.fit import PhaseSettings, RandomViews, class_weights, predict_logits, train_phase
from train.metrics import confusion, expected_calibration_error, roc_auc

log = logging.getLogger(__name__)
LESION_SOURCES = ("kaggle", "ham10000", "pad_ufes_20", "ph2")


@dataclass(frozen=True)
class LesionData:
    train: list[Sample]
    val: list[Sample]


def pad_split(root: Path, seed: int) -> tuple[list[Sample], list[Sample]]:
    """PAD-UFES-20 split by patient: (train, held-out test). The test part is only used by evaluation."""
    return datasets.group_split(datasets.pad_ufes(root), 0.3, seed)


def lesion_data(root: Path, sources: tuple[str, ...], val_fraction: float, seed: int) -> LesionData:
    """The training pool from `sources`, split into train and validation by lesion/patient."""
    unknown = set(sources) - set(LESION_SOURCES)
    if unknown or "kaggle" not in sources:
        raise ValueError(f"lesion sources must include kaggle and come from {LESION_SOURCES}; got {sources}")
    pool = datasets.kaggle(root, "train")
    if "ham10000" in sources:
        pool += datasets.ham10000_disjoint(root)
    if "pad_ufes_20" in sources:
        pool += pad_split(root, seed)[0]
    if "ph2" in sources:
        pool += datasets.ph2(root)
    train, val = datasets.group_split(pool, val_fraction, seed)
    return LesionData(train, val)


def train_lesion(config: Config, run_dir: Path) -> dict[str, Any]:
    """Train, calibrate and choose thresholds; writes weights, logs and `result.json` into `run_dir`."""
    tc = config.train
    root = config.data.root
    started = time.perf_counter()
    data = lesion_data(root, tc.lesion_sources, tc.val_fraction, tc.seed)
    spec = FeatureSpec(tc.backbone, tc.image_size, tc.finetune_from_block, tc.seed)
    log.info("lesion: %d train / %d validation images from %s", len(data.train), len(data.val),
             ", ".join(tc.lesion_sources))
    train_f = compute_features(spec, data.train, 1 + tc.augment_copies, tc.cache_dir, "lesion_train")
    val_f = compute_features(spec, data.val, 1, tc.cache_dir, "lesion_val")
    weights = class_weights(train_f.labels)

    from train.model import LESION_OUTPUT, FeatureNet, HeadNet, UpperNet, copy_weights_by_name

    # Phase 1: head on frozen features, every view stacked.
    head = HeadNet(LESION_OUTPUT)
    x1 = np.concatenate(train_f.pooled)
    y1 = np.tile(train_f.labels, len(train_f.pooled))
    head_settings = PhaseSettings(tc.head_epochs, tc.head_learning_rate, tc.batch_size, tc.early_stopping_patience,
                                  tc.seed)
    history = {"head": train_phase(head, (x1, y1), (val_f.pooled[0], val_f.labels), head_settings, weights,
                                   run_dir, "head")}

    # Phase 2: fine-tune the top blocks from ImageNet weights plus the phase-1 head.
    upper = UpperNet(tc.backbone, tuple(train_f.acts[0].shape[1:]), tc.finetune_from_block)
    copy_weights_by_name(FeatureNet(tc.backbone, tc.image_size, 0), upper)
    copy_weights_by_name(head, upper)
    if tc.finetune_epochs > 0:
        ft_settings = PhaseSettings(tc.finetune_epochs, tc.finetune_learning_rate, tc.batch_size,
                                    tc.early_stopping_patience, tc.seed)
        views = RandomViews(train_f.acts, train_f.labels, tc.batch_size, tc.seed)
        history["finetune"] = train_phase(upper, views, (val_f.acts[0].astype(np.float32), val_f.labels),
                                          ft_settings, weights, run_dir, "finetune")
    upper.save_weights(str(run_dir / "upper.weights.h5"))

    # Calibration and thresholds on validation only.
    val_logits = predict_logits(upper, val_f.acts[0])
    temperature = fit_temperature(val_logits, val_f.labels)
    val_probs = sigmoid(val_logits / temperature)
    refer = threshold_for_sensitivity(val_f.labels, val_probs, tc.refer_sensitivity)
    high = max(refer, threshold_for_specificity(val_f.labels, val_probs, tc.high_specificity))
    np.savez(run_dir / "val_predictions.npz", logits=val_logits, labels=val_f.labels,
             files=np.array([str(s.path) for s in data.val]))
    result = {
        "stage": "lesion",
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(tc).items()
                     if not isinstance(v, Path)},
        "feature_spec": asdict(spec),
        "temperature": temperature,
        "thresholds": {"refer": refer, "high": high},
        "validation": _summary(val_f.labels, val_probs, refer, high),
        "data": {
            "train_images": len(data.train), "val_images": len(data.val),
            "train_by_source": _count_by_source(data.train), "val_by_source": _count_by_source(data.val),
            "train_files_sha256": datasets.file_list_hash(data.train, root),
            "val_files_sha256": datasets.file_list_hash(data.val, root),
        },
        "history": history,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (run_dir / "result.json").write_text(json.dumps(result, indent=2))
    log.info("lesion: validation %s; T=%.3f refer=%.4f high=%.4f (%.0f s)", result["validation"], temperature,
             refer, high, result["seconds"])
    return result


def _summary(labels: np.ndarray, probs: np.ndarray, refer: float, high: float) -> dict[str, float]:
    at_half, at_refer, at_high = (confusion(labels, probs, t) for t in (0.5, refer, high))
    return {
        "accuracy": at_half.accuracy, "roc_auc": roc_auc(labels, probs),
        "sensitivity_refer": at_refer.sensitivity, "specificity_refer": at_refer.specificity,
        "sensitivity_high": at_high.sensitivity, "specificity_high": at_high.specificity,
        "ece": expected_calibration_error(labels, probs),
    }


def _count_by_source(samples: list[Sample]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for s in samples:
        entry = out.setdefault(s.source, {"benign": 0, "malignant": 0})
        entry["malignant" if s.label else "benign"] += 1
    return out
