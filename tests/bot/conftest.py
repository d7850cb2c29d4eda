import hashlib
from dataclasses import dataclass, replace

import pytest

from bot.app import build_application, running
from bot.settings import BotConfig, StorageConfig
from inference.assessment import Assessment
from skinbot.config import Config

from .fakes import Chat, FakeAnalyzer, FakeTelegram

TOKEN = "123:TEST-TOKEN"


def ok(data: bytes, risk: str) -> Assessment:
    malignancy = {"low": 0.05, "medium": 0.4, "high": 0.9}[risk]
    return Assessment(status="ok", lesion_score=0.97, malignancy=malignancy, risk=risk, model_version="test-1",
                      image_sha256=hashlib.sha256(data).hexdigest(), timings_ms={"total": 20.0})


LOW, MEDIUM, HIGH = b"low-risk-spot", b"medium-risk-spot", b"high-risk-spot"
NOT_SKIN, BLURRY, BROKEN = b"a receipt", b"blurry and dark", b"\x00garbage"
RESULTS = {
    LOW: ok(LOW, "low"),
    MEDIUM: ok(MEDIUM, "medium"),
    HIGH: ok(HIGH, "high"),
    NOT_SKIN: Assessment(status="not_skin", lesion_score=0.02, model_version="test-1", image_sha256="ff" * 32),
    BLURRY: Assessment(status="poor_quality", issues=("blurry", "too_dark"), model_version="test-1",
                       image_sha256="ee" * 32),
    BROKEN: Assessment(status="unreadable", issues=("truncated",), model_version="test-1"),
}


def make_config(tmp_path, **bot_fields) -> Config:
    return Config(
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'bot.db'}", photos_dir=tmp_path / "photos"),
        bot=replace(BotConfig(), **bot_fields),
    )


@dataclass
class BotEnv:
    application: object
    telegram: FakeTelegram
    analyzer: FakeAnalyzer
    config: Config

    def chat(self, user_id: int = 1, language_code: str | None = "en", **kwargs) -> Chat:
        return Chat(self.application, self.telegram, user_id, language_code, **kwargs)

    @property
    def storage(self):
        return self.application.bot_data["skinbot.services"].storage


def make_env(config: Config, analyzer: FakeAnalyzer | None = None, telegram: FakeTelegram | None = None) -> BotEnv:
    telegram = telegram or FakeTelegram()
    analyzer = analyzer or FakeAnalyzer(results=dict(RESULTS))
    application = build_application(config, analyzer, TOKEN, request=telegram, file_transport=telegram.file_transport())
    return BotEnv(application, telegram, analyzer, config)


@pytest.fixture
async def env(tmp_path):
    bot_env = make_env(make_config(tmp_path))
    async with running(bot_env.application):
        yield bot_env
