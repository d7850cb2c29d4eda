"""The settings inference reads (`inference:` and `quality:` in config.yaml), owned here so that decoding needs no
configuration module for its defaults. A leaf: imports nothing of skinbot's; `skinbot.config` loads it with the
other sections.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InferenceConfig:
    workers: int = 2
    model_threads: int = 2
    max_image_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    max_full_decode_pixels: int = 16_000_000
    decode_draft_side: int = 224


@dataclass(frozen=True)
class QualityConfig:
    """When a photo is too small, blurry, dark, washed out or blank (inference/quality.py)."""

    min_side_px: int = 96
    blur_min_laplacian_var: float = 2.5
    dark_max_mean: float = 30.0
    bright_min_mean: float = 235.0
    low_contrast_max_std: float = 5.0
