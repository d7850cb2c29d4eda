"""The user's own questions in free text, answered by `bot.intents` with the context of their last result."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.intents import AnswerContext, answer
from bot.services import services


async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Match the question to an intent, reply, and log the intent (not the text)."""
    s = services(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    lang = await s.language(user)
    last_risk, last_advice = await s.storage.last_result(user.id)
    context_ = AnswerContext(last_risk=last_risk, last_advice=last_advice, card=s.analyzer.card)
    result = answer(message.text, lang, context_, s.catalog)
    await s.storage.log_intent(user.id, result.intent, result.score)
    await message.reply_text(result.reply)
