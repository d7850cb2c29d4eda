"""Train / validation / test splits: the one place that decides which image goes where.

A group (lesion or patient) lands in a part by a hash of its id (`SPLIT_SEED`), never by its position in a list, so
adding a source or a file never moves an image of another group, and the PAD-UFES-20 photos and masked crops of one
patient always land on the same side. Sources with their own held-out part (PAD-UFES-20, Derm7pt, the clinical sets,
not-skin, healthy skin) give a test share and a validation share; the Kaggle train split and the lesion-disjoint
HAM10000 rows give validation only (their test is the Kaggle test split); PH2 is kept whole for testing (another
dermoscope, another clinic). Only `skinbot evaluate` calls `test_sets`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from train import datasets
from train.datasets import Sample

SPLIT_SEED = 1337  # fixed, apart from the training seed: every run and search trial sees the same split
TEST_SHARE = 0.25  # of sources with a held-out part
VAL_SHARE = 0.20  # of the same sources (the rest trains)
KAGGLE_VAL_SHARE = 0.15  # of the Kaggle train split and lesion-disjoint HAM10000

# Sources the training pool can draw from (config `train.lesion_sources`); gate negatives are always in.
SOURCES: dict[str, Callable[[Path], list[Sample]]] = {
    "kaggle": lambda root: datasets.kaggle(root, "train"),
    "ham10000": datasets.ham10000_disjoint,
    "derm7pt": datasets.derm7pt,
    "pad_ufes_20": datasets.pad_ufes,
    "pad_masked": datasets.pad_masked,
    "clinical": datasets.clinical,
    "dermnet_rash": datasets.dermnet_rash,
}
_VALIDATION_ONLY = ("kaggle", "ham10000")
_GATE_NEGATIVES: dict[str, Callable[[Path], list[Sample]]] = {
    "not_skin": datasets.not_skin, "healthy_skin": datasets.healthy_skin,
}
_MASKED = "pad_masked"  # training only: its test and validation shares are dropped, never measured


@dataclass(frozen=True)
class TrainingSplits:
    """What training may read: the training pool and the fixed validation split."""

    train: list[Sample]
    val: list[Sample]


def bucket(group: str) -> float:
    """A group's position in [0, 1), fixed by its id."""
    digest = hashlib.sha256(f"{SPLIT_SEED}:{group}".encode()).hexdigest()
    return int(digest[:12], 16) / float(1 << 48)


def _part(sample: Sample, has_test: bool) -> str:
    b = bucket(sample.group)
    if has_test:
        return "test" if b < TEST_SHARE else "val" if b < TEST_SHARE + VAL_SHARE else "train"
    return "val" if b < KAGGLE_VAL_SHARE else "train"


def _split(samples: list[Sample], has_test: bool, part: str) -> list[Sample]:
    return [s for s in samples if _part(s, has_test) == part]


def training_splits(root: Path, sources: tuple[str, ...]) -> TrainingSplits:
    """Training pool from `sources` plus the gate negatives; the validation split is always the same, from every
    source but the masked crops, so that runs on different data mixes are scored on one yardstick."""
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown lesion sources {sorted(unknown)}; choose from {sorted(SOURCES)}")
    train: list[Sample] = []
    val: list[Sample] = []
    for name, load in {**SOURCES, **_GATE_NEGATIVES}.items():
        if name == _MASKED and name not in sources:
            continue  # read only to train on
        samples = load(root)
        has_test = name not in _VALIDATION_ONLY
        if name in sources or name in _GATE_NEGATIVES:
            train += _split(samples, has_test, "train")
        if name != _MASKED:
            val += _split(samples, has_test, "val")
    return TrainingSplits(train, val)


def test_sets(root: Path) -> dict[str, list[Sample]]:
    """The held-out test sets by name. Read only by `skinbot evaluate`."""
    sets = {
        "kaggle_test": datasets.kaggle(root, "test"),
        "ph2": datasets.ph2(root),
        "pad_ufes_20": _split(datasets.pad_ufes(root), True, "test"),
        "derm7pt": _split(datasets.derm7pt(root), True, "test"),
        "clinical": _split(datasets.clinical(root), True, "test"),
        "dermnet_rash": _split(datasets.dermnet_rash(root), True, "test"),
    }
    for name, load in _GATE_NEGATIVES.items():
        sets[name] = _split(load(root), True, "test")
    return sets
