"""Follow-up of the same spot: after a result, "is this the same spot as one you checked before?" with one button
per earlier spot (its latest check's date and result); the answer links the checks in storage and replies with the
change, and a clear rise makes the advice one step sooner (`bot.policy`)."""

from __future__ import annotations

from telegram import Message, Update

from bot import followup, keyboards, render
from bot.callbacks import SameSpot
from bot.handlers.common import show
from bot.messages import Language
from bot.policy import clear_rise
from bot.services import BotContext, Services
from bot.storage import CheckRecord


async def offer(s: Services, message: Message, lang: Language, user_id: int, assessment_id: int) -> None:
    """Ask whether this photo shows a spot checked before, if the user has any earlier check of a single spot."""
    earlier = await s.storage.earlier_spots(user_id, assessment_id, s.config.bot.followup_choices)
    if not earlier:
        return
    choices = [(s.text(lang, "followup.choice", date=render.format_date(s.catalog, lang, c.created_at),
                       result=s.text(lang, f"result.risk.{c.risk or 'medium'}")), c.id) for c in earlier]
    await message.reply_text(s.text(lang, "followup.prompt"),
                             reply_markup=keyboards.spots(s.catalog, lang, assessment_id, choices))


async def spot_chosen(update: Update, context: BotContext, button: SameSpot) -> None:
    """Record the answer: a new spot, or a follow-up of an earlier one with the change and what it means."""
    s = context.services
    query = update.callback_query
    assert query is not None
    lang = await context.language()
    assessment_id, earlier_id = button.assessment_id, button.earlier_id
    now = await s.storage.check(assessment_id)
    if now is None or now.user_id != query.from_user.id or now.spot_id is not None:
        await query.answer(s.text(lang, "followup.stale"))
        return
    await query.answer()
    if earlier_id is None:
        await show(query, s.text(lang, "followup.new_spot"))
        return
    if not await s.storage.link_followup(query.from_user.id, assessment_id, earlier_id):
        await show(query, s.text(lang, "followup.stale"))
        return
    linked = await s.storage.check(assessment_id)
    assert linked is not None
    before = await followup.previous_check(s.storage, linked)
    assert before is not None  # just linked to it
    await show(query, await _change_reply(s, lang, before, linked))


async def _change_reply(s: Services, lang: Language, before: CheckRecord, now: CheckRecord) -> str:
    """The change in plain words, and what a clear rise does to the advice (already given, or still to come)."""
    change = followup.change_between(before, now)
    lines = [followup.change_text(s.catalog, lang, before, now)]
    if not clear_rise(change, s.config.policy):
        lines.append(s.text(lang, "followup.keep_watching"))
        return "\n\n".join(lines)
    answers = await s.storage.answers(now.session_id) if now.session_id is not None else {}
    given = followup.given_advice(now, answers)
    raised = followup.raised_advice(now, answers, given, change, s.config.policy)
    if raised is not None and now.session_id is not None:
        await s.storage.replace_advice(now.session_id, raised)
        lines.append(s.text(lang, "followup.rise_done", when=render.level_phrases(s.catalog, lang)[raised.level]))
    elif given is not None:  # already as urgent as advice goes
        lines.append(s.text(lang, "followup.rise_already", when=render.level_phrases(s.catalog, lang)[given.level]))
    else:
        lines.append(s.text(lang, "followup.rise_pending"))
    return "\n\n".join(lines)
