"""Re-check reminders: chosen after the advice or with /remind and stored. In PostgreSQL mode storage queues each
one with its row and `skinbot worker` sends it (`bot.reminder_queue`); in SQLite mode (one process) the job queue
delivers it, and re-schedules the pending ones from the database at start-up so they survive restarts. Either way
`bot.reminder_sending` sends it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from telegram import Update
from telegram.ext import Application, JobQueue

from bot import keyboards, render
from bot.callbacks import ChooseReminder
from bot.handlers.common import answer_soon, chat_of, drop_keyboard
from bot.reminder_sending import ReminderSender
from bot.services import BotContext, services_of
from bot.storage import Reminder


async def remind(update: Update, context: BotContext) -> None:
    """Offer the re-check delays."""
    s = context.services
    assert update.effective_message is not None
    lang = await context.language()
    await update.effective_message.reply_text(
        s.text(lang, "remind.prompt"), reply_markup=keyboards.reminders(s.catalog, lang, s.config.bot.reminder_months)
    )


async def remind_chosen(update: Update, context: BotContext, button: ChooseReminder) -> None:
    """Store the reminder (and schedule it, where storage does not queue it), then confirm its date."""
    s = context.services
    query = update.callback_query
    assert query is not None
    answer_soon(query)
    if button.months not in s.config.bot.reminder_months:
        return
    lang = await context.language()
    due_at = time.time() + button.months * s.config.bot.reminder_month_s
    chat_id = chat_of(query)
    reminder = await s.storage.add_reminder(query.from_user.id, chat_id, due_at, lang)
    if not s.storage.reminders_queued:
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
    """Deliver a reminder fallen due (`ReminderSender`); one lost to a transient failure is tried again
    `bot.reminder_retry_s` later."""
    s = context.services
    job = context.job
    assert job is not None and isinstance(job.data, int) and job.chat_id is not None and job.user_id is not None
    sender = ReminderSender(context.bot, s.storage, s.catalog, s.config.bot.default_language)
    async with s.work.track(job.user_id):  # /forget and shutdown can stop a send that hangs in retries
        delivery = await sender.send(job.data)
    if delivery == "retry":
        assert context.job_queue is not None
        retry_at = time.time() + s.config.bot.reminder_retry_s
        schedule(context.job_queue, Reminder(job.data, job.user_id, job.chat_id, retry_at))
