import asyncio
import sqlite3
import time
from dataclasses import replace

from bot.app import running
from bot.checklist import QUESTIONS
from bot.messages import load_catalog

from .conftest import LOW, make_config, make_env
from .fakes import count_user_rows

CATALOG = load_catalog()


async def full_check(chat):
    await chat.photo(LOW)
    await chat.press_label("Answer the questions")
    for _ in QUESTIONS:
        await chat.press_label("No")


async def test_forget_after_confirmation_leaves_no_row(env):
    chat, other = env.chat(1), env.chat(2)
    for user in (chat, other):
        await full_check(user)
        await user.press_label("In 3 months")
        await user.text("what does medium risk mean?")
        await user.photo(LOW)  # a follow-up of the same spot: a row in `spots`
        prompt = env.telegram.last_message_id(user.user_id)
        same = [data for _, data in env.telegram.buttons(user.user_id, prompt) if not data.endswith(":new")]
        await user.press(prompt, same[0])
        await user.photo(LOW, media_group_id=f"album-{user.user_id}")  # rows in `albums` (and `photo_admissions`)
    await chat.text("/forget")
    assert "can't be undone" in env.telegram.texts()[-1]
    await chat.press_label("Yes, delete everything")
    assert env.telegram.texts()[-1] == "Done. I've deleted everything I had stored about you."
    assert set((await count_user_rows(env.storage, 1)).values()) == {0}
    assert all(count > 0 for count in (await count_user_rows(env.storage, 2)).values())


async def test_forget_can_be_declined(env):
    chat = env.chat()
    await full_check(chat)
    await chat.text("/forget")
    await chat.press_label("No, keep it")
    assert env.telegram.texts()[-1] == "OK, I didn't delete anything."
    assert (await count_user_rows(env.storage, 1))["assessments"] == 1


async def test_reminder_button_after_advice_stores_and_schedules_it(env):
    chat = env.chat()
    await full_check(chat)
    advice_id = env.telegram.last_message_id(1)
    await chat.press_label("In 1 month")
    (reminder,) = await env.storage.pending_reminders()
    assert abs(reminder.due_at - (time.time() + 30 * 86400)) < 60
    assert env.application.job_queue.get_jobs_by_name(f"reminder:{reminder.id}")
    due = time.gmtime(reminder.due_at)  # "1 March 2027", as people write dates
    assert env.telegram.texts()[-1] == f"OK, I'll remind you on {due.tm_mday} {time.strftime('%B %Y', due)}."
    assert env.telegram.buttons(1, advice_id) == []  # the advice stays, its buttons go


async def test_remind_command_offers_the_configured_delays(env):
    chat = env.chat(language_code="ko")
    await chat.text("/remind")
    assert env.telegram.texts()[-1] == "언제 점을 다시 확인하시도록 알려 드릴까요?"
    labels = [label for label, _ in env.telegram.buttons(1, env.telegram.last_message_id(1))]
    assert labels == ["1개월 뒤에", "3개월 뒤에"]
    await chat.press(env.telegram.last_message_id(1), "remind:7")  # not a configured delay: ignored
    assert await env.storage.pending_reminders() == []


async def test_reminders_survive_a_restart_and_are_delivered_once(tmp_path):
    config = make_config(tmp_path)
    first = make_env(config)
    async with running(first.application):
        await first.storage.set_language(5, "ko")
        due = await first.storage.add_reminder(5, 50, time.time() + 0.5)
        gone = await first.storage.add_reminder(6, 60, time.time() + 0.5)
        await first.storage.forget_user(6)
        await first.storage.add_reminder(7, 70, time.time() + 86400)
    # The bot was down when the reminder fell due; the new process re-schedules it from the database.
    await asyncio.sleep(0.6)
    restarted = make_env(config)
    async with running(restarted.application):
        for _ in range(50):
            if restarted.telegram.sent("sendMessage"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
        sent = restarted.telegram.sent("sendMessage")
        assert [(c.params["chat_id"], c.params["text"][:5]) for c in sent] == [(50, "안녕하세요")]
        assert [r.user_id for r in await restarted.storage.pending_reminders()] == [7]
    with sqlite3.connect(config.storage.sqlite_path) as db:
        assert db.execute("SELECT sent_at IS NOT NULL FROM reminders WHERE id = ?", (due.id,)).fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM reminders WHERE id = ?", (gone.id,)).fetchone() == (0,)


async def test_a_reminder_speaks_the_language_of_the_chat_it_was_set_in(tmp_path):
    """No /language choice: the reminder, which falls due with no update to take a language from, is sent in the
    language the user was talked to in when they set it; a choice made since wins."""
    config = make_config(tmp_path)
    env = make_env(replace(config, bot=replace(config.bot, reminder_month_s=0.2)))
    texts = {lang: CATALOG.text(lang, "remind.message") for lang in ("en", "ko")}

    def reminders():
        return {c.params["chat_id"]: c.params["text"] for c in env.telegram.sent("sendMessage")
                if c.params["text"] in texts.values()}

    async with running(env.application):
        for user in (1, 2):
            chat = env.chat(user, language_code="ko")
            await chat.text("/remind")
            await chat.press(env.telegram.last_message_id(user), "remind:1")
        await env.storage.set_language(2, "en")
        for _ in range(50):
            if len(reminders()) == 2:
                break
            await asyncio.sleep(0.1)
    assert reminders() == {1: texts["ko"], 2: texts["en"]}
