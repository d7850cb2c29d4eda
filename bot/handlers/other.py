"""Everything that is neither a photo, a text nor a command: a short reply, or ignored on purpose."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import answer_soon, reply_template
from bot.services import BotContext


async def unsupported(update: Update, context: BotContext) -> None:
    """Stickers, voice, video, locations, contacts, polls…: say what the bot can read."""
    await reply_template(update, context, "unsupported")


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have: show the help."""
    await reply_template(update, context, "help.text")


async def ignore(update: Update, context: BotContext) -> None:
    """Edited messages are ignored on purpose: the original was already answered, and re-running a check on an
    edit would answer twice."""


async def stale_button(update: Update, context: BotContext) -> None:
    """A button with data this version does not make (from an older release, or forged): stop the spinner."""
    assert update.callback_query is not None
    answer_soon(update.callback_query)
