"""Telegram misbehaving (rate limits, server errors, slow or dropped connections) never costs the user a reply."""

from __future__ import annotations

from typing import Any

import pytest

from playground.client import Chat
from tests.e2e.conftest import Stack, message_text, press, send_photo

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
