"""Model-v2 assessments for bot tests: type probabilities, the rash flag and a class-activation map, as the real
pipeline fills them in, plus real JPEG photos so that the heatmap can be drawn."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from inference.assessment import Assessment
from tests.inference.testmodel import LESION_TYPES


def probs(top: str, p: float) -> dict[str, float]:
    """Type probabilities with `top` at `p` and the rest shared evenly."""
    rest = (1.0 - p) / (len(LESION_TYPES) - 1)
    return {name: (p if name == top else rest) for name in LESION_TYPES}


def spot_photo(seed: int = 0, size: tuple[int, int] = (640, 480), spot: tuple[int, int] | None = None) -> bytes:
    """A JPEG of skin-coloured noise with a dark round spot (at `spot`, else in the middle)."""
    rng = np.random.default_rng(seed)
    width, height = size
    pixels = np.empty((height, width, 3))
    pixels[...] = (214, 170, 140)
    pixels += rng.normal(0, 6, pixels.shape)
    cx, cy = spot or (width // 2, height // 2)
    yy, xx = np.mgrid[:height, :width]
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (min(size) // 8) ** 2
    pixels[disc] = (70, 45, 35)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, format="JPEG", quality=92)
    return out.getvalue()


def peaked_cam(row: int, col: int, side: int = 7) -> tuple[tuple[float, ...], ...]:
    """A map that is highest at (row, col) and falls off around it."""
    return tuple(tuple(-float((r - row) ** 2 + (c - col) ** 2) for c in range(side)) for r in range(side))


def v2(data: bytes, risk: str, malignancy: float, top: str = "nevus", p: float = 0.8, rash: bool = False,
       cam: tuple[tuple[float, ...], ...] = ()) -> Assessment:
    """An "ok" model-v2 assessment of the photo `data`."""
    return Assessment(
        status="ok", lesion_score=0.97, malignancy=malignancy, risk=risk, modality="clinical",  # type: ignore[arg-type]
        lesion_type=top, type_probs=probs(top, p), rash=rash, cam=cam, model_version="test-2",
        image_sha256=hashlib.sha256(data).hexdigest(), timings_ms={"total": 20.0},
    )
