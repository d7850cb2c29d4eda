"""Small helpers shared by the handlers."""

from __future__ import annotations

import contextlib
import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import keyboards
from bot.services import services

logger = logging.getLogger(__name__)


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the text of the message a button belongs to (editing in place); send a new message if that fails."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return  # a double tap: the message already shows this
        logger.info("could not edit message, sending a new one: %s", exc)
        if query.message is not None:
            await query.message.chat.send_message(text, reply_markup=markup)


async def drop_keyboard(query: CallbackQuery) -> None:
    """Remove the buttons from the message a button belongs to, so it cannot be pressed twice."""
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=None)


async def reply_template(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str,
                         markup: keyboards.MarkupFactory | None = None) -> None:
    """Reply with the template `key` in the user's language, optionally with a keyboard built for that language."""
    s = services(context)
    assert update.effective_message is not None
    lang = await s.language(update.effective_user)
    await update.effective_message.reply_text(s.text(lang, key),
                                              reply_markup=markup(s.catalog, lang) if markup else None)
