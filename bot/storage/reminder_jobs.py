"""The reminder job queue of PostgreSQL mode, as storage sees it: procrastinate's jobs live in the same database as
the reminders, so a reminder and the job that delivers it commit in one transaction. This module owns the queue's
names and schema and defers the jobs; `bot.reminder_queue` runs the worker that performs them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager

from bot.storage.database import Connection
from bot.storage.records import Reminder

QUEUE = "reminders"
TASK = "skinbot.send_reminder"


def deferring_app() -> procrastinate.App:
    """A procrastinate App that only defers jobs, on connections it is handed: it never opens a pool of its own."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector())


async def defer(app: procrastinate.App, conn: psycopg.AsyncConnection[Any], reminder: Reminder) -> None:
    """Queue the delivery of `reminder` at its due time on `conn`, inside the caller's transaction."""
    due = dt.datetime.fromtimestamp(reminder.due_at, dt.UTC)
    deferrer = app.configure_task(TASK, queue=QUEUE, schedule_at=due, connection=conn)
    await deferrer.defer_async(reminder_id=reminder.id)


async def install_schema(conn: Connection) -> None:
    """Create procrastinate's schema unless it exists (its script is not idempotent); the caller holds the
    migration lock, so two processes starting at once cannot both find it missing."""
    if (await conn.execute("SELECT to_regclass('procrastinate_jobs')")).value() is None:
        await conn.script(SchemaManager.get_schema())
