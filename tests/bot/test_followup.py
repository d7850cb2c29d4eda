"""Follow-up of the same spot: the clear-rise policy rule (never milder, at most one step sooner, monotone), and
the conversation: "same spot?" buttons by date and result, the change in plain words, the advice raised."""

import itertools
import sqlite3

import pytest

from bot.app import running
from bot.checklist import ANSWER_VALUES, QUESTIONS
from bot.messages import LANGUAGES, load_catalog
from bot.policy import Change, advise, clear_rise, rank
from bot.render import format_date, level_phrases
from bot.settings import PolicyConfig

from .conftest import make_config, make_env
from .fakes import FakeAnalyzer
from .v2 import v2

CATALOG = load_catalog()
POLICY = PolicyConfig()
FIRST, ROSE, STEADY, OTHER_USERS = b"first photo", b"score rose", b"score steady", b"someone else"


@pytest.mark.parametrize(
    "change, rise",
    [
        (Change("low", 0.10, "low", 0.25), True),  # +0.15: the configured rise
        (Change("low", 0.10, "low", 0.24), False),
        (Change("low", 0.18, "medium", 0.21), True),  # a higher risk level, however small the step
        (Change("medium", 0.45, "low", 0.15), False),
        (Change("high", 0.9, "high", 0.95), False),
        (Change(None, None, "medium", 0.4), False),
    ],
)
def test_clear_rise(change, rise):
    assert clear_rise(change, POLICY) is rise


def test_a_clear_rise_is_one_step_sooner_and_never_milder_for_every_answer_vector():
    rise, fall = Change("low", 0.1, "low", 0.4), Change("low", 0.4, "low", 0.1)
    for values in itertools.product(ANSWER_VALUES, repeat=len(QUESTIONS)):
        answers = dict(zip((q.key for q in QUESTIONS), values, strict=True))
        for risk in ("low", "medium", "high"):
            plain = advise(risk, answers, POLICY)
            raised = advise(risk, answers, POLICY, rise)
            assert rank(raised.level) == min(rank(plain.level) + 1, 2)
            assert advise(risk, answers, POLICY, fall) == plain  # a fall never lowers (or changes) the advice
            if raised.level != plain.level:
                assert [r.code for r in raised.reasons] == ["followup_rise"]


def test_a_rise_on_urgent_advice_is_named_among_the_reasons():
    raised = advise("high", {}, POLICY, Change("medium", 0.5, "high", 0.9))
    assert raised.level == "urgent" and "followup_rise" in [r.code for r in raised.reasons]


@pytest.fixture
async def env(tmp_path):
    bot_env = make_env(make_config(tmp_path), FakeAnalyzer(results={
        FIRST: v2(FIRST, "low", 0.10), ROSE: v2(ROSE, "low", 0.31), STEADY: v2(STEADY, "low", 0.11),
        OTHER_USERS: v2(OTHER_USERS, "low", 0.12),
    }))
    async with running(bot_env.application):
        yield bot_env


def rows(env, sql):
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        return db.execute(sql).fetchall()


async def answer_all_no(chat):
    await chat.press_label("Answer the questions")
    for _ in QUESTIONS:
        await chat.press_label("No")


def prompt_buttons(env, chat):
    prompt = env.telegram.last_message_id(chat.user_id)
    return prompt, env.telegram.buttons(chat.user_id, prompt)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_rise_reported_before_the_questions_raises_their_advice(env, lang):
    chat = env.chat(language_code=lang)
    await chat.photo(FIRST)
    assert CATALOG.text(lang, "followup.prompt") not in env.telegram.texts()  # nothing to compare with yet
    await chat.photo(ROSE)
    prompt, buttons = prompt_buttons(env, chat)
    assert env.telegram.messages[(chat.user_id, prompt)]["text"] == CATALOG.text(lang, "followup.prompt")
    first_created = rows(env, "SELECT created_at FROM assessments ORDER BY id")[0][0]
    expected_label = CATALOG.text(lang, "followup.choice", date=format_date(CATALOG, lang, first_created),
                                  result=CATALOG.text(lang, "result.risk.low"))
    assert [label for label, _ in buttons] == [expected_label, CATALOG.text(lang, "followup.different")]
    await chat.press(prompt, buttons[0][1])
    reply = env.telegram.messages[(chat.user_id, prompt)]["text"]
    assert CATALOG.text(lang, "followup.score_up", before="0.10", now="0.31") in reply
    assert CATALOG.text(lang, "followup.rise_pending") in reply
    # The questions, all "no": a low-risk spot would be "monitor"; the rise makes it "soon".
    result = prompt - 1
    await chat.press(result, f"q:start:{rows(env, 'SELECT MAX(id) FROM sessions')[0][0]}")
    for _ in QUESTIONS:
        await chat.press_label(CATALOG.text(lang, "buttons.no"))
    advice = env.telegram.messages[(chat.user_id, result)]["text"]
    assert advice.startswith(CATALOG.text(lang, "advice.title", when=level_phrases(CATALOG, lang)["soon"]))
    assert CATALOG.text(lang, "advice.reasons.followup_rise") in advice
    assert rows(env, "SELECT COUNT(*) FROM spots") == [(1,)]
    assert rows(env, "SELECT followup FROM assessments ORDER BY id") == [(0,), (1,)]


async def test_a_rise_reported_after_the_advice_replaces_it(env):
    chat = env.chat()
    await chat.photo(FIRST)
    await answer_all_no(chat)
    await chat.photo(ROSE)
    prompt, buttons = prompt_buttons(env, chat)
    await answer_all_no(chat)  # the questions first, the spot question afterwards
    assert rows(env, "SELECT level FROM advice ORDER BY id") == [("monitor",), ("monitor",)]
    await chat.press(prompt, buttons[0][1])
    reply = env.telegram.messages[(chat.user_id, prompt)]["text"]
    assert CATALOG.text("en", "followup.rise_done", when=level_phrases(CATALOG, "en")["soon"]) in reply
    assert rows(env, "SELECT level FROM advice ORDER BY id") == [("monitor",), ("soon",)]


async def test_a_steady_score_keeps_the_advice_and_says_to_keep_watching(env):
    chat = env.chat()
    await chat.photo(FIRST)
    await chat.photo(STEADY)
    prompt, buttons = prompt_buttons(env, chat)
    await chat.press(prompt, buttons[0][1])
    reply = env.telegram.messages[(chat.user_id, prompt)]["text"]
    assert CATALOG.text("en", "followup.score_same", before="0.10", now="0.11") in reply
    assert CATALOG.text("en", "followup.keep_watching") in reply
    await chat.press(prompt - 1, f"q:skip:{rows(env, 'SELECT MAX(id) FROM sessions')[0][0]}")
    assert rows(env, "SELECT level FROM advice") == [("soon",)]  # skipping: at least soon, as without follow-up


async def test_a_different_spot_and_repeated_or_foreign_taps(env):
    chat, other = env.chat(1), env.chat(2)
    await other.photo(OTHER_USERS)
    await chat.photo(FIRST)
    await chat.photo(STEADY)
    prompt, buttons = prompt_buttons(env, chat)
    assert len(buttons) == 2  # only the user's own earlier spot is offered
    await chat.press(prompt, buttons[-1][1])
    assert env.telegram.messages[(chat.user_id, prompt)]["text"] == CATALOG.text("en", "followup.new_spot")
    assert rows(env, "SELECT COUNT(*) FROM spots") == [(0,)]
    second = rows(env, "SELECT MAX(id) FROM assessments")[0][0]
    await other.press(prompt, f"spot:{second}:1")  # someone else's check: refused
    assert env.telegram.sent("answerCallbackQuery")[-1].params["text"] == CATALOG.text("en", "followup.stale")
    await chat.press(prompt, buttons[0][1])
    await chat.press(prompt, buttons[0][1])  # a repeated tap
    assert env.telegram.sent("answerCallbackQuery")[-1].params["text"] == CATALOG.text("en", "followup.stale")
    assert rows(env, "SELECT COUNT(*) FROM spots") == [(1,)]


async def test_several_spots_are_listed_newest_first_one_button_each(env):
    chat = env.chat()
    await chat.photo(FIRST)
    await chat.photo(STEADY)
    prompt, buttons = prompt_buttons(env, chat)
    await chat.press(prompt, buttons[-1][1])  # a second spot
    await chat.photo(ROSE)
    _, buttons = prompt_buttons(env, chat)
    ids = [int(data.split(":")[2]) for _, data in buttons[:-1]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
