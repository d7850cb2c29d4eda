""""Where did you look?": the photo the model saw, with its class-activation map laid over it (Pillow and numpy).

The map is the malignancy head applied at each cell of the model's last feature map (7 x 7 over the centre square
that `inference.preprocess.to_model_input` crops), so it is drawn over that square, not over the whole photo. Its
values are shown relative to the rest of the same photo (min to max), in viridis: a colour-blind-safe palette whose
brightness rises steadily from dark blue to yellow, so it reads the same in greyscale and with any colour vision. The
colour is blended with at most `MAX_ALPHA`, so the spot's own outline stays visible under it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

SQUARE_SIDE = 512  # the kept square and the picture sent back (Telegram shows photos about this size in a chat)
MIN_ALPHA = 0.12  # even the least-weighed parts get a faint tint, so the whole square reads as "the map"
MAX_ALPHA = 0.45  # the most-weighed parts: under half colour, so the spot's outline shows through (>= 45% of its
# contrast is kept: tests/bot/test_heatmap.py)
LEGEND_PX = 14  # a strip under the square with the palette from least (left) to most (right)
FLAT_RANGE = 1e-6  # a map whose cells are this close is flat: nothing stood out, and it is drawn evenly
# Matplotlib's viridis sampled at 17 evenly spaced points (RGB, 0..1); tests check it against matplotlib itself.
VIRIDIS: NDArray[np.float64] = np.array([
    [0.2670, 0.0049, 0.3294], [0.2823, 0.0950, 0.4173], [0.2788, 0.1755, 0.4834], [0.2590, 0.2515, 0.5247],
    [0.2297, 0.3224, 0.5457], [0.1994, 0.3876, 0.5546], [0.1727, 0.4488, 0.5579], [0.1490, 0.5081, 0.5572],
    [0.1276, 0.5669, 0.5506], [0.1206, 0.6258, 0.5335], [0.1579, 0.6838, 0.5017], [0.2461, 0.7389, 0.4520],
    [0.3692, 0.7889, 0.3829], [0.5160, 0.8312, 0.2943], [0.6785, 0.8637, 0.1895], [0.8456, 0.8873, 0.0997],
    [0.9932, 0.9062, 0.1439],
])

Cam = Sequence[Sequence[float]]


class HeatmapError(ValueError):
    """The photo cannot be read or the map is empty."""


def palette(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Viridis colours (uint8 RGB, shape `values.shape + (3,)`) for values in [0, 1], interpolated linearly."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(VIRIDIS))
    rgb = np.stack([np.interp(v, stops, VIRIDIS[:, c]) for c in range(3)], axis=-1)
    return np.asarray(np.round(rgb * 255.0), dtype=np.uint8)


def prepare(photo: bytes, side: int = SQUARE_SIDE) -> bytes:
    """The centre square of the upright photo (what the model saw), at most `side` pixels, as JPEG: what the
    result cache keeps instead of the photo itself."""
    try:
        with Image.open(io.BytesIO(photo)) as image:
            image.draft("RGB", (side, side))  # JPEGs decode at a reduced scale: fast, and enough for the picture
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise HeatmapError(f"cannot read the photo: {exc}") from exc
    width, height = upright.size
    crop = min(width, height)
    box = ((width - crop) // 2, (height - crop) // 2, (width - crop) // 2 + crop, (height - crop) // 2 + crop)
    square = upright.resize((min(side, crop),) * 2, Image.Resampling.LANCZOS, box=box)
    out = io.BytesIO()
    square.save(out, format="JPEG", quality=90)
    return out.getvalue()


def relative(cam: Cam) -> NDArray[np.float64]:
    """The map scaled to [0, 1] within itself (a flat map is 0 everywhere)."""
    m = np.asarray(cam, dtype=np.float64)
    if m.ndim != 2 or m.size == 0 or not np.isfinite(m).all():
        raise HeatmapError(f"the map must be a finite 2-D grid, got shape {m.shape}")
    spread = float(m.max() - m.min())
    return np.zeros_like(m) if spread < FLAT_RANGE else (m - m.min()) / spread


def upsample(values: NDArray[np.float64], side: int) -> NDArray[np.float64]:
    """A coarse grid stretched smoothly (bilinear) over a `side` x `side` square, cell centres on cell centres."""
    grid = Image.fromarray(values.astype(np.float32))
    return np.asarray(grid.resize((side, side), Image.Resampling.BILINEAR), dtype=np.float64)


def overlay(square_jpeg: bytes, cam: Cam) -> bytes:
    """The square with the map blended over it and the palette strip under it, as JPEG."""
    try:
        with Image.open(io.BytesIO(square_jpeg)) as image:
            photo = np.asarray(image.convert("RGB"), dtype=np.float64)
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise HeatmapError(f"cannot read the kept square: {exc}") from exc
    side = photo.shape[0]
    weights = np.clip(upsample(relative(cam), side), 0.0, 1.0)
    colour = palette(weights).astype(np.float64)
    alpha = (MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * weights)[..., np.newaxis]
    blended = photo * (1.0 - alpha) + colour * alpha
    legend = np.repeat(palette(np.linspace(0.0, 1.0, side))[np.newaxis], LEGEND_PX, axis=0).astype(np.float64)
    picture = np.concatenate([blended, legend], axis=0)
    out = io.BytesIO()
    Image.fromarray(np.asarray(np.round(picture), dtype=np.uint8)).save(out, format="JPEG", quality=90)
    return out.getvalue()
