"""The chat page in headless Chromium, against the emulator and a small scripted bot (PTB's `Bot`).

The real bot drives the same page in tests/e2e; this test pins the page's own behaviour: upload, replies,
inline buttons, edits in place, users and languages.
"""

from __future__ import annotations

from pathlib import Path

import telegram
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.playground.browser import drive_with_bot, headless_chromium
from tests.playground.conftest import TOKEN

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "images" / "benign_1.jpg"


async def scripted_bot(emulator) -> None:
    """Replies to photos with a question and two buttons, to a tap with an edit, to text with an echo."""
    keyboard = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("Yes", callback_data="yes"),
                                               telegram.InlineKeyboardButton("No", callback_data="no")]])
    offset = 0
    async with telegram.Bot(TOKEN, base_url=emulator.api_base_url, base_file_url=emulator.file_base_url) as bot:
        while True:
            for update in await bot.get_updates(offset=offset, timeout=5):
                offset = update.update_id + 1
                if update.message and update.message.photo:
                    size = update.message.photo[-1]
                    await bot.send_chat_action(update.message.chat.id, "typing")
                    await bot.send_message(update.message.chat.id, f"<b>Photo</b> {size.width}x{size.height}. Itchy?",
                                           parse_mode="HTML", reply_markup=keyboard)
                elif update.callback_query:
                    query = update.callback_query
                    await bot.answer_callback_query(query.id, text="Noted")
                    await bot.edit_message_text(f"Itchy? {query.data}", chat_id=query.message.chat.id,
                                                message_id=query.message.message_id)
                elif update.message and update.message.text:
                    lang = update.message.from_user.language_code
                    await bot.send_message(update.message.chat.id, f"echo[{lang}]: {update.message.text}")


async def test_browser_uploads_photo_reads_reply_and_presses_button(emulator):
    def drive() -> dict[str, object]:
        with headless_chromium() as browser:
            # edits replace a bubble in place, so an element found a moment ago can go stale
            wait = WebDriverWait(browser, 15, ignored_exceptions=[StaleElementReferenceException])
            browser.get(emulator.url + "/")
            # the page creates two users on first load; the first (English) is selected
            wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#user-select option")) == 2)
            browser.find_element(By.ID, "photo-input").send_keys(str(PHOTO))
            reply = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".msg.bot")))
            sent_photo = browser.find_element(By.CSS_SELECTOR, ".msg.user img")
            wait.until(lambda b: sent_photo.get_property("naturalWidth") > 0)
            reply_text = reply.find_element(By.CSS_SELECTOR, ".text").text
            bold = reply.find_element(By.CSS_SELECTOR, ".text b").text
            reply.find_element(By.CSS_SELECTOR, "button[data-callback='yes']").click()
            edited = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".msg.bot .text").text == "Itchy? yes"
                                and b.find_element(By.CSS_SELECTOR, ".msg.bot"))
            toast = wait.until(ec.visibility_of_element_located((By.ID, "toast"))).text
            bot_bubbles = len(browser.find_elements(By.CSS_SELECTOR, ".msg.bot"))
            buttons_left = len(edited.find_elements(By.CSS_SELECTOR, "button"))
            # a new Korean user gets their own, empty chat and the bot sees their language
            browser.find_element(By.CSS_SELECTOR, "#new-user summary").click()
            browser.find_element(By.ID, "new-user-name").send_keys("민수")
            browser.find_element(By.CSS_SELECTOR, "#new-user-lang option[value='ko']").click()
            browser.find_element(By.ID, "new-user-btn").click()
            wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#user-select option")) == 3)
            wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, ".msg"))
            browser.find_element(By.ID, "text-input").send_keys("안녕하세요\n")
            echo = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".msg.bot .text"))[0].text
            return {"reply": reply_text, "bold": bold, "toast": toast, "bubbles": bot_bubbles,
                    "buttons_left": buttons_left, "echo": echo}

    seen = await drive_with_bot(scripted_bot(emulator), drive, timeout=90)
    assert seen["reply"].startswith("Photo 224x224") and seen["bold"] == "Photo"
    assert seen["toast"] == "Noted"
    assert seen["bubbles"] == 1 and seen["buttons_left"] == 0  # edited in place, keyboard gone
    assert seen["echo"] == "echo[ko]: 안녕하세요"
