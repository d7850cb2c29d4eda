"""Photo intake: a compressed photo or an image sent as a file -> size and rate checks -> a photo slot -> download
-> analysis (off the event loop, with "typing" shown) -> a reply for each status; for "ok" the result with what
the spot resembles and the offer of the questions (or, for a rash, rash guidance: `bot.handlers.result`).

Idempotent per update: the check is stored with its update id, so an update replayed after a kill is not checked
again, only its reply delivered. A result whose message never reached the user (Telegram down, or a kill between
the analysis and the reply) is sent again the next time the user writes (`recover_undelivered`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from telegram import Bot, Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import Application

from bot import kept_photos, render
from bot.downloads import Busy, FileRefused, FileTooBig
from bot.handlers import followup, result
from bot.messages import Language
from bot.retry import with_retries
from bot.services import BotContext, Services, services_of
from inference.assessment import Assessment

logger = logging.getLogger(__name__)
TYPING_EVERY_S = 4.0  # Telegram shows a chat action for about 5 seconds
RATE_WINDOW_S = 60.0  # bot.photo_rate_limit_per_minute counts the photos of the last minute


async def photo(update: Update, context: BotContext) -> None:
    """Check a compressed photo, using the largest size within the download limit."""
    message = update.effective_message
    assert message is not None and message.photo
    limit = context.services.config.bot.max_photo_bytes
    fitting = [size for size in message.photo if size.file_size is None or size.file_size <= limit]
    chosen = max(fitting or message.photo, key=lambda size: size.width * size.height)
    await _intake(update, context, chosen.file_id, chosen.file_size)


async def image_document(update: Update, context: BotContext) -> None:
    """Check an image sent as a file (uncompressed)."""
    message = update.effective_message
    assert message is not None and message.document is not None
    await _intake(update, context, message.document.file_id, message.document.file_size)


async def other_document(update: Update, context: BotContext) -> None:
    """A file that is not an image: say what the bot can read."""
    assert update.effective_message is not None
    lang = await context.language()
    await update.effective_message.reply_text(context.services.text(lang, "not_image_file"))


async def _intake(update: Update, context: BotContext, file_id: str, file_size: int | None) -> None:
    s = context.services
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    album = await _album_position(s, update.update_id, message, user.id)
    if album == "later":
        return
    lang = await context.language()
    if album == "first":
        await message.reply_text(s.text(lang, "photo.album"))
    limit = s.config.bot.max_photo_bytes
    if file_size is not None and file_size > limit:
        await message.reply_text(s.text(lang, "photo.too_big", size_mb=_mb(file_size), limit_mb=_mb(limit)))
        return
    checked = await s.storage.assessment_of_update(user.id, update.update_id)
    data: bytes | None = None  # only for a photo checked now: a replayed update's photo was not kept
    if checked is None:  # not a replay of an update already checked before the bot stopped
        if not await s.storage.admit_photo(user.id, s.config.bot.photo_rate_limit_per_minute, RATE_WINDOW_S):
            await message.reply_text(s.text(lang, "photo.rate_limited"))
            return
        await s.storage.record_consent(user.id)
        try:
            async with _typing(context.bot, message.chat_id), s.photo_slots.hold():
                data = await _download(context.bot, s, file_id)
                if data is None:
                    await message.reply_text(s.text(lang, "photo.download_failed"))
                    return
                checked = await _analyse(s, user.id, data, update.update_id)
        except Busy:
            await message.reply_text(s.text(lang, "busy"))
            return
        except FileTooBig as exc:
            await message.reply_text(s.text(lang, "photo.too_big", size_mb=_mb(exc.size), limit_mb=_mb(limit)))
            return
    assessment_id, assessment = checked
    if assessment.status != "ok":
        await message.reply_text(render.problem_text(s.catalog, lang, assessment))
        return
    if data is not None:
        await result.record(s, user.id, assessment, assessment_id, data)
    if await result.is_rash(s, assessment_id):
        await result.send_rash(s, message, lang, assessment_id)
        return
    session = await s.storage.session_of_assessment(assessment_id)
    if session is None:
        session_id = await s.storage.open_session(user.id, message.chat_id, assessment_id)
    elif session.status == "open" and session.message_id is None:
        session_id = session.id  # checked before a kill, never answered
    else:
        return  # answered before the bot stopped
    await _deliver_result(s, lang, user.id, session_id, assessment_id, assessment, message.reply_text)
    await followup.offer(s, message, lang, user.id, assessment_id)


async def _deliver_result(s: Services, lang: Language, user_id: int, session_id: int, assessment_id: int,
                          assessment: Assessment, send: Callable[..., Awaitable[Message]]) -> None:
    """Send the result with what it resembles, the offer of the questions and its buttons, and remember the message
    that shows the session."""
    text, markup = result.result_message(s, lang, user_id, session_id, assessment_id, assessment)
    sent = await send(text, reply_markup=markup)
    await s.storage.set_session_message(session_id, sent.message_id)


async def recover_undelivered(update: Update, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Before handling a user's update: if the result of their last photo never reached them, send it now (a new
    photo replaces it, and /cancel and /forget are not held up by it)."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None:
        return
    if message is not None and (message.photo or message.document or _command(message) in ("cancel", "forget")):
        return
    s = services_of(application)
    if s.work.others(user.id):
        return  # another update of theirs is running: the result may be on its way right now
    found = await s.storage.undelivered_session(user.id)
    if found is None:
        return
    session, assessment_id = found
    lang = await s.language(user)
    stored = Assessment(status="ok", risk=session.risk)  # what the resemblance needs is not stored: none is named
    try:
        await _deliver_result(s, lang, user.id, session.id, assessment_id, stored,
                              functools.partial(application.bot.send_message, chat.id))
        logger.info("re-sent a result that had not been delivered (session %d)", session.id)
    except TelegramError as exc:
        logger.warning("could not re-send an undelivered result: %s", exc)


def _command(message: Message) -> str:
    text = message.text or ""
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if text.startswith("/") and len(text) > 1 else ""


async def _album_position(s: Services, update_id: int, message: Message,
                          user_id: int) -> Literal["none", "first", "later"]:
    """Albums arrive as one update per photo, handled concurrently (maybe by different replicas): the first is
    answered, the rest ignored. Which one is first is recorded in storage, so a replay of it is still the first."""
    if message.media_group_id is None:
        return "none"
    first = await s.storage.first_of_album(user_id, message.chat_id, message.media_group_id, update_id)
    return "first" if first else "later"


async def _download(bot: Bot, s: Services, file_id: str) -> bytes | None:
    """The file's bytes, or None if Telegram could not deliver them (after retries of transient failures) or named
    a file that is not on its file server. FileTooBig if it is over the limit."""
    retries, backoff = s.config.bot.network_retries, s.config.bot.network_retry_backoff_s
    try:
        telegram_file = await bot.get_file(file_id)  # retried by the rate limiter
        return await with_retries(lambda: s.files.fetch(telegram_file.file_path, s.config.bot.max_photo_bytes),
                                  retries, backoff, "download")
    except FileTooBig:
        raise
    except (TelegramError, FileRefused) as exc:
        logger.warning("photo download failed: %s", exc)
        return None


async def _analyse(s: Services, user_id: int, data: bytes, update_id: int) -> tuple[int, Assessment]:
    """Run the analyser in a worker thread and store the result (and the photo, only if configured)."""
    started = time.perf_counter()
    assessment = await asyncio.to_thread(s.analyzer.analyze, data)
    latency_ms = (time.perf_counter() - started) * 1000.0
    assessment_id = await s.storage.add_assessment(user_id, assessment, latency_ms, update_id)
    if s.config.storage.keep_photos and assessment.image_sha256:
        await asyncio.to_thread(kept_photos.keep, s.config.storage, assessment.image_sha256, data)
    return assessment_id, assessment


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
