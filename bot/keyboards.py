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


def _extras(catalog: Catalog, lang: Language, assessment_id: int, resembles: str | None, heatmap: bool,
            report: bool) -> list[InlineKeyboardButton]:
    row = []
    if resembles is not None:
        row.append(InlineKeyboardButton(catalog.text(lang, f"types.{resembles}.question"),
                                        callback_data=f"type:{resembles}"))
    if heatmap:
        row.append(InlineKeyboardButton(catalog.text(lang, "buttons.heatmap"), callback_data=f"cam:{assessment_id}"))
    if report:
        row.append(InlineKeyboardButton(catalog.text(lang, "buttons.report"), callback_data=f"rep:{assessment_id}"))
    return row


def result_buttons(catalog: Catalog, lang: Language, session_id: int, assessment_id: int, resembles: str | None,
                   heatmap: bool) -> InlineKeyboardMarkup:
    """The offer of the questions, then "What is …?" (if the spot resembles a type) and "Where did you look?"."""
    rows = [*offer(catalog, lang, session_id).inline_keyboard]
    extras = _extras(catalog, lang, assessment_id, resembles, heatmap, report=False)
    return InlineKeyboardMarkup([*rows, extras] if extras else rows)


def after_advice(catalog: Catalog, lang: Language, months: Sequence[int], assessment_id: int | None,
                 heatmap: bool) -> InlineKeyboardMarkup:
    """The reminder delays, then the report for the doctor and (while the photo is kept) "Where did you look?"."""
    rows = [*reminders(catalog, lang, months).inline_keyboard]
    if assessment_id is None:
        return InlineKeyboardMarkup(rows)
    return InlineKeyboardMarkup([*rows, _extras(catalog, lang, assessment_id, None, heatmap, report=True)])


def rash_buttons(catalog: Catalog, lang: Language, assessment_id: int) -> InlineKeyboardMarkup:
    """Under rash guidance: only the report (the questions and the heatmap are for single spots)."""
    return InlineKeyboardMarkup([_extras(catalog, lang, assessment_id, None, False, report=True)])


def spots(catalog: Catalog, lang: Language, assessment_id: int,
          choices: Sequence[tuple[str, int]]) -> InlineKeyboardMarkup:
    """One button per earlier spot (label, its newest check's id), then "No, a different spot"."""
    rows = [[InlineKeyboardButton(label, callback_data=f"spot:{assessment_id}:{earlier}")]
            for label, earlier in choices]
    different = catalog.text(lang, "followup.different")
    rows.append([InlineKeyboardButton(different, callback_data=f"spot:{assessment_id}:new")])
    return InlineKeyboardMarkup(rows)
