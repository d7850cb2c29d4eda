"""Webhook delivery as Telegram does it: once setWebhook has registered a URL, queued updates are POSTed to it.

Each chat's updates go one at a time and in order: the next is sent only after the webhook answered the previous
one with a 2xx. Different chats are delivered concurrently, at most `max_connections` requests at once. A non-2xx
answer, a failed connection or no answer within `timeout_s` leaves the update queued: it is sent again after
`retry_s` (and recorded as the webhook's last error, which getWebhookInfo reports). Every request carries the
registered secret in the X-Telegram-Bot-Api-Secret-Token header. The URL may be one bot process or a load
balancer in front of several.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import aiohttp

from playground.world import Webhook, World, update_type

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RECHECK_S = 1.0  # the dispatcher looks at the queue at least this often, even without a change

log = logging.getLogger(__name__)


class WebhookDelivery:
    """Delivers the world's queued updates to its webhook while one is set (start, then stop)."""

    def __init__(self, world: World, timeout_s: float = 60.0, retry_s: float = 1.0) -> None:
        self.world = world
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._workers: dict[int, asyncio.Task[None]] = {}  # chat id -> the task delivering its updates
        self._slots: tuple[Webhook, asyncio.Semaphore] | None = None  # max_connections of the current webhook
        self._session: aiohttp.ClientSession | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start watching the queue (delivering nothing until a webhook is set)."""
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self._dispatcher = asyncio.create_task(self._dispatch(), name="webhook-dispatch")

    async def stop(self) -> None:
        """Stop delivering (updates in flight stay queued) and close the connections."""
        tasks = [t for t in (self._dispatcher, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    async def _dispatch(self) -> None:
        """Give each chat with queued updates a worker, whenever the queue or the webhook changes."""
        while True:
            webhook = self.world.webhook
            if webhook is not None:
                for chat_id in self.world.chats_waiting():
                    if chat_id not in self._workers:
                        self._workers[chat_id] = asyncio.create_task(self._deliver_chat(chat_id, webhook),
                                                                     name=f"webhook-chat-{chat_id}")
            await self.world.queue_changed(RECHECK_S)

    async def _deliver_chat(self, chat_id: int, webhook: Webhook) -> None:
        """Deliver one chat's updates in order, each until it is accepted, while `webhook` stays registered."""
        try:
            while self.world.webhook is webhook:
                update = self.world.next_update_of_chat(chat_id)
                if update is None:
                    return
                if webhook.allowed_updates and update_type(update) not in webhook.allowed_updates:
                    self.world.confirm(update["update_id"])  # Telegram does not keep what the bot did not ask for
                    continue
                async with self._connection_slots(webhook):
                    accepted = await self._post(webhook, update)
                if accepted:
                    self.world.confirm(update["update_id"])
                else:
                    await asyncio.sleep(self.retry_s)
        finally:
            del self._workers[chat_id]

    def _connection_slots(self, webhook: Webhook) -> asyncio.Semaphore:
        """The semaphore bounding concurrent requests to `webhook` (a new one for each setWebhook)."""
        if self._slots is None or self._slots[0] is not webhook:
            self._slots = (webhook, asyncio.Semaphore(webhook.max_connections))
        return self._slots[1]

    async def _post(self, webhook: Webhook, update: dict[str, Any]) -> bool:
        """One delivery attempt; True if the webhook answered 2xx, else the failure is recorded."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        try:
            async with self._session.post(webhook.url, data=json.dumps(update), headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientError as exc:
            error = f"Connection failed: {type(exc).__name__}"
        log.info("webhook delivery of update %d failed (%s); retrying in %.1f s", update["update_id"], error,
                 self.retry_s)
        self.world.webhook_error = (int(time.time()), error)
        return False
