"""Cached backbone features: the frozen part of the network runs once per image view, not once per epoch.

For each image, view 0 is the clean model input and views 1..k are augmented copies. For each view we keep the
activation entering the first fine-tuned block (float16, for fine-tuning the top blocks) and the pooled ImageNet
features (float32, for the frozen-backbone phase). The frozen part runs under LiteRT, several times faster than
Keras on a CPU. Cache files are keyed by everything that changes their content.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from inference.decode import decode
from inference.preprocess import to_model_input
from train.augment import augmented_input
from train.datasets import Sample

if TYPE_CHECKING:
    from train.litert import LiteRTRunner

log = logging.getLogger(__name__)
AUGMENT_VERSION = 1  # bump when train/augment.py changes what it produces
BATCH = 32
PREFETCH = 4


class ImageLoadError(ValueError):
    """A training image could not be decoded."""


@dataclass(frozen=True)
class FeatureSpec:
    variant: str
    input_size: int
    start_block: int
    seed: int


@dataclass(frozen=True)
class Features:
    """Per-view arrays for one sample list: acts[v] (N, h, w, c) float16, pooled[v] (N, 1280) float32."""

    acts: list[np.ndarray]
    pooled: list[np.ndarray]
    labels: np.ndarray


def load_rgb(sample: Sample) -> Image.Image:
    """Decode a dataset image exactly as serving decodes a user's photo."""
    decoded = decode(sample.path.read_bytes())
    if decoded.image is None:
        raise ImageLoadError(f"{sample.path}: {decoded.reason}")
    return decoded.image


def model_input(sample: Sample, size: int, view: int, seed: int) -> np.ndarray:
    """View 0: the clean input (as served); view v > 0: a reproducible augmented copy."""
    image = load_rgb(sample)
    if view == 0:
        return to_model_input(image, size)
    rng = np.random.default_rng([seed, view, int(hashlib.md5(str(sample.path).encode()).hexdigest()[:8], 16)])
    return augmented_input(image, size, rng)


def cache_key(spec: FeatureSpec, samples: Sequence[Sample], view: int) -> str:
    """A short hash of the feature spec, augmentation version, view and exact file list."""
    payload = json.dumps({"spec": asdict(spec), "aug": AUGMENT_VERSION if view else 0, "view": view,
                          "files": [(str(s.path), s.label) for s in samples]}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def compute_features(
    spec: FeatureSpec, samples: Sequence[Sample], views: int, cache_dir: Path, name: str
) -> Features:
    """Features for `views` views of each sample (view 0 clean), from cache where possible."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    runner: LiteRTRunner | None = None
    acts, pooled = [], []
    for view in range(views):
        path = cache_dir / f"{name}_v{view}_{cache_key(spec, samples, view)}.npz"
        if not path.exists():
            if runner is None:
                runner = _feature_runner(spec)
            started = time.perf_counter()
            a, p = _run_view(runner, spec, samples, view)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, acts=a, pooled=p)
            tmp.replace(path)  # atomic: a crash never leaves a half-written cache file
            log.info("cached %s view %d: %d images in %.0f s", name, view, len(samples),
                     time.perf_counter() - started)
        with np.load(path) as data:
            acts.append(data["acts"])
            pooled.append(data["pooled"])
    return Features(acts, pooled, np.array([s.label for s in samples], dtype=np.float32))


def _feature_runner(spec: FeatureSpec) -> LiteRTRunner:
    from train.litert import LiteRTRunner, to_litert
    from train.model import FeatureNet

    net = FeatureNet(spec.variant, spec.input_size, spec.start_block)
    return LiteRTRunner(to_litert(net, ["acts", "pooled"], spec.input_size))


def _run_view(runner: LiteRTRunner, spec: FeatureSpec, samples: Sequence[Sample], view: int
              ) -> tuple[np.ndarray, np.ndarray]:
    acts: list[np.ndarray] = []
    pooled: list[np.ndarray] = []
    batches = [samples[i:i + BATCH] for i in range(0, len(samples), BATCH)]

    def load(batch: Sequence[Sample]) -> np.ndarray:
        return np.stack([model_input(s, spec.input_size, view, spec.seed) for s in batch]).astype(np.float32)

    # Decoding and augmenting the next batches overlaps with running the current one; at most PREFETCH
    # batches wait in memory.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: deque[Future[np.ndarray]] = deque(pool.submit(load, b) for b in batches[:PREFETCH])
        for i in range(len(batches)):
            images = pending.popleft().result()
            if i + PREFETCH < len(batches):
                pending.append(pool.submit(load, batches[i + PREFETCH]))
            out = runner(images)
            acts.append(out["acts"].astype(np.float16))
            pooled.append(out["pooled"].astype(np.float32))
            if i % 50 == 0:
                log.info("  view %d: %d/%d", view, min((i + 1) * BATCH, len(samples)), len(samples))
    return np.concatenate(acts), np.concatenate(pooled)
