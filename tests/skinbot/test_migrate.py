"""`skinbot migrate`: migrates the database of `storage.url` (or `--url`) and prints its version; a bad URL, a
newer database or an unreachable server is a clear message and an exit code, never a traceback or a password (and
so for `skinbot run`)."""

import socket
import sqlite3

import pytest

from bot.storage.schema import latest_version
from skinbot.cli import main
from tests.inference.testmodel import make_model_dir


def test_migrates_the_configured_database_and_prints_its_version(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("SKINBOT_DB_URL", url)
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.strip() == f"{url}: schema version {latest_version('sqlite')}"
    with sqlite3.connect(tmp_path / "bot.db") as raw:
        assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == latest_version("sqlite")
    assert main(["migrate"]) == 0  # again: nothing to do, the same version


def test_migrates_a_postgresql_database_given_by_url(postgres_server, capsys):
    import psycopg

    url = postgres_server.new_database()
    assert main(["migrate", "--url", url]) == 0
    assert capsys.readouterr().out.strip() == f"{url}: schema version {latest_version('postgres')}"
    assert main(["migrate", "--url", url]) == 0  # again: procrastinate's schema is there, and not created twice
    with psycopg.connect(url) as raw:  # the reminder job queue's schema came with the migrations
        assert raw.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone() == (True,)


def test_a_database_newer_than_the_code_is_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    assert main(["migrate", "--url", url]) == 0
    with sqlite3.connect(tmp_path / "bot.db") as raw:
        raw.execute("INSERT INTO schema_version VALUES (999, 0)")
    assert main(["migrate", "--url", url]) == 2
    assert "schema version 999, newer than this code" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["mysql://u:hunter2@h/db", "sqlite://relative.db", "postgresql://u:hunter2@h/db?bad=1"])
def test_a_url_it_cannot_use_is_refused_clearly(url, capsys):
    assert main(["migrate", "--url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skinbot migrate: storage: storage.url") and "hunter2" not in err and "Traceback" not in err


def test_an_unreachable_server_is_exit_1_without_the_password(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["migrate", "--url", f"postgresql://bot:hunter2@127.0.0.1:{port}/skinbot"]) == 1
    err = capsys.readouterr().err
    assert "cannot connect to postgresql://bot:***@127.0.0.1" in err and "hunter2" not in err


def test_run_refuses_a_storage_url_it_cannot_use_before_serving(tmp_path, capsys, monkeypatch):
    make_model_dir(tmp_path / "models")
    monkeypatch.setenv("SKINBOT_HOME", str(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:NOT-A-REAL-TOKEN")
    monkeypatch.setenv("SKINBOT_DB_URL", "mysql://bot:hunter2@db/skinbot")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "skinbot run: storage: storage.url 'mysql://bot:***@db/skinbot' is not sqlite:///" in err
    assert "hunter2" not in err and "Traceback" not in err
