"""A crash (SIGKILL) in the middle of the questionnaire loses nothing: the restarted bot carries on."""

from __future__ import annotations

from playground.client import buttons
from tests.e2e.conftest import Stack, last_reply, message_text, press, send_photo


async def test_sigkill_mid_questionnaire_then_restart_resumes_with_no_lost_rows(stack: Stack):
    chat = await stack.client.new_chat("Eve", "en")
    result = await send_photo(chat, "malignant_1.jpg")
    question = await press(chat, result, "q:start")
    for _ in range(3):
        question = await press(chat, question, "q:ans")
    answered = stack.rows("SELECT position, answer FROM answers ORDER BY position")
    assert answered == [(0, "yes"), (1, "yes"), (2, "yes")]
    assert message_text(question).startswith("Question 4 of")

    await stack.bot.kill()
    # The user taps "No" on question 4 while the bot is down: Telegram (the emulator) keeps the update.
    no_button = next(b["callback_data"] for b in buttons(question) if b["callback_data"].endswith(":n"))
    await chat.press(question["message_id"], no_button)
    await stack.bot.start()

    question = await last_reply(chat)
    assert message_text(question).startswith("Question 5 of")
    while buttons(question)[0]["callback_data"].startswith("q:ans"):
        question = await press(chat, question, "q:ans")
    assert buttons(question)[0]["callback_data"].startswith("remind:")
    rows = stack.rows("SELECT position, answer FROM answers ORDER BY position")
    assert rows[:4] == [*answered, (3, "no")]
    assert [position for position, _ in rows] == list(range(len(rows))) and len(rows) == 8
    assert stack.rows("SELECT status FROM sessions") == [("done",)]
    assert stack.rows("SELECT COUNT(*) FROM advice") == [(1,)]
