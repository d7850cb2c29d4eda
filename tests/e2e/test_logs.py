"""A webhook-mode bot at DEBUG, fed by a "Telegram" that posts to it: bad bodies get 400, a replay is handled
once, and its log (like every e2e bot's, see conftest) holds neither the token nor the webhook secret."""

from __future__ import annotations

import json
import socket
import time

import aiohttp

from playground.botprocess import BotProcess
from playground.client import Chat, ChatClient, message_text
from playground.server import Emulator
from tests.e2e.conftest import REPO, SECRET_ENV, TOKEN, WEBHOOK_SECRET, assert_no_secrets, write_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def help_update(update_id: int, user: dict) -> dict:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()), "chat": chat,
                                                "from": user, "text": "/help",
                                                "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}


async def test_webhook_bot_refuses_bad_bodies_handles_a_replay_once_and_logs_no_secret(tmp_path):
    port = free_port()
    config_path = write_config(tmp_path, {"bot": {"mode": "webhook", "webhook_url": "https://bot.example/hook",
                                                  "webhook_listen": "127.0.0.1", "webhook_port": port}})
    emulator = Emulator(token=TOKEN)
    await emulator.start()
    bot = BotProcess(emulator, tmp_path / "bot.db", tmp_path / "bot.log", config_path, REPO, verbose=True,
                     env=SECRET_ENV, webhook_port=port)
    try:
        await bot.start()  # up once its health check answers 200
        user = emulator.world.add_user("Wen")
        url = f"http://127.0.0.1:{port}/hook"
        good = json.dumps(help_update(500, user))
        secret = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        statuses = []
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=good, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                statuses.append(r.status)
            for body in (b"{not json", b"\xff\xfe", good.encode(), good.encode()):
                async with http.post(url, data=body, headers=secret) as response:
                    statuses.append(response.status)
            chat = Chat(ChatClient(emulator.url, http), user["id"])
            replies = await chat.bot_replies(timeout=20, settle=1.5)
        assert statuses == [403, 400, 400, 200, 200]
        assert [message_text(r["message"]).splitlines()[0] for r in replies] == [
            "Send me a close-up photo of one skin spot (as a photo or as an image file) and I'll check it."]
        assert await bot.stop() == 0
    finally:
        await bot.kill()
        await emulator.stop()
    assert_no_secrets(bot.log_path)
    assert emulator.calls["setWebhook"] == 0  # registering the webhook is a deploy step, not each replica's
