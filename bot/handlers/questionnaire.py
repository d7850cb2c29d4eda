"""The checklist questions after an "ok" photo: one question at a time, edited in place on the same message.

The state is not kept in memory: it is the open session and its answers in storage, so a button pressed after a
restart continues where the user was. A stale or repeated press is not stored again, but it brings the message to
where the session really is (an edit may have been lost, or the bot killed between storing an answer and showing
the next question), so the user is never left with buttons that only say "already answered".
"""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, Update

from bot import followup, keyboards, render
from bot.callbacks import AnswerQuestion, SkipQuestions, StartQuestions
from bot.checklist import QUESTIONS
from bot.handlers.common import answer_soon, show
from bot.messages import Language
from bot.policy import Advice, advise
from bot.services import BotContext, Services
from bot.storage import Session


async def start_questions(update: Update, context: BotContext, button: StartQuestions) -> None:
    """Show the first unanswered question (the first one, or where the user left off)."""
    found = await _open_session(update, context, button.session_id)
    if found is not None:
        s, lang, query, session = found
        answer_soon(query)
        await _advance(s, lang, query, session)


async def skip_questions(update: Update, context: BotContext, button: SkipQuestions) -> None:
    """Give the advice without (the rest of) the questions; unanswered ones count as "not sure"."""
    found = await _open_session(update, context, button.session_id)
    if found is not None:
        s, lang, query, session = found
        answer_soon(query)
        await _finish(s, lang, query, session)


async def answer_question(update: Update, context: BotContext, button: AnswerQuestion) -> None:
    """Store one answer (committed before replying), then show the next question or the advice."""
    found = await _open_session(update, context, button.session_id)
    if found is None:
        return
    s, lang, query, session = found
    if not await s.storage.record_answer(session.id, button.position, button.value):
        answer_soon(query, s.text(lang, "checklist.stale"))
        current = await s.storage.session(session.id)
        if current is not None and current.status == "open":
            await _advance(s, lang, query, current)  # show where the session really is
        return
    answer_soon(query)
    refreshed = await s.storage.session(session.id)
    assert refreshed is not None
    await _advance(s, lang, query, refreshed)


async def _open_session(
    update: Update, context: BotContext, session_id: int
) -> tuple[Services, Language, CallbackQuery, Session] | None:
    """The open session a button refers to, or None after telling the user it is closed (a finished one shows
    its advice again, in case the edit that showed it was lost)."""
    s = context.services
    query = update.callback_query
    assert query is not None
    lang = await context.language()
    session = await s.storage.session(session_id)
    if session is not None and session.user_id == query.from_user.id and session.status == "open":
        return s, lang, query, session
    answer_soon(query, s.text(lang, "checklist.closed"))
    if session is not None and session.user_id == query.from_user.id and session.status == "done":
        await _show_advice(s, lang, query, await _advice(s, session), session)
    return None


async def _advance(s: Services, lang: Language, query: CallbackQuery, session: Session) -> None:
    if session.position >= len(QUESTIONS):
        await _finish(s, lang, query, session)
        return
    await show(query, render.question_text(s.catalog, lang, session.position),
               keyboards.answers(s.catalog, lang, session.id, session.position))


async def _finish(s: Services, lang: Language, query: CallbackQuery, session: Session) -> None:
    advice = await _advice(s, session)
    if not await s.storage.finish_session(session.id, session.user_id, advice):
        return  # a concurrent press finished it first and shows the advice
    await _show_advice(s, lang, query, advice, session)


async def _advice(s: Services, session: Session) -> Advice:
    # The policy is a pure function of the stored risk and answers, so a finished session's advice can be shown
    # again exactly as it was given.
    # A follow-up's clear rise makes it one step sooner (bot.policy); that too is read back from storage.
    change = await followup.change_of_session(s.storage, session.id)
    return advise(session.risk, await s.storage.answers(session.id), s.config.policy, change)


async def _show_advice(s: Services, lang: Language, query: CallbackQuery, advice: Advice, session: Session) -> None:
    await show(query, render.advice_text(s.catalog, lang, advice, session.risk),
               await after_advice_buttons(s, lang, session))


async def after_advice_buttons(s: Services, lang: Language, session: Session) -> InlineKeyboardMarkup:
    """Reminders, the report for the doctor and, while the photo is still in memory, "Where did you look?"."""
    assessment_id = await s.storage.session_assessment(session.id)
    kept = assessment_id is not None and s.results.get(assessment_id, session.user_id) is not None
    return keyboards.after_advice(s.catalog, lang, s.config.bot.reminder_months, assessment_id, kept)
