"""The page's JSON API and the control API, through the same client the e2e and load tests use."""

from __future__ import annotations

import re

import aiohttp
import pytest
import telegram

from playground.client import ChatApiError, ChatClient, buttons
from playground.server import STATIC_DIR
from tests.playground.conftest import TOKEN


@pytest.fixture
async def client(emulator):
    async with aiohttp.ClientSession() as session:
        yield ChatClient(emulator.url, session)


async def test_users_send_text_photos_and_files(emulator, client, png_bytes):
    chat = await client.new_chat("지민", "ko")
    assert emulator.world.user(chat.user_id)["language_code"] == "ko"
    await chat.send_text("안녕하세요")
    photo = await chat.send_photo(png_bytes, filename="arm.png")
    document = await chat.send_photo(png_bytes, filename="arm.png", as_document=True)
    assert len(photo["photo"]) == 4
    assert document["document"]["file_name"] == "arm.png" and document["document"]["file_size"] == len(png_bytes)
    with pytest.raises(ChatApiError, match="send it as a file"):
        await chat.send_photo(b"%PDF-1.4 not an image", filename="scan.pdf")
    bot = telegram.Bot(TOKEN, base_url=emulator.api_base_url, base_file_url=emulator.file_base_url)
    async with bot:
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates] == ["안녕하세요", None, None]
        # "as file" keeps the original bytes, as Telegram does for documents
        original = await (await bot.get_file(updates[2].message.document.file_id)).download_as_bytearray()
    assert bytes(original) == png_bytes


async def test_refuses_bad_requests_with_clear_errors(client):
    with pytest.raises(ChatApiError, match="language_code"):
        await client.new_chat("Ann", "fr")
    with pytest.raises(ChatApiError, match="first_name"):
        await client.new_chat("", "en")
    chat = await client.new_chat("Ann")
    with pytest.raises(ChatApiError, match="text must be"):
        await chat.send_text("   ")
    with pytest.raises(ChatApiError, match="no message"):
        await chat.press(99, "x")
    with pytest.raises(ChatApiError, match="kind must be"):
        await client.add_fault("teapot")
    ghost = type(chat)(client, 12345)
    with pytest.raises(ChatApiError, match="no such user"):
        await ghost.send_text("hi")


async def test_events_show_bot_replies_edits_and_button_presses(emulator, client):
    chat = await client.new_chat("Bo")
    bot = telegram.Bot(TOKEN, base_url=emulator.api_base_url)
    async with bot:
        assert await chat.bot_replies(timeout=0.2) == []
        sent = await bot.send_message(chat.user_id, "Q1", reply_markup=telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Yes", callback_data="yes")]]))
        (reply,) = await chat.bot_replies(timeout=2)
        assert reply["kind"] == "message" and [b["text"] for b in buttons(reply["message"])] == ["Yes"]
        await chat.press(sent.message_id, "yes")
        (update,) = await bot.get_updates(timeout=0)
        await bot.edit_message_text("Q1: yes", chat_id=chat.user_id, message_id=sent.message_id)
        await bot.send_message(chat.user_id, "Q2")
        replies = await chat.bot_replies(timeout=3, count=2, settle=0.2)
    assert [(r["kind"], r["message"]["text"]) for r in replies] == [("edit", "Q1: yes"), ("message", "Q2")]
    transcript = await client.transcript(chat.user_id)
    assert [m.get("text") for m in transcript] == ["Q1: yes", "Q2"]
    assert update.callback_query.data == "yes"


async def test_control_api_injects_and_lists_faults(emulator, client):
    await client.add_fault("503", method="sendMessage", count=2)
    listed = await client.faults()
    assert listed["faults"][0]["kind"] == "503" and listed["faults"][0]["count"] == 2
    chat = await client.new_chat("Cy")
    bot = telegram.Bot(TOKEN, base_url=emulator.api_base_url)
    async with bot:
        with pytest.raises(telegram.error.NetworkError, match="Service Unavailable"):
            await bot.send_message(chat.user_id, "x")
    stats = await client.stats()
    assert stats["calls"]["sendMessage"] == 1 and stats["faults_fired"] == {"503": 1}
    await client.clear_faults()
    assert (await client.faults())["faults"] == []


async def test_page_is_served_and_uses_no_external_assets(emulator):
    async with aiohttp.ClientSession() as session:
        async with session.get(emulator.url + "/") as response:
            assert response.status == 200
            page = await response.text()
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page):
            async with session.get(emulator.url + asset) as response:
                assert response.status == 200, asset
    for path in STATIC_DIR.iterdir():
        assert not re.search(r"(?:src|href|url)\s*[=(]\s*[\"']?(?:https?:)?//", path.read_text()), path.name
