"""The Bot API methods the emulator implements, with Telegram's parameter handling and error messages.

Parameters arrive as JSON, as a query string, or as form/multipart fields whose values are strings (PTB sends
nested objects JSON-encoded in form fields); `Params` coerces them the way Telegram's server does.
Each method is `async (world, params) -> result`; `METHODS` maps the lower-cased method name to it.
Updates reach the bot by getUpdates or, once setWebhook is called, by webhook delivery (`playground.webhook`).
Not emulated: groups and channels, inline mode, payments, webhook certificates and IP addresses, and Markdown parse
modes (the text is kept as sent, without entities; the bot uses plain text or HTML).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from playground.formatting import EntityParseError, parse_html, utf16_len
from playground.media import NotAnImageError, photo_renditions
from playground.world import ApiError, Webhook, World, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # bots may download files up to 20 MB
MAX_WEBHOOK_CONNECTIONS = 100
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram allows in setWebhook's secret_token


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart request."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """The parameters of one call, coerced on access like Telegram does."""

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload]) -> None:
        self.values = dict(values)
        self.uploads = dict(uploads)

    def has(self, name: str) -> bool:
        return name in self.values or name in self.uploads

    def text(self, name: str, default: str | None = None) -> str:
        value = self.values.get(name, default)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int:
        value = self.values.get(name, default)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        try:
            return float(self.values.get(name, default))
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name, False)
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1")

    def structure(self, name: str) -> Any:
        """A JSON object or array (JSON bodies carry it as is, form fields as a JSON string); None if absent."""
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value


Method = Callable[[World, Params], Awaitable[Any]]


# ---- message content -------------------------------------------------------------------------------------------

def _formatted(params: Params, field: str, entities_field: str, limit: int) -> dict[str, Any]:
    """Text or caption plus entities, parsed per parse_mode; {} for an absent caption."""
    if not params.has(field):
        return {}
    raw = params.text(field)
    parse_mode = params.text("parse_mode", "")
    entities = params.structure(entities_field) or []
    if parse_mode.lower() == "html":
        try:
            raw, entities = parse_html(raw)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode")
    if utf16_len(raw) > limit:
        raise bad_request("message is too long" if field == "text" else "message caption is too long")
    content: dict[str, Any] = {field: raw}
    if entities:
        content[entities_field] = entities
    return content


def _markup(params: Params) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(inline keyboard kept on the message, reply keyboard/removal shown by the chat page)."""
    markup = params.structure("reply_markup")
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None, markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}, None


def _extras(
    world: World, params: Params, chat_id: int, content: dict[str, Any], inline: dict[str, Any] | None
) -> dict[str, Any]:
    """`content` plus the inline keyboard and the message it replies to, as Telegram returns them."""
    extras = dict(content)
    if inline:
        extras["reply_markup"] = inline
    reply = params.structure("reply_parameters") or {}
    reply_to = reply.get("message_id") if isinstance(reply, dict) else None
    if params.has("reply_to_message_id"):
        reply_to = params.integer("reply_to_message_id")
    if reply_to is not None:
        original = world.messages.get((chat_id, int(reply_to)))
        if original is not None:
            extras["reply_to_message"] = {k: v for k, v in original.items() if k != "reply_to_message"}
        elif not (reply.get("allow_sending_without_reply") or params.flag("allow_sending_without_reply")):
            raise bad_request("message to be replied not found")
    return extras


def _input_file(world: World, params: Params, name: str) -> Upload:
    """The file in parameter `name`: uploaded in this request, or an existing file_id."""
    if name in params.uploads:
        return params.uploads[name]
    reference = params.text(name)
    if reference.startswith("attach://") and reference[9:] in params.uploads:
        return params.uploads[reference[9:]]
    stored = world.files.get(reference)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return Upload(filename=stored.file_path.rsplit("/", 1)[-1], content_type=stored.mime_type, data=stored.data)


# ---- methods ---------------------------------------------------------------------------------------------------

async def get_me(world: World, params: Params) -> Any:
    return {**world.bot_user, "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}


async def get_updates(world: World, params: Params) -> Any:
    if world.webhook is not None:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                            "to delete the webhook first")
    limit = min(max(params.integer("limit", 100), 1), 100)
    allowed = params.structure("allowed_updates") or []
    return await world.get_updates(params.integer("offset", 0), limit, params.number("timeout", 0),
                                   frozenset(allowed))


async def set_webhook(world: World, params: Params) -> Any:
    """Register the webhook updates are then POSTed to (an empty url removes it, as on Telegram). Unlike Telegram,
    plain http and any port are accepted: the emulator delivers to local processes, without TLS."""
    url = params.text("url", "")
    if not url:
        return await delete_webhook(world, params)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise bad_request("bad webhook: an HTTP(S) URL must be provided for webhook")
    secret = params.text("secret_token", "")
    if secret and not SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections", 40)
    if not 1 <= max_connections <= MAX_WEBHOOK_CONNECTIONS:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = params.structure("allowed_updates") or []
    if not isinstance(allowed, list):
        raise bad_request("can't parse allowed_updates JSON array")
    if params.flag("drop_pending_updates"):
        world.drop_pending_updates()
    await world.set_webhook(Webhook(url=url, secret_token=secret, max_connections=max_connections,
                                    allowed_updates=frozenset(map(str, allowed))))
    return True


async def delete_webhook(world: World, params: Params) -> Any:
    if params.flag("drop_pending_updates"):
        world.drop_pending_updates()
    await world.set_webhook(None)
    return True


async def get_webhook_info(world: World, params: Params) -> Any:
    info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                            "pending_update_count": world.pending_updates}
    if world.webhook is not None:
        info.update(url=world.webhook.url, max_connections=world.webhook.max_connections)
        if world.webhook.allowed_updates:
            info["allowed_updates"] = sorted(world.webhook.allowed_updates)
    if world.webhook_error is not None:
        info.update(last_error_date=world.webhook_error[0], last_error_message=world.webhook_error[1])
    return info


async def send_message(world: World, params: Params) -> Any:
    content = _formatted(params, "text", "entities", MAX_TEXT)
    if not content.get("text"):
        raise bad_request("message text is empty")
    inline, keyboard = _markup(params)
    chat_id = params.integer("chat_id")
    return await world.bot_message(chat_id, _extras(world, params, chat_id, content, inline), keyboard)


async def send_photo(world: World, params: Params) -> Any:
    chat_id = params.integer("chat_id")
    world.chat(chat_id)
    upload = _input_file(world, params, "photo")
    try:
        renditions = await asyncio.to_thread(photo_renditions, upload.data)
    except NotAnImageError:
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    sizes = []
    for rendition in renditions:
        stored = world.store_file(rendition.jpeg, "photos", "jpg", "image/jpeg")
        sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                      "width": rendition.width, "height": rendition.height, "file_size": len(stored.data)})
    content = {"photo": sizes, **_formatted(params, "caption", "caption_entities", MAX_CAPTION)}
    inline, keyboard = _markup(params)
    return await world.bot_message(chat_id, _extras(world, params, chat_id, content, inline), keyboard)


async def send_document(world: World, params: Params) -> Any:
    chat_id = params.integer("chat_id")
    world.chat(chat_id)
    upload = _input_file(world, params, "document")
    extension = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
    stored = world.store_file(upload.data, "documents", extension, upload.content_type)
    document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": upload.filename,
                "mime_type": upload.content_type, "file_size": len(upload.data)}
    content = {"document": document, **_formatted(params, "caption", "caption_entities", MAX_CAPTION)}
    inline, keyboard = _markup(params)
    return await world.bot_message(chat_id, _extras(world, params, chat_id, content, inline), keyboard)


async def send_chat_action(world: World, params: Params) -> Any:
    await world.bot_action(params.integer("chat_id"), params.text("action"))
    return True


async def get_file(world: World, params: Params) -> Any:
    stored = world.files.get(params.text("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return stored.as_file()


async def answer_callback_query(world: World, params: Params) -> Any:
    await world.bot_answer_callback(params.text("callback_query_id"), params.text("text", ""),
                                    params.flag("show_alert"))
    return True


def _edit_target(params: Params) -> tuple[int, int]:
    if params.has("inline_message_id"):
        raise bad_request("inline messages are not supported by the emulator")
    return params.integer("chat_id"), params.integer("message_id")


async def edit_message_text(world: World, params: Params) -> Any:
    chat_id, message_id = _edit_target(params)
    content = _formatted(params, "text", "entities", MAX_TEXT)
    if not content.get("text"):
        raise bad_request("message text is empty")
    inline, _ = _markup(params)
    return await world.bot_edit(chat_id, message_id, {**content, "reply_markup": inline})


async def edit_message_caption(world: World, params: Params) -> Any:
    chat_id, message_id = _edit_target(params)
    content = _formatted(params, "caption", "caption_entities", MAX_CAPTION) or {"caption": ""}
    inline, _ = _markup(params)
    return await world.bot_edit(chat_id, message_id, {**content, "reply_markup": inline})


async def edit_message_reply_markup(world: World, params: Params) -> Any:
    chat_id, message_id = _edit_target(params)
    inline, _ = _markup(params)
    return await world.bot_edit(chat_id, message_id, {"reply_markup": inline})


async def delete_message(world: World, params: Params) -> Any:
    await world.bot_delete(params.integer("chat_id"), params.integer("message_id"))
    return True


def _commands_key(params: Params) -> str:
    scope = params.structure("scope") or {"type": "default"}
    return f"{json.dumps(scope, sort_keys=True)}|{params.text('language_code', '')}"


async def set_my_commands(world: World, params: Params) -> Any:
    commands = params.structure("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be an array of at most 100 BotCommand")
    for command in commands:
        name = str(command.get("command", "")) if isinstance(command, dict) else ""
        if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name.islower()):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    world.commands[_commands_key(params)] = commands
    return True


async def get_my_commands(world: World, params: Params) -> Any:
    return world.commands.get(_commands_key(params), [])


async def delete_my_commands(world: World, params: Params) -> Any:
    world.commands.pop(_commands_key(params), None)
    return True


async def accept(world: World, params: Params) -> Any:
    """Settings the emulator accepts and has no use for (bot description, menu button, log out)."""
    return True


METHODS: dict[str, Method] = {
    "getme": get_me,
    "getupdates": get_updates,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "senddocument": send_document,
    "sendchataction": send_chat_action,
    "getfile": get_file,
    "answercallbackquery": answer_callback_query,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "setmydescription": accept,
    "setmyshortdescription": accept,
    "setmyname": accept,
    "setchatmenubutton": accept,
    "logout": accept,
    "close": accept,
}
