"""A photo the model calls a rash gets rash guidance: no risk level, no questionnaire, when to see a doctor, and
that the cancer check is for single spots; it is listed as such in /history and never offered as a spot."""

import sqlite3

import pytest

from bot.app import running
from bot.messages import LANGUAGES, load_catalog

from .conftest import make_config, make_env
from .fakes import FakeAnalyzer
from .v2 import v2

CATALOG = load_catalog()
RASH, SPOT, RISKY_RASH = b"a red rash", b"a single spot", b"a rash-like spot the malignancy model rates medium"
# What the judge makes of RISKY_RASH: the type head's top type is "rash", but a medium risk is never a rash
# (tests/inference/test_judge.py).


@pytest.fixture
async def env(tmp_path):
    bot_env = make_env(make_config(tmp_path), FakeAnalyzer(results={
        RASH: v2(RASH, "low", 0.1, "rash", 0.93, rash=True),
        RISKY_RASH: v2(RISKY_RASH, "medium", 0.4, "rash", 0.93, rash=False),
        SPOT: v2(SPOT, "low", 0.1, "nevus", 0.8),
    }))
    async with running(bot_env.application):
        yield bot_env


def rows(env, sql):
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_rash_gets_guidance_and_no_questions(env, lang):
    chat = env.chat(language_code=lang)
    await chat.photo(RASH)
    text = env.telegram.texts()[-1]
    assert text == CATALOG.text(lang, "rash.text")
    assert CATALOG.text(lang, "result.risk.low") not in text  # no mole risk level
    labels = [label for label, _ in env.telegram.buttons(chat.user_id, env.telegram.last_message_id(chat.user_id))]
    assert labels == [CATALOG.text(lang, "buttons.report")]  # no questionnaire, no heatmap
    assert rows(env, "SELECT COUNT(*) FROM sessions") == [(0,)]
    assert rows(env, "SELECT rash, lesion_type FROM assessments") == [(1, "rash")]


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_rash_the_malignancy_model_does_not_rate_low_keeps_its_risk_level_and_questions(env, lang):
    chat = env.chat(language_code=lang)
    await chat.photo(RISKY_RASH)
    text = env.telegram.texts()[-1]
    assert text != CATALOG.text(lang, "rash.text") and CATALOG.text(lang, "result.risk.medium") in text
    assert rows(env, "SELECT COUNT(*) FROM sessions") == [(1,)]
    assert rows(env, "SELECT rash FROM assessments") == [(0,)]


def test_rash_guidance_names_when_to_see_a_doctor():
    text = CATALOG.text("en", "rash.text")
    for sign in ("spreading", "fever", "hurts", "blisters", "child", "face", "genitals", "single spots"):
        assert sign in text, sign
    ko = CATALOG.text("ko", "rash.text")
    for sign in ("번지", "열이", "아프", "물집", "어린이", "얼굴", "생식기", "피부과 진료"):
        assert sign in ko, sign


async def test_history_lists_a_rash_as_rash_guidance(env):
    chat = env.chat()
    await chat.photo(RASH)
    await chat.text("/history")
    assert "looked like a rash or other skin condition → rash guidance" in env.telegram.texts()[-1]


async def test_a_rash_is_not_offered_as_an_earlier_spot(env):
    chat = env.chat()
    await chat.photo(RASH)
    await chat.photo(SPOT)
    assert CATALOG.text("en", "followup.prompt") not in env.telegram.texts()
