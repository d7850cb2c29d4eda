from pathlib import Path

import pytest

from skinbot.config import Config, ConfigError, anchored, load_config


def test_repository_config_loads_and_matches_types():
    config = load_config(Path("config.yaml"), env={})
    assert isinstance(config, Config)
    assert config.storage.keep_photos is False
    assert config.bot.reminder_months == (1, 3)
    assert isinstance(config.data.root, Path)


def test_environment_overrides_apply(tmp_path):
    env = {"SKINBOT_DB_URL": f"sqlite:///{tmp_path / 'x.db'}", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot"}
    config = load_config(Path("config.yaml"), env=env)
    assert config.storage.sqlite_path == tmp_path / "x.db"
    assert config.bot.resolved_file_base_url == "http://127.0.0.1:8081/file/bot"


def test_each_webhook_replica_takes_its_port_from_the_environment():
    assert load_config(Path("config.yaml"), env={"SKINBOT_WEBHOOK_PORT": "18143"}).bot.webhook_port == 18143
    with pytest.raises(ConfigError, match="SKINBOT_WEBHOOK_PORT: expected a whole number"):
        load_config(Path("config.yaml"), env={"SKINBOT_WEBHOOK_PORT": "eighty"})


@pytest.mark.parametrize(
    "text, message",
    [
        ("storage: {keep_photos: 'yes'}", "expected true or false"),
        ("storage: {nope: 1}", "unknown key"),
        ("bot: {mode: carrier-pigeon}", "must be one of"),
        ("- a list", "top level must be a mapping"),
        ("inference: {workers: 2.5}", "whole number"),
        ("{{{", "not valid YAML"),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={})


def test_missing_file_gives_defaults(tmp_path):
    assert load_config(tmp_path / "absent.yaml", env={}) == Config()


def test_config_yaml_states_exactly_the_typed_defaults():
    """config.yaml documents every setting; its values must be the dataclass defaults (the one source), so that
    changing a default in one place and not the other fails here."""
    import dataclasses

    import yaml

    repo = Path(__file__).resolve().parents[2]
    raw = yaml.safe_load((repo / "config.yaml").read_text(encoding="utf-8"))
    loaded = load_config(repo / "config.yaml", env={})
    defaults = Config()
    for section in dataclasses.fields(Config):
        keys = {f.name for f in dataclasses.fields(getattr(defaults, section.name))}
        assert set(raw[section.name]) == keys, section.name
        assert getattr(loaded, section.name) == getattr(defaults, section.name), section.name


def test_a_relative_sqlite_file_is_under_the_home_and_other_urls_are_kept(tmp_path):
    home = tmp_path / "home"
    default = anchored(load_config(Path("config.yaml"), env={}), home).storage
    assert default.url == f"sqlite:///{home / 'skinbot.db'}" and default.sqlite_path == home / "skinbot.db"
    for url in (f"sqlite:///{tmp_path / 'abs.db'}", "postgresql://bot@db.internal/skinbot"):
        assert anchored(load_config(Path("config.yaml"), env={"SKINBOT_DB_URL": url}), home).storage.url == url
    assert anchored(load_config(Path("config.yaml"), env={"SKINBOT_DB_URL": "postgresql://h/db"}),
                    home).storage.sqlite_path is None


def test_the_old_database_variable_is_refused_rather_than_ignored(tmp_path):
    with pytest.raises(ConfigError, match="SKINBOT_DB is no longer read: set SKINBOT_DB_URL=sqlite:///"):
        load_config(Path("config.yaml"), env={"SKINBOT_DB": str(tmp_path / "old.db")})
