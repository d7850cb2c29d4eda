"""Photo quality checks that run before the models, each with a reason code the bot can explain to the user.

They look at the model's own input (the centre crop at model resolution, in grey): a photo that is slightly soft at
12 megapixels but sharp at 224 px is sharp for the model, and the crop is the part the model judges.
Thresholds live in `config.yaml` (`quality:`); how they were chosen is in docs/benchmarks.md.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from inference.settings import QualityConfig

# The reason codes, in the order `quality_issues` reports them; mypy holds every code spelled elsewhere to this list.
QualityIssue = Literal["too_small", "too_dark", "too_bright", "low_contrast", "blurry"]
ISSUES: tuple[QualityIssue, ...] = get_args(QualityIssue)

# ITU-R BT.601 luma weights, as Pillow's convert("L") uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """Grey levels (float32, 0..255) of an (H, W, 3) RGB array."""
    grey: np.ndarray = rgb.astype(np.float32) @ _LUMA
    return grey


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low when the image has no sharp edges (blur)."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    centre = grey[1:-1, 1:-1]
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * centre
    return float(laplacian.var())


def quality_issues(grey: np.ndarray, source_size: tuple[int, int],
                   config: QualityConfig) -> tuple[QualityIssue, ...]:
    """Reason codes (`QualityIssue`) for a grey model input.

    `source_size` is the photo's (width, height) as sent; the rest is judged on `grey`. An empty tuple means usable.
    """
    issues: list[QualityIssue] = []
    if min(source_size) < config.min_side_px:
        issues.append("too_small")
    mean, std = float(grey.mean()), float(grey.std())
    if mean < config.dark_max_mean:
        issues.append("too_dark")
    elif mean > config.bright_min_mean:
        issues.append("too_bright")
    if std < config.low_contrast_max_std:
        issues.append("low_contrast")
    # A blank or too-small frame has no edges either; "blurry" would only add a misleading second reason.
    elif "too_small" not in issues and laplacian_variance(grey) < config.blur_min_laplacian_var:
        issues.append("blurry")
    return tuple(issues)
