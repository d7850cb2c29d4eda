"""Photo bytes -> an upright RGB Pillow image, or the reason it cannot be read. Shared by serving and training.

Safe against hostile input: the pixel count is checked from the header before any pixel is decoded
(decompression bombs), and every failure maps to one of the unreadable reason codes of `inference.assessment`.
Fast on phone photos: large JPEGs are decoded at a reduced DCT scale (`Image.draft`), which costs a fraction
of a full decode and still leaves more pixels than the model needs.
"""

from __future__ import annotations

import contextlib
import io
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.settings import InferenceConfig

UnreadableReason = Literal["empty", "too_large_file", "not_an_image", "truncated", "too_many_pixels"]

_DEFAULTS = InferenceConfig()
# Modes holding more than 8 bits per sample; Pillow's convert("RGB") would clip them instead of scaling.
_WIDE_INT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_WHITE = (255, 255, 255, 255)


@dataclass(frozen=True)
class Decoded:
    """Either `image` (RGB, EXIF orientation applied) or `reason`; `source_size` is (width, height) from the header."""

    image: Image.Image | None
    reason: UnreadableReason | None = None
    source_size: tuple[int, int] = (0, 0)


def decode(
    data: bytes,
    max_pixels: int = _DEFAULTS.max_pixels,
    draft_side: int = _DEFAULTS.decode_draft_side,
    max_bytes: int = _DEFAULTS.max_image_bytes,
    max_full_pixels: int = _DEFAULTS.max_full_decode_pixels,
) -> Decoded:
    """Decode `data` into an RGB image; never raises on bad input.

    JPEGs at least twice `draft_side` on both sides are decoded at 1/2, 1/4 or 1/8 scale, keeping both sides
    >= `draft_side` (0 disables this), so they may have up to `max_pixels`. Other formats decode at full size and
    are held to `max_full_pixels`, which bounds the memory one photo can take. Animated images yield their first frame.
    """
    if not data:
        return Decoded(None, "empty")
    if len(data) > max_bytes:
        return Decoded(None, "too_large_file")
    try:
        # Pillow refuses sizes beyond 2 x Image.MAX_IMAGE_PIXELS at open; ours is the stricter, configured limit.
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        return Decoded(None, "too_many_pixels")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error):
        return Decoded(None, "not_an_image")
    source_size = image.size
    width, height = source_size
    drafted = draft_side > 0 and image.format == "JPEG"
    if width * height > (max_pixels if drafted else min(max_pixels, max_full_pixels)):
        return Decoded(None, "too_many_pixels", source_size)
    try:
        if drafted:
            image.draft("RGB", (draft_side, draft_side))
        image.load()
    except Image.DecompressionBombError:
        return Decoded(None, "too_many_pixels", source_size)
    except (OSError, SyntaxError, ValueError, struct.error, EOFError):
        # The header was readable but the pixel data is cut short or corrupt.
        return Decoded(None, "truncated", source_size)
    return Decoded(_to_rgb(_upright(image)), None, source_size)


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a malformed EXIF block leaves the image as stored rather than rejecting it."""
    with contextlib.suppress(OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error):
        ImageOps.exif_transpose(image, in_place=True)  # in place: no copy for the usual photo without rotation
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: wide integers are scaled, transparency is flattened onto white."""
    if image.mode == "RGB":
        return image
    if image.mode in _WIDE_INT_MODES:
        wide = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(wide / 257.0, 0, 255).round().astype(np.uint8), mode="L")
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).round().astype(np.uint8), mode="L")
    if "A" in image.mode or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba).convert("RGB")
    return image.convert("RGB")
