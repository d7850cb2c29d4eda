"""Reminders in PostgreSQL mode: the reminder row and its procrastinate job commit together, `skinbot worker`
processes (here: worker tasks, each with connections of its own) send each due reminder once, retry a transient
failure, give up on a permanent one, skip a forgotten one, prune jobs finished over a week ago; a replica schedules
nothing in its JobQueue."""

import asyncio
import contextlib
import dataclasses
import time

import pytest
from procrastinate.exceptions import ConnectorException
from procrastinate.manager import JobManager

from bot.app import running
from bot.checklist import QUESTIONS
from bot.reminder_queue import run_worker
from bot.storage import SqlStorage, StorageUnavailable, reminder_jobs, storage_for

from .conftest import LOW, TOKEN, make_config, make_env
from .fakes import FakeTelegram

GONE = [(502, "Bad Gateway")] * 4  # one send lost for good: the first try and the three retries
FAST = {"reminder_month_s": 1.0, "reminder_retry_s": 1.0, "reminder_poll_s": 0.1, "network_retry_backoff_s": 0.01,
        "max_sends_per_second": 0.0}


@pytest.fixture
def config(tmp_path, postgres_server):
    plain = make_config(tmp_path, **FAST)
    return dataclasses.replace(plain, storage=dataclasses.replace(plain.storage, url=postgres_server.new_database()))


@pytest.fixture
async def storage(config):
    store = storage_for(config.storage.url)
    await store.connect()
    yield store
    await store.close()


@contextlib.asynccontextmanager
async def workers(config, telegram, count=1):
    """`count` reminder workers sending through `telegram`, stopped (as by SIGTERM) at the end of the block."""
    stop = asyncio.Event()
    running_workers = [asyncio.create_task(run_worker(config, TOKEN, stop, request=telegram)) for _ in range(count)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*running_workers), 10)


async def query(storage, sql, params=()):
    async with storage.db.reading() as conn:
        return (await conn.execute(sql, params)).rows


async def job_of(storage, reminder_id):
    """(status, attempts) of the reminder's procrastinate job, or None without one."""
    rows = await query(storage, "SELECT status, attempts FROM procrastinate_jobs "
                                "WHERE (args->>'reminder_id')::bigint = ?", (reminder_id,))
    assert len(rows) <= 1
    return rows[0] if rows else None


async def outcome(storage, reminder_id):
    return (await query(storage, "SELECT outcome FROM reminders WHERE id = ?", (reminder_id,)))[0][0]


async def wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_reminder_and_its_job_commit_together(storage):
    due = time.time() + 3600
    reminder = await storage.add_reminder(5, 50, due)
    assert await job_of(storage, reminder.id) == ("todo", 0)
    (scheduled,) = await query(storage, "SELECT EXTRACT(EPOCH FROM scheduled_at), queue_name, task_name "
                                        "FROM procrastinate_jobs")
    assert (abs(float(scheduled[0]) - due) < 0.01, scheduled[1], scheduled[2]) == (True, "reminders",
                                                                                   "skinbot.send_reminder")


async def test_an_add_that_fails_after_its_job_was_deferred_leaves_neither(storage, monkeypatch):
    deferred = JobManager.defer_job_async

    async def defer_then_fail(self, job, connection=None):
        await deferred(self, job, connection=connection)  # the job row is written...
        raise RuntimeError("the transaction fails after it")

    monkeypatch.setattr(JobManager, "defer_job_async", defer_then_fail)
    with pytest.raises(RuntimeError):
        await storage.add_reminder(5, 50, time.time())
    assert await query(storage, "SELECT COUNT(*) FROM reminders") == [(0,)]
    assert await query(storage, "SELECT COUNT(*) FROM procrastinate_jobs") == [(0,)]


async def test_two_workers_send_each_of_twenty_due_reminders_exactly_once(config, storage):
    telegram = FakeTelegram()
    due = time.time() + 1.0
    reminders = [await storage.add_reminder(user, user * 10, due + user / 100) for user in range(1, 21)]
    async with storage.db.transaction() as conn:  # and a second job for each, as if deferred twice: the claim holds
        for reminder in reminders:
            await reminder_jobs.defer(reminder_jobs.deferring_app(), conn.raw, reminder)
    async with workers(config, telegram, count=2):
        await wait_for(lambda: _true(len(telegram.sent("sendMessage")) >= 20))
        await asyncio.sleep(0.5)  # time for a second send of any of them, were there one
    assert sorted(c.params["chat_id"] for c in telegram.sent("sendMessage")) == [u * 10 for u in range(1, 21)]
    assert {await outcome(storage, r.id) for r in reminders} == {"sent"}
    jobs = await query(storage, "SELECT status, COUNT(*) FROM procrastinate_jobs GROUP BY status")
    assert jobs == [("succeeded", 40)]


async def test_a_transient_failure_is_retried_and_then_sent_once(config, storage):
    telegram = FakeTelegram()
    telegram.errors["sendMessage"] = list(GONE)
    await storage.set_language(5, "ko")
    reminder = await storage.add_reminder(5, 50, time.time())
    async with workers(config, telegram):
        await wait_for(lambda: _true(telegram.sent("sendMessage")))
        await wait_for(lambda: _equal(job_of(storage, reminder.id), ("succeeded", 2)))
    (sent,) = telegram.sent("sendMessage")
    assert (sent.params["chat_id"], sent.params["text"][:5]) == (50, "안녕하세요")
    assert await outcome(storage, reminder.id) == "sent"


async def test_a_send_stopped_by_a_storage_failure_is_released_and_retried(config, storage, monkeypatch):
    telegram = FakeTelegram()
    reminder = await storage.add_reminder(5, 50, time.time())
    language, failures = SqlStorage.language, [StorageUnavailable("the database went away for a moment")]

    async def fail_once(self, user_id):
        if failures:
            raise failures.pop()
        return await language(self, user_id)

    monkeypatch.setattr(SqlStorage, "language", fail_once)
    async with workers(config, telegram):
        await wait_for(lambda: _equal(job_of(storage, reminder.id), ("succeeded", 2)))
    assert [c.params["chat_id"] for c in telegram.sent("sendMessage")] == [50]
    assert await outcome(storage, reminder.id) == "sent"


@pytest.mark.parametrize("status, description", [(400, "Bad Request: chat not found"),
                                                 (403, "Forbidden: bot was blocked by the user")])
async def test_a_permanent_failure_is_marked_undeliverable_and_not_retried(config, storage, status, description):
    telegram = FakeTelegram()
    telegram.errors["sendMessage"] = [(status, description)]
    reminder = await storage.add_reminder(5, 50, time.time())
    async with workers(config, telegram):
        await wait_for(lambda: _equal(job_of(storage, reminder.id), ("succeeded", 1)))
        await asyncio.sleep(1.5)  # longer than bot.reminder_retry_s: a retry would have come
    assert await outcome(storage, reminder.id) == "undeliverable"
    assert await job_of(storage, reminder.id) == ("succeeded", 1)
    assert telegram.sent("sendMessage") == []


async def test_a_replica_stores_the_reminder_for_the_worker_and_schedules_nothing(config):
    env = make_env(config)
    async with running(env.application):
        chat = env.chat()
        await chat.photo(LOW)
        await chat.press_label("Answer the questions")
        for _ in QUESTIONS:
            await chat.press_label("No")
        await chat.press_label("In 1 month")  # a "month" is a second here
        assert env.telegram.texts()[-1].startswith("OK, I'll remind you on ")
        (reminder,) = await env.storage.pending_reminders()
        assert await job_of(env.storage, reminder.id) == ("todo", 0)
        assert [job.name for job in env.application.job_queue.jobs()] == ["prune-update-journal"]
        worker_telegram = FakeTelegram()
        async with workers(config, worker_telegram):
            await wait_for(lambda: _true(worker_telegram.sent("sendMessage")))
        assert [c.params["chat_id"] for c in worker_telegram.sent("sendMessage")] == [1]
        await env.storage.add_reminder(2, 20, time.time() + 3600)
    restarted = make_env(config)  # a replica starting with a reminder pending does not schedule it either
    async with running(restarted.application):
        assert len(await restarted.storage.pending_reminders()) == 1
        assert [job.name for job in restarted.application.job_queue.jobs()] == ["prune-update-journal"]


async def test_a_reminder_forgotten_before_it_is_due_is_not_sent(config, storage):
    telegram = FakeTelegram()
    reminder = await storage.add_reminder(5, 50, time.time() + 0.5)
    await storage.forget_user(5)
    async with workers(config, telegram):
        await wait_for(lambda: _equal(job_of(storage, reminder.id), ("succeeded", 1)))
    assert telegram.sent("sendMessage") == []


async def test_a_worker_prunes_jobs_finished_over_a_week_ago_and_keeps_the_rest(config, storage):
    telegram = FakeTelegram()
    old, recent = [await storage.add_reminder(user, user * 10, time.time()) for user in (5, 6)]
    async with workers(config, telegram):
        await wait_for(lambda: _equal(job_of(storage, recent.id), ("succeeded", 1)))
    async with storage.db.transaction() as conn:  # `old` finished eight days ago
        await conn.execute("UPDATE procrastinate_events SET at = at - INTERVAL '8 days' WHERE job_id = "
                           "(SELECT id FROM procrastinate_jobs WHERE (args->>'reminder_id')::bigint = ?)", (old.id,))
    async with workers(config, telegram):
        await wait_for(lambda: _equal(job_of(storage, old.id), None))
    assert await job_of(storage, recent.id) == ("succeeded", 1)
    assert {await outcome(storage, r.id) for r in (old, recent)} == {"sent"}


async def test_a_failed_prune_is_logged_and_the_worker_still_sends(config, storage, monkeypatch, caplog):
    async def database_away(self, **kwargs):
        raise ConnectorException("connection refused")

    monkeypatch.setattr(JobManager, "delete_old_jobs", database_away)
    telegram = FakeTelegram()
    reminder = await storage.add_reminder(5, 50, time.time())
    async with workers(config, telegram):
        await wait_for(lambda: _equal(job_of(storage, reminder.id), ("succeeded", 1)))
    assert [c.params["chat_id"] for c in telegram.sent("sendMessage")] == [50]
    assert "pruning finished reminder jobs failed" in caplog.text


async def _true(value):
    return bool(value)


async def _equal(awaitable, expected):
    return await awaitable == expected
