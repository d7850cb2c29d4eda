"""Webhook delivery as Telegram does it: per chat one update at a time and in order, chats concurrently, re-sent
after an error or a timeout, with the secret header; getUpdates refused while a webhook is set. And the round-robin
balancer that puts several replicas behind one webhook URL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
import telegram
from aiohttp import web
from telegram.error import BadRequest, Conflict

from playground.balancer import RoundRobin
from playground.server import Emulator
from tests.playground.conftest import TOKEN

SECRET = "hook-Secret_1"
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


class Receiver:
    """A webhook endpoint that records what it gets; `answer(attempt)` says how it answers its n-th request."""

    def __init__(self, answer: Callable[[int], tuple[int, float]] = lambda _: (200, 0.2)) -> None:
        self.answer = answer
        self.received: list[tuple[int, int, str | None]] = []  # (chat id, update id, secret header)
        self.in_flight: dict[int, int] = {}  # chat id -> requests being answered now
        self.most_per_chat = 0
        self.most_at_once = 0

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        chat_id = update["message"]["chat"]["id"]
        self.received.append((chat_id, update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        self.in_flight[chat_id] = self.in_flight.get(chat_id, 0) + 1
        self.most_per_chat = max(self.most_per_chat, self.in_flight[chat_id])
        self.most_at_once = max(self.most_at_once, sum(self.in_flight.values()))
        status, delay = self.answer(len(self.received))
        try:
            await asyncio.sleep(delay)
        finally:
            self.in_flight[chat_id] -= 1
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def listening(receiver: Receiver) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes([web.post("/hook", receiver.handle)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


@pytest.fixture
async def fast_emulator() -> AsyncIterator[Emulator]:
    emu = Emulator(token=TOKEN, webhook_timeout_s=0.5, webhook_retry_s=0.1)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


def make_bot(emulator: Emulator) -> telegram.Bot:
    return telegram.Bot(TOKEN, base_url=emulator.api_base_url)


async def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_each_chat_gets_one_update_at_a_time_in_order_and_chats_run_concurrently(fast_emulator):
    world = fast_emulator.world
    receiver = Receiver()
    ann, bo = world.add_user("Ann"), world.add_user("Bo")
    for n in range(3):
        await world.user_text(ann["id"], f"a{n}")
        await world.user_text(bo["id"], f"b{n}")
    async with listening(receiver) as url, make_bot(fast_emulator) as bot:
        assert await bot.set_webhook(url, secret_token=SECRET, max_connections=10)
        await wait_for(lambda: len(receiver.received) == 6 and world.pending_updates == 0)
        info = await bot.get_webhook_info()
    for user in (ann, bo):
        ids = [update_id for chat, update_id, _ in receiver.received if chat == user["id"]]
        assert len(ids) == 3 and ids == sorted(ids)
    assert receiver.most_per_chat == 1 and receiver.most_at_once == 2
    assert {secret for _, _, secret in receiver.received} == {SECRET}
    assert (info.url, info.pending_update_count, info.max_connections) == (url, 0, 10)


async def test_max_connections_bounds_the_requests_in_flight(fast_emulator):
    world = fast_emulator.world
    receiver = Receiver()
    for name in ("Ann", "Bo", "Cy"):
        await world.user_text(world.add_user(name)["id"], "hi")
    async with listening(receiver) as url, make_bot(fast_emulator) as bot:
        await bot.set_webhook(url, secret_token=SECRET, max_connections=1)
        await wait_for(lambda: world.pending_updates == 0)
    assert len(receiver.received) == 3 and receiver.most_at_once == 1


async def test_an_update_is_sent_again_after_an_error_and_after_a_timeout(fast_emulator):
    world = fast_emulator.world
    # the first request gets a 500, the second no answer within the emulator's 0.5 s timeout, the third a 200
    receiver = Receiver(lambda attempt: {1: (500, 0.0), 2: (200, 1.0)}.get(attempt, (200, 0.0)))
    user = world.add_user("Ann")
    await world.user_text(user["id"], "hello")
    async with listening(receiver) as url, make_bot(fast_emulator) as bot:
        await bot.set_webhook(url, secret_token=SECRET)
        await wait_for(lambda: world.pending_updates == 0)
        info = await bot.get_webhook_info()
    assert [update_id for _, update_id, _ in receiver.received] == [receiver.received[0][1]] * 3
    assert info.last_error_message == "Read timeout expired" and info.pending_update_count == 0


async def test_an_unreachable_webhook_is_reported_and_its_updates_stay_queued(fast_emulator):
    world = fast_emulator.world
    await world.user_text(world.add_user("Ann")["id"], "hello")
    async with make_bot(fast_emulator) as bot:
        await bot.set_webhook("http://127.0.0.1:1/hook")  # nothing listens on port 1
        await wait_for(lambda: world.webhook_error is not None)
        info = await bot.get_webhook_info()
    assert info.pending_update_count == 1 and info.last_error_message.startswith("Connection failed")


async def test_get_updates_is_refused_while_a_webhook_is_set_and_works_again_after_delete(fast_emulator):
    world = fast_emulator.world
    async with make_bot(fast_emulator) as bot:
        await bot.set_webhook("http://127.0.0.1:1/hook", secret_token=SECRET)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        assert await bot.delete_webhook()
        await world.user_text(world.add_user("Ann")["id"], "hello")
        (update,) = await bot.get_updates(timeout=0)
        info = await bot.get_webhook_info()
    assert update.message.text == "hello" and info.url == "" and info.pending_update_count == 1


async def test_set_webhook_refuses_bad_urls_secrets_and_connection_counts(fast_emulator):
    async with make_bot(fast_emulator) as bot:
        for kwargs, message in [({"url": "ftp://host/hook"}, "(?i)an http"),
                                ({"url": "http://h/x", "secret_token": "no spaces"}, "unallowed characters"),
                                ({"url": "http://h/x", "max_connections": 101}, "max_connections")]:
            with pytest.raises(BadRequest, match=message):
                await bot.set_webhook(**kwargs)
        assert (await bot.get_webhook_info()).url == ""


async def test_the_balancer_takes_turns_skips_a_replica_that_is_down_and_answers_502_for_a_broken_one():
    receiver = Receiver(lambda _: (200, 0.0))

    async def broken(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.abort()  # a replica killed while handling the update
        raise asyncio.CancelledError

    app = web.Application()
    app.add_routes([web.post("/hook", broken)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    async with listening(receiver) as url:
        live = url.removesuffix("/hook")
        dying = f"http://127.0.0.1:{runner.addresses[0][1]}"
        balancer = RoundRobin([live, "http://127.0.0.1:1", dying])  # nothing listens on port 1
        await balancer.start()
        try:
            statuses = []
            async with aiohttp.ClientSession() as http:
                for n in range(3):
                    body = {"update_id": n, "message": {"chat": {"id": 7}}}
                    async with http.post(f"{balancer.url}/hook", json=body, headers=SECRET_HEADER) as response:
                        statuses.append(response.status)
        finally:
            await balancer.stop()
            await runner.cleanup()
    # 1st: the live one; 2nd: port 1 refuses, so the next (the dying one) gets it and breaks; 3rd: the live one
    assert statuses == [200, 502, 200]
    assert receiver.received == [(7, 0, SECRET), (7, 2, SECRET)]
