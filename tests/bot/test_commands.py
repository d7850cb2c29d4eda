import re
from dataclasses import replace

from bot.app import running
from bot.checklist import QUESTIONS

from .conftest import BLURRY, BROKEN, HIGH, LOW, NOT_SKIN, make_config, make_env
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
    for command in ("/start", "/language", "/history", "/report", "/remind", "/forget", "/cancel", "/about"):
        assert command in text


async def test_command_menu_is_set_in_both_languages(env):
    calls = env.telegram.sent("setMyCommands")
    assert [c.params.get("language_code") for c in calls] == [None, "ko"]
    assert len(calls[0].params["commands"]) == 9


async def test_language_switch_is_remembered(env):
    chat = env.chat(language_code="en")
    await chat.text("/language")
    await chat.press_label("한국어")
    assert env.telegram.texts()[-1] == "좋아요, 이제부터 한국어로 말씀드릴게요."
    await chat.text("/help")
    assert "사진" in env.telegram.texts()[-1]
    assert await env.storage.language(chat.user_id) == "ko"


METRICS = {"lesion": {
    "kaggle_test": {"accuracy": 0.861, "sensitivity_0_5": 0.82, "sensitivity_refer": 0.953, "specificity_refer": 0.612,
                    "sensitivity_high": 0.76, "roc_auc": 0.921, "n": 660, "malignant": 300},
    "pad_ufes_20": {"accuracy": 0.739, "sensitivity_refer": 0.955, "specificity_refer": 0.368,
                         "sensitivity_high": 0.712, "roc_auc": 0.819, "n": 142, "malignant": 66},
}}


async def test_about_shows_card_version_metrics_at_the_bots_cut_offs_and_limitations(env):
    env.analyzer.card = make_card(metrics=METRICS)
    await env.chat().text("/about")
    text = env.telegram.texts()[0]
    assert "test-1" in text and "Trained on dermoscopy" in text
    assert "95%" in text and "61%" in text and "76%" in text and "0.92" in text
    assert "(660 photos, 300 of them skin cancers)" in text and "Phone photos" in text and "37%" in text
    assert "86%" not in text and "82%" not in text  # figures at 0.5, a cut-off the bot never uses


async def test_about_in_korean_is_korean_throughout(env):
    # Reproduction (issue 10): /about in Korean showed the limitations in English.
    limitations = {"en": ("Trained on dermoscopy",),
                   "ko": ("말단 흑색종은 학습 사진에 거의 없어요.",
                          "휴대폰 사진은 더 적고, 대부분 피츠패트릭 I~III형이에요.")}
    env.analyzer.card = replace(make_card(metrics=METRICS), limitations=limitations)
    await env.chat(language_code="ko").text("/about")
    text = env.telegram.texts()[0]
    assert "Trained on dermoscopy" not in text and "말단 흑색종" in text and "피츠패트릭" in text
    assert "휴대폰" in text and "스마트폰으로 찍은 사진" in text and "(사진 142장, 그중 피부암 66장)" in text
    assert "피부암 중 95%를 위험도 중간 이상으로" in text
    assert [line for line in text.splitlines() if line.strip() and not any("가" <= ch <= "힣" for ch in line)] == []


async def test_about_uses_limitations_a_card_carries_in_the_users_language(env):
    texts = {"ko": ("카드에 적힌 한국어 한계",), "en": ("The card's own English",)}
    env.analyzer.card = replace(make_card(), limitations=texts)
    await env.chat(language_code="ko").text("/about")
    await env.chat(2).text("/about")
    korean, english = env.telegram.texts()
    assert "• 카드에 적힌 한국어 한계" in korean and "• The card's own English" in english


async def test_about_without_metrics_says_so(env):
    await env.chat().text("/about")
    assert "not available" in env.telegram.texts()[0]


async def test_history_lists_date_time_result_and_advice(env):
    chat = env.chat()
    await chat.text("/history")
    assert "haven't sent me any photos" in env.telegram.texts()[-1]
    await chat.photo(LOW)
    await chat.press_label("Answer the questions")
    for _ in QUESTIONS:
        await chat.press_label("No")
    await chat.text("/history")
    lines = env.telegram.texts()[-1].splitlines()
    assert lines[0] == "Your checks, newest first:"  # monitor only: no summary line
    assert re.fullmatch(r"• \d{1,2} [A-Z][a-z]+ 20\d\d, \d{1,2}:\d\d [ap]m UTC: low risk → keep an eye on it and "
                        r"compare photos of it once a month", lines[1])


async def test_history_never_hides_an_urgent_check_behind_newer_rows(tmp_path):
    # Reproduction (issue 10): /history showed the last 10 rows, rejected photos included, so the one urgent
    # check dropped off, and finished and unfinished checks looked alike.
    env = make_env(make_config(tmp_path, photo_rate_limit_per_minute=100))
    async with running(env.application):
        chat = env.chat(language_code="ko")
        await chat.photo(HIGH)
        await chat.press_label("질문에 답하기")
        for _ in QUESTIONS:
            await chat.press_label("아니요")
        for _ in range(env.config.bot.history_limit):
            await chat.photo(LOW)
            await chat.press_label("건너뛰기")
        await chat.photo(LOW)  # questions left unfinished
        for photo in (NOT_SKIN, BLURRY, BROKEN):
            await chat.photo(photo)
        await chat.text("/history")
    lines = env.telegram.texts()[-1].splitlines()
    assert re.fullmatch(r"지금까지 드린 조언 중 가장 급한 것\(20\d\d년 \d{1,2}월 \d{1,2}일 "
                        r"한국 시간 오[전후] \d{1,2}:\d\d\): 2주 안에 피부과 진료를 받으세요\. .*", lines[0])
    listed = [line for line in lines if line.startswith("• ")]
    assert len(listed) == env.config.bot.history_limit
    assert listed[0].endswith("위험도 낮음, 질문을 끝내지 않아서 아직 조언이 없어요")
    assert all(line.endswith("위험도 낮음 → 몇 주 안에 피부과 진료를 예약하세요") for line in listed[1:])
    assert lines[-1] == "판단할 수 없었던 사진 3장(피부의 점이 아니거나 선명하지 않은 사진)은 목록에서 뺐어요."


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
