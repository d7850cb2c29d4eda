"""The reply to a photo the model could assess ("ok"): rash guidance, or the risk level with what the spot
resembles and its buttons; and the "What is …?" button.

Called by `bot.handlers.photo` once the assessment is stored; the photo bytes are used here only to keep the
model's square in memory for "Where did you look?" (`bot.result_cache`), never written anywhere.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Message, Update

from bot import heatmap, keyboards, lesion_types, render
from bot.callbacks import ExplainType
from bot.messages import Language
from bot.nlu import AnswerContext
from bot.nlu import render as render_intent
from bot.services import BotContext, Services
from inference.assessment import Assessment

logger = logging.getLogger(__name__)


async def record(s: Services, user_id: int, assessment: Assessment, assessment_id: int, photo: bytes) -> None:
    """For a photo checked now: store what the type head said, and keep the model's square for the heatmap."""
    await s.storage.record_details(assessment_id, assessment)
    if not assessment.rash:
        await _keep_for_heatmap(s, user_id, assessment, assessment_id, photo)


async def is_rash(s: Services, assessment_id: int) -> bool:
    """Whether the stored check looked like a rash (read back, so a replayed update is answered the same way)."""
    check = await s.storage.check(assessment_id)
    return check is not None and check.rash


async def send_rash(s: Services, message: Message, lang: Language, assessment_id: int) -> None:
    """Rash guidance instead of a risk level: no questionnaire, no heatmap; the report stays available."""
    await message.reply_text(s.text(lang, "rash.text"),
                             reply_markup=keyboards.rash_buttons(s.catalog, lang, assessment_id))


def result_message(s: Services, lang: Language, user_id: int, session_id: int, assessment_id: int,
                   assessment: Assessment) -> tuple[str, InlineKeyboardMarkup]:
    """The result text (risk level, meaning, what it resembles) and its buttons (questions, "What is …?", and
    "Where did you look?" while the photo is kept)."""
    resembles = lesion_types.resembled(assessment, s.model.type_threshold)
    kept = s.results.get(assessment_id, user_id) is not None
    return (render.result_text(s.catalog, lang, assessment, resembles),
            keyboards.result_buttons(s.catalog, lang, session_id, assessment_id, resembles, kept))


async def _keep_for_heatmap(s: Services, user_id: int, assessment: Assessment, assessment_id: int,
                            photo: bytes) -> None:
    """Keep the model's square of the photo and the map in memory (nothing without a map or without room)."""
    if not assessment.cam or s.results.max_items <= 0:
        return
    try:
        square = await asyncio.to_thread(heatmap.prepare, photo)
    except heatmap.HeatmapError as exc:  # the pipeline read it, so this is unexpected: no button, not a failure
        logger.warning("could not keep the photo for the heatmap: %s", exc)
        return
    s.results.put(assessment_id, user_id, square, assessment.cam)


async def explain_type(update: Update, context: BotContext, button: ExplainType) -> None:
    """"What is a seborrheic keratosis?": the same reply as the free-text question, as a new message."""
    query = update.callback_query
    assert query is not None and query.message is not None
    lang = await context.language()
    intent = lesion_types.TYPE_INTENTS[button.type_name]  # the parser accepts only known types
    await query.answer()
    text = render_intent(intent, lang, AnswerContext(model=context.services.model), context.services.catalog)
    await query.message.chat.send_message(text)
