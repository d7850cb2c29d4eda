"""Re-check reminders: chosen after the advice or with /remind, stored in SQLite, delivered by the job queue,
and re-scheduled from the database at start-up so they survive restarts."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import Application, ContextTypes, JobQueue

from bot import keyboards, render
from bot.handlers.common import drop_keyboard
from bot.services import services, services_of
from bot.storage import Reminder

logger = logging.getLogger(__name__)
DAYS_PER_MONTH = 30


async def remind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the re-check delays."""
    s = services(context)
    assert update.effective_message is not None
    lang = await s.language(update.effective_user)
    await update.effective_message.reply_text(
        s.text(lang, "remind.prompt"), reply_markup=keyboards.reminders(s.catalog, lang, s.config.bot.reminder_months)
    )


async def remind_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store and schedule the reminder, then confirm its date."""
    s = services(context)
    query = update.callback_query
    assert query is not None and context.match is not None and query.message is not None
    lang = await s.language(query.from_user)
    months = int(context.match.group(1))
    if months not in s.config.bot.reminder_months:
        await query.answer()
        return
    due_at = time.time() + months * DAYS_PER_MONTH * 86400
    reminder = await s.storage.add_reminder(query.from_user.id, query.message.chat.id, due_at)
    assert context.job_queue is not None
    schedule(context.job_queue, reminder)
    await query.answer()
    await drop_keyboard(query)
    await query.message.chat.send_message(s.text(lang, "remind.set", date=render.format_date(s.catalog, lang, due_at)))


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


async def send_reminder(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deliver a reminder if it still exists (the user may have used /forget), then mark it sent."""
    s = services(context)
    job = context.job
    assert job is not None and isinstance(job.data, int) and job.chat_id is not None
    if not await s.storage.is_reminder_pending(job.data):
        return
    lang = await s.stored_language(job.user_id)
    try:
        await context.bot.send_message(job.chat_id, s.text(lang, "remind.message"))
    except Forbidden:
        logger.info("reminder %s not delivered: the user blocked the bot", job.data)
    await s.storage.mark_reminder_sent(job.data)
