"""The reminder worker of PostgreSQL mode (`skinbot worker`): a procrastinate worker that performs the jobs storage
queued with each reminder (`bot.storage.reminder_jobs`) when they fall due, sending through `ReminderSender`. Any
number of workers may run: a reminder is claimed before it is sent, so each is sent once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import procrastinate
from procrastinate.retry import RetryStrategy
from telegram.request import BaseRequest

from bot.app import api_builder
from bot.messages import load_catalog
from bot.reminder_sending import ReminderSender
from bot.storage import StorageError, storage_for
from bot.storage.reminder_jobs import QUEUE, TASK
from skinbot.config import Config

logger = logging.getLogger(__name__)
CONCURRENT_SENDS = 8  # reminders one worker sends at once; the rate limiter still bounds the overall rate
# A finished job is kept a week to look into a delivery, then deleted (the reminder's row keeps its outcome), so the
# queue's tables do not grow with every reminder ever sent. Every worker prunes when it starts and hourly after.
FINISHED_JOBS_KEPT_H = 24 * 7
PRUNE_EVERY_S = 3600.0


class SendFailed(Exception):
    """A reminder's send failed for a transient reason and its claim was released: procrastinate runs the job
    again later."""


def worker_app(url: str, sender: ReminderSender, retry_s: float) -> procrastinate.App:
    """A procrastinate App on `url` whose reminder task sends through `sender`, retrying a failed send every
    `retry_s` seconds (whole seconds: procrastinate's unit) for as long as it takes."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    # The task is a closure over `sender`, registered on this App: no module-level App or Bot. The worker finds it
    # by its name (`TASK`), which is all a deferred job records.
    async def send_reminder(reminder_id: int) -> None:
        if await sender.send(reminder_id) == "retry":
            raise SendFailed(f"reminder {reminder_id}")

    # Every failure is retried, not only SendFailed: a job that failed for good (the database gone for a moment)
    # would leave its reminder pending with nothing left to send it.
    retry = RetryStrategy(wait=max(1, round(retry_s)))
    app.task(name=TASK, queue=QUEUE, retry=retry)(send_reminder)
    return app


async def run_worker(config: Config, token: str, stop: asyncio.Event, *, request: BaseRequest | None = None) -> None:
    """Send reminders as they fall due until `stop` is set, then finish the sends under way (for at most
    `bot.shutdown_timeout_s`). StorageError for a SQLite `storage.url` or an unreachable database; telegram's
    InvalidToken or NetworkError when the Bot API refuses the token or cannot be reached."""
    url = config.storage.url
    storage = storage_for(url)
    if not storage.reminders_queued:
        raise StorageError(f"{storage.location} is SQLite: in that single-process mode the bot sends reminders "
                           "itself and needs no worker")
    await storage.connect()  # migrates, so the queue's schema is there
    try:
        async with api_builder(config, token, request).build().bot as bot:  # getMe: a refused token fails here
            sender = ReminderSender(bot, storage, load_catalog(), config.bot.default_language)
            app = worker_app(url, sender, config.bot.reminder_retry_s)
            async with app.open_async():
                logger.info("reminder worker started (storage %s)", storage.location)
                await _work_until(app, config, stop)
    finally:
        await storage.close()


async def _work_until(app: procrastinate.App, config: Config, stop: asyncio.Event) -> None:
    """Run the worker (and the pruning of finished jobs) until `stop`; cancelling it makes procrastinate stop
    gracefully (running jobs finish)."""
    worker = asyncio.create_task(app.run_worker_async(
        queues=[QUEUE], install_signal_handlers=False, fetch_job_polling_interval=config.bot.reminder_poll_s,
        shutdown_graceful_timeout=config.bot.shutdown_timeout_s, concurrency=CONCURRENT_SENDS,
    ))
    pruning = asyncio.create_task(_prune_finished_jobs(app))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({worker, stopped}, return_when=asyncio.FIRST_COMPLETED)
    for task in (stopped, pruning, worker):
        task.cancel()
    for task in (worker, pruning):  # both finish before the storage they use is closed
        with contextlib.suppress(asyncio.CancelledError):
            await task
    logger.info("reminder worker stopped")


async def _prune_finished_jobs(app: procrastinate.App) -> None:
    """Delete the reminder jobs finished more than `FINISHED_JOBS_KEPT_H` ago, now and every `PRUNE_EVERY_S`. A
    failed prune (the database gone for a moment) is logged and tried again next time: it never stops the sends."""
    while True:
        try:
            await app.job_manager.delete_old_jobs(nb_hours=FINISHED_JOBS_KEPT_H, queue=QUEUE)
        except procrastinate.exceptions.ConnectorException:  # the database is away; the worker reports a lasting outage
            logger.warning("pruning finished reminder jobs failed; trying again in %.0f s", PRUNE_EVERY_S,
                           exc_info=True)
        await asyncio.sleep(PRUNE_EVERY_S)
