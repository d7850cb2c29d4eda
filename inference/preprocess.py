"""The one image-to-model-input function, shared by training and serving so that both see identical pixels."""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_model_input(image: Image.Image, size: int) -> np.ndarray:
    """Centre-crop `image` to a square and resize it to `size` x `size` RGB, as uint8 (H, W, 3).

    Cropping (not squashing) keeps the lesion's shape, which matters for the "irregular shape" cue; users are asked
    to put the spot in the middle. Normalisation ((x - 127) / 128) happens inside the model, so callers pass
    raw 0..255 values (as float32) and cannot get it wrong.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    width, height = rgb.size
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    box = (left, top, left + side, top + side)
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=None)
    return np.asarray(resized, dtype=np.uint8)
