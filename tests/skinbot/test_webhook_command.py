"""`skinbot webhook set|info|delete` against the emulator; failures are one clear line and an exit code."""

from __future__ import annotations

import asyncio

import pytest

from playground.server import Emulator
from skinbot import cli

TOKEN = "4343:WEBHOOK-CMD-TOKEN"
SECRET = "deploy-Secret_42"


@pytest.fixture
async def emulator(monkeypatch):
    emu = Emulator(token=TOKEN, webhook_timeout_s=0.5, webhook_retry_s=0.2)
    await emu.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SKINBOT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", emu.api_base_url)
    try:
        yield emu
    finally:
        await emu.stop()


async def webhook(capsys, *args):
    """Run `skinbot webhook ARGS` (in a thread: it runs its own event loop); (exit code, stdout, stderr)."""
    code = await asyncio.to_thread(cli.main, ["webhook", *args])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err and TOKEN.split(":")[1] not in out + err and SECRET not in out + err
    return code, out, err


async def test_set_info_and_delete(emulator, capsys):
    code, out, _ = await webhook(capsys, "set", "--url", "http://127.0.0.1:1/hook", "--max-connections", "5")
    hook = emulator.world.webhook
    assert code == 0 and "webhook set: http://127.0.0.1:1/hook" in out
    assert (hook.url, hook.secret_token, hook.max_connections) == ("http://127.0.0.1:1/hook", SECRET, 5)
    assert hook.allowed_updates == {"message", "callback_query"}
    await emulator.world.user_text(emulator.world.add_user("Ann")["id"], "hello")  # nothing listens on port 1
    for _ in range(100):
        if emulator.world.webhook_error:
            break
        await asyncio.sleep(0.05)
    code, out, _ = await webhook(capsys, "info")
    assert code == 0
    assert "url: http://127.0.0.1:1/hook" in out and "pending_update_count: 1" in out
    assert "last_error: " in out and "Connection failed" in out and "max_connections: 5" in out
    code, out, _ = await webhook(capsys, "delete")
    assert code == 0 and emulator.world.webhook is None
    code, out, _ = await webhook(capsys, "info")
    assert "url: (none" in out and "last_error: none" in out


@pytest.mark.parametrize("args, env, code, message", [
    (["set", "--url", "https://x/h"], {"TELEGRAM_BOT_TOKEN": ""}, 2, "TELEGRAM_BOT_TOKEN is not set"),
    (["set"], {}, 2, "no URL: pass --url or set bot.webhook_url"),
    (["set", "--url", "bot.example/hook"], {}, 2, "not an HTTPS URL"),
    (["set", "--url", "https://[::1/hook"], {}, 2, "not an HTTPS URL"),
    (["set", "--url", "https://x/h"], {"SKINBOT_WEBHOOK_SECRET": ""}, 2, "SKINBOT_WEBHOOK_SECRET is not set"),
    (["set", "--url", "https://x/h"], {"SKINBOT_WEBHOOK_SECRET": "has spaces in it"}, 2, "must be 1-256"),
    (["set", "--url", "https://x/h", "--max-connections", "0"], {}, 2, "between 1 and 100"),
    (["info"], {"TELEGRAM_BOT_TOKEN": "4343:WRONG-TOKEN-xyz"}, 2, "Telegram rejected the token"),
    (["info"], {"TELEGRAM_API_BASE_URL": "http://127.0.0.1:1/bot"}, 1, "cannot reach the Telegram Bot API"),
])
async def test_failures_are_one_line_and_an_exit_code(emulator, capsys, monkeypatch, args, env, code, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    got, out, err = await webhook(capsys, *args)
    assert (got, out) == (code, "")
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "WRONG-TOKEN-xyz" not in err
    assert emulator.world.webhook is None
