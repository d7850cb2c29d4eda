"""`storage.url`: which backend it names, and a clear StorageError (never a crash, never a password) otherwise."""

import socket
import traceback

import pytest

from bot.storage import StorageError, StorageUnavailable, storage_for
from bot.storage.database import redacted
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import SqliteDatabase


@pytest.mark.parametrize("url", ["", "skinbot.db", "mysql://u@h/db", "sqlite://skinbot.db", "sqlite:///",
                                 "file:///tmp/x.db", "postgresql//u@h/db"])
def test_a_url_of_no_known_backend_is_refused_clearly(url):
    with pytest.raises(StorageError, match=r"is not sqlite:///path/to/file\.db or postgresql://"):
        storage_for(url)


@pytest.mark.parametrize("url", ["postgresql://u:hunter2@[::1/db", "postgresql://u:hunter2@h/db?nonsense_option=1"])
def test_a_postgresql_url_libpq_cannot_read_is_refused_clearly(url):
    with pytest.raises(StorageError, match="is not a PostgreSQL URL libpq can read") as refused:
        storage_for(url)
    assert "hunter2" not in "".join(traceback.format_exception(refused.value))  # nor in a chained cause


def test_each_backend_is_chosen_by_its_scheme(tmp_path):
    assert isinstance(storage_for(f"sqlite:///{tmp_path / 'x.db'}").db, SqliteDatabase)
    for scheme in ("postgresql", "postgres"):
        assert isinstance(storage_for(f"{scheme}://u@127.0.0.1/db").db, PostgresDatabase)


async def test_an_unreachable_server_is_told_without_the_password():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = storage_for(f"postgresql://skinbot:hunter2-secret@127.0.0.1:{port}/skinbot")
    assert store.location == f"postgresql://skinbot:***@127.0.0.1:{port}/skinbot"
    with pytest.raises(StorageUnavailable, match="cannot connect to postgresql://skinbot:\\*\\*\\*@") as refused:
        await store.connect()
    assert "hunter2-secret" not in "".join(traceback.format_exception(refused.value))


async def test_a_missing_database_is_told_without_the_password(postgres_server):
    url = postgres_server.url("no_such_database").replace("postgres@", "postgres:hunter2-secret@")
    store = storage_for(url)
    with pytest.raises(StorageUnavailable, match="no_such_database") as refused:
        await store.connect()
    assert "hunter2-secret" not in "".join(traceback.format_exception(refused.value))


async def test_a_sqlite_file_that_cannot_be_made_is_refused_clearly(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StorageError, match="cannot open sqlite:///"):
        await storage_for(f"sqlite:///{tmp_path / 'a-file' / 'x.db'}").connect()


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
    ("postgresql://u@h/db?password=secret&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_passwords_are_redacted(url, shown):
    assert redacted(url) == shown
