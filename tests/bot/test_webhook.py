"""A webhook replica handles each update before it answers Telegram: the reply is out before the 200, a copy being
handled elsewhere gets 503, a handled one 200 without a second handling, a handler's failure still 200; it
replays nothing at start, reports its health, and drains on shutdown."""

import asyncio
import json
import sqlite3

import aiohttp
from telegram.ext import MessageHandler, filters

from bot import intake
from bot.services import services_of
from bot.storage import storage_for

from .conftest import HIGH
from .test_app import start_webhook_bot, update

SECRET = "s3cret-value"
HEADERS = {intake.SECRET_HEADER: SECRET}
HELP = "Send me a close-up photo"


def photo_update(update_id, file_id, user_id=1):
    message = update(update_id, "", user_id)["message"]
    del message["text"], message["entities"]
    message["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 960,
                         "file_size": len(HIGH)}]
    return {"update_id": update_id, "message": message}


def rows(env, sql):
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        return db.execute(sql).fetchall()


async def post(url, body):
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=HEADERS) as response:
        return response.status


async def health(url):
    async with aiohttp.ClientSession() as http, http.get(url.rsplit("/hook", 1)[0] + "/healthz") as response:
        return response.status


async def stopped(stop, task):
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_the_reply_is_sent_before_telegram_gets_its_200(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET)
    env.telegram.files["big"] = HIGH
    env.telegram.download_gate = asyncio.Event()
    answer = asyncio.create_task(post(url, photo_update(20, "big")))
    await asyncio.wait_for(env.telegram.download_started.wait(), 5)
    await asyncio.sleep(0.2)
    assert not answer.done()  # still handling: Telegram has no answer yet, so it sends this chat nothing new
    env.telegram.download_gate.set()
    assert await asyncio.wait_for(answer, 10) == 200
    assert env.telegram.texts()[0].startswith("Result: high risk.")  # out before the 200
    await stopped(stop, task)


async def test_a_copy_delivered_again_after_it_was_handled_is_answered_200_and_not_handled_again(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET)
    assert [await post(url, update(21, "/help")) for _ in range(3)] == [200, 200, 200]
    await stopped(stop, task)
    assert len(env.telegram.sent("sendMessage")) == 1
    assert rows(env, "SELECT update_id, done_at IS NOT NULL FROM updates") == [(21, 1)]


async def test_a_copy_being_handled_elsewhere_gets_503_until_that_claim_expires(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET, webhook_claim_s=0.5)
    body = update(22, "/help")
    # another replica claimed it and died while handling it
    assert await env.storage.claim_update(22, 1, json.dumps(body), lease_s=0.5) == "claimed"
    assert await post(url, body) == 503
    assert env.telegram.sent("sendMessage") == []
    await asyncio.sleep(0.6)
    assert await post(url, body) == 200  # the claim expired: this replica takes the update over
    await stopped(stop, task)
    assert len(env.telegram.sent("sendMessage")) == 1


async def test_a_failing_handler_is_apologised_for_and_still_answered_200(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET)

    async def broken(update, context):
        raise RuntimeError("a bug")

    env.application.add_handler(MessageHandler(filters.ALL, broken), group=-1)
    assert await post(url, update(23, "hello")) == 200  # a 5xx would have Telegram re-send it for ever
    await stopped(stop, task)
    assert any(text.startswith("Sorry") for text in env.telegram.texts()), env.telegram.texts()
    assert rows(env, "SELECT done_at IS NOT NULL FROM updates WHERE update_id = 23") == [(1,)]


async def test_an_update_its_users_forget_stopped_is_answered_200_so_that_it_is_not_handled_anew(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET)
    env.telegram.files["big"] = HIGH
    env.telegram.download_gate = asyncio.Event()  # never opened
    answer = asyncio.create_task(post(url, photo_update(28, "big")))
    await asyncio.wait_for(env.telegram.download_started.wait(), 5)
    async with services_of(env.application).work.exclusive(1):  # what /forget does before it deletes
        pass
    assert await asyncio.wait_for(answer, 5) == 200
    await stopped(stop, task)
    assert env.telegram.texts() == []


async def test_a_replica_replays_nothing_at_start(tmp_path):
    storage = storage_for(f"sqlite:///{tmp_path / 'bot.db'}")
    await storage.connect()
    await storage.journal_updates([(24, 1, json.dumps(update(24, "/help")))])  # left by a replica that died
    await storage.close()
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET, webhook_claim_s=0.0)
    await asyncio.sleep(0.3)
    assert env.telegram.sent("sendMessage") == []  # Telegram re-sends it; a replay would race the replicas
    assert await post(url, update(24, "/help")) == 200
    await stopped(stop, task)
    assert len(env.telegram.sent("sendMessage")) == 1


async def test_on_shutdown_new_updates_and_health_get_503_while_the_running_one_finishes(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET)
    assert await health(url) == 200
    env.telegram.files["big"] = HIGH
    env.telegram.download_gate = asyncio.Event()
    running = asyncio.create_task(post(url, photo_update(25, "big")))
    await asyncio.wait_for(env.telegram.download_started.wait(), 5)
    stop.set()
    await asyncio.sleep(0.1)
    assert not task.done()  # draining: the photo being handled is let finish
    assert await health(url) == 503
    assert await post(url, update(26, "/help")) == 503  # Telegram re-sends it, to a replica still serving
    env.telegram.download_gate.set()
    assert await asyncio.wait_for(running, 10) == 200
    await asyncio.wait_for(task, 10)
    assert env.telegram.texts() == [env.telegram.texts()[0]] and env.telegram.texts()[0].startswith("Result:")
    assert rows(env, "SELECT update_id FROM updates") == [(25,)]


async def test_an_update_still_running_at_the_shutdown_timeout_is_cancelled_unanswered(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, SECRET, shutdown_timeout_s=0.3)
    env.telegram.files["big"] = HIGH
    env.telegram.download_gate = asyncio.Event()  # never opened
    running = asyncio.create_task(post(url, photo_update(27, "big")))
    await asyncio.wait_for(env.telegram.download_started.wait(), 5)
    await stopped(stop, task)
    status = await asyncio.wait_for(running, 5)
    assert status == 503  # no 200: Telegram re-sends it to another replica
    assert rows(env, "SELECT done_at IS NULL FROM updates WHERE update_id = 27") == [(1,)]
    assert env.telegram.texts() == []
