"""Training augmentation: geometric and photometric changes, several of them aimed at the dermoscope -> phone gap
(colour casts, blur, sensor noise, looser framing) and at what phones and Telegram do to a photo (JPEG re-encoding
at quality 50-95, downscaling and upscaling)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from inference.preprocess import to_model_input


def augmented_input(image: Image.Image, size: int, rng: np.random.Generator, jpeg: bool = True) -> np.ndarray:
    """A randomly augmented model input (uint8, size x size x 3) from one decoded RGB image; `jpeg` allows the JPEG
    re-encoding step (off only to measure what it is worth)."""
    img = _geometry(image.convert("RGB"), rng)
    img = _photometric(img, rng)
    img = _phone_artifacts(img, rng, jpeg)
    array = to_model_input(img, size)
    if rng.random() < 0.3:
        noise = rng.normal(0.0, rng.uniform(2.0, 8.0), array.shape)
        array = np.clip(array.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return array


def _geometry(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    # Lesions have no up or down: any quarter turn and mirror are equally valid views.
    img = img.rotate(90 * int(rng.integers(4)), expand=True)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    angle = float(rng.uniform(-30, 30))
    if abs(angle) > 1:
        # Rotate, then crop the centre so no black corners appear (they would be a shortcut to learn).
        w, h = img.size
        img = img.rotate(angle, resample=Image.Resampling.BILINEAR)
        shrink = 1.0 / (abs(np.cos(np.radians(angle))) + abs(np.sin(np.radians(angle))))
        cw, ch = int(w * shrink), int(h * shrink)
        img = img.crop(((w - cw) // 2, (h - ch) // 2, (w + cw) // 2, (h + ch) // 2))
    # Zoom: a random crop keeping 65-100% of each side, jittered off-centre.
    w, h = img.size
    scale = float(rng.uniform(0.65, 1.0))
    cw, ch = max(8, int(w * scale)), max(8, int(h * scale))
    left = int(rng.integers(0, w - cw + 1))
    top = int(rng.integers(0, h - ch + 1))
    return img.crop((left, top, left + cw, top + ch))


def _photometric(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    img = ImageEnhance.Brightness(img).enhance(float(rng.uniform(0.7, 1.3)))
    img = ImageEnhance.Contrast(img).enhance(float(rng.uniform(0.7, 1.3)))
    img = ImageEnhance.Color(img).enhance(float(rng.uniform(0.7, 1.3)))
    if rng.random() < 0.5:
        # Colour cast (white balance of a phone under warm or cool light).
        gains = rng.uniform(0.88, 1.12, size=3)
        array = np.asarray(img, dtype=np.float32) * gains
        img = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    return img


def jpeg_bytes(img: Image.Image, quality: int) -> bytes:
    """The image encoded as JPEG at `quality` (what Telegram does to every photo)."""
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def jpeg_reencode(img: Image.Image, quality: int) -> Image.Image:
    """The image after a JPEG round trip at `quality`."""
    return Image.open(io.BytesIO(jpeg_bytes(img, quality))).convert("RGB")


def _phone_artifacts(img: Image.Image, rng: np.random.Generator, jpeg: bool) -> Image.Image:
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
    if rng.random() < 0.3:
        # A photo sent small and shown large: detail lost to a downscale, then interpolated back.
        w, h = img.size
        factor = float(rng.uniform(0.35, 0.8))
        img = img.resize((max(8, int(w * factor)), max(8, int(h * factor))), Image.Resampling.BILINEAR)
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    if rng.random() < 0.5 and jpeg:
        img = jpeg_reencode(img, int(rng.integers(50, 96)))
    return img
