"""Transient Bot API failures are retried; request errors and exhausted retries are not hidden."""

import asyncio

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot.retry import RetryingRateLimiter, is_message_to_chat, is_transient, with_retries


def flaky(failures):
    calls = []

    async def call():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "sent"

    return call, calls


def test_transient_errors_are_told_apart():
    assert is_transient(NetworkError("Bad Gateway")) and is_transient(TimedOut())
    assert not is_transient(BadRequest("message is too long"))
    assert not is_transient(Forbidden("bot was blocked by the user"))
    assert not is_transient(ValueError("bug"))


async def test_network_errors_and_timeouts_are_retried_until_success():
    call, calls = flaky([NetworkError("Bad Gateway"), TimedOut()])
    assert await with_retries(call, retries=3, backoff_s=0.0, what="sendMessage") == "sent"
    assert len(calls) == 3


async def test_retries_are_bounded():
    call, calls = flaky([NetworkError("down")] * 5)
    with pytest.raises(NetworkError):
        await with_retries(call, retries=2, backoff_s=0.0, what="sendMessage")
    assert len(calls) == 3


async def test_bad_requests_are_not_retried():
    call, calls = flaky([BadRequest("chat not found")])
    with pytest.raises(BadRequest):
        await with_retries(call, retries=3, backoff_s=0.0, what="sendMessage")
    assert len(calls) == 1


async def test_rate_limiter_retries_a_dropped_send():
    limiter = RetryingRateLimiter(network_retries=2, backoff_s=0.0, overall_max_rate=0, max_retries=1)
    await limiter.initialize()
    attempts = []

    async def send(*args, **kwargs):
        attempts.append(kwargs)
        if len(attempts) == 1:
            raise NetworkError("Server disconnected")
        return {"ok": True}

    result = await limiter.process_request(send, (), {"text": "hi"}, "sendMessage", {"chat_id": 1}, None)
    assert result == {"ok": True} and len(attempts) == 2
    await limiter.shutdown()


async def test_only_messages_to_chats_wait_for_the_throttle():
    # 4 messages a second, in bursts of 4: 8 sends take at least 1 s, while 8 edits, typing actions, button answers
    # and file look-ups go straight through.
    limiter = RetryingRateLimiter(network_retries=0, backoff_s=0.0, overall_max_rate=4, max_retries=0)
    await limiter.initialize()

    async def call(*args, **kwargs):
        return {"ok": True}

    async def timed(endpoint):
        started = asyncio.get_running_loop().time()
        for _ in range(8):
            await limiter.process_request(call, (), {}, endpoint, {"chat_id": 1}, None)
        return asyncio.get_running_loop().time() - started

    for unthrottled in ("editMessageText", "sendChatAction", "answerCallbackQuery", "getFile", "setMyCommands"):
        assert await timed(unthrottled) < 0.3, unthrottled
    assert await timed("sendMessage") >= 0.9
    assert is_message_to_chat("sendPhoto") and is_message_to_chat("copyMessage")
    assert is_message_to_chat("forwardMessage") and not is_message_to_chat("sendChatAction")
