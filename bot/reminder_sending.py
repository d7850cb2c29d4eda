"""How a reminder is sent, wherever it fell due (the bot's JobQueue in SQLite mode, `skinbot worker` in PostgreSQL
mode): claimed first, so that no two senders send it; sent in the user's language; its outcome recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.messages import LANGUAGES, Catalog, Language
from bot.storage import Storage

logger = logging.getLogger(__name__)
# "gone": deleted by /forget, or another sender has it or had it; "retry": a transient failure released the claim.
Delivery = Literal["sent", "undeliverable", "gone", "retry"]


@dataclass(frozen=True)
class ReminderSender:
    """Sends reminders through `bot`, in the language the user chose, else the one of the chat they set it in,
    else `default_language`."""

    bot: Bot
    storage: Storage
    catalog: Catalog
    default_language: Language

    async def send(self, reminder_id: int) -> Delivery:
        """Claim, send and record one reminder. A chat Telegram refuses for good (400 chat not found, 403 blocked)
        makes it undeliverable, so it is never tried again; a transient failure (after the rate limiter's retries)
        releases the claim, and the caller tries again later."""
        reminder = await self.storage.claim_reminder(reminder_id)
        if reminder is None:
            return "gone"
        try:
            # A language chosen since it was set wins; else the one the user was talked to in when they set it.
            lang = await self.storage.language(reminder.user_id) or _language(reminder.language, self.default_language)
            await self.bot.send_message(reminder.chat_id, self.catalog.text(lang, "remind.message"))
        except (BadRequest, Forbidden) as exc:
            logger.info("reminder %s cannot be delivered (%s); not trying again", reminder_id, exc)
            await self.storage.finish_reminder(reminder_id, "undeliverable")
            return "undeliverable"
        except TelegramError as exc:
            logger.warning("reminder %s not delivered (%s); it is tried again later", reminder_id, exc)
            await self.storage.release_reminder(reminder_id)
            return "retry"
        except BaseException:  # a shutdown stopped a send hanging in retries, or storage failed: it is not lost
            await self.storage.release_reminder(reminder_id)
            raise
        await self.storage.finish_reminder(reminder_id, "sent")
        return "sent"


def _language(code: str | None, default: Language) -> Language:
    return code if code in LANGUAGES else default
