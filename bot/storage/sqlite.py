"""The SQLite backend (aiosqlite): one file, one connection, for one process (the default). WAL, NORMAL
synchronous, foreign keys; write transactions are serialised by a lock in the process, which is also the
per-user lock (no two of them ever interleave on the shared connection)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.database import Connection, Result
from bot.storage.records import Reminder, StorageError


class SqliteConnection:
    """The shared aiosqlite connection as a `bot.storage.database.Connection`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement and fetch its rows (RETURNING rows too, which SQLite yields only when fetched)."""
        async with self._conn.execute(sql, tuple(params)) as cursor:
            rows = [tuple(row) for row in await cursor.fetchall()]
            return Result(rows, cursor.rowcount)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        await self._conn.executemany(sql, [tuple(row) for row in rows])

    async def script(self, sql: str) -> None:
        """Run a migration file statement by statement: `executescript` would commit the open transaction first."""
        for statement in statements(sql):
            await self._conn.execute(statement)


BUSY_TIMEOUT_S = 5.0  # how long a statement waits for another process's lock on the file before failing
WAL_RETRY_S = 0.05


async def _switch_to_wal(conn: aiosqlite.Connection) -> None:
    """Put the file in WAL mode (it stays so). Processes opening a new file at once each need its exclusive lock
    for this, and SQLite can report "locked" here without waiting for the busy timeout (seen in CI), so the
    switch is retried for up to BUSY_TIMEOUT_S."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(WAL_RETRY_S)


class SqliteDatabase:
    """A SQLite file as a `bot.storage.database.Database`."""

    backend = "sqlite"
    for_update = ""  # no row locks in SQLite: a write transaction (BEGIN IMMEDIATE) holds the whole file
    legacy_version_sql: str | None = "PRAGMA user_version"  # how versions 1 to 4 were recorded
    queues_reminders = False  # one process: the bot's JobQueue schedules reminders (bot.handlers.reminders)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = f"sqlite:///{path}"
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        """Open the file (creating it and its folder) with WAL and foreign keys."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(self.path, timeout=BUSY_TIMEOUT_S)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open {self.location}: {exc}") from exc
        try:
            await _switch_to_wal(conn)
            # In WAL mode NORMAL still survives a killed process (only a power cut may lose the last commits), and
            # it saves an fsync per commit, which matters with one commit per answer.
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            await conn.close()
            raise StorageError(f"cannot set up {self.location}: {exc}") from exc
        self._conn = conn

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[SqliteConnection]:
        """The shared connection (reads need no lock: SQLite runs one statement at a time on it)."""
        yield SqliteConnection(self._connection())

    @contextlib.asynccontextmanager
    async def transaction(self, user_id: int | None = None) -> AsyncIterator[SqliteConnection]:
        """One write transaction at a time on the shared connection (so concurrent handlers can never commit each
        other's half-done writes); BEGIN IMMEDIATE takes the file's write lock at once, so another process writing
        the same file (`skinbot migrate`) makes this one wait instead of failing halfway."""
        async with self._lock:
            conn = self._connection()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteConnection(conn)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    @contextlib.asynccontextmanager
    async def migrating(self) -> AsyncIterator[None]:
        """Each step is one BEGIN IMMEDIATE transaction; one process uses one file, so nothing more is needed."""
        yield

    async def install_job_queue(self, conn: Connection) -> None:
        """No job queue in SQLite."""

    async def reminder_added(self, conn: Connection, reminder: Reminder) -> None:
        """Nothing to queue: the bot schedules the reminder in its JobQueue."""

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("storage used before connect()")
        return self._conn


def statements(script: str) -> Iterator[str]:
    """The statements of a script, cut where SQLite itself says a statement is complete (so a `;` inside a string
    or a comment does not cut one)."""
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            yield current
            current = ""
    if current.strip():
        yield current  # a trailing comment, or an unfinished statement that SQLite will refuse with its own message
