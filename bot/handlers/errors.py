"""The global error handler: log the failure (never the update's content or the token) and apologise."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.messages import language_for
from bot.services import BotContext

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception and tell the user something went wrong (in private chats)."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return
    # No storage lookup here: the failure may be in storage itself.
    user = update.effective_user
    lang = language_for(user.language_code) if user and user.language_code else None
    s = context.services
    with contextlib.suppress(TelegramError):
        await context.bot.send_message(update.effective_chat.id,
                                       s.text(lang or s.config.bot.default_language, "error"))
