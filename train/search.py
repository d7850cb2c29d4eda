"""`skinbot train search`: a hyperparameter search that fits the CPU budget.

Every trial trains on the same stratified, lesion-grouped subset of the training pool and is scored on the same
validation subset (never a test set), with features cached per (backbone, input size, fine-tuned depth). Phase 1
(head on frozen features) and a short phase 2 (top blocks) run per trial; the table ranks by validation ROC AUC.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skinbot.config import Config
from train import datasets
from train.backbone import VARIANTS, block_plan
from train.calibrate import sigmoid
from train.features import FeatureSpec, compute_features
from train.fit import PhaseSettings, RandomViews, class_weights, predict_logits, train_phase
from train.lesion import lesion_data
from train.metrics import confusion, roc_auc

log = logging.getLogger(__name__)
SUBSET_TRAIN = 1600
SUBSET_VAL = 700
SEARCH_FINETUNE_EPOCHS = 3


@dataclass(frozen=True)
class Trial:
    backbone: str
    input_size: int
    finetune_from_block: int
    head_learning_rate: float
    finetune_learning_rate: float
    batch_size: int
    sources: tuple[str, ...] = ("kaggle", "ham10000", "pad_ufes_20")
    views: int = 2  # cached views per training image: 1 = no augmentation


def trials() -> list[Trial]:
    """One factor at a time around the default (Lite0, 224 px, last block, lr 1e-3 / 3e-4, batch 64): backbone
    and input size, then each training setting alone (a full grid does not fit the CPU budget)."""
    default = Trial("efficientnet_lite0", 224, 15, 1e-3, 3e-4, 64)
    grid = [default]
    for backbone, size in (("efficientnet_lite0", 260), ("efficientnet_lite1", 240), ("efficientnet_lite2", 260)):
        last_block = len(block_plan(VARIANTS[backbone])) - 1
        grid.append(dataclasses.replace(default, backbone=backbone, input_size=size, finetune_from_block=last_block))
    grid += [dataclasses.replace(default, head_learning_rate=lr) for lr in (3e-4, 3e-3)]
    grid += [dataclasses.replace(default, finetune_learning_rate=lr) for lr in (1e-4, 1e-3)]
    grid += [dataclasses.replace(default, batch_size=32)]
    grid += [dataclasses.replace(default, finetune_from_block=block) for block in (14, 13)]
    data_variants = (("kaggle",), ("kaggle", "ham10000"), ("kaggle", "ham10000", "pad_ufes_20", "ph2"))
    grid += [dataclasses.replace(default, sources=sources) for sources in data_variants]
    grid += [dataclasses.replace(default, views=1)]
    return grid


def run_search(config: Config, run_dir: Path) -> list[dict[str, Any]]:
    """Run every trial and write `search.json` and `models/report/search.md`."""
    tc = config.train
    # One validation subset for every trial (from the default pool), so their numbers compare.
    val = _subset(lesion_data(config.data.root, tc.lesion_sources, tc.val_fraction, tc.seed).val, SUBSET_VAL, tc.seed)
    val_groups = {s.group for s in val}
    results = []
    for trial in trials():
        started = time.perf_counter()
        pool = lesion_data(config.data.root, trial.sources, tc.val_fraction, tc.seed)
        train = _subset([s for s in pool.train if s.group not in val_groups], SUBSET_TRAIN, tc.seed)
        spec = FeatureSpec(trial.backbone, trial.input_size, trial.finetune_from_block, tc.seed)
        train_f = compute_features(spec, train, trial.views, tc.cache_dir / "search", "search_train")
        val_f = compute_features(spec, val, 1, tc.cache_dir / "search", "search_val")
        results.append({**dataclasses.asdict(trial), **_fit_trial(trial, train_f, val_f, run_dir, tc.seed),
                        "seconds": round(time.perf_counter() - started, 1)})
        log.info("search: %s", results[-1])
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "search.json").write_text(json.dumps(results, indent=2))
        # Rewritten after every trial: an interrupted search still leaves its table.
        write_table(results, len(val), config.models.dir / "report" / "search.md")
    return results


def _subset(samples: list[datasets.Sample], size: int, seed: int) -> list[datasets.Sample]:
    if len(samples) <= size:
        return samples
    _, kept = datasets.group_split(samples, size / len(samples), seed + 1)
    return kept


def _fit_trial(trial: Trial, train_f: Any, val_f: Any, run_dir: Path, seed: int) -> dict[str, float]:
    from train.model import LESION_OUTPUT, FeatureNet, HeadNet, UpperNet, copy_weights_by_name

    weights = class_weights(train_f.labels)
    head = HeadNet(LESION_OUTPUT)
    head_settings = PhaseSettings(30, trial.head_learning_rate, trial.batch_size, 4, seed)
    x1, y1 = np.concatenate(train_f.pooled), np.tile(train_f.labels, len(train_f.pooled))
    train_phase(head, (x1, y1), (val_f.pooled[0], val_f.labels), head_settings, weights, run_dir / "trial", "head")
    head_auc = roc_auc(val_f.labels, sigmoid(predict_logits(head, val_f.pooled[0])))
    height, width, channels = train_f.acts[0].shape[1:]
    upper = UpperNet(trial.backbone, (height, width, channels), trial.finetune_from_block)
    copy_weights_by_name(FeatureNet(trial.backbone, trial.input_size, 0), upper)
    copy_weights_by_name(head, upper)
    ft = PhaseSettings(SEARCH_FINETUNE_EPOCHS, trial.finetune_learning_rate, trial.batch_size, 2, seed)
    train_phase(upper, RandomViews(train_f.acts, train_f.labels, trial.batch_size, seed),
                (val_f.acts[0].astype(np.float32), val_f.labels), ft, weights, run_dir / "trial", "finetune")
    probs = sigmoid(predict_logits(upper, val_f.acts[0]))
    return {"val_auc_head": head_auc, "val_auc": roc_auc(val_f.labels, probs),
            "val_accuracy": confusion(val_f.labels, probs, 0.5).accuracy}


def write_table(results: list[dict[str, Any]], n_val: int, path: Path) -> None:
    """The Markdown results table, best validation AUC first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Hyperparameter search",
        "",
        f"Made by `skinbot train search`: every trial trains on a lesion-grouped subset ({SUBSET_TRAIN} training"
        f" images of its data sources, 2 cached views each unless stated) and is scored on the same validation"
        f" subset ({n_val} images of the default pool, never in any trial's training data). Phase 1 is the"
        f" head on frozen features (up to 30 epochs, early stopping); phase 2 fine-tunes from the given block for"
        f" {SEARCH_FINETUNE_EPOCHS} epochs. Sorted by validation ROC AUC after phase 2. No test set is used.",
        "",
        "| backbone | input | fine-tuned from block | head lr | fine-tune lr | batch | data | views |"
        " val AUC (head only) | val AUC | val accuracy | seconds |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(results, key=lambda r: -r["val_auc"]):
        lines.append(f"| {r['backbone']} | {r['input_size']} | {r['finetune_from_block']} | {r['head_learning_rate']:g}"
                     f" | {r['finetune_learning_rate']:g} | {r['batch_size']} | {'+'.join(r['sources'])} | {r['views']}"
                     f" | {r['val_auc_head']:.4f} | "
                     f"{r['val_auc']:.4f} | {r['val_accuracy']:.4f} | {r['seconds']} |")
    path.write_text("\n".join(lines) + "\n")
