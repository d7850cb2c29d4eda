import asyncio
import sqlite3
import threading
from dataclasses import replace

import pytest

from bot.app import running

from .conftest import BLURRY, BROKEN, HIGH, LOW, MEDIUM, NOT_SKIN, make_config, make_env


async def test_ok_photo_gets_risk_in_words_meaning_and_the_offer(env):
    chat = env.chat()
    await chat.photo(HIGH)
    text = env.telegram.texts()[-1]
    assert "Result: high risk." in text and "not a diagnosis" in text
    assert "%" not in text and "0.9" not in text  # no bare probability dressed as certainty
    labels = [label for label, _ in env.telegram.buttons(chat.user_id, env.telegram.last_message_id(chat.user_id))]
    assert labels == ["Answer the questions", "Skip"]


async def test_typing_is_shown_and_analysis_runs_off_the_event_loop(env):
    await env.chat().photo(LOW)
    assert env.telegram.sent("sendChatAction")[0].params["action"] == "typing"
    assert env.analyzer.threads and threading.main_thread().name not in env.analyzer.threads


@pytest.mark.parametrize(
    "photo, expected",
    [
        (NOT_SKIN, ["doesn't look like a close-up of a skin spot", "How to retake it"]),
        (BLURRY, ["can't judge the spot", "• it's blurry", "• it's too dark", "How to retake it"]),
        (BROKEN, ["couldn't read that image (the file seems to be cut off)", "How to retake it"]),
    ],
)
async def test_each_problem_status_gets_its_own_explanation_and_retake_tips(env, photo, expected):
    await env.chat().photo(photo)
    text = env.telegram.texts()[-1]
    for part in expected:
        assert part in text
    assert env.telegram.buttons(1, env.telegram.last_message_id(1)) == []


async def test_problem_statuses_in_korean(env):
    await env.chat(language_code="ko").photo(BLURRY)
    text = env.telegram.texts()[-1]
    assert "• 사진이 흐려요" in text and "다시 찍는 방법" in text


async def test_the_assessment_is_stored_with_hash_and_no_photo_is_kept(env, tmp_path):
    await env.chat().photo(LOW)
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        rows = db.execute("SELECT image_sha256, status, risk, model_version, latency_ms FROM assessments").fetchall()
    (sha, status, risk, version, latency), = rows
    assert (status, risk, version) == ("ok", "low", "test-1") and len(sha) == 64 and latency >= 0
    assert not env.config.storage.photos_dir.exists()


async def test_photos_are_kept_by_hash_only_when_configured_and_forget_removes_them(tmp_path):
    config = make_config(tmp_path)
    config = replace(config, storage=replace(config.storage, keep_photos=True))
    env = make_env(config)
    async with running(env.application):
        chat = env.chat()
        await chat.photo(LOW)
        kept = list(config.storage.photos_dir.iterdir())
        assert [p.read_bytes() for p in kept] == [LOW] and len(kept[0].name) == 64
        await chat.text("/forget")
        await chat.press_label("Yes, delete everything")
        assert list(config.storage.photos_dir.iterdir()) == []


async def test_image_sent_as_a_file_is_analysed_and_other_files_are_refused(env):
    chat = env.chat()
    await chat.document(LOW, "image/png")
    assert "Result: low risk." in env.telegram.texts()[-1]
    await chat.document(b"%PDF-1.4", "application/pdf")
    assert "isn't an image I can read" in env.telegram.texts()[-1]


async def test_files_over_the_limit_are_refused_before_downloading(env):
    await env.chat().document(LOW, "image/jpeg", file_size=25_000_000)
    assert "too big" in env.telegram.texts()[-1] and "25 MB" in env.telegram.texts()[-1]
    assert env.telegram.sent("getFile") == []


async def test_the_largest_photo_size_within_the_limit_is_used(env):
    chat = env.chat()
    await chat.photo(HIGH, file_size=30_000_000, thumb=LOW)  # the big size is over the limit: the small one is used
    assert env.telegram.sent("getFile")[0].params["file_id"].endswith("-thumb")
    assert "Result: low risk." in env.telegram.texts()[-1]
    await chat.photo(HIGH, thumb=LOW)
    assert not env.telegram.sent("getFile")[1].params["file_id"].endswith("-thumb")
    assert "Result: high risk." in env.telegram.texts()[-2]  # then "is this the same spot?" (an earlier check exists)


async def test_a_failed_download_gets_a_message(env):
    await env.chat().photo(LOW, downloadable=False)  # the file server answers 404
    assert "couldn't download that photo" in env.telegram.texts()[-1]
    assert env.analyzer.threads == []


async def test_photos_are_rate_limited_per_user(tmp_path):
    env = make_env(make_config(tmp_path, photo_rate_limit_per_minute=2))
    async with running(env.application):
        first, second = env.chat(1), env.chat(2)
        for _ in range(3):
            await first.photo(NOT_SKIN)
        assert "wait a minute" in env.telegram.texts()[-1]
        await second.photo(NOT_SKIN)
        assert "wait a minute" not in env.telegram.texts()[-1]
        assert len(env.analyzer.threads) == 3


async def test_an_album_is_answered_once_and_only_the_first_photo_is_analysed(env):
    chat = env.chat()
    await chat.photo(LOW, media_group_id="album-1")
    await chat.photo(HIGH, media_group_id="album-1")
    texts = env.telegram.texts()
    assert len(texts) == 2 and "first one only" in texts[0] and "Result: low risk." in texts[1]
    assert len(env.analyzer.threads) == 1


async def test_an_album_handled_all_at_once_is_answered_once(env):
    chat = env.chat()
    await asyncio.gather(*(chat.photo(data, media_group_id="album-2") for data in (LOW, MEDIUM, HIGH)))
    texts = env.telegram.texts()
    assert sum("first one only" in text for text in texts) == 1
    assert sum("Result:" in text for text in texts) == 1
    assert len(env.analyzer.threads) == 1


async def test_a_crash_in_analysis_gets_an_apology_not_silence(env):
    def broken(_: bytes):
        raise RuntimeError("interpreter exploded")

    env.analyzer.analyze = broken
    await env.chat().photo(LOW)
    assert "something went wrong on my side" in env.telegram.texts()[-1]
