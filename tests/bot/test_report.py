"""/report and the button after the advice: a one-page PDF in the user's language with the result, what it
resembles, the answers, the advice and why, the model and its measured figures, and the spot's earlier checks.
Rendered to PNG with pdftoppm (one page) and read back with pdftotext (the text layer, Korean included)."""

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.app import running
from bot.checklist import QUESTIONS
from bot.messages import LANGUAGES, load_catalog
from bot.render import format_datetime, level_phrases
from bot.settings import ReportConfig

from .conftest import make_config, make_env
from .fakes import FakeAnalyzer, make_card
from .v2 import v2

CATALOG = load_catalog()
METRICS = {"lesion": {
    "kaggle_test_leak_free": {"sensitivity_refer": 0.96, "specificity_refer": 0.81, "n": 563, "malignant": 250},
    "pad_ufes_20": {"sensitivity_refer": 0.95, "specificity_refer": 0.47, "n": 300, "malignant": 120},
}}
FIRST, SECOND, RASH = b"first check", b"second check", b"a rash"
LIMITS = {"en": ("Mostly light skin in training",), "ko": ("학습 사진은 대부분 밝은 피부예요",)}


def tools_or_fail() -> None:
    missing = [t for t in ("pdftoppm", "pdftotext") if shutil.which(t) is None]
    if missing:  # scripts/test.sh installs poppler-utils; a silent skip would hide a broken report
        pytest.fail(f"{', '.join(missing)} not found: install poppler-utils (scripts/test.sh does)")


def read_pdf(document: bytes, tmp_path: Path, name: str) -> tuple[str, list[Path]]:
    tools_or_fail()
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(document)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / name)], check=True)
    return text, sorted(tmp_path.glob(f"{name}*.png"))


def squash(text: str) -> str:
    return " ".join(text.split())


def env_for(tmp_path, report: ReportConfig | None = None):
    config = make_config(tmp_path)
    if report is not None:
        config = dataclasses.replace(config, report=report)
    card = dataclasses.replace(make_card(metrics=METRICS), limitations=LIMITS, version="test-2", type_threshold=0.6)
    return make_env(config, FakeAnalyzer(results={
        FIRST: v2(FIRST, "low", 0.12, "keratosis", 0.85), SECOND: v2(SECOND, "medium", 0.41, "keratosis", 0.8),
        RASH: v2(RASH, "low", 0.1, "rash", 0.95, rash=True),
    }, card=card))


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_report_after_a_follow_up_in_both_languages(tmp_path, lang):
    env = env_for(tmp_path)
    async with running(env.application):
        chat = env.chat(language_code=lang)
        await chat.photo(FIRST)
        await chat.press_label(CATALOG.text(lang, "buttons.skip_questions"))
        await chat.photo(SECOND)
        result = env.telegram.last_message_id(chat.user_id) - 1
        prompt = result + 1
        same = [d for _, d in env.telegram.buttons(chat.user_id, prompt) if not d.endswith(":new")]
        await chat.press(prompt, same[0])
        await chat.press_label(CATALOG.text(lang, "buttons.start_questions"))
        answers = [CATALOG.text(lang, "buttons.yes")] + [CATALOG.text(lang, "buttons.no")] * (len(QUESTIONS) - 1)
        for label in answers:
            await chat.press_label(label)
        await chat.press_label(CATALOG.text(lang, "buttons.report"))
        ((document, caption),) = env.telegram.uploads("sendDocument")
        assert caption == CATALOG.text(lang, "report.caption") and document.startswith(b"%PDF")
        text, pages = read_pdf(document, tmp_path, f"report-{lang}")
        assert len(pages) == 1  # one page
        flat = squash(text)
        checks = await env.storage.spot_checks((await env.storage.latest_check(chat.user_id)).spot_id)
        expected = [
            CATALOG.text(lang, "report.title"),
            CATALOG.text(lang, "report.checked_at", date=format_datetime(CATALOG, lang, checks[-1].created_at)),
            CATALOG.text(lang, "result.risk.medium"),
            CATALOG.text(lang, "types.keratosis.name"),
            CATALOG.text(lang, "checklist.questions.size_change"),
            CATALOG.text(lang, "advice.title", when=level_phrases(CATALOG, lang)["urgent"]),  # "yes" to a red flag
            CATALOG.text(lang, "report.previous_header"),
            CATALOG.text(lang, "report.model", version="test-2"),
            "96%", "81%", "47%",  # sensitivity and specificity from the card's metrics
            LIMITS[lang][0],
        ]
        for piece in expected:
            assert squash(piece) in flat, piece
        first_line = CATALOG.text(lang, "report.previous", date=format_datetime(CATALOG, lang, checks[0].created_at),
                                  risk_words=CATALOG.text(lang, "result.risk.low"), score="0.12")
        assert squash(first_line) in flat


async def test_report_command_sends_the_newest_check_or_says_there_is_none(tmp_path):
    env = env_for(tmp_path)
    async with running(env.application):
        chat = env.chat()
        await chat.text("/report")
        assert env.telegram.texts()[-1] == CATALOG.text("en", "report.nothing")
        await chat.photo(RASH)
        await chat.text("/report")
        ((document, _),) = env.telegram.uploads("sendDocument")
        text, _ = read_pdf(document, tmp_path, "rash")
        assert squash(CATALOG.text("en", "report.rash")) in squash(text)
        assert CATALOG.text("en", "report.answers_header") not in text  # no checklist for a rash


async def test_a_report_button_of_another_user_gives_nothing(tmp_path):
    env = env_for(tmp_path)
    async with running(env.application):
        owner, other = env.chat(1), env.chat(2)
        await owner.photo(FIRST)
        check = await env.storage.latest_check(1)
        await other.press(1, f"rep:{check.id}")
        assert env.telegram.uploads("sendDocument") == []
        assert env.telegram.texts()[-1] == CATALOG.text("en", "report.nothing")


async def test_without_the_fonts_english_falls_back_and_korean_explains(tmp_path, caplog):
    missing = ReportConfig(font_path=tmp_path / "none.ttf", bold_font_path=tmp_path / "none-bold.ttf")
    env = env_for(tmp_path, missing)
    async with running(env.application):
        english, korean = env.chat(1, "en"), env.chat(2, "ko")
        for chat in (english, korean):
            await chat.photo(FIRST)
            await chat.text("/report")
        assert len(env.telegram.uploads("sendDocument")) == 1  # the English one, in Helvetica
        text, _ = read_pdf(env.telegram.uploads("sendDocument")[0][0], tmp_path, "helvetica")
        assert CATALOG.text("en", "report.title") in text
        assert env.telegram.texts()[-1] == CATALOG.text("ko", "report.unavailable")
        assert "fonts-nanum" in caplog.text
