"""The little that differs between SQL backends, behind one interface: how to connect, run a statement, hold a
transaction (and lock a user in it), and keep two starting processes from migrating at once. `SqlStorage`
writes every query once against this, with `?` placeholders and SQL that SQLite and PostgreSQL both accept."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from bot.storage.records import Reminder

_PASSWORD_IN_USER = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@]*):[^/?#]*@")  # scheme://user:password@
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*")


@dataclass(frozen=True)
class Result:
    """What a statement returned: its rows (fetched at once: every query here returns few) and, for a write, how
    many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        """The first row, if any."""
        return self.rows[0] if self.rows else None

    def value(self) -> Any:
        """The first column of the first row; None without rows."""
        return self.rows[0][0] if self.rows else None


class Connection(Protocol):
    """One connection, inside a transaction or not."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement with `?` placeholders."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once for each parameter row."""

    async def script(self, sql: str) -> None:
        """Run a migration file (several statements, no parameters) inside the current transaction."""


class Database(Protocol):
    """A backend: SQLite (`bot.storage.sqlite`) or PostgreSQL (`bot.storage.postgres`)."""

    backend: str  # the folder of its migrations under bot/storage/migrations/
    location: str  # the URL it was opened with, without a password: safe to log
    for_update: str  # appended to a SELECT that reads rows it will change: " FOR UPDATE", or "" where not needed
    legacy_version_sql: str | None  # the query of the schema version used before the schema_version table
    queues_reminders: bool  # True where the database holds each reminder's delivery job (`reminder_added`)

    async def connect(self) -> None:
        """Open the connection(s); StorageUnavailable if the database cannot be reached."""

    async def close(self) -> None:
        """Close the connection(s) (idempotent)."""

    def reading(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads outside a transaction."""

    def transaction(self, user_id: int | None = None) -> AbstractAsyncContextManager[Connection]:
        """A connection in a write transaction, committed when the block ends and rolled back on error; with
        `user_id`, no other transaction of that user runs until this one ends."""

    def migrating(self) -> AbstractAsyncContextManager[None]:
        """Held while the schema is migrated, so that processes starting at once migrate one after another."""

    async def install_job_queue(self, conn: Connection) -> None:
        """Create the schema of the reminder job queue if it is missing (PostgreSQL: procrastinate's), in the
        migrating transaction; nothing where reminders are not queued in the database."""

    async def reminder_added(self, conn: Connection, reminder: Reminder) -> None:
        """Queue the delivery of a reminder just inserted, in its transaction (so both commit or neither does);
        nothing where the bot schedules reminders itself (SQLite: its JobQueue)."""


def redacted(url: str) -> str:
    """`url` with its password replaced by ***, in the user part or as a `password=` parameter (libpq reads both),
    for logs and messages."""
    url = _PASSWORD_IN_USER.sub(r"\1:***@", url)
    return _PASSWORD_PARAMETER.sub(r"\1***", url)

