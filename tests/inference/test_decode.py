"""Decoding of every odd input a user (or an attacker) can send; fixtures are made here, in memory."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from inference.decode import decode


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def halves(width: int, height: int, left: tuple[int, int, int], right: tuple[int, int, int]) -> Image.Image:
    """An RGB image whose left half is `left` and right half is `right`."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = left
    pixels[:, width // 2 :] = right
    return Image.fromarray(pixels)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming `width` x `height`, followed by a few bytes of pixel data (one row at most)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


RED, BLUE = (255, 0, 0), (0, 0, 255)


def test_zero_bytes_are_empty() -> None:
    result = decode(b"")
    assert result.image is None
    assert result.reason == "empty"


def test_text_named_jpg_is_not_an_image() -> None:
    assert decode(b"hello, this is a text file that someone renamed to photo.jpg\n").reason == "not_an_image"


def test_truncated_jpeg_is_truncated() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "JPEG", quality=90)
    result = decode(data[: len(data) // 2])
    assert result.image is None
    assert result.reason == "truncated"
    assert result.source_size == (400, 300)


def test_file_over_the_byte_limit_is_refused_unread() -> None:
    assert decode(b"\xff" * 101, max_bytes=100).reason == "too_large_file"


def test_20000_square_header_is_refused_without_allocating() -> None:
    # 400 megapixels: Pillow's own bomb guard fires at open; the header is all that exists.
    result = decode(png_header_only(20_000, 20_000))
    assert result.image is None
    assert result.reason == "too_many_pixels"


def test_configured_pixel_limit_is_checked_before_decoding() -> None:
    # 64 megapixels: under Pillow's guard, over ours; there is no pixel data, so only the header check can answer.
    result = decode(png_header_only(8_000, 8_000), max_pixels=50_000_000)
    assert result.reason == "too_many_pixels"
    assert result.source_size == (8_000, 8_000)


def test_full_size_formats_have_a_lower_pixel_limit_than_drafted_jpegs() -> None:
    # 20 megapixels of one colour: a tiny file that would take 60 MB or more to decode at full size.
    flat = Image.new("RGB", (5000, 4000), (200, 150, 140))
    png, jpeg = encode(flat, "PNG"), encode(flat, "JPEG", quality=80)
    assert len(png) < 200_000
    assert decode(png, max_pixels=50_000_000, max_full_pixels=16_000_000).reason == "too_many_pixels"
    drafted = decode(jpeg, max_pixels=50_000_000, draft_side=224, max_full_pixels=16_000_000)
    assert drafted.image is not None and drafted.image.size == (625, 500)
    assert decode(jpeg, max_pixels=50_000_000, draft_side=0, max_full_pixels=16_000_000).reason == "too_many_pixels"


def test_one_pixel_image_decodes() -> None:
    result = decode(encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"))
    assert result.reason is None
    assert result.image is not None
    assert result.image.size == (1, 1)
    assert result.image.getpixel((0, 0)) == (10, 20, 30)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (64, 48), (0, 255, 255, 0))  # full magenta + yellow = red
    result = decode(encode(cmyk, "JPEG", quality=95))
    assert result.image is not None
    assert result.image.mode == "RGB"
    r, g, b = np.asarray(result.image).reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 50 and b < 50


def test_16_bit_png_is_scaled_not_clipped() -> None:
    wide = np.full((32, 32), 32_896, dtype=np.uint16)  # mid-grey in 16 bits (128 * 257)
    data = encode(Image.fromarray(wide), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    result = decode(data)
    assert result.image is not None
    assert result.image.mode == "RGB"
    assert set(np.asarray(result.image).ravel().tolist()) == {128}


def test_rgba_is_flattened_onto_white() -> None:
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent
    result = decode(encode(rgba, "PNG"))
    assert result.image is not None
    assert result.image.getpixel((4, 4)) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["L", "P", "1", "LA"])
def test_other_modes_become_rgb(mode: str) -> None:
    source = halves(16, 8, (0, 0, 0), (255, 255, 255)).convert(mode)
    result = decode(encode(source, "PNG"))
    assert result.image is not None
    assert result.image.mode == "RGB"
    assert result.image.getpixel((0, 0)) == (0, 0, 0)
    assert result.image.getpixel((15, 7)) == (255, 255, 255)


def test_animated_gif_yields_first_frame() -> None:
    frames = [Image.new("RGB", (20, 20), RED), Image.new("RGB", (20, 20), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    result = decode(data)
    assert result.image is not None
    assert result.image.getpixel((10, 10)) == RED


def test_exif_rotation_is_applied() -> None:
    stored = halves(40, 20, RED, BLUE)  # as the sensor wrote it: landscape, red left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    result = decode(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert result.image is not None
    assert result.image.size == (20, 40)
    top, bottom = np.asarray(result.image)[5, 10], np.asarray(result.image)[35, 10]
    assert top[0] > 200 and top[2] < 60  # red is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_large_jpeg_is_decoded_at_reduced_size_keeping_enough_pixels() -> None:
    data = encode(halves(2000, 1500, RED, BLUE), "JPEG", quality=90)
    reduced = decode(data, draft_side=448)
    full = decode(data, draft_side=0)
    assert reduced.image is not None and full.image is not None
    assert reduced.image.size == (1000, 750)
    assert full.image.size == (2000, 1500)
    assert reduced.source_size == (2000, 1500)


def test_small_jpeg_is_not_reduced() -> None:
    # Training images (<= 600 px) must decode exactly as at full size, so serving and training see the same pixels.
    data = encode(halves(600, 450, RED, BLUE), "JPEG", quality=90)
    reduced, full = decode(data, draft_side=448), decode(data, draft_side=0)
    assert reduced.image is not None and full.image is not None
    assert np.array_equal(np.asarray(reduced.image), np.asarray(full.image))


def test_pillow_global_limit_is_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    decode(png_header_only(20_000, 20_000), max_pixels=10)
    assert before == Image.MAX_IMAGE_PIXELS
