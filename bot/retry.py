"""Retrying Bot API calls that failed in transit: network errors, timeouts and Telegram 5xx answers.

python-telegram-bot retries 429s (AIORateLimiter) and failed getUpdates calls (the updater), but a sendMessage
that hits a dropped connection or a 502 is lost unless someone retries it. A retry can, rarely, duplicate a message
that Telegram did deliver before the connection broke: a duplicate reply is better than advice that never arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: NetworkError and TimedOut, but not BadRequest (a NetworkError subclass
    that means the request itself was wrong)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


async def with_retries(call: Callable[[], Awaitable[T]], retries: int, backoff_s: float, what: str) -> T:
    """Await `call()`, retrying up to `retries` times on transient errors with exponential backoff."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc) or attempt >= retries:
                raise
            delay = backoff_s * 2**attempt
            attempt += 1
            logger.warning("%s failed (%s); retry %d of %d in %.1f s", what, exc, attempt, retries, delay)
            await asyncio.sleep(delay)


# Calls whose only effect is cosmetic and short-lived (a tap's spinner, "typing…"): sent once, never retried. A 429
# retry of one would also hold every other call back (AIORateLimiter pauses all requests while it waits), so a
# rate-limited button answer would delay the edit that shows the user the next question.
BEST_EFFORT_ENDPOINTS = frozenset({"answerCallbackQuery", "sendChatAction"})
# Telegram's flood limits count messages sent to chats (about 30 a second overall, 20 a minute per group), so only
# these wait for the throttle: every send* method but sendChatAction, and copies and forwards. Edits, button
# answers, getFile, setMyCommands and the like go straight through (a 429 is still retried after its retry_after).
FORWARDING_ENDPOINTS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def is_message_to_chat(endpoint: str) -> bool:
    """True for the Bot API methods that send a message to a chat (those Telegram's flood limits count)."""
    return endpoint in FORWARDING_ENDPOINTS or (endpoint.startswith("send") and endpoint != "sendChatAction")


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (Telegram's rate limits, 429 retries) plus retries of transient failures. Only messages to
    chats are throttled (`is_message_to_chat`); best-effort calls (`BEST_EFFORT_ENDPOINTS`) go straight through."""

    def __init__(self, *, network_retries: int, backoff_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._network_retries = network_retries
        self._backoff_s = backoff_s

    async def process_request(self, callback: Any, args: Any, kwargs: Any, endpoint: str, data: dict[str, Any],
                              rate_limit_args: Any) -> Any:
        """Rate-limit the call as AIORateLimiter does (messages to chats only), and retry it on transient
        failures."""
        if endpoint in BEST_EFFORT_ENDPOINTS:
            return await callback(*args, **kwargs)
        # AIORateLimiter throttles a call by the chat_id in `data`; without one it only retries 429s.
        limited_by = data if is_message_to_chat(endpoint) else {}
        return await with_retries(
            lambda: AIORateLimiter.process_request(self, callback, args, kwargs, endpoint, limited_by,
                                                   rate_limit_args),
            self._network_retries, self._backoff_s, endpoint,
        )
