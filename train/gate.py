"""`skinbot train gate`: stage 1, "close-up of a skin lesion or skin problem" vs anything else.

The gate is a logit head on the same pooled features as the lesion head (the fine-tuned backbone), so one forward
pass serves both stages. Positives: the lesion training images (dermoscopic and phone) and clinical photos of skin
conditions. Negatives: everyday photos, receipts, screenshots, documents, wallpapers, people and bare skin without
a spot (`people_and_skin/`), and lesion-free skin patches (`healthy-skin/`: "no spot in this photo" is a reason to
retake, not something to score). The threshold keeps `gate_min_lesion_acceptance` of validation lesions.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skinbot.config import Config
from train import datasets
from train.calibrate import fit_temperature, sigmoid, threshold_for_sensitivity
from train.datasets import Sample
from train.features import Features, FeatureSpec, compute_features
from train.fit import PhaseSettings, class_weights, predict_logits, train_phase
from train.lesion import lesion_data
from train.metrics import confusion

log = logging.getLogger(__name__)
TEST_FRACTION = 0.25


@dataclass(frozen=True)
class GateSplits:
    """Extra gate data beyond the lesion pool, split by group into train / validation / held-out test."""

    train: list[Sample]
    val: list[Sample]
    test: list[Sample]


def gate_splits(root: Path, val_fraction: float, seed: int) -> GateSplits:
    """Clinical photos (positives), not-skin and healthy-skin (negatives), split three ways by group."""
    extra = datasets.clinical(root) + datasets.not_skin(root) + datasets.healthy_skin(root)
    rest, test = datasets.group_split(extra, TEST_FRACTION, seed)
    train, val = datasets.group_split(rest, val_fraction, seed)
    return GateSplits(train, val, test)


def upper_feature_extractor(upper_weights: Path, config: Config, activation_shape: tuple[int, int, int]) -> Any:
    """The fine-tuned top blocks up to the pooled features (the input of both heads)."""
    import keras

    from train.model import UpperNet

    tc = config.train
    upper = UpperNet(tc.backbone, activation_shape, tc.finetune_from_block)
    upper.load_weights(str(upper_weights))
    return keras.Model(upper.input, upper.get_layer("avg_pool").output)


def pooled_views(extractor: Any, features: Features) -> list[np.ndarray]:
    """Pooled features of each cached view through the fine-tuned top blocks."""
    return [np.asarray(extractor.predict(a.astype(np.float32), batch_size=128, verbose=0)) for a in features.acts]


def train_gate(config: Config, lesion_dir: Path, run_dir: Path) -> dict[str, Any]:
    """Train the gate head on fine-tuned features; writes weights and `result.json` into `run_dir`."""
    tc = config.train
    root = config.data.root
    started = time.perf_counter()
    upper_weights = lesion_dir / "upper.weights.h5"
    if not upper_weights.is_file():
        raise FileNotFoundError(f"{upper_weights} not found: run `skinbot train lesion` first")
    lesions = lesion_data(root, tc.lesion_sources, tc.val_fraction, tc.seed)
    extra = gate_splits(root, tc.val_fraction, tc.seed)
    spec = FeatureSpec(tc.backbone, tc.image_size, tc.finetune_from_block, tc.seed)
    views = 1 + tc.augment_copies
    # Lesion images are cached already (same keys as `train lesion`); only the extra sets are new.
    parts_train = [compute_features(spec, lesions.train, views, tc.cache_dir, "lesion_train"),
                   compute_features(spec, extra.train, views, tc.cache_dir, "gate_extra_train")]
    parts_val = [compute_features(spec, lesions.val, 1, tc.cache_dir, "lesion_val"),
                 compute_features(spec, extra.val, 1, tc.cache_dir, "gate_extra_val")]
    gate_labels_train = np.concatenate([np.ones(len(lesions.train)), [s.label for s in extra.train]])
    gate_labels_val = np.concatenate([np.ones(len(lesions.val)), [s.label for s in extra.val]])

    height, width, channels = parts_train[0].acts[0].shape[1:]
    extractor = upper_feature_extractor(upper_weights, config, (height, width, channels))
    x_train = np.concatenate([np.concatenate(v) for v in zip(*(pooled_views(extractor, p) for p in parts_train),
                                                             strict=True)])
    y_train = np.tile(gate_labels_train, views)
    x_val = np.concatenate([pooled_views(extractor, p)[0] for p in parts_val])

    from train.model import GATE_OUTPUT, HeadNet

    head = HeadNet(GATE_OUTPUT)
    settings = PhaseSettings(tc.head_epochs, tc.head_learning_rate, tc.batch_size, tc.early_stopping_patience,
                             tc.seed)
    history = train_phase(head, (x_train, y_train), (x_val, gate_labels_val), settings,
                          class_weights(y_train), run_dir, "gate")
    head.save_weights(str(run_dir / "gate_head.weights.h5"))
    logits = predict_logits(head, x_val)
    temperature = fit_temperature(logits, gate_labels_val)
    probs = sigmoid(logits / temperature)
    threshold = threshold_for_sensitivity(gate_labels_val, probs, tc.gate_min_lesion_acceptance)
    at = confusion(gate_labels_val, probs, threshold)
    result = {
        "stage": "gate",
        "temperature": temperature,
        "threshold": threshold,
        "validation": {"lesion_acceptance": at.sensitivity, "non_lesion_rejection": at.specificity},
        "data": {
            "lesion_train_images": len(lesions.train), "extra_train_images": len(extra.train),
            "extra_val_images": len(extra.val), "extra_test_images": len(extra.test),
            "extra_train_files_sha256": datasets.file_list_hash(extra.train, root),
        },
        "history": history,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (run_dir / "result.json").write_text(json.dumps(result, indent=2))
    log.info("gate: validation %s; T=%.3f threshold=%.4f", result["validation"], temperature, threshold)
    return result
