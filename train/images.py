"""Reading a dataset image the way serving reads a user's photo."""

from __future__ import annotations

from PIL import Image

from inference.decode import decode
from train.datasets import Sample


class ImageLoadError(ValueError):
    """A training image could not be decoded."""


def load_rgb(sample: Sample) -> Image.Image:
    """Decode a dataset image exactly as serving decodes a user's photo (EXIF orientation, RGB)."""
    decoded = decode(sample.path.read_bytes())
    if decoded.image is None:
        raise ImageLoadError(f"{sample.path}: {decoded.reason}")
    return decoded.image
