"""Issue 12 end to end over HTTP, against the served model in `models/`: "Where did you look?" sends a photo back,
the report arrives as a one-page PDF in Korean, and a second photo of the same spot is recorded as a follow-up."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.messages import load_catalog
from playground.client import buttons
from tests.e2e.conftest import TOKEN, Stack, last_reply, message_text, press, send_photo

CATALOG = load_catalog()


async def download(stack: Stack, file_id: str) -> bytes:
    """A file the bot sent, fetched through the emulator's Bot API as any client would."""
    base = stack.emulator.url
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/bot{TOKEN}/getFile", params={"file_id": file_id}) as answer:
            path = (await answer.json())["result"]["file_path"]
        async with session.get(f"{base}/file/bot{TOKEN}/{path}") as answer:
            return await answer.read()


def data_of(message: dict[str, Any], prefix: str) -> list[str]:
    return [b["callback_data"] for b in buttons(message) if b["callback_data"].startswith(prefix)]


async def test_heatmap_and_korean_report(stack: Stack, tmp_path: Path):
    chat = await stack.client.new_chat("서연", "ko")
    result = await send_photo(chat, "malignant_1.jpg")
    assert message_text(result) != CATALOG.text("ko", "rash.text"), "a melanoma photo was told it is a rash"
    assert data_of(result, "cam:"), f"no heatmap button under: {message_text(result)[:200]!r}"
    picture = await press(chat, result, "cam:")
    assert "photo" in picture and message_text(picture) == CATALOG.text("ko", "heatmap.caption")
    advice = await press(chat, result, "q:skip")
    report = await press(chat, advice, "rep:")
    assert report["document"]["mime_type"] == "application/pdf"
    assert message_text(report) == CATALOG.text("ko", "report.caption")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(await download(stack, report["document"]["file_id"]))
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: install poppler-utils (scripts/test.sh does)")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert CATALOG.text("ko", "report.title") in text and CATALOG.text("ko", "report.clinician_header") in text
    ((version,),) = stack.rows("SELECT DISTINCT model_version FROM assessments")
    assert version in text


async def test_a_second_photo_of_the_same_spot_is_a_follow_up(stack: Stack):
    chat = await stack.client.new_chat("Eli", "en")
    first = await send_photo(chat, "benign_1.jpg")
    await press(chat, first, "q:skip")
    prompt = await send_photo(chat, "benign_1.jpg")
    assert message_text(prompt) == CATALOG.text("en", "followup.prompt")
    reply = await press(chat, prompt, "spot:")
    assert message_text(reply).startswith("Compared with your check of this spot on")
    assert stack.rows("SELECT COUNT(*) FROM spots") == [(1,)]
    assert stack.rows("SELECT followup FROM assessments ORDER BY id") == [(0,), (1,)]
    await chat.send_text("/report")
    report = await last_reply(chat)
    assert report["document"]["mime_type"] == "application/pdf"
