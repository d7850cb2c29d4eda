"""End-to-end fixtures: the emulator in this process, the real bot as a `skinbot -v run` child process pointed at
it (fake token, TELEGRAM_API_BASE_URL, a fresh SKINBOT_DB_URL, a webhook secret), and a chat client that talks to both
over HTTP only. Every bot logs at DEBUG, and after each test its whole log is searched for the token and the
secret: neither may appear (`assert_no_secrets`).

The bot serves the real model in `models/` (SKINBOT_E2E_MODELS may point at another model directory).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from playground.botprocess import BotProcess
from playground.client import Chat, ChatClient, buttons, message_text
from playground.server import Emulator

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "tests" / "fixtures" / "images"
TOKEN = "987654:E2E-FAKE-TOKEN"
WEBHOOK_SECRET = "e2e-webhook-SECRET-4f1d"
SECRET_ENV = {"SKINBOT_WEBHOOK_SECRET": WEBHOOK_SECRET}
REPLY_TIMEOUT_S = 30.0


def assert_no_secrets(log_path: Path) -> None:
    """The bot's DEBUG log holds neither the token (nor its secret part) nor the webhook secret."""
    text = log_path.read_text(errors="replace")
    assert " DEBUG " in text, "the bot did not log at DEBUG"
    for secret in (TOKEN, TOKEN.split(":", 1)[1], WEBHOOK_SECRET):
        assert secret not in text, f"{log_path} contains a secret"


def models_dir() -> Path:
    directory = Path(os.environ.get("SKINBOT_E2E_MODELS", REPO / "models")).resolve()
    if not (directory / "model_card.json").is_file():
        pytest.fail(f"no model card in {directory}: the end-to-end tests serve the real model (train and export it)")
    return directory


@dataclass
class Stack:
    emulator: Emulator
    client: ChatClient
    bot: BotProcess
    db_path: Path

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Query the bot's database directly (read-only)."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture
def config_overrides() -> dict[str, dict[str, Any]]:
    """Sections of config.yaml a test module changes for its bot (override this fixture)."""
    return {}


def write_config(directory: Path, overrides: dict[str, dict[str, Any]]) -> Path:
    """config.yaml with the model directory made absolute and `overrides` applied, written into `directory`."""
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["models"]["dir"] = str(models_dir())
    for section, values in overrides.items():
        config[section].update(values)
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
async def stack(tmp_path: Path, config_overrides: dict[str, dict[str, Any]]) -> AsyncIterator[Stack]:
    config_path = write_config(tmp_path, config_overrides)
    emulator = Emulator(token=TOKEN)
    await emulator.start()
    bot = BotProcess(emulator, tmp_path / "skinbot.db", tmp_path / "bot.log", config_path=config_path, cwd=REPO,
                     verbose=True, env=SECRET_ENV)
    try:
        async with aiohttp.ClientSession() as session:
            await bot.start()
            yield Stack(emulator, ChatClient(emulator.url, session), bot, tmp_path / "skinbot.db")
    finally:
        code = await bot.stop()
        await emulator.stop()
    assert code == 0, f"the bot did not stop cleanly (exit code {code})\n{bot.log_tail()}"
    assert_no_secrets(bot.log_path)


async def last_reply(chat: Chat, settle: float = 0.5) -> dict[str, Any]:
    """The bot's latest message (new or edited) after the last action; fails if none arrives in time."""
    replies = await chat.bot_replies(timeout=REPLY_TIMEOUT_S, settle=settle)
    assert replies, "the bot did not reply"
    message: dict[str, Any] = replies[-1]["message"]
    return message


async def send_photo(chat: Chat, name: str) -> dict[str, Any]:
    """Send a fixture image as a photo and return the bot's reply."""
    await chat.send_photo((IMAGES / name).read_bytes(), filename=name)
    return await last_reply(chat)


async def press(chat: Chat, message: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Tap the first button whose callback data starts with `prefix`; return the bot's reply."""
    matching = [b["callback_data"] for b in buttons(message) if b["callback_data"].startswith(prefix)]
    assert matching, f"no {prefix!r} button under: {message_text(message)[:200]!r}"
    data = matching[0]
    await chat.press(message["message_id"], data)
    return await last_reply(chat)


__all__ = ["IMAGES", "Stack", "last_reply", "message_text", "press", "send_photo"]
