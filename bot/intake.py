"""How updates come in: long polling (one process) or a webhook (any number of replicas); none is lost to a kill.

Polling: python-telegram-bot's `Updater` confirms a `getUpdates` offset as soon as the updates are queued, before
they are handled, and its retry backoff cannot be interrupted; so the bot polls here instead. Every update is
written to the journal (`Storage.journal_updates`) before Telegram is told it arrived (the next offset);
`SkinbotApplication.process_update` handles each journalled update at most once and marks it done; on start,
`replay_unfinished` queues whatever a killed process left unfinished. Waits between retries end as soon as the bot
is asked to stop.

Webhook: each update is claimed (`Storage.claim_update`) and handled before Telegram gets its 200, so Telegram,
which re-sends what is not answered, is the queue (see `WebhookReceiver`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.storage import Storage

logger = logging.getLogger(__name__)
T = TypeVar("T")
BotApplication = Application[Any, Any, Any, Any, Any, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_WEBHOOK_BODY = 1024 * 1024  # an update is at most a few KB; Telegram sends one per request
HEALTH_PATH = "/healthz"
HEALTH_TIMEOUT_S = 2.0
MAX_BACKOFF_S = 30.0


class Stopped(Exception):
    """The bot was asked to stop while waiting."""


async def until_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> T:
    """Await `awaitable` unless `stop` is set first (then it is cancelled and Stopped raised)."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Stopped
    return task.result()


async def pause(seconds: float, stop: asyncio.Event) -> None:
    """Sleep `seconds`, or raise Stopped as soon as `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    if stop.is_set():
        raise Stopped


def journal_entry(update: Update) -> tuple[int, int | None, str]:
    """What the journal keeps of an update until it is handled: its id, its user and its JSON."""
    user = update.effective_user
    return update.update_id, user.id if user is not None else None, update.to_json()


async def journal_and_queue(application: BotApplication, storage: Storage, updates: Sequence[Update]) -> int:
    """Record updates in the journal, then queue those not handled yet; returns how many were queued."""
    fresh = set(await storage.journal_updates([journal_entry(u) for u in updates]))
    for update in updates:
        if update.update_id in fresh:
            await application.update_queue.put(update)
    return len(fresh)


async def replay_unfinished(application: BotApplication, storage: Storage) -> int:
    """Queue the updates a previous process received and did not finish handling; returns how many."""
    count = 0
    for payload in await storage.unfinished_updates():
        try:
            update = Update.de_json(json.loads(payload), application.bot)
        except (ValueError, TypeError, KeyError) as exc:  # written by this code, so only a damaged row
            logger.error("skipping an unreadable journalled update: %s", exc)
            continue
        await application.update_queue.put(update)
        count += 1
    if count:
        logger.info("replaying %d update(s) left unfinished by the previous run", count)
    return count


async def poll(application: BotApplication, storage: Storage, stop: asyncio.Event, timeout_s: int) -> None:
    """Long-poll `getUpdates` until `stop` is set. The offset moves past updates only once they are journalled;
    errors are retried with a backoff (Telegram's retry_after for 429s) that `stop` interrupts."""
    bot = application.bot
    offset = 0
    backoff = 0.0
    await _until_done(lambda: bot.delete_webhook(), stop, "deleteWebhook")
    while not stop.is_set():
        try:
            updates = await until_stopped(
                bot.get_updates(offset=offset, timeout=timeout_s, allowed_updates=Update.ALL_TYPES), stop
            )
        except Stopped:
            break
        except InvalidToken:
            raise
        except RetryAfter as exc:
            backoff = _seconds(exc.retry_after)
            logger.warning("getUpdates rate limited; waiting %.1f s", backoff)
        except TimedOut:
            backoff = 0.0  # a long poll that timed out: poll again at once
        except (Conflict, TelegramError) as exc:
            backoff = min(MAX_BACKOFF_S, max(1.0, backoff * 1.5))
            logger.warning("getUpdates failed (%s); retrying in %.1f s", exc, backoff)
        else:
            backoff = 0.0
            if updates:
                await journal_and_queue(application, storage, updates)
                offset = updates[-1].update_id + 1
        if backoff:
            try:
                await pause(backoff, stop)
            except Stopped:
                break
    await _confirm(application, offset)


async def _confirm(application: BotApplication, offset: int) -> None:
    """Tell Telegram the journalled updates arrived (best effort: a redelivered one is recognised by its id)."""
    if offset:
        with contextlib.suppress(TelegramError, TimeoutError):
            await asyncio.wait_for(application.bot.get_updates(offset=offset, timeout=0), 2.0)


async def _until_done(call: Any, stop: asyncio.Event, what: str) -> None:
    """Retry a start-up call until it succeeds or the bot stops (an invalid token stops the bot)."""
    backoff = 1.0
    while True:
        try:
            await until_stopped(call(), stop)
            return
        except Stopped:
            return
        except InvalidToken:
            raise
        except TelegramError as exc:
            logger.warning("%s failed (%s); retrying in %.1f s", what, exc, backoff)
            try:
                await pause(backoff, stop)
            except Stopped:
                return
            backoff = min(MAX_BACKOFF_S, backoff * 2)


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


class WebhookReceiver:
    """The webhook endpoint of one replica, of any number behind a load balancer, and its health check.

    Each update is handled before Telegram gets its answer. Telegram sends a chat's next update only after the
    answer to the previous one, so per-chat order holds across replicas; a replica that dies mid-update never
    answers, and Telegram re-sends. The replica handling an update holds a claim on it (`Storage.claim_update`):
    a copy re-sent meanwhile gets 503 (Telegram retries later) and, once handled, 200 without a second handling;
    after `claim_s` a dead replica's claim expires and the next copy is handled. Telegram is the queue: nothing is
    queued here and nothing is replayed at start.
    """

    def __init__(self, application: BotApplication, storage: Storage, secret: str, claim_s: float) -> None:
        self.application = application
        self.storage = storage
        self._secret = secret.encode()
        self._claim_s = claim_s
        self._handling: set[asyncio.Task[None]] = set()
        self._closing = False

    def routes(self, path: str) -> list[web.RouteDef]:
        """The endpoint at `path` (POST, from Telegram) and the health check (GET `HEALTH_PATH`)."""
        return [web.post(path, self.receive), web.get(HEALTH_PATH, self.health)]

    async def receive(self, request: web.Request) -> web.Response:
        """One POST from Telegram: 403 (wrong secret), 400 (not an update; nothing stored), 503 (shutting down,
        or the update is being handled elsewhere: Telegram re-sends it later), else 200 once it has been handled."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403)
        try:
            update = self._parse(await request.read())
        except ValueError as exc:
            logger.warning("webhook: refused a malformed update (%s)", exc)
            return web.Response(status=400, text=str(exc))
        if self._closing:
            return _retry_later("shutting down")
        try:
            claim = await self.storage.claim_update(*journal_entry(update), lease_s=self._claim_s)
        except Exception:  # storage unreachable (locked, disk, network): not taken, so Telegram must re-send it
            logger.exception("webhook: could not claim update %d", update.update_id)
            return _retry_later("storage unavailable")
        if claim == "busy":
            logger.info("webhook: update %d is being handled by another replica", update.update_id)
            return _retry_later("being handled")
        if claim == "claimed" and not await self._handle(update):
            return _retry_later("shutting down")
        return web.Response(status=200)

    async def health(self, request: web.Request) -> web.Response:
        """For the load balancer: 200 while this replica takes updates and reaches its storage, else 503."""
        if self._closing:
            return _retry_later("shutting down")
        try:
            await asyncio.wait_for(self.storage.ping(), HEALTH_TIMEOUT_S)
        except Exception as exc:  # whatever storage raises, the answer is "do not send me updates"
            logger.warning("webhook: health check failed: storage unreachable (%s)", type(exc).__name__)
            return _retry_later("storage unreachable")
        return web.Response(status=200, text="ok")

    async def drain(self, timeout_s: float) -> None:
        """Stop taking updates (and report unhealthy), let those being handled finish for at most `timeout_s`,
        then cancel the rest: unanswered, they are re-sent by Telegram and taken over once their claim expires."""
        self._closing = True
        running = set(self._handling)
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            logger.warning("shutdown: cancelled %d webhook update(s) still running after %.1f s; Telegram re-sends "
                           "them", len(late), timeout_s)

    async def _handle(self, update: Update) -> bool:
        """Run the handlers (`SkinbotApplication.process_update`: its error handler catches their failures, and it
        marks the update done) in a task of its own, so that a shutdown can wait for it and cancel it; False if the
        shutdown did (then Telegram must re-send it)."""
        task = asyncio.create_task(self.application.process_update(update), name=f"webhook-update-{update.update_id}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this request itself is being cancelled
            if self._closing:
                return False
            # Stopped by its user's /forget (`Work.exclusive`): handled, as far as Telegram is concerned, since a
            # copy re-sent now would be handled anew after their data was deleted.
            logger.info("webhook: update %d was stopped by its user's /forget", update.update_id)
        return True

    def _parse(self, body: bytes) -> Update:
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError("the body is not UTF-8") from None
        except json.JSONDecodeError:
            raise ValueError("the body is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int) or data["update_id"] < 0:
            raise ValueError("the body is not an update")
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:  # de_json raises whatever a malformed field makes it raise
            raise ValueError(f"the body is not a valid update ({type(exc).__name__})") from None
        return update


def _retry_later(why: str) -> web.Response:
    """A non-2xx answer, so that Telegram re-sends the update later (and the load balancer tries elsewhere)."""
    return web.Response(status=503, text=why, headers={"Retry-After": "1"})


async def serve_webhook(application: BotApplication, storage: Storage, stop: asyncio.Event, *, listen: str,
                        port: int, path: str, secret: str, claim_s: float, shutdown_timeout_s: float) -> None:
    """Serve the webhook endpoint on listen:port/path until `stop` is set, then drain it (see
    `WebhookReceiver.drain`). Telegram's webhook is registered once per deployment (`skinbot webhook set`), not
    by each replica."""
    receiver = WebhookReceiver(application, storage, secret, claim_s)
    app = web.Application(client_max_size=MAX_WEBHOOK_BODY)
    app.add_routes(receiver.routes(path))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)  # handlers are drained before cleanup
    await runner.setup()
    try:
        await web.TCPSite(runner, listen, port).start()
        logger.info("webhook replica listening on %s:%d%s", listen, port, path)
        await stop.wait()
        await receiver.drain(shutdown_timeout_s)
    finally:
        await runner.cleanup()
