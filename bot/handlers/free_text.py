"""The user's own questions in free text, answered by `bot.nlu` with the context of their last result.

During the checklist questions, a typed "yes", "no" or "not sure" is not a question: the user is asked to tap the
buttons, which record the answer to the right question (a typed word cannot say which question it answers).
"""

from __future__ import annotations

from telegram import Update

from bot.messages import LANGUAGES, Catalog
from bot.nlu import AnswerContext, answer, normalise
from bot.services import BotContext


def is_typed_answer(catalog: Catalog, text: str) -> bool:
    """Whether a message is just a yes / no / not-sure answer, in any language (`checklist.typed_answers`)."""
    words = {normalise(w) for lang in LANGUAGES for w in catalog.text(lang, "checklist.typed_answers").split(",")}
    return normalise(text) in words - {""}


async def free_text(update: Update, context: BotContext) -> None:
    """Match the question to an intent, reply, and log the intent (not the text)."""
    s = context.services
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    lang = await context.language()
    if is_typed_answer(s.catalog, message.text) and await s.storage.open_session_of(user.id) is not None:
        await message.reply_text(s.text(lang, "checklist.tap_a_button"))
        return
    last_risk, last_advice = await s.storage.last_result(user.id)
    context_ = AnswerContext(last_risk=last_risk, last_advice=last_advice, model=s.model)
    result = answer(message.text, lang, context_, s.catalog, s.intents)
    await s.storage.log_intent(user.id, result.intent, result.score)
    await message.reply_text(result.reply)
