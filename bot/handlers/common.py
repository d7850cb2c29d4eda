"""Small helpers shared by the handlers."""

from __future__ import annotations

import contextlib
import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from bot import keyboards
from bot.services import BotContext
from bot.work import spawn

logger = logging.getLogger(__name__)


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the text of the message a button belongs to (editing in place); send a new message if that fails
    or if the tap came without its message (the Bot API allows that)."""
    if query.message is None and query.inline_message_id is None:
        await query.get_bot().send_message(query.from_user.id, text, reply_markup=markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return  # a double tap: the message already shows this
        logger.info("could not edit message, sending a new one: %s", exc)
        await query.get_bot().send_message(chat_of(query), text, reply_markup=markup)


def chat_of(query: CallbackQuery) -> int:
    """The chat a tap came from: its message's chat, else the user's private chat (whose id is the user's)."""
    return query.message.chat.id if query.message is not None else query.from_user.id


def answer_soon(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button tap beside the handler. The answer only stops the spinner (or shows a short notice), so a
    slow or rate-limited answer must never hold up the edit that shows the user what happened."""
    spawn(_answer_quietly(query, text), name="answer-callback-query")


async def _answer_quietly(query: CallbackQuery, text: str | None) -> None:
    try:
        await query.answer(text)
    except TelegramError as exc:  # the query expired or Telegram is busy: the edit still shows the result
        logger.info("could not answer a button tap: %s", exc)


async def drop_keyboard(query: CallbackQuery) -> None:
    """Remove the buttons from the message a button belongs to, so it cannot be pressed twice."""
    if query.message is None and query.inline_message_id is None:
        return
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=None)


async def reply_template(update: Update, context: BotContext, key: str,
                         markup: keyboards.MarkupFactory | None = None) -> None:
    """Reply with the template `key` in the user's language, optionally with a keyboard built for that language."""
    assert update.effective_message is not None
    lang = await context.language()
    await update.effective_message.reply_text(context.services.text(lang, key),
                                              reply_markup=markup(context.services.catalog, lang) if markup else None)
