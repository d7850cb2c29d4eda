"""The chat page in headless Chromium: its own labels in the chosen user's language, the empty-chat hint, tappable
/commands, Korean wrapping at word boundaries, and edits scrolled into view.

Set SKINBOT_SCREENSHOT=<file.png> to keep a screenshot of the Korean chat.
"""

from __future__ import annotations

import os

import telegram
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.playground.browser import drive_with_bot, headless_chromium
from tests.playground.conftest import TOKEN

SENTENCE = "피부과 전문의가 진료하는 피부과 의원에 예약하시고, 변하거나 특이한 점이 걱정된다고 말씀하세요."
LONG_KOREAN = " ".join([SENTENCE] * 3)


async def scripted_bot(emulator) -> None:
    """/start -> a Korean text naming commands; "fill" -> many messages; "edit" -> edits the first bot message."""
    first: telegram.Message | None = None
    offset = 0
    async with telegram.Bot(TOKEN, base_url=emulator.api_base_url, base_file_url=emulator.file_base_url) as bot:
        while True:
            for update in await bot.get_updates(offset=offset, timeout=5):
                offset = update.update_id + 1
                if not (update.message and update.message.text):
                    continue
                chat_id, text = update.message.chat.id, update.message.text
                if text == "/start":
                    text = f"{LONG_KOREAN} 도움말은 /help, 지우려면 /forget으로 하세요."
                    first = await bot.send_message(chat_id, text)
                elif text == "fill":
                    for number in range(25):
                        await bot.send_message(chat_id, f"filler {number}")
                elif text == "edit" and first is not None:
                    await bot.edit_message_text("edited: 질문 2/8", chat_id=chat_id, message_id=first.message_id)
                else:
                    await bot.send_message(chat_id, f"got {text}")


def in_view(browser: WebDriver, element) -> bool:
    return bool(browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(), box = document.getElementById('messages')"
        ".getBoundingClientRect(); return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;", element))


async def test_page_speaks_the_users_language_and_taps_commands(emulator):
    def drive() -> dict[str, object]:
        seen: dict[str, object] = {}
        with headless_chromium() as browser:
            wait = WebDriverWait(browser, 15, ignored_exceptions=[StaleElementReferenceException])
            browser.get(emulator.url + "/")
            wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#user-select option")) == 2)
            seen["en_send"] = browser.find_element(By.ID, "send-btn").text
            seen["en_hint"] = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".empty-hint")).text
            browser.find_element(By.CSS_SELECTOR, "#user-select option:nth-child(2)").click()  # 지민 (ko)
            wait.until(lambda b: b.find_element(By.ID, "send-btn").text == "보내기")
            seen["lang"] = browser.find_element(By.TAG_NAME, "html").get_attribute("lang")
            seen["placeholder"] = browser.find_element(By.ID, "text-input").get_attribute("placeholder")
            seen["subtitle"] = browser.find_element(By.CSS_SELECTOR, ".subtitle").text
            hint = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".empty-hint"))
            seen["ko_hint"] = hint.text
            hint.find_element(By.CSS_SELECTOR, "a.command").click()  # the hint's /start
            reply = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".msg.bot"))
            seen["hint_gone"] = not browser.find_elements(By.CSS_SELECTOR, ".empty-hint")
            seen["sent"] = browser.find_element(By.CSS_SELECTOR, ".msg.user .text").text
            seen["commands"] = [a.text for a in reply.find_elements(By.CSS_SELECTOR, "a.command")]
            seen["word_break"] = reply.value_of_css_property("word-break")
            # every line break of the long Korean text falls at a space, never inside a word
            seen["lines"] = browser.execute_script(
                "const t = arguments[0].querySelector('.text').firstChild, r = document.createRange(), out = [];"
                "let top = null, line = '';"
                "for (let i = 0; i < t.length; i++) { r.setStart(t, i); r.setEnd(t, i + 1);"
                "  const y = Math.round(r.getBoundingClientRect().top);"
                "  if (top !== null && y > top + 2) { out.push(line); line = ''; } top = y; line += t.data[i]; }"
                "out.push(line); return out;", reply)
            if os.environ.get("SKINBOT_SCREENSHOT"):
                browser.save_screenshot(os.environ["SKINBOT_SCREENSHOT"])
            reply.find_element(By.XPATH, ".//a[text()='/help']").click()
            wait.until(lambda b: b.find_elements(By.XPATH, "//div[contains(@class,'user')]//*[text()='/help']"))
            browser.find_element(By.ID, "text-input").send_keys("fill\n")
            wait.until(lambda b: any(e.text == "filler 24" for e in b.find_elements(By.CSS_SELECTOR, ".msg.bot .text")))
            seen["first_in_view_before"] = in_view(browser, browser.find_element(By.CSS_SELECTOR, ".msg.bot"))
            browser.find_element(By.ID, "text-input").send_keys("edit\n")
            edited = wait.until(lambda b: next((e for e in b.find_elements(By.CSS_SELECTOR, ".msg.bot")
                                                if e.text.startswith("edited: 질문 2/8")), None))
            wait.until(lambda b: in_view(b, edited))
            seen["edited_meta"] = edited.find_element(By.CSS_SELECTOR, ".meta").text
            browser.find_element(By.CSS_SELECTOR, "#user-select option:nth-child(1)").click()  # back to Alex (en)
            wait.until(lambda b: b.find_element(By.ID, "send-btn").text == "Send")
        return seen

    seen = await drive_with_bot(scripted_bot(emulator), drive, timeout=120)
    assert seen["en_send"] == "Send" and "Send /start to begin" in str(seen["en_hint"])
    assert seen["lang"] == "ko" and seen["placeholder"] == "메시지" and "플레이그라운드" in str(seen["subtitle"])
    assert str(seen["ko_hint"]).startswith("아직 메시지가 없어요. /start를 보내")
    assert seen["hint_gone"] and seen["sent"] == "/start"
    assert seen["commands"] == ["/help", "/forget"]  # "/forget으로": the command ends before the particle
    assert seen["word_break"] == "keep-all"
    lines = seen["lines"]
    assert isinstance(lines, list) and len(lines) > 2
    assert all(line.endswith(" ") for line in lines[:-1]), lines  # wrapped at spaces only
    assert seen["first_in_view_before"] is False  # the edit happened out of view, and was scrolled to
    assert str(seen["edited_meta"]).startswith("수정됨")
