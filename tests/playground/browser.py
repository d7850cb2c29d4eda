"""Headless Chromium for the browser tests (Debian `chromium` + `chromium-driver`, which `.ci/run` installs)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--window-size=420,860",  # a phone-sized window: the page is meant for mobile first
)


@contextmanager
def headless_chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium session; fails (never skips) when Chromium or its driver is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.fail("the browser test needs Debian's chromium and chromium-driver (.ci/run installs them)")
    with tempfile.TemporaryDirectory(prefix="skinbot-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        try:
            session.set_page_load_timeout(30)
            yield session
        finally:
            session.quit()


T = TypeVar("T")


async def drive_with_bot(bot: Coroutine[Any, Any, None], drive: Callable[[], T], timeout: float) -> T:
    """Run a scripted bot while `drive` (blocking browser steps) runs in a thread; stop the bot afterwards."""
    responder = asyncio.create_task(bot)
    try:
        return await asyncio.wait_for(asyncio.to_thread(drive), timeout=timeout)
    finally:
        responder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await responder
