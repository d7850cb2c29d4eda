"""Regressions of issue 11, offline: lost edits and replies, kills (an unfinished journal), /forget during an
analysis, bounded photo work, local file paths, forged taps, undeliverable reminders, bounded shutdown, webhooks."""

import asyncio
import contextlib
import json
import os
import sqlite3
import time

import aiohttp
import pytest
from telegram import Update

from bot import intake
from bot.app import running, serve
from bot.checklist import QUESTIONS
from bot.handlers.reminders import schedule

from .conftest import HIGH, LOW, make_config, make_env
from .fakes import count_user_rows
from .test_app import start_webhook_bot, update, wait_for

FAST = {"network_retry_backoff_s": 0.01}  # transient failures retried at once, so that losing a call is quick
GONE = [(502, "Bad Gateway")] * 4  # one call lost for good: the first try and the three retries
DONE = "Done. I've deleted everything I had stored about you."
BUSY = "I'm checking a lot of photos right now. Please send yours again in a minute."


def rows(env, sql, *params):
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        return db.execute(sql, params).fetchall()


def screen(env, message_id, chat_id=1):
    return env.telegram.messages[(chat_id, message_id)]["text"]


@pytest.fixture
async def fast(tmp_path):
    bot_env = make_env(make_config(tmp_path, **FAST))
    async with running(bot_env.application):
        yield bot_env


async def start_questions(env, chat, data=LOW):
    await chat.photo(data)
    offer = env.telegram.last_message_id(chat.user_id)
    await chat.press_label("Answer the questions")
    return offer


# 1. a lost edit never strands the questionnaire


async def test_after_a_lost_edit_any_tap_brings_the_message_to_the_current_question(fast):
    chat = fast.chat()
    offer = await start_questions(fast, chat)
    for _ in range(3):
        await chat.press_label("Yes")
    fast.telegram.errors["editMessageText"] = list(GONE)
    await chat.press_label("No")  # stored, but the edit that shows question 5 is lost
    assert screen(fast, offer).startswith("Question 4 of 8")
    await chat.press_label("Yes")  # a button of question 4 again
    assert screen(fast, offer).startswith("Question 5 of 8")
    assert fast.telegram.sent("answerCallbackQuery")[-1].params["text"] == "That question has already been answered."
    assert rows(fast, "SELECT position, answer FROM answers") == [(0, "yes"), (1, "yes"), (2, "yes"), (3, "no")]
    while screen(fast, offer).startswith("Question"):
        await chat.press_label("No")
    assert screen(fast, offer).startswith("Please see a doctor within 2 weeks.")


async def test_a_tap_on_a_finished_session_whose_advice_was_lost_shows_the_advice(fast):
    chat = fast.chat()
    offer = await start_questions(fast, chat)
    for _ in QUESTIONS[:-1]:
        await chat.press_label("No")
    fast.telegram.errors["editMessageText"] = list(GONE)
    await chat.press_label("No")  # the session is finished, the edit that shows the advice is lost
    assert screen(fast, offer).startswith(f"Question {len(QUESTIONS)} of")
    await chat.press_label("No")
    assert screen(fast, offer).startswith("Please keep an eye on it")
    assert rows(fast, "SELECT COUNT(*) FROM advice") == [(1,)]


# 2. a result that never arrived is sent on the next contact


async def test_a_result_that_never_arrived_is_sent_when_the_user_writes_again(fast):
    chat = fast.chat()
    fast.telegram.errors["sendMessage"] = GONE * 2  # the result and then the apology are lost
    await chat.photo(HIGH)
    assert fast.telegram.texts() == []
    await chat.text("/start")
    texts = fast.telegram.texts()
    assert texts[0].startswith("Result: high risk.") and texts[1].startswith("Hello! I'm skinbot.")
    (result_id,) = [mid for (_, mid), m in fast.telegram.messages.items() if m["text"].startswith("Result:")]
    assert [label for label, _ in fast.telegram.buttons(1, result_id)] == ["Answer the questions", "Skip"]
    await chat.press_label("Answer the questions")
    assert fast.telegram.texts()[-1].startswith("Question 1 of 8")
    assert rows(fast, "SELECT status, message_id IS NOT NULL FROM sessions") == [("open", 1)]


# 3. nothing is lost to a kill: the journal


async def test_getupdates_moves_past_an_update_only_once_it_is_journalled(tmp_path):
    env = make_env(make_config(tmp_path))
    env.telegram.pending_updates = [update(7, "/help")]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(env.application, stop))
    await wait_for(lambda: any(c.params.get("offset") == 8 for c in env.telegram.sent("getUpdates")))
    stop.set()
    await asyncio.wait_for(task, 10)
    offsets = [c.params.get("offset", 0) for c in env.telegram.sent("getUpdates")]
    assert offsets[0] == 0 and 8 in offsets
    assert rows(env, "SELECT update_id, payload, done_at IS NOT NULL FROM updates") == [(7, None, 1)]


async def test_an_update_a_killed_process_left_unfinished_is_handled_on_start(tmp_path):
    config = make_config(tmp_path)
    first = make_env(config)
    async with running(first.application):  # received and journalled, then the process died before handling it
        pending = update(41, "/help")
        await first.storage.journal_updates([(41, 1, json.dumps(pending))])
    restarted = make_env(config)
    async with running(restarted.application):
        await wait_for(lambda: restarted.telegram.sent("sendMessage"))
    assert restarted.telegram.texts()[0].startswith("Send me a close-up photo")
    assert rows(restarted, "SELECT done_at IS NOT NULL, payload FROM updates") == [(1, None)]


async def test_a_photo_checked_just_before_a_kill_is_answered_on_start_without_a_second_check(tmp_path):
    config = make_config(tmp_path, **FAST)
    first = make_env(config)
    async with running(first.application):
        chat = first.chat()
        first.telegram.errors["sendMessage"] = GONE * 2
        await chat.photo(HIGH)
        photo_update = chat.last_update
    # As if the process had died after storing the check and before replying: the update is still unfinished.
    with sqlite3.connect(config.storage.sqlite_path) as db:
        db.execute("UPDATE updates SET done_at = NULL, payload = ? WHERE update_id = ?",
                   (json.dumps(photo_update), photo_update["update_id"]))
    restarted = make_env(config, analyzer=first.analyzer, telegram=first.telegram)
    async with running(restarted.application):
        await wait_for(lambda: first.telegram.texts())
    assert first.telegram.texts() == [first.telegram.texts()[0]]
    assert first.telegram.texts()[0].startswith("Result: high risk.")
    assert len(first.analyzer.threads) == 1  # analysed once, before the "kill"
    assert rows(restarted, "SELECT COUNT(*) FROM assessments") == [(1,)]


async def test_an_update_delivered_twice_is_handled_once(env):
    chat = env.chat()
    await chat.text("/help")
    await env.application.process_update(Update.de_json(chat.last_update, env.application.bot))  # redelivered
    assert len(env.telegram.sent("sendMessage")) == 1


# 4. /forget during an analysis


async def test_forget_during_an_analysis_stops_it_and_nothing_is_written_afterwards(env):
    env.telegram.download_gate = asyncio.Event()
    chat = env.chat()
    photo = asyncio.create_task(chat.photo(HIGH))
    await env.telegram.download_started.wait()
    await chat.text("/forget")
    await chat.press_label("Yes, delete everything")
    env.telegram.download_gate.set()
    with contextlib.suppress(asyncio.CancelledError):
        await photo
    await asyncio.sleep(0.1)  # anything the photo handler could still do has had its chance
    texts = env.telegram.texts()
    assert texts[-1] == DONE and not any(text.startswith("Result:") for text in texts)
    assert set((await count_user_rows(env.storage, 1)).values()) == {0}
    assert env.analyzer.threads == []


# 5. bounded photo work


async def test_photos_beyond_the_free_slots_are_told_the_bot_is_busy(tmp_path):
    env = make_env(make_config(tmp_path, photo_slots=1, photo_queue_limit=0))
    async with running(env.application):
        env.telegram.download_gate = asyncio.Event()
        first = asyncio.create_task(env.chat(1).photo(LOW))
        await env.telegram.download_started.wait()
        await env.chat(2).photo(HIGH)
        assert env.telegram.texts() == [BUSY]
        env.telegram.download_gate.set()
        await first
    assert env.telegram.texts()[-1].startswith("Result: low risk.")
    assert env.analyzer.threads and len(env.analyzer.threads) == 1


async def test_a_download_stops_at_the_size_limit_whatever_size_telegram_claimed(tmp_path):
    env = make_env(make_config(tmp_path, max_photo_bytes=1_000_000))
    async with running(env.application):
        await env.chat().photo(b"\xff" * 3_000_000, file_size=900_000)
    assert env.telegram.texts()[-1].startswith("This file is too big for me")
    assert env.analyzer.threads == []


# 7. files only from the Bot API file server


@pytest.mark.parametrize("kind", ["absolute", "relative"])
async def test_a_file_path_naming_a_local_file_is_never_read(env, tmp_path, kind):
    local = tmp_path / "on-the-bots-disk.jpg"
    local.write_bytes(HIGH)  # if the bot read it, it would answer "high risk"
    path = str(local) if kind == "absolute" else os.path.relpath(local)
    await env.chat().photo(b"never served", downloadable=False, file_path=path)
    assert env.telegram.texts() == ["Sorry, I couldn't download that photo. Please send it again."]
    assert env.analyzer.threads == []


# 8. forged callback data


@pytest.mark.parametrize("data", ["q:start:" + "9" * 56, "", None, "q:ans:1:99:y", "q:ans:1:0:yes", "remind:0",
                                  "lang:fr", "q:start:\u0661\u0662", "forget:yes:x", "q:skip:0"])
async def test_forged_callback_data_only_stops_the_spinner(env, data, caplog):
    chat = env.chat()
    await chat.photo(LOW)
    offer = env.telegram.last_message_id(1)
    await chat.press(offer, data)
    assert env.telegram.calls[-1].method == "answerCallbackQuery"
    assert "text" not in env.telegram.calls[-1].params
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert env.telegram.texts()[-1].startswith("Result: low risk.")


async def test_taps_that_come_without_their_message_still_work(env):
    chat = env.chat()
    await chat.photo(LOW)
    session = rows(env, "SELECT MAX(id) FROM sessions")[0][0]
    await chat.press(None, f"q:start:{session}")
    assert env.telegram.texts()[-1].startswith("Question 1 of 8")
    await chat.press(None, "remind:1")
    assert env.telegram.texts()[-1].startswith("OK, I'll remind you on ")  # the date as people write it
    assert [(r.user_id, r.chat_id) for r in await env.storage.pending_reminders()] == [(1, 1)]


# 9. reminders Telegram refuses for good


@pytest.mark.parametrize("status, description", [(400, "Bad Request: chat not found"),
                                                 (403, "Forbidden: bot was blocked by the user")])
async def test_a_reminder_telegram_refuses_for_good_is_marked_and_not_tried_again(tmp_path, status, description):
    config = make_config(tmp_path)
    first = make_env(config)
    first.telegram.errors["sendMessage"] = [(status, description)]
    async with running(first.application):
        reminder = await first.storage.add_reminder(5, 50, time.time())
        schedule(first.application.job_queue, reminder)
        await wait_for(lambda: not first.telegram.errors["sendMessage"])
        await asyncio.sleep(0.2)
    assert rows(first, "SELECT outcome, sent_at IS NOT NULL FROM reminders") == [("undeliverable", 1)]
    restarted = make_env(config)
    async with running(restarted.application):
        assert await restarted.storage.pending_reminders() == []
    assert restarted.telegram.sent("sendMessage") == []


async def test_a_reminder_lost_to_a_transient_failure_stays_pending_and_is_tried_again(tmp_path):
    env = make_env(make_config(tmp_path, **FAST))
    env.telegram.errors["sendMessage"] = list(GONE)
    async with running(env.application):
        reminder = await env.storage.add_reminder(5, 50, time.time())
        schedule(env.application.job_queue, reminder)
        await wait_for(lambda: not env.telegram.errors["sendMessage"])
        await wait_for(lambda: env.application.job_queue.get_jobs_by_name(f"reminder:{reminder.id}"))
        assert [r.id for r in await env.storage.pending_reminders()] == [reminder.id]


# 11. bounded shutdown


async def test_stop_is_not_held_up_by_telegram_asking_to_wait(tmp_path):
    # The poll's waits end as soon as the bot is asked to stop (python-telegram-bot's retry backoff does not).
    env = make_env(make_config(tmp_path))
    env.telegram.retry_after = 3600  # Telegram, just back from an outage, says: poll again in an hour
    env.telegram.fail_methods["getUpdates"] = 2  # the poll, and the last call that confirms the offset at stop
    stop = asyncio.Event()
    task = asyncio.create_task(serve(env.application, stop))
    await wait_for(lambda: env.telegram.fail_methods["getUpdates"] == 1)
    stop.set()
    await asyncio.wait_for(task, 3)  # nothing is being handled: stopping waits for nothing


async def test_stop_cancels_updates_still_running_after_its_timeout_and_they_are_replayed(tmp_path):
    config = make_config(tmp_path)  # bot.shutdown_timeout_s: 5 s
    env = make_env(config)
    env.telegram.retry_after = 3600  # the reply waits an hour for its retry
    env.telegram.fail_methods["sendMessage"] = 1
    env.telegram.pending_updates = [update(3, "/help")]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(env.application, stop))
    await wait_for(lambda: env.telegram.fail_methods["sendMessage"] == 0)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert env.telegram.sent("sendMessage") == []
    restarted = make_env(config)
    async with running(restarted.application):
        await wait_for(lambda: restarted.telegram.sent("sendMessage"))
    assert restarted.telegram.texts()[0].startswith("Send me a close-up photo")


# 12. webhooks and button answers


async def test_the_webhook_refuses_malformed_bodies_with_400_and_handles_a_replay_once(tmp_path):
    env, stop, task, url = await start_webhook_bot(tmp_path, "s3cret-value")
    headers = {intake.SECRET_HEADER: "s3cret-value", "Content-Type": "application/json"}
    good = json.dumps(update(9, "/help")).encode()
    bodies = [b"{not json", b'{"update_id": 1, "message": "\xff\xfe"}', b"[]", b'{"update_id": "x"}',
              b'{"update_id": 5, "message": {"chat": 1}}', good, good]
    statuses = []
    async with aiohttp.ClientSession() as http:
        for body in bodies:
            async with http.post(url, data=body, headers=headers) as response:
                statuses.append(response.status)
    await wait_for(lambda: env.telegram.sent("sendMessage"))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert statuses == [400, 400, 400, 400, 400, 200, 200]
    assert len(env.telegram.sent("sendMessage")) == 1
    assert rows(env, "SELECT update_id, done_at IS NOT NULL FROM updates") == [(9, 1)]  # nothing kept of the rest


async def test_a_rate_limited_button_answer_does_not_hold_up_the_next_question(env):
    chat = env.chat()
    await chat.photo(LOW)
    offer = env.telegram.last_message_id(1)
    env.telegram.retry_after = 3600
    env.telegram.fail_methods["answerCallbackQuery"] = 1
    await asyncio.wait_for(chat.press_label("Answer the questions"), 10)
    assert screen(env, offer).startswith("Question 1 of 8")
