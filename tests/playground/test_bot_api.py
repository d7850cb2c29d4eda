"""Protocol conformance: python-telegram-bot's own `Bot` talks to the emulator as it would to Telegram."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest
import telegram
from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.error import BadRequest, Conflict, EndPointNotFound, InvalidToken, NetworkError, RetryAfter, TimedOut

from playground.faults import Fault
from tests.playground.conftest import TOKEN


def make_bot(emulator, token=TOKEN):
    return telegram.Bot(token, base_url=emulator.api_base_url, base_file_url=emulator.file_base_url)


async def test_get_me_and_wrong_token(emulator):
    async with make_bot(emulator) as bot:
        me = await bot.get_me()
    assert me.is_bot and me.id == 4242 and me.username == "skinbot_playground_bot"
    with pytest.raises(InvalidToken):
        async with make_bot(emulator, "4242:WRONG"):
            pass


async def test_user_photo_reaches_bot_as_photo_sizes_and_downloads(emulator, png_bytes):
    user = emulator.world.add_user("Ann", "ko")
    await emulator.world.user_photo(user["id"], png_bytes, caption="my arm")
    async with make_bot(emulator) as bot:
        (update,) = await bot.get_updates(timeout=1)
        message = update.message
        assert message.from_user.language_code == "ko" and message.caption == "my arm"
        sides = [max(p.width, p.height) for p in message.photo]
        assert sides == [90, 320, 800, 1280]
        largest = await (await message.photo[-1].get_file()).download_as_bytearray()
    with Image.open(io.BytesIO(largest)) as image:
        assert image.format == "JPEG" and image.size == (1280, 960)


async def test_get_updates_confirms_with_offset_and_long_polls(emulator):
    user = emulator.world.add_user("Bo")
    async with make_bot(emulator) as bot:
        await emulator.world.user_text(user["id"], "/start now")
        (first,) = await bot.get_updates(timeout=0)
        assert first.message.text == "/start now"
        assert first.message.entities[0].type == "bot_command" and first.message.entities[0].length == 6
        # not confirmed yet: delivered again
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first.update_id]

        async def later():
            await asyncio.sleep(0.3)
            await emulator.world.user_text(user["id"], "hello")

        task = asyncio.create_task(later())
        started = asyncio.get_running_loop().time()
        (second,) = await bot.get_updates(offset=first.update_id + 1, timeout=5)
        waited = asyncio.get_running_loop().time() - started
        await task
        assert second.message.text == "hello" and second.update_id == first.update_id + 1
        assert 0.2 < waited < 3
        assert await bot.get_updates(offset=second.update_id + 1, timeout=0) == ()


async def test_second_poller_ends_the_first_with_conflict(emulator):
    async with make_bot(emulator) as old_instance, make_bot(emulator) as new_instance:
        first = asyncio.create_task(old_instance.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(new_instance.get_updates(timeout=0.2))
        with pytest.raises(Conflict):
            await first
        assert await second == ()


async def test_buttons_callbacks_and_edits(emulator):
    user = emulator.world.add_user("Cy")
    chat_id = user["id"]
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="q1:yes"),
                                    InlineKeyboardButton("No", callback_data="q1:no")]])
    async with make_bot(emulator) as bot:
        sent = await bot.send_message(chat_id, "Has it <b>grown</b>?", parse_mode="HTML", reply_markup=markup)
        assert sent.text == "Has it grown?" and sent.entities[0].type == "bold"
        await emulator.world.user_press(chat_id, sent.message_id, "q1:yes")
        (update,) = await bot.get_updates(timeout=1)
        query = update.callback_query
        assert query.data == "q1:yes" and query.message.message_id == sent.message_id
        assert await bot.answer_callback_query(query.id, text="Noted")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query.id)
        edited = await bot.edit_message_text("Has it grown? Yes", chat_id=chat_id, message_id=sent.message_id)
        assert edited.edit_date is not None and edited.reply_markup is None
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("Has it grown? Yes", chat_id=chat_id, message_id=sent.message_id)
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=sent.message_id, reply_markup=markup)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(chat_id, "1 < 2", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(999, "hi")
        assert await bot.delete_message(chat_id, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("gone", chat_id=chat_id, message_id=sent.message_id)
    kinds = [e.kind for e in emulator.world.events if e.chat_id == chat_id]
    assert kinds == ["message", "callback_answer", "edit", "edit", "delete"]
    with pytest.raises(KeyError):
        await emulator.world.user_press(chat_id, sent.message_id, "q1:yes")


async def test_photos_documents_actions_commands_and_reply_keyboards(emulator, png_bytes):
    user = emulator.world.add_user("Di")
    chat_id = user["id"]
    async with make_bot(emulator) as bot:
        photo = await bot.send_photo(chat_id, png_bytes, caption="<i>example</i>", parse_mode="HTML")
        assert photo.caption == "example" and len(photo.photo) == 4
        document = await bot.send_document(chat_id, b"report", filename="report.txt")
        assert document.document.file_name == "report.txt" and document.document.file_size == 6
        again = await bot.send_photo(chat_id, photo.photo[-1].file_id)
        assert again.photo[-1].width == 1280
        assert await bot.send_chat_action(chat_id, "typing")
        await bot.send_message(chat_id, "Pick", reply_markup=ReplyKeyboardMarkup([["Yes", "No"]]))
        await bot.set_my_commands([("start", "Start"), ("forget", "Delete my data")], language_code="ko")
        assert [c.command for c in await bot.get_my_commands(language_code="ko")] == ["start", "forget"]
        assert await bot.get_my_commands() == ()
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start!", "bad")])
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await bot.send_photo(chat_id, "no-such-file-id")
    keyboards = [e.payload["keyboard"] for e in emulator.world.events if e.kind == "message"]
    assert [button["text"] for button in keyboards[-1]["keyboard"][0]] == ["Yes", "No"]
    assert all(k is None for k in keyboards[:-1])


async def test_unknown_method_answers_like_telegram(emulator):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.api_base_url}{TOKEN}/fooBar", json={}) as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404,
                                             "description": "Not Found: method not found"}
        # JSON bodies and query strings are accepted as well as forms
        async with session.get(f"{emulator.api_base_url}{TOKEN}/getUpdates?timeout=0&limit=5") as response:
            assert await response.json() == {"ok": True, "result": []}
    async with make_bot(emulator) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("fooBar")


async def test_injected_faults_reach_the_client_and_do_not_execute(emulator):
    user = emulator.world.add_user("Ed")
    async with make_bot(emulator) as bot:
        emulator.faults.add(Fault("429", method="sendMessage", retry_after=7))
        with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
            await bot.send_message(user["id"], "one")
        emulator.faults.add(Fault("502", method="sendMessage"))
        with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
            await bot.send_message(user["id"], "two")
        emulator.faults.add(Fault("drop", method="sendMessage"))
        with pytest.raises(NetworkError, match=r"(?i)disconnected"):
            await bot.send_message(user["id"], "three")
        emulator.faults.add(Fault("delay", method="sendMessage", delay=1.5))
        with pytest.raises(TimedOut):
            await bot.send_message(user["id"], "four", read_timeout=0.3)
        await asyncio.sleep(1.5)
        emulator.faults.add(Fault("delay", method="sendMessage", delay=0.3))
        await bot.send_message(user["id"], "five")
    assert [m["text"] for m in emulator.world.transcript(user["id"])] == ["five"]
    assert emulator.faults.fired == {"429": 1, "502": 1, "drop": 1, "delay": 2}


async def test_replies_quote_the_original_message(emulator):
    user = emulator.world.add_user("Fi")
    original = await emulator.world.user_text(user["id"], "is it bad?")
    async with make_bot(emulator) as bot:
        reply = await bot.send_message(user["id"], "No", reply_to_message_id=original["message_id"])
        assert reply.reply_to_message.text == "is it bad?"
        with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
            await bot.send_message(user["id"], "No", reply_to_message_id=999)
        lenient = await bot.send_message(user["id"], "ok", reply_parameters=telegram.ReplyParameters(
            999, allow_sending_without_reply=True))
        assert lenient.reply_to_message is None
