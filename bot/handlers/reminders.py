"""Re-check reminders: chosen after the advice or with /remind, stored in SQLite, delivered by the job queue,
and re-scheduled from the database at start-up so they survive restarts."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, JobQueue

from bot import keyboards, render
from bot.callbacks import ChooseReminder
from bot.handlers.common import answer_soon, chat_of, drop_keyboard
from bot.services import BotContext, services_of
from bot.storage import Reminder

logger = logging.getLogger(__name__)
DAYS_PER_MONTH = 30
RETRY_AFTER_S = 600.0  # a reminder that failed for a transient reason is tried again this much later


async def remind(update: Update, context: BotContext) -> None:
    """Offer the re-check delays."""
    s = context.services
    assert update.effective_message is not None
    lang = await context.language()
    await update.effective_message.reply_text(
        s.text(lang, "remind.prompt"), reply_markup=keyboards.reminders(s.catalog, lang, s.config.bot.reminder_months)
    )


async def remind_chosen(update: Update, context: BotContext, button: ChooseReminder) -> None:
    """Store and schedule the reminder, then confirm its date."""
    s = context.services
    query = update.callback_query
    assert query is not None
    answer_soon(query)
    if button.months not in s.config.bot.reminder_months:
        return
    lang = await context.language()
    due_at = time.time() + button.months * DAYS_PER_MONTH * 86400
    chat_id = chat_of(query)
    reminder = await s.storage.add_reminder(query.from_user.id, chat_id, due_at)
    assert context.job_queue is not None
    schedule(context.job_queue, reminder)
    await drop_keyboard(query)
    date = render.format_date(s.catalog, lang, due_at)
    await context.bot.send_message(chat_id, s.text(lang, "remind.set", date=date))


def schedule(job_queue: JobQueue[Any], reminder: Reminder) -> None:
    """Queue a stored reminder (one already due fires right away)."""
    delay = max(reminder.due_at - time.time(), 0.0)
    job_queue.run_once(
        send_reminder, when=dt.timedelta(seconds=delay), data=reminder.id, name=f"reminder:{reminder.id}",
        chat_id=reminder.chat_id, user_id=reminder.user_id,
    )


async def reschedule_pending(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Queue every reminder not yet sent (at start-up); returns how many."""
    job_queue = application.job_queue
    assert job_queue is not None  # the job-queue extra is a dependency
    pending = await services_of(application).storage.pending_reminders()
    for reminder in pending:
        schedule(job_queue, reminder)
    return len(pending)


async def send_reminder(context: BotContext) -> None:
    """Deliver a reminder if it still exists (the user may have used /forget), then mark it sent. A chat that
    Telegram refuses for good (400 chat not found, 403 blocked) marks it undeliverable, so it is not tried on
    every start; a transient failure (after the usual retries) tries again later."""
    s = context.services
    job = context.job
    assert job is not None and isinstance(job.data, int) and job.chat_id is not None and job.user_id is not None
    async with s.work.track(job.user_id):  # /forget and shutdown can stop a send that hangs in retries
        if not await s.storage.is_reminder_pending(job.data):
            return
        lang = await s.stored_language(job.user_id)
        try:
            await context.bot.send_message(job.chat_id, s.text(lang, "remind.message"))
        except (BadRequest, Forbidden) as exc:
            logger.info("reminder %s cannot be delivered (%s); not trying again", job.data, exc)
            await s.storage.mark_reminder_sent(job.data, "undeliverable")
            return
        except TelegramError as exc:
            logger.warning("reminder %s not delivered (%s); trying again in %.0f s", job.data, exc, RETRY_AFTER_S)
            assert context.job_queue is not None
            schedule(context.job_queue, Reminder(job.data, job.user_id, job.chat_id, time.time() + RETRY_AFTER_S))
            return
        await s.storage.mark_reminder_sent(job.data)
