"""The small JSON API under /_chat/ that the web page and test clients use to act as simulated users.

Users create themselves, send text, upload photos (as a photo or as a file) and tap inline buttons; the emulator
turns each into a Telegram update for the bot. `GET /_chat/events` long-polls what happened in a chat since a
sequence number (new messages, edits, deletions, chat actions, answered button taps). Actions answer with
`queued_at`, the Unix time at which the update was queued for the bot (events carry the same clock in `at`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from playground.formatting import has_lone_surrogate
from playground.media import NotAnImageError
from playground.world import World
from skinbot.vocabulary import LANGUAGES

MAX_EVENTS_WAIT_S = 30.0
LANGUAGE_CODES: tuple[str, ...] = LANGUAGES


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _bad_request("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("the body must be a JSON object")
    if has_lone_surrogate(body):
        raise _bad_request("text must be valid Unicode (no lone surrogates)")
    return body


def _user_id(world: World, raw: Any) -> int:
    try:
        user_id = int(raw)
    except (TypeError, ValueError):
        user_id = 0
    if user_id not in world.users:
        raise web.HTTPNotFound(text='{"error": "no such user"}', content_type="application/json")
    return user_id


def chat_routes(world: World) -> list[web.RouteDef]:
    """The /_chat/ routes acting on `world`."""

    async def list_users(request: web.Request) -> web.Response:
        return web.json_response({"users": list(world.users.values())})

    async def create_user(request: web.Request) -> web.Response:
        body = await _json_body(request)
        name = str(body.get("first_name", "")).strip()
        language = str(body.get("language_code", "en"))
        if not 1 <= len(name) <= 64:
            return _error(400, "first_name must be 1 to 64 characters")
        if language not in LANGUAGE_CODES:
            return _error(400, f"language_code must be one of {', '.join(LANGUAGE_CODES)}")
        return web.json_response({"user": world.add_user(name, language)})

    async def send_text(request: web.Request) -> web.Response:
        body = await _json_body(request)
        user_id = _user_id(world, body.get("user_id"))
        text = str(body.get("text", ""))
        if not text.strip() or len(text) > 4096:
            return _error(400, "text must be 1 to 4096 characters")
        message = await world.user_text(user_id, text)
        return web.json_response({"message": message, "queued_at": time.time()})

    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        user_id = _user_id(world, form.get("user_id"))
        file = form.get("file")
        if not isinstance(file, FileField):
            return _error(400, "attach the photo in a 'file' field")
        data = file.file.read()
        if not data:
            return _error(400, "the file is empty")
        caption = str(form.get("caption", ""))
        if has_lone_surrogate([caption, file.filename or "", file.content_type or ""]):
            return _error(400, "text must be valid Unicode (no lone surrogates)")
        if form.get("as", "photo") == "document":
            message = await world.user_document(user_id, data, file.filename or "file",
                                                file.content_type or "application/octet-stream")
        else:
            try:
                message = await world.user_photo(user_id, data, caption)
            except NotAnImageError as exc:
                return _error(400, f"{exc}; send it as a file instead")
        return web.json_response({"message": message, "queued_at": time.time()})

    async def press(request: web.Request) -> web.Response:
        body = await _json_body(request)
        user_id = _user_id(world, body.get("user_id"))
        try:
            query = await world.user_press(user_id, int(body.get("message_id", 0)), str(body.get("data", "")))
        except (KeyError, ValueError) as exc:
            return _error(404, str(exc))
        return web.json_response({"callback_query_id": query["id"], "queued_at": time.time()})

    async def events(request: web.Request) -> web.Response:
        user_id = _user_id(world, request.query.get("user_id"))
        try:
            after = int(request.query.get("after", "0"))
            timeout = min(float(request.query.get("timeout", "0")), MAX_EVENTS_WAIT_S)
        except ValueError:
            return _error(400, "after and timeout must be numbers")
        found = await world.events_after(user_id, after, timeout)
        return web.json_response({"events": [e.as_json() for e in found]})

    async def transcript(request: web.Request) -> web.Response:
        user_id = _user_id(world, request.query.get("user_id"))
        return web.json_response({"messages": world.transcript(user_id)})

    async def file(request: web.Request) -> web.Response:
        stored = world.files.get(request.match_info["file_id"])
        if stored is None:
            return _error(404, "no such file")
        return web.Response(body=stored.data, content_type=stored.mime_type)

    return [
        web.get("/_chat/users", list_users),
        web.post("/_chat/users", create_user),
        web.post("/_chat/send", send_text),
        web.post("/_chat/upload", upload),
        web.post("/_chat/press", press),
        web.get("/_chat/events", events),
        web.get("/_chat/transcript", transcript),
        web.get("/_chat/file/{file_id}", file),
    ]
