import asyncio
import sqlite3
import time

from bot.app import running
from bot.checklist import QUESTIONS

from .conftest import HIGH, LOW, MEDIUM, make_config, make_env


def rows(env, sql):
    with sqlite3.connect(env.config.storage.sqlite_path) as db:
        return db.execute(sql).fetchall()


async def test_full_questionnaire_edits_one_message_in_place_and_ends_with_advice(env):
    chat = env.chat()
    step_seconds = []
    started = time.perf_counter()
    await chat.photo(LOW)
    step_seconds.append(time.perf_counter() - started)
    offer_id = env.telegram.last_message_id(chat.user_id)
    started = time.perf_counter()
    await chat.press_label("Answer the questions")
    step_seconds.append(time.perf_counter() - started)
    for number in range(1, len(QUESTIONS) + 1):
        screen = env.telegram.messages[(chat.user_id, offer_id)]["text"]
        assert screen.startswith(f"Question {number} of {len(QUESTIONS)}")
        assert [label for label, _ in env.telegram.buttons(chat.user_id, offer_id)] == ["Yes", "No", "Not sure"]
        started = time.perf_counter()
        assert await chat.press_label("No") == offer_id
        step_seconds.append(time.perf_counter() - started)
    advice = env.telegram.messages[(chat.user_id, offer_id)]["text"]
    assert advice.startswith("Please keep an eye on it and compare photos of it once a month.")
    assert "not a diagnosis" in advice and "no need" not in advice.lower()
    assert "Photo result: low risk." in advice  # the rating the question edited away is restated
    assert [label for label, _ in env.telegram.buttons(chat.user_id, offer_id)] == [
        "In 1 month", "In 3 months", "Summary for my doctor (PDF)"]  # no "Where did you look?": no map, no photo kept
    assert len(env.telegram.sent("sendMessage")) == 1  # everything after the photo reply was an edit
    assert rows(env, "SELECT level, score FROM advice") == [("monitor", 0)]
    assert len(rows(env, "SELECT * FROM answers")) == len(QUESTIONS)
    assert max(step_seconds) < 2.0


async def test_answers_combine_with_model_risk_into_urgent_advice(env):
    chat = env.chat()
    await chat.photo(MEDIUM)
    await chat.press_label("Answer the questions")
    for question in QUESTIONS:
        await chat.press_label("Yes" if question.key == "bleeding" else "No")
    advice = env.telegram.texts()[-1]
    assert advice.startswith("Please see a doctor within 2 weeks.")
    assert "• you reported oozing, crusting or bleeding" in advice
    assert "Photo result: medium risk." in advice


async def test_korean_questionnaire_and_advice(env):
    chat = env.chat(language_code="ko")
    await chat.photo(HIGH)
    await chat.press_label("질문에 답하기")
    assert env.telegram.texts()[-1].startswith("질문 1/8")
    for _ in QUESTIONS:
        await chat.press_label("잘 모르겠어요")
    advice = env.telegram.texts()[-1]
    assert advice.startswith("2주 안에 피부과 진료를 받으세요.") and "사진의 위험도가 높게 나왔어요" in advice
    assert "사진 결과: 위험도 높음" in advice
    assert "진료의뢰서 없이 피부과 의원에 바로" in advice  # the Korean care pathway, not the UK GP route


async def test_skipping_gives_safety_first_advice_and_says_the_questions_were_skipped(env):
    # Reproduction (issue 10): after "Skip" the reasons said the user answered "not sure" to questions never asked.
    chat = env.chat()
    await chat.photo(LOW)
    await chat.press_label("Skip")
    advice = env.telegram.texts()[-1]
    assert advice.startswith("Please book a skin check with a doctor in the next few weeks.")
    assert "• you skipped the questions" in advice and "not sure" not in advice
    assert "Photo result: low risk." in advice


async def test_skipping_in_korean_says_so_too(env):
    chat = env.chat(language_code="ko")
    await chat.photo(LOW)
    await chat.press_label("건너뛰기")
    advice = env.telegram.texts()[-1]
    assert advice.startswith("몇 주 안에 피부과 진료를 예약하세요.")
    assert "질문을 건너뛰셔서" in advice and "잘 모르겠어요" not in advice


async def test_skipping_after_some_answers_counts_the_skipped_ones(env):
    chat = env.chat()
    await chat.photo(LOW)
    await chat.press_label("Answer the questions")
    await chat.press_label("No")
    await chat.press_label("Not sure")
    await chat.press(env.telegram.last_message_id(chat.user_id), f"q:skip:{_session_id(env)}")
    advice = env.telegram.texts()[-1]
    assert "• you weren't sure about an irregular shape" in advice
    assert f"• you skipped {len(QUESTIONS) - 2} questions" in advice


async def test_a_typed_answer_during_the_questions_asks_to_tap_a_button(env):
    chat = env.chat()
    await chat.photo(LOW)
    await chat.press_label("Answer the questions")
    for typed in ("yes", "No.", "not sure"):
        await chat.text(typed)
        assert env.telegram.texts()[-1].startswith("Please answer with the buttons")
    korean = env.chat(2, language_code="ko")
    await korean.photo(LOW)
    await korean.text("아니요")
    assert env.telegram.texts()[-1].startswith("사진에 대한 제 메시지 아래의 버튼으로 답해 주세요")
    assert rows(env, "SELECT COUNT(*) FROM answers") == [(0,)]
    await chat.text("it's bleeding a bit")  # a red flag typed during the questions is not a typed answer
    assert "see a doctor within 2 weeks" in env.telegram.texts()[-1]


async def test_a_typed_yes_without_open_questions_is_a_free_text_question(env):
    await env.chat().text("yes")
    assert not env.telegram.texts()[-1].startswith("Please answer with the buttons")


async def test_a_repeated_press_is_recognised_and_not_stored_twice(env):
    chat = env.chat()
    await chat.photo(LOW)
    offer_id = env.telegram.last_message_id(chat.user_id)
    await chat.press_label("Answer the questions")
    await chat.press(offer_id, f"q:ans:{_session_id(env)}:0:y")
    await chat.press(offer_id, f"q:ans:{_session_id(env)}:0:n")  # a double tap on the old question
    assert env.telegram.sent("answerCallbackQuery")[-1].params["text"] == "That question has already been answered."
    assert rows(env, "SELECT position, answer FROM answers") == [(0, "yes")]


async def test_buttons_of_another_user_or_an_old_photo_are_refused(env):
    chat, other = env.chat(1), env.chat(2)
    await chat.photo(LOW)
    old_session = _session_id(env)
    await other.press(env.telegram.last_message_id(1), f"q:start:{old_session}")
    assert env.telegram.sent("answerCallbackQuery")[-1].params["text"].startswith("These questions are closed")
    await chat.photo(HIGH)  # a new photo supersedes the open questionnaire
    await chat.press(env.telegram.last_message_id(1) - 1, f"q:start:{old_session}")
    assert env.telegram.sent("answerCallbackQuery")[-1].params["text"].startswith("These questions are closed")


async def test_restart_in_the_middle_resumes_where_the_user_was(tmp_path):
    first = make_env(make_config(tmp_path))
    async with running(first.application):
        chat = first.chat()
        await chat.photo(LOW)
        offer_id = first.telegram.last_message_id(chat.user_id)
        await chat.press_label("Answer the questions")
        for _ in range(3):
            await chat.press_label("Yes")
    telegram = first.telegram  # the chat screen survives; the bot process does not

    restarted = make_env(first.config, telegram=telegram)  # a new Application on the same database file
    async with running(restarted.application):
        assert telegram.messages[(1, offer_id)]["text"].startswith("Question 4 of 8")
        again = restarted.chat()
        for _ in range(len(QUESTIONS) - 3):
            await again.press_label("No")
    advice = telegram.messages[(1, offer_id)]["text"]
    assert advice.startswith("Please see a doctor within 2 weeks.")  # 3 majors confirmed: 6 points
    assert rows(first, "SELECT COUNT(*) FROM answers") == [(len(QUESTIONS),)]


def _session_id(env):
    return rows(env, "SELECT MAX(id) FROM sessions")[0][0]


async def test_concurrent_presses_store_one_answer_and_one_advice(env):
    chat = env.chat()
    await chat.photo(LOW)
    offer_id = env.telegram.last_message_id(chat.user_id)
    await chat.press_label("Answer the questions")
    session = _session_id(env)
    for position in range(len(QUESTIONS) - 1):
        await chat.press(offer_id, f"q:ans:{session}:{position}:n")
    last = len(QUESTIONS) - 1
    await asyncio.gather(*(chat.press(offer_id, f"q:ans:{session}:{last}:{code}") for code in "ynu" * 3))
    assert len(rows(env, "SELECT * FROM answers")) == len(QUESTIONS)
    assert len(rows(env, "SELECT * FROM advice")) == 1
    assert not any("something went wrong" in text for text in env.telegram.texts())
