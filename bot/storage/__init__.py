"""Everything the bot remembers, behind the `Storage` protocol, in SQLite (one process, the default) or PostgreSQL
(several webhook replicas sharing the state), chosen by `storage.url`. All SQL lives in this package: the queries
once, in `sql.py`; the schema as numbered migration files per backend in `migrations/`."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.settings import sqlite_path
from bot.storage.database import Database, redacted
from bot.storage.protocol import Storage
from bot.storage.records import (
    CheckRecord,
    Claim,
    History,
    HistoryEntry,
    Reminder,
    ReminderOutcome,
    Session,
    StorageError,
    StorageUnavailable,
)
from bot.storage.sql import USER_TABLES, SqlStorage

__all__ = [
    "USER_TABLES", "CheckRecord", "Claim", "History", "HistoryEntry", "Reminder", "ReminderOutcome", "Session",
    "SqlStorage", "Storage", "StorageError", "StorageUnavailable", "database_for", "migrate", "storage_for",
]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def storage_for(url: str, clock: Callable[[], float] = time.time) -> SqlStorage:
    """The storage `url` names, not connected yet: `sqlite:///path` or `postgresql://...`. StorageError for any
    other URL, or for PostgreSQL without the `scale` extra."""
    return SqlStorage(database_for(url), clock)


def database_for(url: str) -> Database:
    """The backend of `url` (see `storage_for`)."""
    path = sqlite_path(url)
    if path is not None:
        from bot.storage.sqlite import SqliteDatabase

        return SqliteDatabase(path)
    if url.startswith(POSTGRES_SCHEMES):
        try:
            from bot.storage.postgres import PostgresDatabase
        except ModuleNotFoundError as exc:
            if exc.name not in ("psycopg", "psycopg_pool", "procrastinate"):
                raise
            raise StorageError(f"a postgresql:// storage.url needs {exc.name}: install skinbot's `scale` extra "
                               "(pip install 'skinbot[scale]')") from exc
        return PostgresDatabase(url)
    raise StorageError(f"storage.url {redacted(url)!r} is not sqlite:///path/to/file.db or postgresql://...")


async def migrate(url: str) -> int:
    """Connect to `url`, migrate its schema (as the bot does on start) and return the version it is at."""
    storage = storage_for(url)
    await storage.connect()
    await storage.close()
    return storage.schema_version
