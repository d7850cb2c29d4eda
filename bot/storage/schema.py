"""Versioned migrations: `migrations/<backend>/NNNN_name.sql`, applied in order, each in one transaction with its
row in the `schema_version` table. A SQLite file from before that table (its version in `PRAGMA user_version`,
1 to 4, the same steps as files 0001 to 0004) is adopted: its version is recorded and the later steps applied."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from bot.storage.database import Connection, Database
from bot.storage.records import StorageError

VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_version "
                 "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
RECORD_VERSION = "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)"
STEP_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


@dataclass(frozen=True)
class Step:
    """One migration file."""

    version: int
    name: str
    sql: str


def steps(backend: str) -> tuple[Step, ...]:
    """The migrations of a backend, in order; they must be numbered 1, 2, 3... without gaps."""
    folder = resources.files("bot.storage") / "migrations" / backend
    found = sorted((int(m.group(1)), item.name, item.read_text(encoding="utf-8")) for item in folder.iterdir()
                   if (m := STEP_NAME.fullmatch(item.name)))
    if [version for version, _, _ in found] != list(range(1, len(found) + 1)):
        raise StorageError(f"migrations of {backend} are not numbered 1..n: {[name for _, name, _ in found]}")
    return tuple(Step(version, name, sql) for version, name, sql in found)


def latest_version(backend: str) -> int:
    """The schema version this code migrates a `backend` database to."""
    return len(steps(backend))


async def migrate(db: Database, clock: Callable[[], float]) -> int:
    """Bring the database to the latest version and return it; StorageError if it is newer than this code."""
    known = steps(db.backend)
    latest = len(known)
    async with db.migrating():
        while True:
            # Each step reads the version in its own transaction, so two processes (also ones the lock of
            # `migrating` does not cover, as on SQLite) never apply one step twice.
            async with db.transaction() as conn:
                await conn.execute(VERSION_TABLE)
                current = await _version(conn, db, clock)
                if current > latest:
                    raise StorageError(f"{db.location} has schema version {current}, newer than this code (it knows "
                                       f"up to {latest}): run a newer skinbot")
                if current == latest:
                    await db.install_job_queue(conn)  # under the same lock: idempotent, and never raced
                    return latest
                step = known[current]
                await conn.script(step.sql)
                await conn.execute(RECORD_VERSION, (step.version, clock()))


async def _version(conn: Connection, db: Database, clock: Callable[[], float]) -> int:
    """The recorded version; a database from before the schema_version table gets its old version recorded."""
    recorded = int((await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")).value())
    if recorded or db.legacy_version_sql is None:
        return recorded
    legacy = int((await conn.execute(db.legacy_version_sql)).value() or 0)
    await conn.executemany(RECORD_VERSION, [(version, clock()) for version in range(1, legacy + 1)])
    return legacy
