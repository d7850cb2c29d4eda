import sqlite3

from bot.messages import load_catalog
from bot.model_facts import ModelFacts
from bot.nlu import AnswerContext, IntentIndex, answer
from bot.services import services_of

from .conftest import MEDIUM, make_config, make_env


async def test_free_text_uses_the_users_last_result_and_logs_the_intent_only(env):
    chat = env.chat()
    question = "what does my risk level mean?"
    await chat.photo(MEDIUM)
    await chat.press_label("Skip")
    await chat.text(question)
    catalog = load_catalog()
    index, model = IntentIndex.from_catalog(catalog), ModelFacts.from_card(env.analyzer.card)
    with_result = answer(question, "en", AnswerContext("medium", "soon", model), catalog, index)
    without = answer(question, "en", AnswerContext(model=model), catalog, index)
    assert with_result.intent == "risk_meaning" and with_result.reply != without.reply
    assert env.telegram.texts()[-1] == with_result.reply
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        assert db.execute("SELECT user_id, intent FROM question_intents").fetchall() == [(1, "risk_meaning")]
        assert question not in str(db.execute("SELECT * FROM question_intents").fetchall())


async def test_free_text_in_korean(env):
    await env.chat(language_code="ko").text("흑색종이 뭐예요?")
    reply = env.telegram.texts()[-1]
    assert any("가" <= ch <= "힣" for ch in reply)
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        assert db.execute("SELECT intent FROM question_intents").fetchall() == [("melanoma",)]


async def test_nonsense_gets_the_fallback_not_a_crash(env):
    await env.chat().text("\x00\x01 🙃🙃🙃 " * 500)
    catalog = load_catalog()
    index = IntentIndex.from_catalog(catalog)
    assert env.telegram.texts()[-1] == answer("zzzz", "en", AnswerContext(), catalog, index).reply


async def test_the_intent_index_is_built_once_per_application(env, tmp_path, monkeypatch):
    built = []
    original = IntentIndex.from_catalog.__func__
    monkeypatch.setattr(IntentIndex, "from_catalog", classmethod(lambda cls, c: built.append(c) or original(cls, c)))
    await env.chat().text("what is melanoma?")
    await env.chat().text("what is bcc?")
    s = services_of(env.application)
    assert s.intents is s.intents
    assert built == [s.catalog]
    other = make_env(make_config(tmp_path / "other"))
    assert services_of(other.application).intents is not s.intents
