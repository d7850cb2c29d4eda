"""Quality checks on synthetic images and on real lesion photos, with the thresholds from config.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from inference.decode import decode
from inference.preprocess import to_model_input
from inference.quality import laplacian_variance, quality_issues, to_grey
from inference.settings import QualityConfig
from skinbot.config import load_config

FIXTURES = Path(__file__).parents[1] / "fixtures" / "images"
LESIONS = sorted(FIXTURES.glob("benign_*.jpg")) + sorted(FIXTURES.glob("malignant_*.jpg"))
SIZE = 224


@pytest.fixture(scope="module")
def config() -> QualityConfig:
    return load_config(Path(__file__).parents[2] / "config.yaml", env={}).quality


def grey_input(image: Image.Image) -> np.ndarray:
    return to_grey(to_model_input(image, SIZE))


def lesion(path: Path) -> Image.Image:
    decoded = decode(path.read_bytes())
    assert decoded.image is not None
    return decoded.image


def test_grey_matches_pillow_luma() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    pillow = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)
    assert np.abs(to_grey(rgb) - pillow).max() <= 1.0


def test_laplacian_variance_is_zero_on_flat_and_high_on_checkerboard() -> None:
    assert laplacian_variance(np.full((10, 10), 77.0, dtype=np.float32)) == 0.0
    board = (np.indices((10, 10)).sum(axis=0) % 2 * 255).astype(np.float32)
    assert laplacian_variance(board) > 1000
    assert laplacian_variance(np.zeros((2, 50), dtype=np.float32)) == 0.0


@pytest.mark.parametrize("path", LESIONS, ids=lambda p: p.name)
def test_real_lesion_photos_pass(path: Path, config: QualityConfig) -> None:
    image = lesion(path)
    assert quality_issues(grey_input(image), image.size, config) == ()


@pytest.mark.parametrize("path", LESIONS, ids=lambda p: p.name)
def test_blurred_lesion_photo_is_blurry(path: Path, config: QualityConfig) -> None:
    # A phone photo out of focus: upscaled to 1280x960, blurred there, as the camera would deliver it.
    phone = lesion(path).resize((1280, 960), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(16))
    assert quality_issues(grey_input(phone), phone.size, config) == ("blurry",)


def test_black_frame_is_dark_and_blank(config: QualityConfig) -> None:
    black = Image.new("RGB", (640, 480), (3, 3, 3))
    assert quality_issues(grey_input(black), black.size, config) == ("too_dark", "low_contrast")


def test_white_frame_is_washed_out_and_blank(config: QualityConfig) -> None:
    white = Image.new("RGB", (640, 480), (250, 250, 250))
    assert quality_issues(grey_input(white), white.size, config) == ("too_bright", "low_contrast")


def test_dark_but_detailed_frame_is_dark_only(config: QualityConfig) -> None:
    stripes = np.where(np.arange(640) // 16 % 2, 50, 0).astype(np.uint8)  # sharp dark stripes, mean 25
    dim = Image.fromarray(np.broadcast_to(stripes, (480, 640))).convert("RGB")
    assert quality_issues(grey_input(dim), dim.size, config) == ("too_dark",)


def test_tiny_photo_is_too_small(config: QualityConfig) -> None:
    tiny = lesion(LESIONS[0]).resize((64, 48))
    assert quality_issues(grey_input(tiny), tiny.size, config) == ("too_small",)


def test_thresholds_come_from_config() -> None:
    strict = QualityConfig(blur_min_laplacian_var=1e9)
    image = lesion(LESIONS[0])
    assert quality_issues(grey_input(image), image.size, strict) == ("blurry",)
