"""Telegram misbehaving (rate limits, server errors, slow or dropped connections) never costs the user a reply."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from playground.client import Chat
from tests.e2e.conftest import IMAGES, REPLY_TIMEOUT_S, Stack, last_reply, message_text, press, send_photo

READ_TIMEOUT_S = 2.0


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    # a short client timeout, so that a "slow Telegram" fault is a real timeout within the test's time budget
    return {"bot": {"read_timeout_s": READ_TIMEOUT_S}}


async def run_flow(chat: Chat) -> list[str]:
    """A photo, the first two questions and a command; the first lines of the bot's final replies."""
    result = await send_photo(chat, "malignant_1.jpg")
    question = await press(chat, result, "q:start")
    question = await press(chat, question, "q:ans")
    await chat.send_text("/help")
    helped = await chat.bot_replies(timeout=30, settle=0.5)
    return [message_text(result).split(".")[0], message_text(question).splitlines()[0],
            message_text(helped[-1]["message"]).splitlines()[0] if helped else ""]


EXPECTED = ["Result: {risk} risk", "Question 2 of 8", "Send me a close-up photo of one skin spot (as a photo or as an "
            "image file) and I'll check it."]

FAULTS = {
    "rate_limited": [("429", "sendMessage", {"count": 2, "retry_after": 1}),
                     ("429", "editMessageText", {"count": 1, "retry_after": 1})],
    "server_errors": [("502", "sendMessage", {}), ("500", "editMessageText", {}), ("503", "getFile", {}),
                      ("502", "getUpdates", {"count": 2})],
    "timeouts": [("delay", "sendMessage", {"delay": READ_TIMEOUT_S + 1.5}),
                 ("delay", "download", {"delay": READ_TIMEOUT_S + 1.5})],
    "dropped_connections": [("drop", "getUpdates", {"count": 2}), ("drop", "sendMessage", {}),
                            ("drop", "answerCallbackQuery", {})],
}


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_injected_faults_still_deliver_every_reply(stack: Stack, kind: str):
    for fault, method, extra in FAULTS[kind]:
        await stack.client.add_fault(fault, method=method, **extra)
    chat = await stack.client.new_chat("Fay", "en")
    texts = await run_flow(chat)
    risk = texts[0].removeprefix("Result: ").removesuffix(" risk")
    assert texts == [EXPECTED[0].format(risk=risk), *EXPECTED[1:]]
    assert (await stack.client.faults())["faults"] == [], "every injected fault fired"
    sent = [m for m in await stack.client.transcript(chat.user_id) if m["from"]["is_bot"]]
    assert len(sent) == 2, [message_text(m)[:40] for m in sent]  # the result (edited in place) and the help


async def test_after_a_lost_edit_the_next_tap_shows_the_current_question(stack: Stack):
    chat = await stack.client.new_chat("Lu", "en")
    question = await press(chat, await send_photo(chat, "malignant_1.jpg"), "q:start")
    for _ in range(3):
        question = await press(chat, question, "q:ans")
    await stack.client.add_fault("500", method="editMessageText", count=4)  # the first try and every retry
    apology = await press(chat, question, "q:ans")  # stored, but question 5 is never shown
    assert message_text(apology).startswith("Sorry, something went wrong")
    (shown,) = [m for m in await stack.client.transcript(chat.user_id) if m["message_id"] == question["message_id"]]
    assert message_text(shown).startswith("Question 4 of")
    assert message_text(await press(chat, shown, "q:ans")).startswith("Question 5 of")
    assert stack.rows("SELECT COUNT(*) FROM answers") == [(4,)]


async def test_a_result_lost_to_rate_limits_is_sent_when_the_user_writes_again(stack: Stack):
    await stack.client.add_fault("429", method="sendMessage", count=8, retry_after=1)
    chat = await stack.client.new_chat("Mo", "en")
    await chat.send_photo((IMAGES / "malignant_1.jpg").read_bytes(), filename="malignant_1.jpg")
    for _ in range(300):
        if not (await stack.client.faults())["faults"]:
            break
        await asyncio.sleep(0.1)
    assert not await chat.bot_replies(timeout=1.0)  # the result and the apology were both refused
    await chat.send_text("/start")
    replies = [r["message"] for r in await chat.bot_replies(timeout=REPLY_TIMEOUT_S, settle=1.0, count=2)]
    assert message_text(replies[0]).startswith("Result: ")
    question = await press(chat, replies[0], "q:start")
    assert message_text(question).startswith("Question 1 of")


async def test_forget_while_a_photo_is_downloading_leaves_no_result_and_no_row(stack: Stack):
    await stack.client.add_fault("delay", method="download", delay=4)
    chat = await stack.client.new_chat("Ny", "en")
    await chat.send_photo((IMAGES / "malignant_1.jpg").read_bytes(), filename="malignant_1.jpg")
    await chat.send_text("/forget")
    confirm = await last_reply(chat)
    done = await press(chat, confirm, "forget:yes")
    assert message_text(done) == "Done. I've deleted everything I had stored about you."
    later = await chat.bot_replies(timeout=6.0)  # the download's delay has passed
    assert not [r for r in later if message_text(r["message"]).startswith("Result")]
    # every table but the schema's version, which is about the database, not about anyone
    tables = [name for (name,) in stack.rows("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%' AND name != 'schema_version'")]
    assert {t: stack.rows(f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables} == dict.fromkeys(tables, 0)
