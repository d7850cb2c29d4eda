"""The bot with the real inference pipeline and the committed model (models/model_card.json; SKINBOT_TEST_MODELS
may point at another model directory)."""

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import build_application, running
from bot.checklist import QUESTIONS
from inference.pipeline import Pipeline
from skinbot.config import ModelsConfig

from .conftest import TOKEN, make_config
from .fakes import Chat, FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "fixtures" / "images"


@pytest.fixture
async def real_bot(tmp_path):
    models = Path(os.environ.get("SKINBOT_TEST_MODELS", ROOT / "models"))
    if not (models / "model_card.json").is_file():
        pytest.fail(f"no model card in {models}: these tests serve the real model (train and export it)")
    config = replace(make_config(tmp_path), models=ModelsConfig(dir=models))
    pipeline = Pipeline.from_config(config)
    telegram = FakeTelegram()
    application = build_application(config, pipeline, TOKEN, request=telegram, file_transport=telegram.file_transport())
    try:
        async with running(application):
            yield application, telegram, pipeline
    finally:
        pipeline.close()


async def test_lesion_photo_questions_and_advice_each_within_two_seconds(real_bot):
    application, telegram, pipeline = real_bot
    chat = Chat(application, telegram, 1)
    steps = []
    started = time.perf_counter()
    await chat.photo((IMAGES / "malignant_1.jpg").read_bytes())
    steps.append(time.perf_counter() - started)
    reply = telegram.texts()[-1]
    assert reply.startswith("Result: ") and "risk" in reply
    await chat.press_label("Answer the questions")
    for _ in QUESTIONS:
        started = time.perf_counter()
        await chat.press_label("Not sure")
        steps.append(time.perf_counter() - started)
    advice = telegram.texts()[-1]
    assert advice.startswith(("Please see a doctor within 2 weeks.", "Please book a skin check"))
    assert max(steps) < 2.0
    await chat.text("/about")
    assert pipeline.card.version in telegram.texts()[-1]


async def test_not_skin_photo_gets_the_retake_explanation(real_bot):
    application, telegram, _ = real_bot
    await Chat(application, telegram, 2).photo((IMAGES / "notskin_receipt.jpg").read_bytes())
    assert "How to retake it" in telegram.texts()[-1]
