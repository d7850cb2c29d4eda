"""A Python client for the emulator's chat and control APIs: how tests and the load test act as users.

    async with aiohttp.ClientSession() as session:
        client = ChatClient("http://127.0.0.1:8080", session)
        chat = await client.new_chat("Ann", "en")
        await chat.send_photo(jpeg_bytes)
        replies = await chat.bot_replies(timeout=10)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class ChatApiError(RuntimeError):
    """The emulator refused a chat or control request."""


class ChatClient:
    """Thin typed wrapper over /_chat/ and /_control/ of one emulator."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request to the emulator; ChatApiError unless it answers 200."""
        async with self.session.request(method, f"{self.base_url}{path}", **kwargs) as response:
            body: dict[str, Any] = await response.json()
            if response.status != 200:
                raise ChatApiError(f"{method} {path}: {response.status} {body.get('error', body)}")
            return body

    async def new_chat(self, first_name: str, language_code: str = "en") -> Chat:
        """Create a simulated user and return their chat with the bot."""
        body = await self.call("POST", "/_chat/users", json={"first_name": first_name,
                                                               "language_code": language_code})
        return Chat(self, int(body["user"]["id"]))

    async def events(self, user_id: int, after: int, timeout: float) -> list[dict[str, Any]]:
        """Events of the user's chat after seq `after`, long-polling up to `timeout` seconds."""
        body = await self.call("GET", "/_chat/events",
                                params={"user_id": str(user_id), "after": str(after), "timeout": str(timeout)})
        events: list[dict[str, Any]] = body["events"]
        return events

    async def transcript(self, user_id: int) -> list[dict[str, Any]]:
        """The chat's current messages, edits applied."""
        body = await self.call("GET", "/_chat/transcript", params={"user_id": str(user_id)})
        messages: list[dict[str, Any]] = body["messages"]
        return messages

    async def add_fault(self, kind: str, method: str = "", count: int = 1, retry_after: int = 1,
                        delay: float = 0.0) -> None:
        """Inject a fault (see playground.faults) through the control API."""
        await self.call("POST", "/_control/faults", json={"kind": kind, "method": method, "count": count,
                                                            "retry_after": retry_after, "delay": delay})

    async def faults(self) -> dict[str, Any]:
        """Active faults and how many of each kind fired."""
        return await self.call("GET", "/_control/faults")

    async def clear_faults(self) -> None:
        await self.call("DELETE", "/_control/faults")

    async def stats(self) -> dict[str, Any]:
        """Bot API calls per method, pending updates, users, fired faults."""
        return await self.call("GET", "/_control/stats")


@dataclass
class Chat:
    """One simulated user's chat; remembers which events it has already seen."""

    client: ChatClient
    user_id: int
    seen: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    last_queued_at: float = 0.0  # emulator time at which the last action's update was queued

    async def send_text(self, text: str) -> dict[str, Any]:
        body = await self.client.call("POST", "/_chat/send", json={"user_id": self.user_id, "text": text})
        self.last_queued_at = float(body["queued_at"])
        message: dict[str, Any] = body["message"]
        return message

    async def send_photo(self, data: bytes, filename: str = "photo.jpg", as_document: bool = False,
                         caption: str = "") -> dict[str, Any]:
        """Upload a photo, compressed like Telegram does or (as_document) as an untouched file."""
        form = aiohttp.FormData()
        form.add_field("user_id", str(self.user_id))
        form.add_field("as", "document" if as_document else "photo")
        form.add_field("caption", caption)
        form.add_field("file", data, filename=filename, content_type="image/jpeg")
        body = await self.client.call("POST", "/_chat/upload", data=form)
        self.last_queued_at = float(body["queued_at"])
        message: dict[str, Any] = body["message"]
        return message

    async def press(self, message_id: int, data: str) -> str:
        """Tap the inline button with callback data `data` under message `message_id`."""
        body = await self.client.call("POST", "/_chat/press", json={"user_id": self.user_id,
                                                                     "message_id": message_id, "data": data})
        self.last_queued_at = float(body["queued_at"])
        return str(body["callback_query_id"])

    async def next_events(self, timeout: float) -> list[dict[str, Any]]:
        """New events since the last call (waiting up to `timeout` for at least one)."""
        events = await self.client.events(self.user_id, self.seen, timeout)
        if events:
            self.seen = events[-1]["seq"]
            self.history.extend(events)
        return events

    async def bot_replies(self, timeout: float, settle: float = 0.0, count: int = 1) -> list[dict[str, Any]]:
        """Bot messages and edits (as "message"/"edit" events) arriving within `timeout` seconds.

        Returns once at least `count` arrived and then nothing more came for `settle` seconds (or at the deadline).
        """
        deadline = time.monotonic() + timeout
        replies: list[dict[str, Any]] = []
        last_reply = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                return replies
            if len(replies) >= count:
                quiet_left = settle - (now - last_reply)
                if quiet_left <= 0:
                    return replies
                wait = min(deadline - now, quiet_left)
            else:
                wait = deadline - now
            events = await self.next_events(wait)
            new = [e for e in events if e["kind"] in ("message", "edit") and e["message"]["from"]["is_bot"]]
            if new:
                replies.extend(new)
                last_reply = time.monotonic()


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline buttons of a message, row by row flattened."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


def message_text(message: dict[str, Any]) -> str:
    """A message's text or caption ("" if it has neither)."""
    return str(message.get("text") or message.get("caption") or "")
