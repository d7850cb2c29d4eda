"""Offline Telegram for bot tests: a recording `BaseRequest` that answers Bot API calls like Telegram does,
users who send Telegram-shaped updates through `application.process_update`, and a fake analyser."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.storage import USER_TABLES, SqlStorage
from inference.assessment import Assessment
from inference.card import ModelCard, RiskCalibration

BOT_USER = {"id": 999, "is_bot": True, "first_name": "skinbot", "username": "skinbot_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]


class FakeTelegram(BaseRequest):
    """Answers the Bot API methods the bot uses, keeps each chat's messages (edits apply in place), serves files."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.fail_methods: dict[str, int] = {}  # method -> number of 429s to answer before succeeding
        self.retry_after = 1  # seconds, in those 429s
        self.errors: dict[str, list[tuple[int, str]]] = {}  # method -> (status, description) answers to give first
        self.file_paths: dict[str, str] = {}  # file_id -> the file_path getFile answers (default photos/<id>)
        self.download_gate: asyncio.Event | None = None  # when set, downloads wait for it
        self.download_started = asyncio.Event()
        self._ids = itertools.count(1000)
        self.pending_updates: list[dict[str, Any]] = []  # served to getUpdates
        self.downloads: list[str] = []  # file ids downloaded from the file server

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if "/file/" in url:  # python-telegram-bot's own download (the bot streams through `file_transport`)
            file_id = url.rsplit("/", 1)[-1]
            if file_id not in self.files:
                return 404, b"Not Found"
            self.download_started.set()
            if self.download_gate is not None:
                await self.download_gate.wait()
            return 200, self.files[file_id]
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if request_data is not None and request_data.multipart_data:  # uploads: sendPhoto, sendDocument
            params["_files"] = {name: bytes(part[1]) for name, part in request_data.multipart_data.items()}
        if self.fail_methods.get(name, 0) > 0:
            self.fail_methods[name] -= 1
            body = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after}}
            return 429, json.dumps(body).encode()
        if self.errors.get(name):
            status, description = self.errors[name].pop(0)
            return status, json.dumps({"ok": False, "error_code": status, "description": description}).encode()
        self.calls.append(Call(name, params))
        if name == "getUpdates":
            return 200, json.dumps({"ok": True, "result": await self._updates()}).encode()
        return 200, json.dumps({"ok": True, "result": self._answer(name, params)}).encode()

    async def _updates(self) -> list[dict[str, Any]]:
        if not self.pending_updates:
            await asyncio.sleep(0.05)  # a short long-poll, so an idle updater does not spin
        updates, self.pending_updates = self.pending_updates, []
        return updates

    def file_transport(self) -> httpx.MockTransport:
        """Serves `files` over HTTP as the Bot API file server does, to the bot's streaming downloader."""

        async def serve(request: httpx.Request) -> httpx.Response:
            file_id = request.url.path.rsplit("/", 1)[-1]
            if file_id not in self.files:
                return httpx.Response(404, content=b"Not Found")
            self.downloads.append(file_id)
            self.download_started.set()
            if self.download_gate is not None:
                await self.download_gate.wait()
            return httpx.Response(200, content=self.files[file_id])

        return httpx.MockTransport(serve)

    def _answer(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {**BOT_USER, "can_join_groups": False, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        if name == "sendMessage":
            chat_id, message_id = int(params["chat_id"]), next(self._ids)
            self.messages[(chat_id, message_id)] = {"text": params["text"], "reply_markup": params.get("reply_markup")}
            return self._message(chat_id, message_id)
        if name == "editMessageText":
            key = (int(params["chat_id"]), int(params["message_id"]))
            self.messages[key] = {"text": params["text"], "reply_markup": params.get("reply_markup")}
            return self._message(*key)
        if name == "editMessageReplyMarkup":
            key = (int(params["chat_id"]), int(params["message_id"]))
            self.messages[key]["reply_markup"] = params.get("reply_markup")
            return self._message(*key)
        if name in ("sendPhoto", "sendDocument"):  # kept with the caption as the message's text
            chat_id, message_id = int(params["chat_id"]), next(self._ids)
            self.messages[(chat_id, message_id)] = {"text": params.get("caption", ""),
                                                   "reply_markup": params.get("reply_markup")}
            return self._message(chat_id, message_id)
        if name == "getFile":
            file_id = str(params["file_id"])
            return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files.get(file_id, b"")),
                    "file_path": self.file_paths.get(file_id, f"photos/{file_id}")}
        return True  # sendChatAction, answerCallbackQuery, setMyCommands, deleteWebhook, …

    def _message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        stored = self.messages[(chat_id, message_id)]
        result = {"message_id": message_id, "date": int(time.time()), "from": BOT_USER,
                  "chat": {"id": chat_id, "type": "private"}, "text": stored["text"]}
        if stored["reply_markup"]:
            result["reply_markup"] = stored["reply_markup"]
        return result

    # inspection helpers

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def uploads(self, method: str) -> list[tuple[bytes, str]]:
        """The files sent with `method` ("sendPhoto", "sendDocument") and their captions, in order."""
        return [(next(iter(c.params["_files"].values())), str(c.params.get("caption", "")))
                for c in self.calls if c.method == method]

    def texts(self) -> list[str]:
        """Texts of sent and edited messages, in order."""
        return [str(c.params["text"]) for c in self.calls if c.method in ("sendMessage", "editMessageText")]

    def buttons(self, chat_id: int, message_id: int) -> list[tuple[str, str]]:
        """(label, callback data) of the buttons the message currently shows."""
        markup = self.messages[(chat_id, message_id)]["reply_markup"]
        if not markup:
            return []
        markup = json.loads(markup) if isinstance(markup, str) else markup
        return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]

    def last_message_id(self, chat_id: int) -> int:
        return max(mid for cid, mid in self.messages if cid == chat_id)


def make_card(metrics: dict[str, Any] | None = None, limitations: tuple[str, ...] = ("Trained on dermoscopy",)
              ) -> ModelCard:
    return ModelCard(
        version="test-1", backbone="efficientnet_lite0", input_size=224, files=(), lesion_types=("rash",),
        gate_temperature=1.0, gate_threshold=0.5, rash_threshold=0.5,
        lesion_calibration={m: RiskCalibration(1.0, 0.2, 0.7) for m in ("dermoscopic", "clinical")},
        directory=Path("."), metrics=metrics if metrics is not None else {}, limitations={"en": limitations},
    )


@dataclass
class FakeAnalyzer:
    """Same interface as the pipeline; the result for each photo is chosen by its bytes."""

    results: dict[bytes, Assessment] = field(default_factory=dict)
    card: ModelCard = field(default_factory=make_card)
    threads: list[str] = field(default_factory=list)

    def analyze(self, image_bytes: bytes) -> Assessment:
        self.threads.append(threading.current_thread().name)
        return self.results.get(image_bytes, Assessment(status="unreadable", issues=("not_an_image",)))


class Chat:
    """One Telegram user in a private chat with the bot, sending updates the way Telegram would."""

    _update_ids = itertools.count(1)
    _message_ids = itertools.count(1)
    _file_ids = itertools.count(1)

    def __init__(self, application: Any, telegram: FakeTelegram, user_id: int, language_code: str | None = "en",
                 chat: dict[str, Any] | None = None) -> None:
        self.application = application
        self.telegram = telegram
        self.user_id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code is not None:
            self.user["language_code"] = language_code
        self.chat = chat or {"id": user_id, "type": "private", "first_name": f"User{user_id}"}
        self.last_update: dict[str, Any] = {}  # the payload of the last update sent

    async def _process(self, payload: dict[str, Any]) -> None:
        payload["update_id"] = next(self._update_ids)
        self.last_update = payload
        await self.application.process_update(Update.de_json(payload, self.application.bot))

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": self.chat,
                "from": self.user, **fields}

    async def send(self, kind: str = "message", **fields: Any) -> None:
        await self._process({kind: self._message(**fields)})

    async def text(self, text: str) -> None:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self.send(text=text, entities=entities)

    async def photo(self, data: bytes, *, file_size: int | None = None, media_group_id: str | None = None,
                    thumb: bytes | None = None, downloadable: bool = True, file_path: str | None = None) -> None:
        """Send a compressed photo in two sizes; `thumb` is the small size's content, if it can be downloaded;
        `file_path` is what getFile answers for the large size (a misbehaving Bot API server)."""
        file_id = f"photo{next(self._file_ids)}"
        if file_path is not None:
            self.telegram.file_paths[file_id] = file_path
        if downloadable:
            self.telegram.files[file_id] = data
        if thumb is not None:
            self.telegram.files[f"{file_id}-thumb"] = thumb
        sizes = [
            {"file_id": f"{file_id}-thumb", "file_unique_id": "t", "width": 90, "height": 90, "file_size": 900},
            {"file_id": file_id, "file_unique_id": "b", "width": 1280, "height": 960,
             "file_size": file_size if file_size is not None else len(data)},
        ]
        fields: dict[str, Any] = {"photo": sizes}
        if media_group_id:
            fields["media_group_id"] = media_group_id
        await self.send(**fields)

    async def document(self, data: bytes, mime_type: str, *, file_size: int | None = None) -> None:
        file_id = f"doc{next(self._file_ids)}"
        self.telegram.files[file_id] = data
        size = file_size if file_size is not None else len(data)
        await self.send(document={"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": "x",
                                  "mime_type": mime_type, "file_size": size})

    async def press(self, message_id: int | None, data: str | None) -> None:
        """Tap a button with callback `data` (None: no data) on message `message_id` (None: the Bot API sent the
        tap without its message)."""
        query: dict[str, Any] = {"id": str(next(self._update_ids)), "from": self.user, "chat_instance": "ci"}
        if data is not None:
            query["data"] = data
        if message_id is not None:
            stored = self.telegram.messages.get((self.chat["id"], message_id), {"text": "(not in this chat)"})
            query["message"] = {"message_id": message_id, "date": int(time.time()), "chat": self.chat,
                                "from": BOT_USER, "text": stored["text"]}
        await self._process({"callback_query": query})

    async def press_label(self, label: str) -> int:
        """Press the button labelled `label` on the newest message that has it; returns that message's id."""
        for (chat_id, message_id) in sorted(self.telegram.messages, key=lambda k: -k[1]):
            if chat_id != self.chat["id"]:
                continue
            for text, data in self.telegram.buttons(chat_id, message_id):
                if text == label:
                    await self.press(message_id, data)
                    return message_id
        raise AssertionError(f"no button {label!r} on screen")


async def count_user_rows(storage: SqlStorage, user_id: int) -> dict[str, int]:
    """How many rows each table holds about the user: the oracle of /forget's guarantee (read straight from SQL, so
    the tests do not trust the code they check)."""
    answers = "SELECT COUNT(*) FROM answers WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)"
    queries = {"answers": answers}
    queries.update({table: f"SELECT COUNT(*) FROM {table} WHERE user_id = ?" for table in USER_TABLES[1:]})
    counts = {}
    async with storage.db.reading() as conn:
        for table, sql in queries.items():
            counts[table] = int((await conn.execute(sql, (user_id,))).value())
    return counts
