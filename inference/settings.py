"""The settings inference reads (`inference:` and `quality:` in config.yaml), owned here so that decoding needs no
configuration module for its defaults. A leaf: imports nothing of skinbot's; `skinbot.config` loads it with the
other sections.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InferenceConfig:
    """How photos are decoded and how many run through the model at once."""

    workers: int = 2  # threads running the model, one LiteRT interpreter each
    model_threads: int = 2  # LiteRT threads per interpreter (2 halves one photo's latency: docs/benchmarks.md)
    max_image_bytes: int = 20_000_000  # Telegram bots can download at most 20 MB
    max_pixels: int = 50_000_000  # decompression-bomb guard, read from the header
    # Non-JPEG formats decode at full size: this bounds one photo's memory (~64 MB). JPEGs decode at 1/2..1/8 scale,
    # both sides kept at least decode_draft_side and the model input.
    max_full_decode_pixels: int = 16_000_000
    decode_draft_side: int = 224


@dataclass(frozen=True)
class QualityConfig:
    """When a photo is too small, blurry, dark, washed out or blank (inference/quality.py). All but min_side_px are
    measured on the grey model input; chosen on 14,574 good dataset images, of which they reject 0.16%
    (docs/benchmarks.md, "Quality thresholds")."""

    min_side_px: int = 96  # a shorter side (as sent) below this is "too small"
    blur_min_laplacian_var: float = 2.5  # variance of the 4-neighbour Laplacian below this is "blurry"
    dark_max_mean: float = 30.0  # mean brightness (0..255) below this is "too dark"
    bright_min_mean: float = 235.0  # above this is "washed out"
    low_contrast_max_std: float = 5.0  # a grey-level standard deviation below this is a blank frame
