"""The settings training reads (`train:` in config.yaml), owned here. A leaf: imports nothing of skinbot's;
`skinbot.config` loads it with the other sections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class TrainConfig:
    """`skinbot train`: end-to-end fine-tuning (train/finetune.py) and threshold rules (train/calibrate.py)."""

    cache_dir: Path = Path("cache")
    runs_dir: Path = Path("runs")
    seed: int = 1337
    backbone: str = "efficientnet_lite0"  # efficientnet_lite0 | efficientnet_lite1 | efficientnet_lite2
    image_size: int = 224
    batch_size: int = 32
    epochs: int = 14
    epoch_images: int = 4096  # draws per epoch (balanced sampling, with replacement)
    learning_rate: float = 3e-4  # peak, after warm-up; cosine decay to 1% of it
    warmup_fraction: float = 0.05
    jpeg_augment: bool = True  # JPEG re-encoding (quality 50-95) among the augmentations
    early_stopping_patience: int = 4
    # Kaggle train + lesion-disjoint HAM10000 + Derm7pt + PAD-UFES-20 train patients + clinical sets + DermNet rashes
    lesion_sources: tuple[str, ...] = ("kaggle", "ham10000", "derm7pt", "pad_ufes_20", "clinical", "dermnet_rash")
    export_precision: Literal["float32", "float16", "int8"] = "float32"
    refer_sensitivity: float = 0.95
    high_specificity: float = 0.95
    gate_min_lesion_acceptance: float = 0.995
    # At most this share of validation lesion photos made too dark / blurred / tiny are told "not skin", not "retake".
    confident_reject_max_lesion_share: float = 0.005
    rash_max_malignant_share: float = 0.01  # at most this share of validation malignant lesions may be told "rash"
    type_min_precision: float = 0.8  # "most like ..." is said only where validation types are this often right
