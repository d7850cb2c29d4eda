"""The whole bot on the PostgreSQL backend (`storage.url: postgresql://...`): a photo, its questions and advice,
/history, an album and /forget, as a user goes through them; the rows are read back with plain SQL."""

import asyncio
import dataclasses

import pytest

from bot.app import running
from bot.checklist import QUESTIONS

from ..conftest import HIGH, LOW, MEDIUM, make_config, make_env
from ..fakes import count_user_rows


@pytest.fixture
async def pg_env(tmp_path, postgres_server):
    config = make_config(tmp_path, photo_rate_limit_per_minute=2)
    config = dataclasses.replace(config, storage=dataclasses.replace(config.storage,
                                                                     url=postgres_server.new_database()))
    env = make_env(config)
    async with running(env.application):
        yield env


async def test_a_user_goes_through_a_check_and_forgets_it_on_postgresql(pg_env):
    env = pg_env
    assert env.storage.location.startswith("postgresql://")
    chat, other = env.chat(1), env.chat(2)
    for user in (chat, other):
        await user.photo(LOW)
        await user.press_label("Answer the questions")
        for _ in QUESTIONS:
            await user.press_label("No")
    assert "within 2 weeks" not in env.telegram.texts()[-1]
    await chat.text("/history")
    assert "low risk" in env.telegram.texts()[-1]
    await asyncio.gather(*(chat.photo(data, media_group_id="album") for data in (MEDIUM, HIGH)))
    assert sum("first one only" in text for text in env.telegram.texts()) == 1
    await chat.photo(HIGH)  # LOW and the album's first made two this minute: the limit
    assert "wait a minute" in env.telegram.texts()[-1]
    await chat.text("/forget")
    await chat.press_label("Yes, delete everything")
    assert set((await count_user_rows(env.storage, 1)).values()) == {0}
    assert (await count_user_rows(env.storage, 2))["answers"] == len(QUESTIONS)
