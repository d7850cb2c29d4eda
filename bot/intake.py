"""How updates come in: long polling or a webhook, both through the update journal, so that none is lost to a kill.

python-telegram-bot's `Updater` confirms a `getUpdates` offset as soon as the updates are queued, before they are
handled, and its retry backoff cannot be interrupted; so the bot polls here instead. Every update is written to the
journal (`Storage.journal_updates`) before Telegram is told it arrived (the next offset, or the webhook's 200);
`SkinbotApplication.process_update` handles each journalled update at most once and marks it done; on start,
`replay_unfinished` queues whatever a killed process left unfinished. Waits between retries end as soon as the bot
is asked to stop.
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
    """The webhook endpoint Telegram posts updates to: checks the secret-token header (constant time), refuses
    bodies that are not one JSON update with 400, journals the update before answering 200, and answers 200
    without handling it again to a replayed `update_id`."""

    def __init__(self, application: BotApplication, storage: Storage, secret: str) -> None:
        self.application = application
        self.storage = storage
        self._secret = secret.encode()

    def routes(self, path: str) -> list[web.RouteDef]:
        """The aiohttp route of the endpoint at `path`."""
        return [web.post(path, self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        """One POST from Telegram."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403)
        try:
            update = self._parse(await request.read())
        except ValueError as exc:
            logger.warning("webhook: refused a malformed update (%s)", exc)
            return web.Response(status=400, text=str(exc))
        if not await journal_and_queue(self.application, self.storage, [update]):
            logger.info("webhook: update %d was already received; not handled again", update.update_id)
        return web.Response(status=200)

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


async def serve_webhook(application: BotApplication, storage: Storage, stop: asyncio.Event, *, listen: str,
                        port: int, path: str, url: str, secret: str) -> None:
    """Receive updates on listen:port/path until `stop` is set, after telling Telegram to post them to `url`."""
    receiver = WebhookReceiver(application, storage, secret)
    app = web.Application(client_max_size=MAX_WEBHOOK_BODY)
    app.add_routes(receiver.routes(path))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, listen, port).start()
        await _until_done(lambda: application.bot.set_webhook(url, secret_token=secret,
                                                              allowed_updates=Update.ALL_TYPES), stop, "setWebhook")
        await stop.wait()
    finally:
        await runner.cleanup()
