"""Webhook replicas sharing one SQLite file behind a round-robin balancer, fed by the emulator's webhook delivery:
one is SIGKILLed while it handles photos, and every user still gets exactly one reply per photo (the photos sent
after the kill go to the replica still up); `skinbot loadtest --replicas 2` loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from playground.client import Chat, ChatClient
from playground.faults import Fault
from playground.fleet import Fleet
from playground.server import Emulator
from skinbot.cli import main
from tests.e2e.conftest import IMAGES, REPO, SECRET_ENV, TOKEN, Stack, assert_no_secrets, write_config

USERS = 6
PHOTOS = sorted(IMAGES.glob("[bm]*_*.jpg"))
CLAIM_S = 3.0  # a killed replica's updates are taken over after this


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
    config = write_config(tmp_path, {"bot": {"webhook_claim_s": CLAIM_S}})
    emulator = Emulator(token=TOKEN, webhook_timeout_s=30.0, webhook_retry_s=0.3)
    await emulator.start()
    fleet = Fleet(emulator, tmp_path, config, REPO, replicas=2, verbose=True, env=SECRET_ENV)
    assert fleet.balancer is not None
    balancer, (doomed, survivor) = fleet.balancer, fleet.bots
    try:
        await fleet.start()
        async with aiohttp.ClientSession() as session:
            client = ChatClient(emulator.url, session)
            chats = [await client.new_chat(f"replica-{i}", "en") for i in range(USERS)]
            # downloads are slow, so that every photo is claimed and being handled when the first replica is killed
            emulator.faults.add(Fault("delay", method="download", delay=1.5, count=USERS))
            first = asyncio.gather(*(send_and_count(chat, PHOTOS[i % len(PHOTOS)]) for i, chat in enumerate(chats)))
            await until(lambda: emulator.calls["download"] == USERS)
            assert balancer.in_flight[balancer.backends[0]] > 0
            await doomed.kill()  # mid-update: its photos are claimed and unanswered
            replies = list(await first)
            # then new users (a second photo of the same user would also get "is this the same spot?")
            later = [await client.new_chat(f"after-{i}", "en") for i in range(USERS)]
            replies += await asyncio.gather(*(send_and_count(chat, PHOTOS[(i + 1) % len(PHOTOS)])
                                              for i, chat in enumerate(later)))
        assert await survivor.stop() == 0
    finally:
        await fleet.stop()
        await emulator.stop()
    assert replies == [1] * (2 * USERS)
    # the killed replica's updates were re-sent, refused by the other while their claim held, then handled by it
    assert emulator.world.webhook_error is not None
    assert (balancer.backends[1], 503) in balancer.answers
    stack = Stack(emulator, client, survivor, fleet.db_path)
    assert stack.rows("SELECT COUNT(*) FROM assessments") == [(2 * USERS,)]
    assert stack.rows("SELECT COUNT(*) FROM updates WHERE done_at IS NULL") == [(0,)]
    for bot in fleet.bots:
        assert_no_secrets(bot.log_path)


def test_loadtest_against_two_webhook_replicas_delivers_every_reply_once(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    report_path = tmp_path / "report.json"
    code = main(["--config", str(write_config(tmp_path, {})), "loadtest", "--replicas", "2", "--users", "4",
                 "--photos", "1", "--think", "0.2", "--ramp", "0.5", "--p95-target-ms", "5000",
                 "--json", str(report_path)])
    printed = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert report["replicas"] == 2 and report["expected_replies"] > 4
    assert report["received_replies"] == report["expected_replies"]
    assert report["lost_replies"] == 0 and report["duplicated_replies"] == 0
    assert code == 0 and "2 webhook replica(s)" in printed and "targets met" in printed
