import argparse
import asyncio
import contextlib
import socket
from dataclasses import replace

import aiohttp
import pytest
from telegram import Update

from bot.app import build_application, running, serve
from bot.services import BotContext, services_of
from bot.settings import PolicyConfig
from skinbot.commands import run as run_command
from skinbot.config import ConfigError, load_config

from .conftest import TOKEN, make_config, make_env
from .fakes import FakeAnalyzer, FakeTelegram


def update(update_id, text, user_id=1):
    user = {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "en"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": user_id, "type": "private"}, "from": user, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}] if text.startswith("/") else [],
    }}


async def wait_for(predicate, seconds=5.0):
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_long_polls_handles_updates_and_stops_cleanly(tmp_path):
    env = make_env(make_config(tmp_path))
    env.telegram.pending_updates = [update(1, "/help")]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(env.application, stop))
    await wait_for(lambda: env.telegram.sent("sendMessage"))
    stop.set()
    await asyncio.wait_for(task, 10)
    assert env.telegram.texts()[0].startswith("Send me a close-up photo")
    assert not env.application.running
    assert env.telegram.sent("getUpdates")[0].params["timeout"] == env.config.bot.polling_timeout_s


async def start_webhook_bot(tmp_path, secret, **bot_fields):
    """A bot served as a webhook replica on a free local port, once its health check answers 200:
    (env, stop, task, url of its endpoint)."""
    port = free_port()
    config = make_config(tmp_path, mode="webhook", webhook_url=f"https://bot.example/hook/{port}",
                         webhook_listen="127.0.0.1", webhook_port=port, **bot_fields)
    env = make_env(config)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(env.application, stop, webhook_secret=secret))
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            assert not task.done(), task
            await asyncio.sleep(0.05)
    return env, stop, task, f"http://127.0.0.1:{port}/hook/{port}"


async def test_webhook_mode_checks_the_secret_token_header(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, "s3cret-value")
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=update(1, "/help")) as response:
            refused = response.status
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"}
        async with http.post(url, json=update(2, "/help"), headers=headers) as response:
            accepted = response.status
    stop.set()
    await asyncio.wait_for(task, 10)
    assert (refused, accepted) == (403, 200)
    assert len(env.telegram.sent("sendMessage")) == 1  # only the update with the right secret was handled
    assert env.telegram.sent("setWebhook") == []  # a deploy step (`skinbot webhook set`), not each replica's


async def test_webhook_mode_without_a_secret_is_refused(tmp_path):
    env = make_env(make_config(tmp_path, mode="webhook", webhook_url="https://bot.example/hook"))
    with pytest.raises(ConfigError, match="SKINBOT_WEBHOOK_SECRET"):
        await serve(env.application, asyncio.Event())


async def test_rate_limited_sends_are_retried_after_retry_after(env):
    env.telegram.fail_methods["sendMessage"] = 1  # Telegram answers 429 retry_after=1 once
    await env.chat().text("/help")
    assert len(env.telegram.sent("sendMessage")) == 1


def test_base_urls_and_timeouts_come_from_config(tmp_path):
    config = make_config(tmp_path, api_base_url="http://127.0.0.1:8081/bot")
    application = build_application(config, FakeAnalyzer(), TOKEN)
    assert application.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert application.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"
    assert application.bot.request.read_timeout == config.bot.read_timeout_s


def test_unknown_red_flag_is_a_config_error(tmp_path):
    config = replace(make_config(tmp_path), policy=PolicyConfig(red_flags=("bleding",)))
    with pytest.raises(ConfigError, match="bleding"):
        build_application(config, FakeAnalyzer(), TOKEN, request=FakeTelegram())


def test_run_without_a_model_says_so_and_never_prints_the_token(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    config = load_config(env={}, overrides={"models": {"dir": str(tmp_path)}})
    assert run_command.run(argparse.Namespace(), config) == 2
    err = capsys.readouterr().err
    assert "cannot load the model" in err and TOKEN not in err


async def test_handlers_get_a_context_with_the_services_and_the_users_language(tmp_path):
    env = make_env(make_config(tmp_path))
    assert env.application.context_types.context is BotContext
    korean = Update.de_json(update(1, "hi") | {"message": update(1, "hi")["message"] | {
        "from": {"id": 1, "is_bot": False, "first_name": "U", "language_code": "ko"}}}, env.application.bot)
    async with running(env.application):
        context = BotContext.from_update(korean, env.application)
        assert context.services is services_of(env.application)
        assert await context.language() == "ko"
        without_update = BotContext(env.application)
        assert await without_update.language() == env.config.bot.default_language
