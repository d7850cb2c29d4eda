"""Photo intake: a compressed photo or an image sent as a file -> size and rate checks -> download -> analysis
(off the event loop, with "typing" shown) -> a reply for each status, and for "ok" the offer of the questions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from telegram import Bot, Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import render
from bot.handlers import result
from bot.retry import with_retries
from bot.services import Services, services
from inference.assessment import Assessment

logger = logging.getLogger(__name__)
TYPING_EVERY_S = 4.0  # Telegram shows a chat action for about 5 seconds
ALBUM_KEY = "last_album"


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Check a compressed photo, using the largest size within the download limit."""
    message = update.effective_message
    assert message is not None and message.photo
    limit = services(context).config.bot.max_photo_bytes
    fitting = [size for size in message.photo if size.file_size is None or size.file_size <= limit]
    chosen = max(fitting or message.photo, key=lambda size: size.width * size.height)
    await _intake(update, context, chosen.file_id, chosen.file_size)


async def image_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Check an image sent as a file (uncompressed)."""
    message = update.effective_message
    assert message is not None and message.document is not None
    await _intake(update, context, message.document.file_id, message.document.file_size)


async def other_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file that is not an image: say what the bot can read."""
    s = services(context)
    assert update.effective_message is not None
    lang = await s.language(update.effective_user)
    await update.effective_message.reply_text(s.text(lang, "not_image_file"))


async def _intake(update: Update, context: ContextTypes.DEFAULT_TYPE, file_id: str, file_size: int | None) -> None:
    s = services(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    album = _album_position(message, context.chat_data)
    if album == "later":
        return
    lang = await s.language(user)
    if album == "first":
        await message.reply_text(s.text(lang, "photo.album"))
    limit = s.config.bot.max_photo_bytes
    if file_size is not None and file_size > limit:
        await message.reply_text(s.text(lang, "photo.too_big", size_mb=_mb(file_size), limit_mb=_mb(limit)))
        return
    if not s.photo_limiter.allow(user.id):
        await message.reply_text(s.text(lang, "photo.rate_limited"))
        return
    await s.storage.record_consent(user.id)
    async with _typing(context.bot, message.chat_id):
        data = await _download(context.bot, file_id, s.config.bot.network_retries, s.config.bot.network_retry_backoff_s)
        if data is None:
            await message.reply_text(s.text(lang, "photo.download_failed"))
            return
        assessment, assessment_id = await _analyse(s, user.id, data)
    if assessment.status != "ok":
        await message.reply_text(render.problem_text(s.catalog, lang, assessment))
        return
    await result.reply(s, message, lang, user.id, assessment, assessment_id, data)


def _album_position(message: Message, chat_data: dict[Any, Any] | None) -> Literal["none", "first", "later"]:
    """Albums arrive as one update per photo: the first is answered, the rest ignored. Synchronous on purpose, so
    the album's other updates, handled concurrently, already see the mark."""
    if message.media_group_id is None or chat_data is None:
        return "none"
    if chat_data.get(ALBUM_KEY) == message.media_group_id:
        return "later"
    chat_data[ALBUM_KEY] = message.media_group_id
    return "first"


async def _download(bot: Bot, file_id: str, retries: int, backoff_s: float) -> bytes | None:
    """The file's bytes, or None if Telegram could not deliver them (after retries of transient failures)."""
    try:
        telegram_file = await bot.get_file(file_id)  # retried by the rate limiter
        return bytes(await with_retries(telegram_file.download_as_bytearray, retries, backoff_s, "download"))
    except TelegramError as exc:
        logger.warning("photo download failed: %s", exc)
        return None


async def _analyse(s: Services, user_id: int, data: bytes) -> tuple[Assessment, int]:
    """Run the analyser in a worker thread and store the result (and the photo, only if configured)."""
    started = time.perf_counter()
    assessment = await asyncio.to_thread(s.analyzer.analyze, data)
    latency_ms = (time.perf_counter() - started) * 1000.0
    assessment_id = await s.storage.add_assessment(user_id, assessment, latency_ms)
    if s.config.storage.keep_photos and assessment.image_sha256:
        await asyncio.to_thread(_keep_photo, s, assessment.image_sha256, data)
    return assessment, assessment_id


def _keep_photo(s: Services, sha256: str, data: bytes) -> None:
    directory = s.config.storage.photos_dir
    directory.mkdir(parents=True, exist_ok=True)
    (directory / sha256).write_bytes(data)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.0f}"


@contextlib.asynccontextmanager
async def _typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (a failed chat action never fails the reply)."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
