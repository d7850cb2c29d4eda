"""Two webhook replicas sharing one SQLite file behind a round-robin balancer, fed by the emulator's webhook
delivery; one is SIGKILLed while it handles a photo, and every user still gets exactly one reply per photo (the
photos sent after the kill go to the replica still up)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp

from playground.balancer import RoundRobin
from playground.botprocess import BotProcess
from playground.client import Chat, ChatClient
from playground.faults import Fault
from playground.server import Emulator
from playground.world import Webhook
from tests.e2e.conftest import IMAGES, REPO, SECRET_ENV, TOKEN, WEBHOOK_SECRET, Stack, assert_no_secrets, write_config

USERS = 6
PHOTOS = sorted(IMAGES.glob("[bm]*_*.jpg"))
CLAIM_S = 3.0  # a killed replica's updates are taken over after this


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def send_and_count(chat: Chat, photo: Path) -> int:
    """Send a photo; how many bot messages came back (waiting for the first, then 1 s for any more)."""
    await chat.send_photo(photo.read_bytes(), filename=photo.name)
    return len(await chat.bot_replies(timeout=30.0, settle=1.0))


async def until(predicate, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_a_replica_killed_mid_update_leaves_every_photo_answered_exactly_once(tmp_path):
    config = write_config(tmp_path, {"bot": {"mode": "webhook", "webhook_url": "https://bot.example/hook",
                                             "webhook_listen": "127.0.0.1", "webhook_claim_s": CLAIM_S}})
    emulator = Emulator(token=TOKEN, webhook_timeout_s=30.0, webhook_retry_s=0.3)
    await emulator.start()
    db = tmp_path / "skinbot.db"
    bots = [BotProcess(emulator, db, tmp_path / f"bot{i}.log", config, REPO, verbose=True, env=SECRET_ENV,
                       webhook_port=free_port()) for i in range(2)]
    balancer = RoundRobin([f"http://127.0.0.1:{bot.webhook_port}" for bot in bots])
    await balancer.start()
    try:
        for bot in bots:  # one after the other: the first creates the database
            await bot.start()
        await emulator.world.set_webhook(Webhook(url=f"{balancer.url}/hook", secret_token=WEBHOOK_SECRET))
        async with aiohttp.ClientSession() as session:
            client = ChatClient(emulator.url, session)
            chats = [await client.new_chat(f"replica-{i}", "en") for i in range(USERS)]
            # downloads are slow, so that every photo is claimed and being handled when the first replica is killed
            emulator.faults.add(Fault("delay", method="download", delay=1.5, count=USERS))
            first = asyncio.gather(*(send_and_count(chat, PHOTOS[i % len(PHOTOS)]) for i, chat in enumerate(chats)))
            await until(lambda: emulator.calls["download"] == USERS)
            assert balancer.in_flight[balancer.backends[0]] > 0
            await bots[0].kill()  # mid-update: its photos are claimed and unanswered
            replies = list(await first)
            # then new users (a second photo of the same user would also get "is this the same spot?")
            later = [await client.new_chat(f"after-{i}", "en") for i in range(USERS)]
            replies += await asyncio.gather(*(send_and_count(chat, PHOTOS[(i + 1) % len(PHOTOS)])
                                              for i, chat in enumerate(later)))
        assert await bots[1].stop() == 0
    finally:
        for bot in bots:
            await bot.kill()
        await balancer.stop()
        await emulator.stop()
    assert replies == [1] * (2 * USERS)
    # the killed replica's updates were re-sent, refused by the other while their claim held, then handled by it
    assert emulator.world.webhook_error is not None
    assert (balancer.backends[1], 503) in balancer.answers
    stack = Stack(emulator, client, bots[1], db)
    assert stack.rows("SELECT COUNT(*) FROM assessments") == [(2 * USERS,)]
    assert stack.rows("SELECT COUNT(*) FROM updates WHERE done_at IS NULL") == [(0,)]
    for bot in bots:
        assert_no_secrets(bot.log_path)
