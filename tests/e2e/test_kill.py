"""SIGKILL at the worst moments: nothing the user sent is lost, and the database stays consistent."""

from __future__ import annotations

import asyncio

from bot.messages import LANGUAGES, load_catalog
from playground.killtest import KillSpec, run_round
from tests.e2e.conftest import IMAGES, REPO, Stack, last_reply, message_text, write_config


async def wait_until(predicate, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_photo_being_downloaded_when_the_bot_is_killed_is_answered_after_restart(stack: Stack):
    await stack.client.add_fault("delay", method="download", delay=5)
    chat = await stack.client.new_chat("Kim", "en")
    await chat.send_photo((IMAGES / "malignant_1.jpg").read_bytes(), filename="malignant_1.jpg")
    await wait_until(lambda: _downloads_started(stack))
    await stack.bot.kill()  # python-telegram-bot would have confirmed this update's offset already
    await stack.bot.start()
    reply = await last_reply(chat)
    assert message_text(reply).startswith("Result: ")
    assert stack.rows("SELECT COUNT(*) FROM assessments") == [(1,)]
    assert stack.rows("SELECT COUNT(*) FROM updates WHERE done_at IS NULL") == [(0,)]


async def _downloads_started(stack: Stack) -> bool:
    return bool((await stack.client.stats())["calls"].get("download"))


async def test_sigkill_at_a_random_moment_leaves_every_user_answered_and_the_database_consistent(tmp_path):
    # CI size; `skinbot killtest` runs 50 users x 10 rounds (docs/benchmarks.md)
    catalog = load_catalog()
    spec = KillSpec(users=6, rounds=1, images=tuple(sorted(IMAGES.glob("[bm]*_*.jpg"))), seed=3,
                    kill_window_s=(0.5, 3.0), busy_texts=frozenset(catalog.text(lang, "busy") for lang in LANGUAGES))
    report = await run_round(spec, 0, write_config(tmp_path, {}), REPO)
    assert report.passed, report
    assert report.outcomes["direct"] + report.outcomes["recovered"] == spec.users
