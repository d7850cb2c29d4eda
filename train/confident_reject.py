"""`thresholds.confident_reject` in the model card: how low the gate's score must be for a photo that the quality
checks find too dark, blurry or too small to be told "not skin" rather than "retake" (`inference.judge.verdict`).

In such photos the gate is unreliable, so the thresholds come from what it does to real lesions: each validation
lesion and skin-problem photo is made too dark, blurred and shrunk, sent through serving's own `prepare` (as a
JPEG, as Telegram delivers it), and scored by the served model wherever the quality checks flag that issue. Each
issue's threshold keeps all but `train.confident_reject_max_lesion_share` of those degraded lesion photos at or
above it, so they are still asked for a better photo; a tiny receipt or a blurred wallpaper scores far lower.
Validation data only; `skinbot train quality-gate` recomputes it for the model in `models/`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from inference.card import ModelCard
from inference.judge import judge_arrays
from inference.pipeline import ModelRunner, prepare
from inference.quality import QualityIssue
from skinbot.config import Config
from train.augment import jpeg_bytes
from train.calibrate import threshold_for_sensitivity
from train.datasets import Sample
from train.images import load_rgb
from train.splits import training_splits

log = logging.getLogger(__name__)
DARK_MEAN = 20.0  # grey level of a darkened photo: below quality.dark_max_mean (30) and still not black
BLUR_RADIUS_AT_MODEL_SIDE = 3.0  # Gaussian blur at model-input scale: below quality.blur_min_laplacian_var (2.5)
SMALL_SIDE = 80  # pixels on the short side: below quality.min_side_px (96)
WORKING_SIDE = 1024  # photos are shrunk to this long side first, about what Telegram delivers
JPEG_QUALITY = 90
BATCH = 32


def darken(image: Image.Image, size: int) -> Image.Image:
    """The photo with its brightness scaled to a mean grey level of DARK_MEAN."""
    mean = float(np.asarray(image.convert("L"), dtype=np.float32).mean())
    return ImageEnhance.Brightness(image).enhance(DARK_MEAN / max(mean, 1.0))


def blur(image: Image.Image, size: int) -> Image.Image:
    """The photo blurred as much, relative to the model's view of it, at any resolution."""
    return image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS_AT_MODEL_SIDE * min(image.size) / size))


def shrink(image: Image.Image, size: int) -> Image.Image:
    """The photo with its short side SMALL_SIDE pixels long."""
    scale = SMALL_SIDE / min(image.size)
    side = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(side, Image.Resampling.BILINEAR)


# One per issue that makes the gate unreliable (`GATE_UNRELIABLE`); each takes the photo and the model's input side.
DEGRADATIONS: dict[QualityIssue, Callable[[Image.Image, int], Image.Image]] = {
    "too_dark": darken, "blurry": blur, "too_small": shrink}


def degraded_scores(config: Config, card: ModelCard, runner: ModelRunner, samples: Sequence[Sample]
                    ) -> dict[QualityIssue, np.ndarray]:
    """By issue: the gate's lesion scores of `samples` degraded that way, for those the quality checks flag."""
    inputs: dict[QualityIssue, list[np.ndarray]] = {issue: [] for issue in DEGRADATIONS}
    for sample in samples:
        image = load_rgb(sample)
        image.thumbnail((WORKING_SIDE, WORKING_SIDE))
        for issue, degrade in DEGRADATIONS.items():
            photo = jpeg_bytes(degrade(image, card.input_size), JPEG_QUALITY)
            prepared = prepare(photo, card.input_size, config.inference, config.quality)
            if prepared.model_input is not None and issue in prepared.issues:
                inputs[issue].append(prepared.model_input)
    scores: dict[QualityIssue, np.ndarray] = {}
    for issue, images in inputs.items():
        log.info("confident reject: %d of %d validation lesion photos flagged %s", len(images), len(samples), issue)
        parts = [judge_arrays(runner.run(np.stack(images[i:i + BATCH]).astype(np.float32)), card).lesion_score
                 for i in range(0, len(images), BATCH)]
        scores[issue] = np.concatenate(parts) if parts else np.zeros(0)
    return scores


def thresholds(scores: Mapping[QualityIssue, np.ndarray], max_lesion_share: float,
               ceiling: float) -> dict[str, float]:
    """By issue: the highest score threshold that at most `max_lesion_share` of the degraded lesion photos fall
    below, never above `ceiling` (the gate threshold: a photo the gate accepts is never "not skin")."""
    out: dict[str, float] = {}
    for issue, values in scores.items():
        if values.size:
            keep = threshold_for_sensitivity(np.ones(values.size), values, 1.0 - max_lesion_share)
            out[issue] = min(keep, ceiling)
    return out


def validation_photos(config: Config) -> list[Sample]:
    """The validation split, whose lesion and skin-problem photos the thresholds are chosen on."""
    return list(training_splits(config.data.root, config.train.lesion_sources).val)


def with_confident_reject(config: Config, card: ModelCard, runner: ModelRunner, samples: Sequence[Sample]
                          ) -> ModelCard:
    """`card` with its `confident_reject` thresholds chosen on the lesion photos of `samples` (validation) for the model
    `runner` runs, and the rule recorded."""
    share = config.train.confident_reject_max_lesion_share
    scores = degraded_scores(config, card, runner, [s for s in samples if s.is_lesion])
    chosen = thresholds(scores, share, card.gate_threshold)
    log.info("confident reject thresholds: %s", chosen)
    rules = {**card.training.get("threshold_rules", {}),
             "confident_reject": f"per quality issue: at most {share} of validation lesion and skin-problem photos "
                                 f"made too dark, blurred or too small (and flagged so) score below it"}
    flagged = {issue: int(values.size) for issue, values in scores.items()}
    return replace(card, confident_reject=chosen,
                   training={**card.training, "threshold_rules": rules, "confident_reject_flagged": flagged})
