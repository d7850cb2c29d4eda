"""`skinbot worker`: what it says, and its exit code, when it cannot run (a message, no traceback, never the
token). Its sending is tested in tests/bot/test_reminder_queue.py."""

import asyncio
import os
import signal
import socket
import sys
import time

import pytest

from bot.storage import storage_for
from playground.server import Emulator
from skinbot.cli import main

TOKEN = "123:SECRET-TOKEN"


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)


def refused(capsys):
    err = capsys.readouterr().err
    assert err.startswith("skinbot worker: "), err
    assert "Traceback" not in err and "SECRET-TOKEN" not in err
    return err


def test_without_a_token_it_says_so(monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    assert main(["worker"]) == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in refused(capsys)


def test_a_sqlite_url_is_refused_the_bot_sends_its_own_reminders(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKINBOT_DB_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    assert main(["worker"]) == 2
    assert "needs no worker" in refused(capsys)
    assert not (tmp_path / "bot.db").exists()  # refused before anything was opened


def test_an_unreachable_database_is_a_try_again_later(monkeypatch, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    monkeypatch.setenv("SKINBOT_DB_URL", f"postgresql://postgres:hunter2@127.0.0.1:{port}/skinbot")
    assert main(["worker"]) == 1
    err = refused(capsys)
    assert "cannot connect to postgresql://postgres:***@127.0.0.1" in err and "hunter2" not in err


async def test_it_sends_a_due_reminder_and_stops_cleanly_on_sigterm(postgres_server, tmp_path):
    url = postgres_server.new_database()
    emulator = Emulator(token=TOKEN)
    await emulator.start()
    storage = storage_for(url)
    await storage.connect()
    try:
        user = emulator.world.add_user("Ann")
        reminder = await storage.add_reminder(user["id"], user["id"], time.time() - 1)
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "skinbot.cli", "-v", "worker", stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": emulator.api_base_url,
                 "SKINBOT_DB_URL": url, "SKINBOT_HOME": str(tmp_path)},
        )
        for _ in range(200):
            async with storage.db.reading() as conn:
                outcome = (await conn.execute("SELECT outcome FROM reminders WHERE id = ?", (reminder.id,))).value()
            if outcome is not None:
                break
            await asyncio.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(worker.communicate(), 20)
    finally:
        await storage.close()
        await emulator.stop()
    log = err.decode()
    assert (outcome, worker.returncode) == ("sent", 0), log
    assert "reminder worker stopped" in log
    assert "Traceback" not in log and "SECRET-TOKEN" not in log
    texts = [m.get("text", "") for (chat, _), m in emulator.world.messages.items() if chat == user["id"]]
    assert len(texts) == 1 and texts[0].startswith("Hello")
