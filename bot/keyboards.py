"""Inline keyboards and the callback data they carry (short; `bot.callbacks` parses it back)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import render
from bot.checklist import ANSWER_VALUES
from bot.messages import LANGUAGES, Catalog, Language

# A keyboard that needs only the catalog and the user's language (e.g. `languages`, `forget`).
MarkupFactory = Callable[[Catalog, Language], InlineKeyboardMarkup]


def offer(catalog: Catalog, lang: Language, session_id: int) -> InlineKeyboardMarkup:
    """Answer the questions, or skip them."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(catalog.text(lang, "buttons.start_questions"), callback_data=f"q:start:{session_id}"),
        InlineKeyboardButton(catalog.text(lang, "buttons.skip_questions"), callback_data=f"q:skip:{session_id}"),
    ]])


def answers(catalog: Catalog, lang: Language, session_id: int, position: int) -> InlineKeyboardMarkup:
    """Yes / no / not sure for one question."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(catalog.text(lang, f"buttons.{value}"),
                             callback_data=f"q:ans:{session_id}:{position}:{value[0]}")
        for value in ANSWER_VALUES
    ]])


def reminders(catalog: Catalog, lang: Language, months: Sequence[int]) -> InlineKeyboardMarkup:
    """One button per re-check delay."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(render.plural(catalog, lang, "buttons.remind", m, months=m), callback_data=f"remind:{m}")
        for m in months
    ]])


def languages(catalog: Catalog, lang: Language) -> InlineKeyboardMarkup:
    """One button per supported language, each labelled in its own language."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(catalog.text(lang, f"language.names.{code}"), callback_data=f"lang:{code}")
        for code in LANGUAGES
    ]])


def forget(catalog: Catalog, lang: Language) -> InlineKeyboardMarkup:
    """Confirm or keep."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(catalog.text(lang, "buttons.forget_confirm"), callback_data="forget:yes"),
        InlineKeyboardButton(catalog.text(lang, "buttons.forget_keep"), callback_data="forget:no"),
    ]])
