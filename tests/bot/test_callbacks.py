"""The one parser of callback data: everything the keyboards make parses back; nothing else does."""

import pytest

from bot import callbacks, keyboards
from bot.checklist import QUESTIONS
from bot.messages import load_catalog

CATALOG = load_catalog()


def datas(markup):
    return [button.callback_data for row in markup.inline_keyboard for button in row]


def test_every_button_the_keyboards_make_parses_back_to_what_it_means():
    last = len(QUESTIONS) - 1
    assert [callbacks.parse(d) for d in datas(keyboards.offer(CATALOG, "en", 12))] == [
        callbacks.StartQuestions(12), callbacks.SkipQuestions(12)]
    assert [callbacks.parse(d) for d in datas(keyboards.answers(CATALOG, "ko", 2**63 - 1, last))] == [
        callbacks.AnswerQuestion(2**63 - 1, last, value) for value in ("yes", "no", "unsure")]
    assert [callbacks.parse(d) for d in datas(keyboards.languages(CATALOG, "en"))] == [
        callbacks.ChooseLanguage("en"), callbacks.ChooseLanguage("ko")]
    assert [callbacks.parse(d) for d in datas(keyboards.forget(CATALOG, "en"))] == [
        callbacks.ConfirmForget(True), callbacks.ConfirmForget(False)]
    assert [callbacks.parse(d) for d in datas(keyboards.reminders(CATALOG, "en", (1, 3)))] == [
        callbacks.ChooseReminder(1), callbacks.ChooseReminder(3)]


@pytest.mark.parametrize("data", [
    None, "", 7, b"q:start:1", "q:start:", "q:start:" + "9" * 56, "q:start:9223372036854775808", "q:start:0",
    "q:start:-1", "q:start:+1", "q:start: 1", "q:start:1\n", "q:start:\u0661", "q:ans:1:8:y", "q:ans:1:0:yes",
    "q:ans:1::y", "lang:fr", "lang:EN", "forget:maybe", "remind:0", "remind:1000", "remind:121", "x" * 65,
    "q:start:1\ud800",
])
def test_anything_else_is_refused(data):
    assert callbacks.parse(data) is None


@pytest.mark.parametrize(
    "data, expected",
    [
        ("type:keratosis", callbacks.ExplainType("keratosis")),
        ("cam:12", callbacks.ShowHeatmap(12)),
        ("rep:7", callbacks.SendReport(7)),
        ("spot:9:4", callbacks.SameSpot(9, 4)),
        ("spot:9:new", callbacks.SameSpot(9, None)),
        ("type:unknown_kind", None),  # only types the bot can explain
        ("type:../../x", None),
        ("cam:0", None),
        ("rep:99999999999999999999", None),
        ("spot:9:", None),
        ("spot:0:new", None),
    ],
)
def test_issue_12_buttons_parse_strictly(data, expected):
    assert callbacks.parse(data) == expected
