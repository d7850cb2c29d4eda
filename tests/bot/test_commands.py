from bot.checklist import QUESTIONS

from .conftest import LOW
from .fakes import make_card


async def test_start_greets_in_english_with_disclaimer_and_photo_tips(env):
    await env.chat(language_code="en-GB").text("/start")
    (text,) = env.telegram.texts()
    assert "not a doctor" in text and "can't diagnose" in text
    assert "third of the frame" in text and "daylight" in text


async def test_start_in_korean_for_korean_clients(env):
    await env.chat(language_code="ko").text("/start")
    (text,) = env.telegram.texts()
    assert "진단은 할 수 없어요" in text and "3분의 1" in text


async def test_language_without_a_code_uses_the_configured_default(env):
    await env.chat(language_code=None).text("/help")
    assert env.telegram.texts()[0].startswith("Send me a close-up photo")


async def test_start_mentions_an_unfinished_questionnaire(env):
    chat = env.chat()
    await chat.photo(LOW)
    await chat.text("/start")
    assert "unanswered questions" in env.telegram.texts()[-1]


async def test_help_lists_every_command(env):
    await env.chat().text("/help")
    text = env.telegram.texts()[0]
    for command in ("/start", "/language", "/history", "/remind", "/forget", "/cancel", "/about"):
        assert command in text


async def test_command_menu_is_set_in_both_languages(env):
    calls = env.telegram.sent("setMyCommands")
    assert [c.params.get("language_code") for c in calls] == [None, "ko"]
    assert len(calls[0].params["commands"]) == 8


async def test_language_switch_is_remembered(env):
    chat = env.chat(language_code="en")
    await chat.text("/language")
    await chat.press_label("한국어")
    assert env.telegram.texts()[-1] == "좋아요, 이제부터 한국어로 말씀드릴게요."
    await chat.text("/help")
    assert "사진" in env.telegram.texts()[-1]
    assert await env.storage.language(chat.user_id) == "ko"


async def test_about_shows_card_version_metrics_and_limitations(env):
    env.analyzer.card = make_card(metrics={"lesion": {"kaggle_test": {
        "accuracy": 0.861, "sensitivity_refer": 0.953, "specificity_refer": 0.612, "roc_auc": 0.921}}})
    await env.chat().text("/about")
    text = env.telegram.texts()[0]
    assert "test-1" in text and "Trained on dermoscopy" in text
    assert "95%" in text and "61%" in text and "86%" in text and "0.92" in text


async def test_about_without_metrics_says_so(env):
    await env.chat().text("/about")
    assert "not available" in env.telegram.texts()[0]


async def test_history_lists_date_result_and_advice(env):
    chat = env.chat()
    await chat.text("/history")
    assert "haven't sent me any photos" in env.telegram.texts()[-1]
    await chat.photo(LOW)
    await chat.press_label("Answer the questions")
    for _ in QUESTIONS:
        await chat.press_label("No")
    await chat.text("/history")
    text = env.telegram.texts()[-1]
    assert "low risk, keep an eye on it" in text
    assert text.splitlines()[1][:4].isdigit()  # starts with the date


async def test_cancel_stops_the_questions(env):
    chat = env.chat()
    await chat.text("/cancel")
    assert "nothing to cancel" in env.telegram.texts()[-1]
    await chat.photo(LOW)
    await chat.text("/cancel")
    assert "stopped the questions" in env.telegram.texts()[-1]
    await chat.press_label("Answer the questions")
    assert env.telegram.sent("answerCallbackQuery")[-1].params["text"].startswith("These questions are closed")


async def test_unknown_command_shows_help(env):
    await env.chat().text("/frobnicate")
    assert env.telegram.texts()[0].startswith("Send me a close-up photo")
