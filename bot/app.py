"""The Telegram `Application`, built in one place from the typed config, and `serve` to run it in any event loop.

Robustness: AIORateLimiter retries 429s after `retry_after` and `bot.retry` retries calls lost to network errors,
timeouts and 5xx answers; HTTPXRequest timeouts bound every call; updates come in through the update journal
(`bot.intake`), so each is handled once even across kills and replays; a global error handler apologises for
anything else; shutdown takes at most `bot.shutdown_timeout_s` (updates still running then are cancelled and
replayed on the next start, or, for a webhook replica, re-sent by Telegram).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import httpx
from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import intake
from bot.checklist import QUESTION_KEYS
from bot.downloads import FileFetcher, PhotoSlots
from bot.handlers import buttons, commands, errors, free_text, other, photo, reminders, report
from bot.messages import LANGUAGES, Catalog, load_catalog
from bot.ports import Analyzer
from bot.result_cache import ResultCache
from bot.retry import RetryingRateLimiter
from bot.services import SERVICES_KEY, BotContext, Services, services_of
from bot.storage import storage_for
from bot.work import Work
from skinbot.config import Config, ConfigError

logger = logging.getLogger(__name__)
BotApplication = Application[Any, Any, Any, Any, Any, Any]
AppBuilder = ApplicationBuilder[Any, Any, Any, Any, Any, Any]
COMMANDS: tuple[str, ...] = (
    "start", "help", "language", "history", "report", "remind", "forget", "cancel", "about",
)
# Only new messages in private chats are handled; edits and group chatter are not (see `other.ignore`).
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
# The update types the handlers act on: what a webhook asks Telegram for (`skinbot webhook set`); edits, which
# the handlers ignore on purpose, are not worth a request each.
HANDLED_UPDATES: tuple[str, ...] = (Update.MESSAGE, Update.CALLBACK_QUERY)
JOURNAL_KEEP_S = 7 * 86400  # handled update ids are kept this long to recognise replays (Telegram: 24 h at most)


class SkinbotApplication(Application[Any, Any, Any, Any, Any, Any]):
    """An Application that handles each update at most once (journalled by update_id, see `bot.intake`), as work
    of its user (`bot.work`), after re-sending a result the user never received (`photo.recover_undelivered`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handling: set[int] = set()

    async def process_update(self, update: object) -> None:
        """Handle an update unless it was handled already; it stays unfinished (replayed on the next start) only
        if it was cancelled by a shutdown."""
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        s = services_of(self)
        if update.update_id in self._handling:
            return  # the same update, redelivered while it is being handled
        self._handling.add(update.update_id)
        try:
            if not await s.storage.journal_updates([intake.journal_entry(update)]):
                logger.info("update %d was handled already; skipped", update.update_id)
                return
            user = update.effective_user
            async with s.work.track(user.id if user is not None else None):
                if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
                    await photo.recover_undelivered(update, self)
                await super().process_update(update)
            await s.storage.finish_update(update.update_id)
        finally:
            self._handling.discard(update.update_id)


def build_application(
    config: Config,
    pipeline: Analyzer,
    token: str,
    *,
    request: BaseRequest | None = None,
    file_transport: httpx.AsyncBaseTransport | None = None,
    catalog: Catalog | None = None,
) -> BotApplication:
    """The bot's Application: handlers, rate limiter, timeouts, storage. `request` replaces the HTTP layer of Bot
    API calls and `file_transport` that of file downloads (tests)."""
    unknown_flags = sorted(set(config.policy.red_flags) - set(QUESTION_KEYS))
    if unknown_flags:
        raise ConfigError(f"policy.red_flags: unknown question(s) {', '.join(unknown_flags)}")
    bot = config.bot
    builder = (
        api_builder(config, token, request)
        .application_class(SkinbotApplication)
        .context_types(ContextTypes(context=BotContext))  # handlers get `context.services`, `context.language()`
        .updater(None)  # updates come in through bot.intake
        .concurrent_updates(bot.concurrent_updates)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    application: BotApplication = builder.build()
    timeout = httpx.Timeout(connect=bot.connect_timeout_s, read=bot.read_timeout_s, write=bot.write_timeout_s,
                            pool=bot.photo_wait_s)
    application.bot_data[SERVICES_KEY] = Services(
        config=config,
        catalog=catalog or load_catalog(),
        analyzer=pipeline,
        storage=storage_for(config.storage.url),
        photo_slots=PhotoSlots(bot.photo_slots, bot.photo_queue_limit, bot.photo_wait_s),
        files=FileFetcher(application.bot.base_file_url, timeout, bot.photo_slots, file_transport),
        work=Work(),
        results=ResultCache(bot.result_cache_size, bot.result_cache_ttl_s),
    )
    _add_handlers(application)
    return application


def api_builder(config: Config, token: str, request: BaseRequest | None = None) -> AppBuilder:
    """A builder whose Bot calls the Bot API as the bot does: base URLs, the rate limiter with its retries
    (`bot.retry`), timeouts; `request` replaces the HTTP layer (tests). `skinbot worker` sends through it too."""
    bot = config.bot
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(bot.api_base_url)
        .base_file_url(bot.resolved_file_base_url)
        .rate_limiter(RetryingRateLimiter(overall_max_rate=bot.max_sends_per_second, max_retries=bot.send_max_retries,
                                          network_retries=bot.network_retries, backoff_s=bot.network_retry_backoff_s))
    )
    if request is not None:
        return builder.request(request).get_updates_request(request)
    return (
        builder.connect_timeout(bot.connect_timeout_s)
        .read_timeout(bot.read_timeout_s)
        .write_timeout(bot.write_timeout_s)
        .get_updates_connect_timeout(bot.connect_timeout_s)
        .get_updates_read_timeout(bot.polling_timeout_s + bot.read_timeout_s)
    )


def _add_handlers(application: BotApplication) -> None:
    by_command = {
        "start": commands.start, "help": commands.help_command, "language": commands.language,
        "history": commands.history, "remind": reminders.remind, "forget": commands.forget,
        "cancel": commands.cancel, "about": commands.about, "report": report.report_command,
    }
    application.add_handlers([CommandHandler(name, by_command[name], filters=PRIVATE) for name in COMMANDS])
    application.add_handlers([
        MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.COMMAND, commands.group_command),
        MessageHandler(PRIVATE & filters.PHOTO, photo.photo),
        MessageHandler(PRIVATE & filters.Document.IMAGE, photo.image_document),
        MessageHandler(PRIVATE & filters.Document.ALL, photo.other_document),
        MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, free_text.free_text),
        MessageHandler(PRIVATE & filters.COMMAND, other.unknown_command),
        MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, other.unsupported),
        MessageHandler(filters.UpdateType.EDITED, other.ignore),
        CallbackQueryHandler(buttons.on_button),
    ])
    application.add_error_handler(errors.on_error)


async def _post_init(application: BotApplication) -> None:
    s = services_of(application)
    await s.storage.connect()
    await _prune_journal(application)
    assert application.job_queue is not None
    application.job_queue.run_repeating(lambda context: _prune_journal(context.application), interval=86400,
                                        first=86400, name="prune-update-journal")
    await _set_commands(application, s.catalog)
    if s.storage.reminders_queued:  # `skinbot worker` sends them: a replica scheduling them too would send them twice
        logger.info("bot ready (storage %s; reminders are sent by skinbot worker)", s.storage.location)
        return
    count = await reminders.reschedule_pending(application)
    logger.info("bot ready (storage %s, %d pending reminder(s))", s.storage.location, count)


async def _prune_journal(application: BotApplication) -> None:
    pruned = await services_of(application).storage.prune_updates(JOURNAL_KEEP_S)
    logger.debug("pruned %d old row(s): handled update ids, albums, photo admissions", pruned)


async def _post_shutdown(application: BotApplication) -> None:
    s = services_of(application)
    await s.files.close()
    await s.storage.close()


async def _set_commands(application: BotApplication, catalog: Catalog) -> None:
    """The command menu in each language; a failure here must not stop the bot."""
    scope = BotCommandScopeAllPrivateChats()
    try:
        for lang in LANGUAGES:
            menu = [BotCommand(name, catalog.text(lang, f"commands.{name}")) for name in COMMANDS]
            await application.bot.set_my_commands(menu, scope=scope, language_code=None if lang == "en" else lang)
    except TelegramError as exc:
        logger.warning("could not set the command menu: %s", exc)


@contextlib.asynccontextmanager
async def running(application: BotApplication, *, replay: bool = True) -> AsyncIterator[BotApplication]:
    """Initialise the application (with its post-init: storage, commands, reminders) and start it, replaying the
    journal's unfinished updates if `replay`; on exit stop and shut down cleanly. Update fetching is not started
    here (see `serve`)."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            if replay:
                await intake.replay_unfinished(application, services_of(application).storage)
            yield application
        finally:
            await _stop_within(application, services_of(application).config.bot.shutdown_timeout_s)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def _stop_within(application: BotApplication, timeout_s: float) -> None:
    """Stop the application, letting running updates finish for at most `timeout_s`; then cancel them (they stay
    unfinished in the journal and are replayed on the next start)."""
    stopping = asyncio.create_task(application.stop())
    done, _ = await asyncio.wait({stopping}, timeout=timeout_s)
    if not done:
        cancelled = services_of(application).work.cancel_all()
        logger.warning("shutdown: cancelled %d update(s) still running after %.1f s; they are replayed on the "
                       "next start", cancelled, timeout_s)
    await stopping


async def serve(application: BotApplication, stop: asyncio.Event, *, webhook_secret: str | None = None) -> None:
    """Run the bot in the current event loop until `stop` is set: long polling, or a webhook replica when
    configured (Telegram's X-Telegram-Bot-Api-Secret-Token header is then checked against `webhook_secret`).
    A replica replays nothing at start: Telegram re-sends what no replica answered, and a replay would race the
    replicas handling those updates now."""
    bot = services_of(application).config.bot
    if bot.mode == "webhook" and not (webhook_secret and bot.webhook_url):
        raise ConfigError("webhook mode needs bot.webhook_url and the SKINBOT_WEBHOOK_SECRET environment variable")
    async with running(application, replay=bot.mode == "polling"):
        storage = services_of(application).storage
        if bot.mode == "webhook":
            assert webhook_secret is not None
            await intake.serve_webhook(application, storage, stop, listen=bot.webhook_listen, port=bot.webhook_port,
                                       path=urlparse(bot.webhook_url).path or "/", secret=webhook_secret,
                                       claim_s=bot.webhook_claim_s, shutdown_timeout_s=bot.shutdown_timeout_s)
        else:
            await intake.poll(application, storage, stop, bot.polling_timeout_s)
