"""The emulator's state: simulated users and their private chats with the bot, messages, files and the update queue.

Everything here is Telegram-shaped JSON (plain dicts, as the Bot API sends them). Users act through the `user_*`
methods (which queue updates for the bot); the bot acts through the `bot_*` methods (called by the Bot API routes).
Every change in a chat is also appended to an event log that the web page and test clients long-poll.
All methods run on the emulator's event loop; nothing here is thread-safe or needs to be.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from playground.media import photo_renditions

FIRST_UPDATE_ID = 100_000_001
FIRST_USER_ID = 10_000_001


class ApiError(Exception):
    """A Bot API error as Telegram reports it: HTTP status = `error_code`, plus a description."""

    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters or {}


def bad_request(detail: str) -> ApiError:
    """A 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str

    def as_file(self) -> dict[str, Any]:
        """The Bot API `File` object."""
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.data), "file_path": self.file_path}


@dataclass(frozen=True)
class Event:
    """One change in a chat: kind is message | edit | delete | action | callback_answer; `at` is the Unix time."""

    seq: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    at: float

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "chat_id": self.chat_id, "kind": self.kind, "at": self.at, **self.payload}


@dataclass(frozen=True)
class Webhook:
    """What setWebhook registered: where updates are POSTed (a bot replica, or a load balancer in front of several),
    the secret sent with each, how many requests may be in flight at once, and which update types (empty: all)."""

    url: str
    secret_token: str = ""
    max_connections: int = 40
    allowed_updates: frozenset[str] = frozenset()


@dataclass
class _Queue:
    """Updates not yet confirmed by the bot, and who is long-polling for them."""

    pending: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = FIRST_UPDATE_ID
    poll_generation: int = 0


class World:
    """All users, chats, messages, files and updates of one emulator instance."""

    def __init__(self, bot_id: int, bot_username: str) -> None:
        self.bot_user: dict[str, Any] = {"id": bot_id, "is_bot": True, "first_name": "skinbot",
                                         "username": bot_username}
        self.users: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: Webhook | None = None
        self.webhook_error: tuple[int, str] | None = None  # (Unix time, message) of the last failed delivery
        self.events: list[Event] = []
        self._chat_events: defaultdict[int, list[Event]] = defaultdict(list)
        # one condition per chat, so that a change wakes only the pollers of that chat
        self._chat_changed: defaultdict[int, asyncio.Condition] = defaultdict(asyncio.Condition)
        self._queue = _Queue()
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._file_numbers = itertools.count(1)
        self._changed = asyncio.Condition()  # the update queue changed

    # ---- users -------------------------------------------------------------------------------------------------

    def add_user(self, first_name: str, language_code: str = "en") -> dict[str, Any]:
        """Create a simulated user (their private chat id equals their user id)."""
        user_id = next(self._user_ids)
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> dict[str, Any]:
        """The user with this id; KeyError if there is none."""
        return self.users[user_id]

    def chat(self, chat_id: int) -> dict[str, Any]:
        """The private `Chat` object for a chat id, or a Bot API "chat not found" error."""
        user = self.users.get(chat_id)
        if user is None:
            raise bad_request("chat not found")
        return {"id": chat_id, "type": "private", "first_name": user["first_name"]}

    # ---- what users do -----------------------------------------------------------------------------------------

    async def user_text(self, user_id: int, text: str) -> dict[str, Any]:
        """The user sends a text message; commands get the `bot_command` entity PTB's CommandHandler needs."""
        message = self._new_message(user_id, self.users[user_id], text=text)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        await self._from_user(message)
        return message

    async def user_photo(self, user_id: int, data: bytes, caption: str = "") -> dict[str, Any]:
        """The user sends a photo; Telegram re-encodes it into several JPEG sizes. NotAnImageError if it isn't one."""
        sizes = []
        # re-encoding a large photo takes a while: off the loop, so other users and the bot are not held up
        for rendition in await asyncio.to_thread(photo_renditions, data):
            stored = self.store_file(rendition.jpeg, "photos", "jpg", "image/jpeg")
            sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                          "width": rendition.width, "height": rendition.height, "file_size": len(stored.data)})
        message = self._new_message(user_id, self.users[user_id], photo=sizes)
        if caption:
            message["caption"] = caption
        await self._from_user(message)
        return message

    async def user_document(self, user_id: int, data: bytes, file_name: str, mime_type: str) -> dict[str, Any]:
        """The user sends a file as-is (e.g. a photo "as file", uncompressed)."""
        extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        stored = self.store_file(data, "documents", extension, mime_type)
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(data)}
        message = self._new_message(user_id, self.users[user_id], document=document)
        await self._from_user(message)
        return message

    async def user_press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The user taps an inline button carrying `data` under one of the bot's messages."""
        message = self.messages.get((user_id, message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in chat {user_id}")
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        if not any(button.get("callback_data") == data for row in rows for button in row):
            raise KeyError(f"message {message_id} has no button with callback data {data!r}")
        query_id = str(secrets.randbits(63))
        query = {"id": query_id, "from": self.users[user_id], "message": message,
                 "chat_instance": str(user_id * 7919), "data": data}
        self.callback_queries[query_id] = query
        await self._push_update({"callback_query": query})
        return query

    # ---- what the bot does -------------------------------------------------------------------------------------

    async def bot_message(
        self, chat_id: int, content: dict[str, Any], keyboard: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The bot sends a message with `content` (text/entities, photo, document, caption, inline reply_markup).

        `keyboard` is a reply keyboard or its removal: not part of the message, but shown by the chat page.
        """
        self.chat(chat_id)
        message = self._new_message(chat_id, self.bot_user, **content)
        self.messages[(chat_id, message["message_id"])] = message
        await self._record(chat_id, "message", {"message": message, "keyboard": keyboard})
        return message

    async def bot_edit(self, chat_id: int, message_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """The bot edits one of its messages; Telegram refuses edits that change nothing."""
        self.chat(chat_id)
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        updated = {**message, **changes}
        if not changes.get("reply_markup"):  # an edit without a keyboard removes it, as on Telegram
            updated.pop("reply_markup", None)
        if "text" in changes and "entities" not in changes:
            updated.pop("entities", None)
        if _same_content(message, updated):
            raise bad_request("message is not modified: specified new message content and reply markup are "
                              "exactly the same as a current content and reply markup of the message")
        updated["edit_date"] = int(time.time())
        self.messages[(chat_id, message_id)] = updated
        await self._record(chat_id, "edit", {"message": updated})
        return updated

    async def bot_delete(self, chat_id: int, message_id: int) -> None:
        """The bot deletes a message in the chat."""
        self.chat(chat_id)
        if self.messages.pop((chat_id, message_id), None) is None:
            raise bad_request("message to delete not found")
        await self._record(chat_id, "delete", {"message_id": message_id})

    async def bot_action(self, chat_id: int, action: str) -> None:
        """The bot shows a chat action ("typing", "upload_photo", …)."""
        self.chat(chat_id)
        await self._record(chat_id, "action", {"action": action})

    async def bot_answer_callback(self, query_id: str, text: str, show_alert: bool) -> None:
        """The bot answers a button tap (each query can be answered once)."""
        query = self.callback_queries.pop(query_id, None)
        if query is None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        await self._record(query["from"]["id"], "callback_answer",
                           {"callback_query_id": query_id, "text": text, "show_alert": show_alert})

    # ---- files -------------------------------------------------------------------------------------------------

    def store_file(self, data: bytes, folder: str, extension: str, mime_type: str) -> StoredFile:
        """Keep bytes under a fresh file_id and file_path."""
        number = next(self._file_numbers)
        stored = StoredFile(file_id=f"AgAC{secrets.token_urlsafe(24)}", file_unique_id=f"AQAD{number:08d}",
                            file_path=f"{folder}/file_{number}.{extension}", data=data, mime_type=mime_type)
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    # ---- the update queue (getUpdates) -------------------------------------------------------------------------

    async def get_updates(
        self, offset: int, limit: int, timeout: float, allowed: frozenset[str]
    ) -> list[dict[str, Any]]:
        """Telegram's getUpdates: confirm updates below `offset`, then return up to `limit`, waiting up to `timeout`.

        A newer getUpdates call ends a waiting one with 409 Conflict, as on Telegram.
        """
        queue = self._queue
        if offset > 0:
            queue.pending = [u for u in queue.pending if u["update_id"] >= offset]
        elif offset < 0:
            queue.pending = queue.pending[offset:]
        queue.poll_generation += 1
        generation = queue.poll_generation
        deadline = time.monotonic() + max(0.0, timeout)
        async with self._changed:
            self._changed.notify_all()  # wakes an older waiting call so that it can answer 409
            while True:
                if generation != queue.poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only "
                                        "one bot instance is running")
                ready = [u for u in queue.pending if not allowed or update_type(u) in allowed][:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    continue

    async def set_webhook(self, webhook: Webhook | None) -> None:
        """Register a webhook (updates are then delivered to it, see `playground.webhook`) or, with None, go back
        to getUpdates."""
        self.webhook = webhook
        self.webhook_error = None
        async with self._changed:
            self._changed.notify_all()

    def next_update_of_chat(self, chat_id: int) -> dict[str, Any] | None:
        """The oldest queued update of a chat (webhook delivery sends a chat's updates one at a time, in order)."""
        return next((u for u in self._queue.pending if update_chat(u) == chat_id), None)

    def chats_waiting(self) -> list[int]:
        """The chats with queued updates, the one with the oldest update first."""
        return list(dict.fromkeys(update_chat(u) for u in self._queue.pending))

    def confirm(self, update_id: int) -> None:
        """Forget a delivered update (the webhook answered 2xx)."""
        self._queue.pending = [u for u in self._queue.pending if u["update_id"] != update_id]

    async def queue_changed(self, timeout: float) -> None:
        """Wait until an update is queued or the webhook changes, for at most `timeout` seconds."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)

    def drop_pending_updates(self) -> None:
        """Forget every queued update (deleteWebhook with drop_pending_updates)."""
        self._queue.pending.clear()

    @property
    def updates_made(self) -> int:
        """Updates queued since the start (each user message and button tap), delivered or not."""
        return self._queue.next_id - FIRST_UPDATE_ID

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._queue.pending)

    # ---- the event log (web page, test clients) ----------------------------------------------------------------

    async def events_after(self, chat_id: int, after: int, timeout: float) -> list[Event]:
        """Events of a chat with seq > `after`, waiting up to `timeout` seconds for the first one."""
        deadline = time.monotonic() + max(0.0, timeout)
        events, changed = self._chat_events[chat_id], self._chat_changed[chat_id]
        async with changed:
            while True:
                found = events[bisect.bisect_right(events, after, key=lambda e: e.seq):]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    continue

    def transcript(self, chat_id: int) -> list[dict[str, Any]]:
        """The chat's current messages (edits applied, deletions gone), oldest first."""
        return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id]

    # ---- internals ---------------------------------------------------------------------------------------------

    def _new_message(self, chat_id: int, sender: dict[str, Any], **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._message_ids[chat_id]), "from": sender, "chat": self.chat(chat_id),
                "date": int(time.time()), **content}

    async def _from_user(self, message: dict[str, Any]) -> None:
        chat_id = message["chat"]["id"]
        self.messages[(chat_id, message["message_id"])] = message
        await self._record(chat_id, "message", {"message": message, "keyboard": None})
        await self._push_update({"message": message})

    async def _push_update(self, body: dict[str, Any]) -> None:
        update = {"update_id": self._queue.next_id, **body}
        self._queue.next_id += 1
        self._queue.pending.append(update)
        async with self._changed:
            self._changed.notify_all()

    async def _record(self, chat_id: int, kind: str, payload: dict[str, Any]) -> None:
        event = Event(seq=len(self.events) + 1, chat_id=chat_id, kind=kind, payload=payload, at=time.time())
        self.events.append(event)
        self._chat_events[chat_id].append(event)
        changed = self._chat_changed[chat_id]
        async with changed:
            changed.notify_all()


def update_type(update: dict[str, Any]) -> str:
    """An update's type: "message", "callback_query", …"""
    return next(key for key in update if key != "update_id")


def update_chat(update: dict[str, Any]) -> int:
    """The private chat an update belongs to (the emulator has no groups: the chat id is the user's id)."""
    body = update[update_type(update)]
    chat = body.get("chat") or body.get("message", {}).get("chat")
    return int(chat["id"]) if chat else int(body["from"]["id"])


def _same_content(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = ("text", "entities", "caption", "caption_entities", "reply_markup")
    return all(old.get(k) == new.get(k) for k in keys)
