"""The real bot, end to end over HTTP: photos, the questionnaire by buttons, free text, /forget."""

from __future__ import annotations

import re

from bot.messages import load_catalog
from bot.render import level_phrases
from playground.client import buttons
from tests.e2e.conftest import Stack, last_reply, message_text, press, send_photo

CATALOG = load_catalog()
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def advice_title(lang: str, level: str) -> str:
    return CATALOG.text(lang, "advice.title", when=level_phrases(CATALOG, lang)[level])


def advice_titles(lang: str) -> set[str]:
    return {advice_title(lang, level) for level in level_phrases(CATALOG, lang)}


async def test_lesion_photo_gets_a_risk_reply_with_the_offer_of_questions(stack: Stack):
    chat = await stack.client.new_chat("Ann", "en")
    reply = await send_photo(chat, "malignant_1.jpg")
    risk_words = {CATALOG.text("en", f"result.risk.{r}"): r for r in ("low", "medium", "high")}
    found = re.match(r"Result: (.+)\.", message_text(reply))
    assert found and found.group(1) in risk_words, message_text(reply)
    offer = [b["callback_data"].split(":")[1] for b in buttons(reply) if b["callback_data"].startswith("q:")]
    assert offer == ["start", "skip"]  # then "What is …?" and "Where did you look?" (tests/e2e/test_issue12.py)
    ((status, risk),) = stack.rows("SELECT status, risk FROM assessments")
    assert status == "ok" and risk == risk_words[found.group(1)]
    typing = [e for e in chat.history if e["kind"] == "action"]
    assert typing and typing[0]["action"] == "typing"


async def test_not_skin_photo_gets_the_retake_explanation(stack: Stack):
    chat = await stack.client.new_chat("Bo", "en")
    reply = message_text(await send_photo(chat, "notskin_receipt.jpg"))
    assert reply.startswith(CATALOG.text("en", "photo.not_skin", tips="").strip())
    assert CATALOG.text("en", "photo.retake_tips") in reply
    assert stack.rows("SELECT status FROM assessments") == [("not_skin",)]


async def test_whole_questionnaire_by_buttons_ends_with_advice(stack: Stack):
    chat = await stack.client.new_chat("지민", "ko")
    result = await send_photo(chat, "malignant_3.jpg")
    question = await press(chat, result, "q:start")
    asked = []
    while buttons(question)[0]["callback_data"].startswith("q:ans"):
        asked.append(message_text(question).splitlines()[0])
        assert question["message_id"] == result["message_id"]  # one message, edited in place
        question = await press(chat, question, "q:ans")  # "yes" to everything
    total = len(CATALOG.section("ko", "checklist.questions"))
    assert asked == [CATALOG.text("ko", "checklist.progress", number=n, total=total) for n in range(1, total + 1)]
    advice = message_text(question)
    assert advice.splitlines()[0] in advice_titles("ko")
    after = [b["callback_data"] for b in buttons(question)]
    assert after[:2] == ["remind:1", "remind:3"]  # then "Where did you look?" (while kept) and the report
    assert {data.split(":")[0] for data in after[2:]} <= {"cam", "rep"} and any(d.startswith("rep:") for d in after)
    assert stack.rows("SELECT COUNT(*), MIN(answer), MAX(answer) FROM answers") == [(total, "yes", "yes")]
    ((level,),) = stack.rows("SELECT level FROM advice")
    assert advice.splitlines()[0] == advice_title("ko", level)


async def test_free_text_questions_in_both_languages(stack: Stack):
    english = await stack.client.new_chat("Cy", "en")
    korean = await stack.client.new_chat("민수", "ko")
    await english.send_text("What is melanoma?")
    await korean.send_text("흑색종이 뭐예요?")
    en_reply, ko_reply = message_text(await last_reply(english)), message_text(await last_reply(korean))
    assert not HANGUL.search(en_reply) and "melanoma" in en_reply.lower()
    assert HANGUL.search(ko_reply) and "흑색종" in ko_reply
    assert en_reply != CATALOG.text("en", "free_text.failed") and ko_reply != CATALOG.text("ko", "free_text.failed")
    assert sorted(stack.rows("SELECT intent FROM question_intents")) == [("melanoma",), ("melanoma",)]


async def test_forget_leaves_no_row(stack: Stack):
    chat = await stack.client.new_chat("Di", "en")
    result = await send_photo(chat, "benign_1.jpg")
    await press(chat, result, "q:start")
    await chat.send_text("is it cancer?")
    await last_reply(chat)
    assert stack.rows("SELECT COUNT(*) FROM assessments") == [(1,)]
    await chat.send_text("/forget")
    confirm = await last_reply(chat)
    done = await press(chat, confirm, "forget:yes")
    assert message_text(done) == CATALOG.text("en", "forget.done")
    # every table but the schema's version, which is about the database, not about anyone
    tables = [name for (name,) in stack.rows("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%' AND name != 'schema_version'")]
    assert "users" in tables and "answers" in tables
    assert {t: stack.rows(f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables} == dict.fromkeys(tables, 0)
