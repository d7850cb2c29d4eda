"""The Telegram `Application`, built in one place from the typed config, and `serve` to run it in any event loop.

Robustness: AIORateLimiter retries 429s after `retry_after` and `bot.retry` retries calls lost to network errors,
timeouts and 5xx answers; HTTPXRequest timeouts bound every call, the updater retries failed getUpdates calls, and a
global error handler apologises for anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import keyboards
from bot.checklist import QUESTION_KEYS
from bot.handlers import (
    commands,
    errors,
    followup,
    free_text,
    heatmap,
    other,
    photo,
    questionnaire,
    reminders,
    report,
    result,
)
from bot.messages import LANGUAGES, Catalog, load_catalog
from bot.ports import Analyzer
from bot.ratelimit import SlidingWindowLimiter
from bot.result_cache import ResultCache
from bot.retry import RetryingRateLimiter
from bot.services import SERVICES_KEY, Services, services_of
from bot.storage import Storage
from skinbot.config import Config, ConfigError

logger = logging.getLogger(__name__)
BotApplication = Application[Any, Any, Any, Any, Any, Any]
COMMANDS: tuple[str, ...] = (
    "start", "help", "language", "history", "report", "remind", "forget", "cancel", "about",
)
# Only new messages in private chats are handled; edits and group chatter are not (see `other.ignore`).
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def build_application(
    config: Config,
    pipeline: Analyzer,
    token: str,
    *,
    request: BaseRequest | None = None,
    catalog: Catalog | None = None,
) -> BotApplication:
    """The bot's Application: handlers, rate limiter, timeouts, storage. `request` replaces the HTTP layer (tests)."""
    unknown_flags = sorted(set(config.policy.red_flags) - set(QUESTION_KEYS))
    if unknown_flags:
        raise ConfigError(f"policy.red_flags: unknown question(s) {', '.join(unknown_flags)}")
    bot = config.bot
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(bot.api_base_url)
        .base_file_url(bot.resolved_file_base_url)
        .rate_limiter(RetryingRateLimiter(overall_max_rate=bot.max_sends_per_second, max_retries=bot.send_max_retries,
                                          network_retries=bot.network_retries, backoff_s=bot.network_retry_backoff_s))
        .concurrent_updates(bot.concurrent_updates)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = (
            builder.connect_timeout(bot.connect_timeout_s)
            .read_timeout(bot.read_timeout_s)
            .write_timeout(bot.write_timeout_s)
            .get_updates_connect_timeout(bot.connect_timeout_s)
            .get_updates_read_timeout(bot.polling_timeout_s + bot.read_timeout_s)
        )
    application: BotApplication = builder.build()
    application.bot_data[SERVICES_KEY] = Services(
        config=config,
        catalog=catalog or load_catalog(),
        analyzer=pipeline,
        storage=Storage(config.storage.db_path),
        photo_limiter=SlidingWindowLimiter(bot.photo_rate_limit_per_minute, 60.0),
        results=ResultCache(bot.result_cache_size, bot.result_cache_ttl_s),
    )
    _add_handlers(application)
    return application


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
        CallbackQueryHandler(questionnaire.start_questions, pattern=keyboards.START_PATTERN),
        CallbackQueryHandler(questionnaire.skip_questions, pattern=keyboards.SKIP_PATTERN),
        CallbackQueryHandler(questionnaire.answer_question, pattern=keyboards.ANSWER_PATTERN),
        CallbackQueryHandler(commands.language_chosen, pattern=keyboards.LANGUAGE_PATTERN),
        CallbackQueryHandler(commands.forget_chosen, pattern=keyboards.FORGET_PATTERN),
        CallbackQueryHandler(reminders.remind_chosen, pattern=keyboards.REMIND_PATTERN),
        CallbackQueryHandler(result.explain_type, pattern=keyboards.TYPE_PATTERN),
        CallbackQueryHandler(heatmap.show_heatmap, pattern=keyboards.HEATMAP_PATTERN),
        CallbackQueryHandler(report.report_button, pattern=keyboards.REPORT_PATTERN),
        CallbackQueryHandler(followup.spot_chosen, pattern=keyboards.SPOT_PATTERN),
        CallbackQueryHandler(other.stale_button),
    ])
    application.add_error_handler(errors.on_error)


async def _post_init(application: BotApplication) -> None:
    s = services_of(application)
    await s.storage.connect()
    await _set_commands(application, s.catalog)
    count = await reminders.reschedule_pending(application)
    logger.info("bot ready (storage %s, %d pending reminder(s))", s.storage.path, count)


async def _post_shutdown(application: BotApplication) -> None:
    await services_of(application).storage.close()


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
async def running(application: BotApplication) -> AsyncIterator[BotApplication]:
    """Initialise the application (with its post-init: storage, commands, reminders) and start it; on exit stop
    and shut down cleanly. Update fetching is not started here (see `serve`)."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            yield application
        finally:
            await application.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def serve(application: BotApplication, stop: asyncio.Event, *, webhook_secret: str | None = None) -> None:
    """Run the bot in the current event loop until `stop` is set: long polling, or a webhook when configured
    (Telegram's X-Telegram-Bot-Api-Secret-Token header is then checked against `webhook_secret`)."""
    bot = services_of(application).config.bot
    if bot.mode == "webhook" and not (webhook_secret and bot.webhook_url):
        raise ConfigError("webhook mode needs bot.webhook_url and the SKINBOT_WEBHOOK_SECRET environment variable")
    async with running(application):
        updater = application.updater
        assert updater is not None
        if bot.mode == "webhook":
            await updater.start_webhook(
                listen=bot.webhook_listen, port=bot.webhook_port, url_path=urlparse(bot.webhook_url).path.lstrip("/"),
                webhook_url=bot.webhook_url, secret_token=webhook_secret, bootstrap_retries=5,
            )
        else:
            await updater.start_polling(timeout=bot.polling_timeout_s, bootstrap_retries=5)
        try:
            await stop.wait()
        finally:
            await updater.stop()
