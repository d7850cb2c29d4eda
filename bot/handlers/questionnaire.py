"""The checklist questions after an "ok" photo: one question at a time, edited in place on the same message.

The state is not kept in memory: it is the open session and its answers in storage, so a button pressed after a
restart continues where the user was, and a stale or repeated press is recognised and refused politely.
"""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot import followup, keyboards, render
from bot.checklist import QUESTIONS
from bot.handlers.common import show
from bot.messages import Language
from bot.policy import advise
from bot.services import Services, services
from bot.storage import Session


async def start_questions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the first unanswered question (the first one, or where the user left off)."""
    found = await _open_session(update, context)
    if found is not None:
        s, lang, query, session = found
        await query.answer()
        await _advance(s, lang, query, session)


async def skip_questions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Give the advice without (the rest of) the questions; unanswered ones count as "not sure"."""
    found = await _open_session(update, context)
    if found is not None:
        s, lang, query, session = found
        await query.answer()
        await _finish(s, lang, query, session)


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store one answer (committed before replying), then show the next question or the advice."""
    found = await _open_session(update, context)
    if found is None:
        return
    s, lang, query, session = found
    assert context.match is not None
    position, value = int(context.match.group(2)), keyboards.ANSWER_CODES[context.match.group(3)]
    if not await s.storage.record_answer(session.id, position, value):
        await query.answer(s.text(lang, "checklist.stale"))
        return
    await query.answer()
    refreshed = await s.storage.session(session.id)
    assert refreshed is not None
    await _advance(s, lang, query, refreshed)


async def _open_session(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Services, Language, CallbackQuery, Session] | None:
    """The open session a button refers to, or None after telling the user it is closed."""
    s = services(context)
    query = update.callback_query
    assert query is not None and context.match is not None
    lang = await s.language(query.from_user)
    session = await s.storage.session(int(context.match.group(1)))
    if session is None or session.user_id != query.from_user.id or session.status != "open":
        await query.answer(s.text(lang, "checklist.closed"))
        return None
    return s, lang, query, session


async def _advance(s: Services, lang: Language, query: CallbackQuery, session: Session) -> None:
    if session.position >= len(QUESTIONS):
        await _finish(s, lang, query, session)
        return
    await show(query, render.question_text(s.catalog, lang, session.position),
               keyboards.answers(s.catalog, lang, session.id, session.position))


async def _finish(s: Services, lang: Language, query: CallbackQuery, session: Session) -> None:
    change = await followup.change_of_session(s.storage, session.id)  # a follow-up's clear rise: advice sooner
    advice = advise(session.risk, await s.storage.answers(session.id), s.config.policy, change)
    if not await s.storage.finish_session(session.id, session.user_id, advice):
        return  # a concurrent press finished it first and shows the advice
    await show(query, render.advice_text(s.catalog, lang, advice, session.risk),
               await after_advice_buttons(s, lang, session))


async def after_advice_buttons(s: Services, lang: Language, session: Session) -> InlineKeyboardMarkup:
    """Reminders, the report for the doctor and, while the photo is still in memory, "Where did you look?"."""
    assessment_id = await s.storage.session_assessment(session.id)
    kept = assessment_id is not None and s.results.get(assessment_id, session.user_id) is not None
    return keyboards.after_advice(s.catalog, lang, s.config.bot.reminder_months, assessment_id, kept)
