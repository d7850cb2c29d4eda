"""Everything that is neither a photo, a text nor a command: a short reply, or ignored on purpose."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services import services


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, voice, video, locations, contacts, polls…: say what the bot can read."""
    s = services(context)
    assert update.effective_message is not None
    lang = await s.language(update.effective_user)
    await update.effective_message.reply_text(s.text(lang, "unsupported"))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have: show the help."""
    s = services(context)
    assert update.effective_message is not None
    lang = await s.language(update.effective_user)
    await update.effective_message.reply_text(s.text(lang, "help.text"))


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Edited messages are ignored on purpose: the original was already answered, and re-running a check on an
    edit would answer twice."""


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button with data this version does not know (e.g. from an older release): just stop the spinner."""
    assert update.callback_query is not None
    await update.callback_query.answer()
