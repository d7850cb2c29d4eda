"""What Telegram does to an uploaded photo: re-encode it as JPEG at a few sizes (the `PhotoSize` array)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Longest sides Telegram keeps for a photo: thumbnails up to the full (capped) size.
PHOTO_SIDES: tuple[int, ...] = (90, 320, 800, 1280)
JPEG_QUALITY = 87


class NotAnImageError(ValueError):
    """The upload cannot be sent as a photo (Telegram apps would offer to send it as a file instead)."""


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    jpeg: bytes


def photo_renditions(data: bytes) -> list[Rendition]:
    """JPEG renditions of `data`, smallest first; the largest is the original capped at the largest side."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImageError("the file is not an image Telegram can send as a photo") from exc
    longest = max(image.size)
    sides = sorted({*(s for s in PHOTO_SIDES if s < longest), min(longest, PHOTO_SIDES[-1])})
    out: list[Rendition] = []
    for side in sides:
        scale = side / longest
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        resized.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        out.append(Rendition(size[0], size[1], buffer.getvalue()))
    return out
