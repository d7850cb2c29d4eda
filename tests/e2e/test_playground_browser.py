"""`skinbot run` without a token serves the playground; headless Chromium sends a photo from the page, reads the
real bot's reply and taps a button; Ctrl-C stops everything cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import IMAGES, REPO, write_config
from tests.playground.browser import headless_chromium

URL_LINE = re.compile(r"open (http://127\.0\.0\.1:\d+) in a browser")


async def wait_for_url(process: asyncio.subprocess.Process, timeout: float) -> str:
    assert process.stdout is not None
    seen = []
    async with asyncio.timeout(timeout):
        while line := (await process.stdout.readline()).decode():
            seen.append(line)
            if found := URL_LINE.search(line):
                return found.group(1)
    raise AssertionError(f"skinbot run ended without printing the playground URL:\n{''.join(seen)}")


def use_page(url: str, screenshot: Path) -> dict[str, str]:
    with headless_chromium() as browser:
        wait = WebDriverWait(browser, 30, ignored_exceptions=[StaleElementReferenceException])
        browser.get(url)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#user-select option"))
        browser.find_element(By.ID, "text-input").send_keys("/start\n")
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".msg.bot"))
        browser.find_element(By.ID, "photo-input").send_keys(str(IMAGES / "malignant_1.jpg"))
        result = wait.until(lambda b: [m for m in b.find_elements(By.CSS_SELECTOR, ".msg.bot .text")
                                       if m.text.startswith("Result:")])[0].text
        browser.save_screenshot(str(screenshot))
        browser.find_element(By.CSS_SELECTOR, ".msg.bot button[data-callback^='q:start']").click()
        question = wait.until(lambda b: [m for m in b.find_elements(By.CSS_SELECTOR, ".msg.bot .text")
                                         if m.text.startswith("Question 1 of")])[0].text
        return {"result": result, "question": question,
                "bubbles": str(len(browser.find_elements(By.CSS_SELECTOR, ".msg.bot")))}


async def test_playground_serves_the_real_bot_to_a_browser(tmp_path: Path):
    storage = {"url": f"sqlite:///{tmp_path / 'db'}"}
    config_path = write_config(tmp_path, {"playground": {"port": 0}, "storage": storage})
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "skinbot", "--config", str(config_path), "run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=REPO)
    try:
        url = await wait_for_url(process, timeout=90)
        seen = await asyncio.to_thread(use_page, url, tmp_path / "playground.png")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C
        code = await asyncio.wait_for(process.wait(), 30)
    assert re.match(r"Result: (low|medium|high) risk\.", seen["result"])
    assert seen["question"].startswith("Question 1 of 8")
    assert seen["bubbles"] == "2"  # the /start text and the result, edited in place into the question
    assert code == 0
    assert (tmp_path / "playground.png").stat().st_size > 10_000
