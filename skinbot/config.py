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

from bot.settings import BotConfig, PolicyConfig, ReportConfig, StorageConfig
from inference.settings import InferenceConfig, QualityConfig
from playground.settings import PlaygroundConfig
from skinbot import resources
from train.settings import TrainConfig


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
    "SKINBOT_DB_URL": ("storage", "url"),
    "TELEGRAM_API_BASE_URL": ("bot", "api_base_url"),
    "TELEGRAM_FILE_BASE_URL": ("bot", "file_base_url"),
    "SKINBOT_WEBHOOK_PORT": ("bot", "webhook_port"),  # webhook replicas share one config, each on its own port
}
# Variables no longer read, with what replaces them: a deployment still setting one would otherwise run on another
# database without a word.
RENAMED_ENV: Mapping[str, str] = {"SKINBOT_DB": "SKINBOT_DB_URL=sqlite:///path/to/skinbot.db"}


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
    for old, new in RENAMED_ENV.items():
        if env.get(old):
            raise ConfigError(f"{old} is no longer read: set {new} instead")
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            raw.setdefault(section, {})
            if not isinstance(raw[section], dict):
                raise ConfigError(f"section '{section}' must be a mapping")
            raw[section] = {**raw[section], key: _env_value(var, section, key, env[var])}
    for section, values in (overrides or {}).items():
        raw[section] = {**(raw.get(section) or {}), **values}
    config: Config = _build(Config, raw, "config")
    return config


def _env_value(var: str, section: str, key: str, text: str) -> Any:
    """An environment variable's text as its setting's type: whole numbers are converted, the rest is text."""
    if typing.get_type_hints(typing.get_type_hints(Config)[section])[key] is not int:
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{var}: expected a whole number, got {text!r}") from None


def anchored(config: Config, base: Path) -> Config:
    """`config` with every relative path (models, data, database, ...) taken from `base`, the skinbot home, so that
    commands behave the same from any working directory."""
    paths = typing.cast(Config, _anchored(config, base))
    # A SQLite database URL names a file too, so a relative one is under the home like the other paths.
    return dataclasses.replace(paths, storage=paths.storage.anchored_url(base))


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
