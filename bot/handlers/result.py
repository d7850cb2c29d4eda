"""The reply to a photo the model could assess ("ok"): rash guidance, or the risk level with what the spot
resembles and its buttons; then, if the user has checked spots before, "is this the same spot?".

Called by `bot.handlers.photo` once the assessment is stored; the photo bytes are used here only to keep the
model's square in memory for "Where did you look?" (`bot.result_cache`), never written anywhere.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot import heatmap, keyboards, lesion_types, render
from bot.handlers import followup
from bot.intents import AnswerContext
from bot.intents import render as render_intent
from bot.messages import Language
from bot.services import Services, services
from inference.assessment import Assessment

logger = logging.getLogger(__name__)


async def reply(s: Services, message: Message, lang: Language, user_id: int, assessment: Assessment,
                assessment_id: int, photo: bytes) -> None:
    """Answer an "ok" assessment: store its type details, keep its photo for the heatmap, then reply."""
    await s.storage.record_details(assessment_id, assessment)
    if assessment.rash:
        await message.reply_text(s.text(lang, "rash.text"),
                                 reply_markup=keyboards.rash_buttons(s.catalog, lang, assessment_id))
        return
    kept = await _keep_for_heatmap(s, user_id, assessment, assessment_id, photo)
    resembles = lesion_types.resembled(assessment, s.analyzer.card.type_threshold)
    session_id = await s.storage.open_session(user_id, message.chat_id, assessment_id)
    sent = await message.reply_text(
        render.result_text(s.catalog, lang, assessment, resembles),
        reply_markup=keyboards.result_buttons(s.catalog, lang, session_id, assessment_id, resembles, kept),
    )
    await s.storage.set_session_message(session_id, sent.message_id)
    await followup.offer(s, message, lang, user_id, assessment_id)


async def _keep_for_heatmap(s: Services, user_id: int, assessment: Assessment, assessment_id: int,
                            photo: bytes) -> bool:
    """Keep the model's square of the photo and the map in memory; False when there is no map or no room."""
    if not assessment.cam or s.results.max_items <= 0:
        return False
    try:
        square = await asyncio.to_thread(heatmap.prepare, photo)
    except heatmap.HeatmapError as exc:  # the pipeline read it, so this is unexpected: no button, not a failure
        logger.warning("could not keep the photo for the heatmap: %s", exc)
        return False
    s.results.put(assessment_id, user_id, square, assessment.cam)
    return True


async def explain_type(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"What is a seborrheic keratosis?": the same reply as the free-text question, as a new message."""
    s = services(context)
    query = update.callback_query
    assert query is not None and context.match is not None and query.message is not None
    lang = await s.language(query.from_user)
    intent = lesion_types.TYPE_INTENTS.get(context.match.group(1))
    await query.answer()
    if intent is None:
        return  # a type this version does not know (a button from another model): nothing to explain
    text = render_intent(intent, lang, AnswerContext(card=s.analyzer.card), s.catalog)
    await query.message.chat.send_message(text)
