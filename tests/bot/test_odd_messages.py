import pytest

from .conftest import LOW

UNSUPPORTED = "I can only look at photos"


@pytest.mark.parametrize(
    "fields",
    [
        {"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
                     "is_animated": False, "is_video": False}},
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 2}},
        {"video": {"file_id": "d", "file_unique_id": "d", "width": 1, "height": 1, "duration": 1}},
        {"video_note": {"file_id": "n", "file_unique_id": "n", "length": 1, "duration": 1}},
        {"audio": {"file_id": "a", "file_unique_id": "a", "duration": 1}},
        {"location": {"latitude": 37.5, "longitude": 127.0}},
        {"contact": {"phone_number": "+8210", "first_name": "K"}},
        {"dice": {"emoji": "🎲", "value": 3}},
    ],
)
async def test_other_message_kinds_get_a_short_reply(env, fields):
    await env.chat().send(**fields)
    assert env.telegram.texts() == [env.telegram.texts()[0]] and env.telegram.texts()[0].startswith(UNSUPPORTED)


async def test_unsupported_in_korean(env):
    await env.chat(language_code="ko").send(location={"latitude": 1.0, "longitude": 2.0})
    assert env.telegram.texts()[0].startswith("저는 피부의 점 사진을 보고")


async def test_edited_messages_are_ignored_on_purpose(env):
    await env.chat().send("edited_message", text="what is melanoma", edit_date=1)
    await env.chat().send("edited_message", photo=[{"file_id": "p", "file_unique_id": "p", "width": 9, "height": 9}],
                          edit_date=1)
    assert env.telegram.calls[-1].method == "setMyCommands"  # nothing sent after start-up


async def test_group_messages_are_ignored_and_group_commands_get_a_private_only_reply(env):
    group = env.chat(chat={"id": -100, "type": "group", "title": "friends"})
    await group.text("what is melanoma")
    await group.photo(LOW)
    assert env.telegram.texts() == [] and env.analyzer.threads == []
    await group.text("/start@skinbot_test_bot")
    assert env.telegram.texts() == ["For your privacy I only work in a private chat. Please message me directly."]


async def test_unknown_button_data_is_answered_quietly(env):
    chat = env.chat()
    await chat.press(1, "something-from-an-old-version")
    assert env.telegram.sent("answerCallbackQuery") and env.telegram.texts() == []


async def test_service_messages_in_private_chats_are_ignored(env):
    await env.chat().send(new_chat_title="x")
    assert env.telegram.texts() == []
