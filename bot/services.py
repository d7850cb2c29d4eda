"""The bot's runtime dependencies, built once in `bot.app`, and the context PTB hands every handler and job of that
application (`BotContext`, installed through `ContextTypes`): `context.services` and `await context.language()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from telegram import Update, User
from telegram.ext import Application, CallbackContext, ExtBot

from bot.downloads import FileFetcher, PhotoSlots
from bot.messages import Catalog, Language, language_for
from bot.model_facts import ModelFacts
from bot.nlu import IntentIndex
from bot.ports import Analyzer
from bot.result_cache import ResultCache
from bot.storage import Storage
from bot.work import Work
from skinbot.config import Config

SERVICES_KEY = "skinbot.services"


@dataclass(frozen=True)
class Services:
    """Config, message catalog, analyser, storage (which also keeps the photo rate limit), the photo slots,
    downloads, work in flight, and the photos behind recent results; the catalog's intent index, built once, on the
    first question."""

    config: Config
    catalog: Catalog
    analyzer: Analyzer
    storage: Storage
    photo_slots: PhotoSlots
    files: FileFetcher
    work: Work
    results: ResultCache = field(default_factory=lambda: ResultCache(0, 0.0))  # sized from config in bot.app

    @cached_property
    def intents(self) -> IntentIndex:
        """The intent index of the catalog; raises MessagesError if its `intents` section is malformed."""
        return IntentIndex.from_catalog(self.catalog)

    @property
    def model(self) -> ModelFacts:
        """What the bot may say about the served model (handlers never see its card)."""
        return ModelFacts.from_card(self.analyzer.card)

    def text(self, lang: Language, key: str, **params: Any) -> str:
        """A message in `lang` (shortcut for the catalog)."""
        return self.catalog.text(lang, key, **params)

    async def language(self, user: User | None) -> Language:
        """The user's chosen language, else the one of their Telegram client, else the configured default."""
        if user is None:
            return self.config.bot.default_language
        chosen = await self.storage.language(user.id)
        if chosen is not None:
            return chosen
        return language_for(user.language_code) if user.language_code else self.config.bot.default_language


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The `CallbackContext` of every handler, error handler and job of the application built by `bot.app`
    (python-telegram-bot's `ContextTypes`, as in its `contexttypesbot.py` example)."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], chat_id: int | None = None,
                 user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.user: User | None = None  # the update's user (None for jobs and updates without one)

    @classmethod
    def from_update(cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]) -> BotContext:
        """The context of an update, remembering its user for `language`."""
        context = super().from_update(update, application)
        context.user = update.effective_user if isinstance(update, Update) else None
        return context

    @property
    def services(self) -> Services:
        """The `Services` of the application handling this update or job."""
        return services_of(self.application)

    async def language(self) -> Language:
        """The language of the update's user (see `Services.language`)."""
        return await self.services.language(self.user)


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The `Services` stored in an application by `bot.app.build_application`."""
    found = application.bot_data.get(SERVICES_KEY)
    if not isinstance(found, Services):  # pragma: no cover - only if the application was not built by bot.app
        raise RuntimeError("application was not built by bot.app.build_application")
    return found
