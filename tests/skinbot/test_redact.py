"""The bot token and the webhook secret never reach a log line, at any level, from any library."""

import argparse
import asyncio
import io
import logging

import pytest
from telegram import Update

from playground.server import Emulator
from skinbot import cli
from skinbot.commands import run as run_command
from skinbot.config import load_config
from skinbot.redact import REDACTED, RedactingFilter, install_redaction
from tests.bot.conftest import TOKEN
from tests.bot.test_app import start_webhook_bot, update

SECRET = "webhook-s3cret-value"


@pytest.fixture
def debug_log():
    """Everything logged at DEBUG and above, through a root handler as `skinbot -v` has one."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_the_filter_redacts_messages_arguments_tracebacks_and_encoded_forms(debug_log):
    install_redaction([TOKEN, SECRET])
    log = logging.getLogger("some.library")
    log.debug("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    log.info("setWebhook %r", {"secret_token": SECRET})
    log.warning("encoded: %s", "bot123%3ATEST-TOKEN/getMe")
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/x failed")
    except RuntimeError:
        log.exception("failed")
    log.debug("here", stack_info=True)
    text = debug_log.getvalue()
    assert TOKEN not in text and "TEST-TOKEN" not in text and SECRET not in text
    assert text.count(REDACTED) == 4 and "RuntimeError" in text and "Stack (most recent call last)" in text


def test_short_values_are_not_treated_as_secrets():
    assert RedactingFilter(["abc", ""]).redact("abc stays") == "abc stays"


async def test_a_debug_run_in_webhook_mode_logs_neither_the_token_nor_the_secret(tmp_path, debug_log,
                                                                               monkeypatch):
    # `skinbot run` installs the redaction first thing (here it then stops: there is no model to serve)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SKINBOT_WEBHOOK_SECRET", SECRET)
    assert run_command.run(argparse.Namespace(), load_config(env={}, overrides={"models": {"dir": str(tmp_path)}})) == 2
    # python-telegram-bot logs its API URLs (with the token) at DEBUG as it is built, and setWebhook's parameters
    env, stop, task, _ = await start_webhook_bot(tmp_path, SECRET)
    await env.chat().text("/help")
    await env.application.process_update(Update.de_json(update(77, "/help"), env.application.bot))
    stop.set()
    await asyncio.wait_for(task, 10)
    text = debug_log.getvalue()
    assert "DEBUG telegram" in text  # the library's debug lines are there, redacted
    assert TOKEN not in text and "TEST-TOKEN" not in text and SECRET not in text


async def test_a_debug_webhook_set_logs_neither_the_token_nor_the_secret(debug_log, monkeypatch, capsys):
    emulator = Emulator(token=TOKEN)
    await emulator.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SKINBOT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", emulator.api_base_url)
    try:
        # python-telegram-bot logs setWebhook's parameters, the secret among them, at DEBUG
        assert await asyncio.to_thread(cli.main, ["-v", "webhook", "set", "--url", "https://bot.example/h"]) == 0
    finally:
        await emulator.stop()
    text = debug_log.getvalue() + "".join(capsys.readouterr())
    assert emulator.world.webhook.secret_token == SECRET  # the secret did go to Telegram
    assert "setWebhook" in text and REDACTED in text
    assert TOKEN not in text and "TEST-TOKEN" not in text and SECRET not in text
