"""The typed configuration: `config.yaml` plus a few environment overrides, loaded into one frozen object.

Every section is a frozen dataclass; unknown keys and wrong types are refused with a message that names the key,
so a typo in `config.yaml` fails loudly at start-up instead of silently using a default.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from inference.settings import InferenceConfig as InferenceConfig  # re-exported: inference owns its settings
from skinbot import resources
from skinbot.vocabulary import Language


class ConfigError(ValueError):
    """The configuration file or an override is invalid."""


@dataclass(frozen=True)
class DataConfig:
    root: Path = Path("data")


@dataclass(frozen=True)
class ModelsConfig:
    dir: Path = Path("models")

    @property
    def card_path(self) -> Path:
        return self.dir / "model_card.json"


@dataclass(frozen=True)
class TrainConfig:
    """`skinbot train`: end-to-end fine-tuning (train/finetune.py) and threshold rules (train/calibrate.py)."""

    cache_dir: Path = Path("cache")
    runs_dir: Path = Path("runs")
    seed: int = 1337
    backbone: str = "efficientnet_lite0"  # efficientnet_lite0 | efficientnet_lite1 | efficientnet_lite2
    image_size: int = 224
    batch_size: int = 32
    epochs: int = 14
    epoch_images: int = 4096  # draws per epoch (balanced sampling, with replacement)
    learning_rate: float = 3e-4  # peak, after warm-up; cosine decay to 1% of it
    warmup_fraction: float = 0.05
    jpeg_augment: bool = True  # JPEG re-encoding (quality 50-95) among the augmentations
    early_stopping_patience: int = 4
    # Kaggle train + lesion-disjoint HAM10000 + Derm7pt + PAD-UFES-20 train patients + clinical sets + DermNet rashes
    lesion_sources: tuple[str, ...] = ("kaggle", "ham10000", "derm7pt", "pad_ufes_20", "clinical", "dermnet_rash")
    export_precision: Literal["float32", "float16", "int8"] = "float32"
    refer_sensitivity: float = 0.95
    high_specificity: float = 0.95
    gate_min_lesion_acceptance: float = 0.995
    rash_max_malignant_share: float = 0.01  # at most this share of validation malignant lesions may be told "rash"
    type_min_precision: float = 0.8  # "most like ..." is said only where validation types are this often right


@dataclass(frozen=True)
class QualityConfig:
    min_side_px: int = 96
    blur_min_laplacian_var: float = 2.5
    dark_max_mean: float = 30.0
    bright_min_mean: float = 235.0
    low_contrast_max_std: float = 5.0


@dataclass(frozen=True)
class PolicyConfig:
    urgent_checklist_score: int = 3
    soon_checklist_score: int = 1
    red_flags: tuple[str, ...] = ("bleeding", "size_change")
    # A follow-up photo of the same spot whose malignancy score is at least this much higher than last time (or
    # whose risk level went up) is a clear rise: the advice goes one level sooner (bot/policy.py).
    followup_rise: float = 0.15


@dataclass(frozen=True)
class BotConfig:
    default_language: Language = "en"
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    photo_rate_limit_per_minute: int = 6
    max_photo_bytes: int = 20_000_000
    reminder_months: tuple[int, ...] = (1, 3)
    concurrent_updates: int = 64
    send_max_retries: int = 3
    network_retries: int = 3
    network_retry_backoff_s: float = 0.5
    max_sends_per_second: float = 30.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    write_timeout_s: float = 30.0
    polling_timeout_s: int = 30
    history_limit: int = 10
    photo_slots: int = 3
    photo_queue_limit: int = 32
    photo_wait_s: float = 30.0
    shutdown_timeout_s: float = 5.0
    # "Where did you look?": the photo (downscaled to what the model saw) and its map are kept in memory only, for at
    # most this many results and this long, so the button under a result works while the result is fresh.
    result_cache_size: int = 32
    result_cache_ttl_s: float = 3600.0
    followup_choices: int = 4  # earlier spots offered when asking "is this the same spot?"

    @property
    def resolved_file_base_url(self) -> str:
        """The file download base URL: set on its own, or derived from the API base URL as Telegram lays it out."""
        if self.file_base_url:
            return self.file_base_url
        base = self.api_base_url.rstrip("/")
        head, sep, tail = base.rpartition("/")
        return f"{head}/file/{tail}" if sep else f"{base}/file"


@dataclass(frozen=True)
class StorageConfig:
    db_path: Path = Path("skinbot.db")
    keep_photos: bool = False
    photos_dir: Path = Path("photos")


@dataclass(frozen=True)
class ReportConfig:
    """`/report`: the PDF summary for the doctor. The fonts must be TrueType (.ttf) with Hangul, as reportlab can
    embed only those; Debian's fonts-nanum (installed by scripts/test.sh) provides these."""

    font_path: Path = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
    bold_font_path: Path = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")


@dataclass(frozen=True)
class PlaygroundConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    token: str = "123456:PLAYGROUND-LOCAL-TOKEN"
    extra_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    playground: PlaygroundConfig = field(default_factory=PlaygroundConfig)


# Environment variable -> (section, key). Secrets are not here: they are read where they are used.
ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "SKINBOT_DATA": ("data", "root"),
    "SKINBOT_DB": ("storage", "db_path"),
    "TELEGRAM_API_BASE_URL": ("bot", "api_base_url"),
    "TELEGRAM_FILE_BASE_URL": ("bot", "file_base_url"),
}


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Load `path` (default: `resources.default_config_file`), apply environment overrides, then explicit ones
    (e.g. from CLI flags). Relative paths stay relative; `anchored` makes them absolute."""
    env = os.environ if env is None else env
    path = resources.default_config_file(env) if path is None else path
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        raw = dict(loaded or {})
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            raw.setdefault(section, {})
            if not isinstance(raw[section], dict):
                raise ConfigError(f"section '{section}' must be a mapping")
            raw[section] = {**raw[section], key: env[var]}
    for section, values in (overrides or {}).items():
        raw[section] = {**(raw.get(section) or {}), **values}
    config: Config = _build(Config, raw, "config")
    return config


def anchored(config: Config, base: Path) -> Config:
    """`config` with every relative path (models, data, database, ...) taken from `base`, the skinbot home, so that
    commands behave the same from any working directory."""
    return typing.cast(Config, _anchored(config, base))


def _anchored(section: Any, base: Path) -> Any:
    changes: dict[str, Any] = {}
    for item in dataclasses.fields(section):
        value = getattr(section, item.name)
        if dataclasses.is_dataclass(value):
            changes[item.name] = _anchored(value, base)
        elif isinstance(value, Path) and not value.is_absolute():
            changes[item.name] = base / value
    return dataclasses.replace(section, **changes)


def _build(cls: type[Any], raw: Any, where: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    values = {name: _coerce(hints[name], raw[name], f"{where}.{name}") for name in names if name in raw}
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type[Any], hint), value, where)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{where}: must be one of {', '.join(map(str, allowed))}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_coerce(item, v, f"{where}[]") for v in value)
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(f"{where}: union types are not supported in config")  # pragma: no cover
    if hint is Path:
        if not isinstance(value, str | Path) or str(value) == "":
            raise ConfigError(f"{where}: expected a path")
        return Path(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {hint!r}")  # pragma: no cover
