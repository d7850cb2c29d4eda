"""Fixtures: an emulator on a free loopback port, stopped after each test."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from playground.server import Emulator

TOKEN = "4242:TEST-TOKEN"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator(token=TOKEN)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), (180, 120, 90)).save(buffer, format="PNG")
    return buffer.getvalue()
