"""The PostgreSQL backend (psycopg 3, `psycopg_pool.AsyncConnectionPool`): state shared by several webhook
replicas. Imported only when `storage.url` names PostgreSQL (it needs the `scale` extra).

Reminders are delivered by procrastinate jobs kept in this database (`bot.storage.reminder_jobs`): a reminder's row
and its job are written in one transaction, and `skinbot migrate` (or the first replica to start) installs the
queue's schema with the migrations.

Concurrent updates of one user may run on different replicas, so what a single process lock gave SQLite is taken
in the database: a write transaction of a user holds `pg_advisory_xact_lock(user_id)` until it ends, a session read
to be changed is read `FOR UPDATE`, and migrations run under the session-level `pg_advisory_lock(MIGRATION_LOCK)`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.storage import reminder_jobs
from bot.storage.database import Connection, Result, redacted
from bot.storage.records import Reminder, StorageError, StorageUnavailable

# User ids are positive, so a negative key cannot meet a user's lock (both live in the one-bigint key space).
MIGRATION_LOCK = -0x736B696E626F74  # "skinbot"
POOL_MAX_SIZE = 10  # connections per replica; a transaction holds one only for a few statements
CONNECT_TIMEOUT_S = 10.0


class PostgresConnection:
    """A pooled psycopg connection as a `bot.storage.database.Connection`."""

    def __init__(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        self._conn = conn

    @property
    def raw(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        """The psycopg connection itself, for the job queue to write in the same transaction."""
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement, its `?` placeholders turned into psycopg's `%s`."""
        cursor = await self._conn.execute(placeholders(sql), tuple(params))
        rows = await cursor.fetchall() if cursor.description is not None else []
        return Result(list(rows), cursor.rowcount)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""
        async with self._conn.cursor() as cursor:
            await cursor.executemany(placeholders(sql), [tuple(row) for row in rows])

    async def script(self, sql: str) -> None:
        """Run a migration file: without parameters psycopg sends it as one simple query, statements and all."""
        await self._conn.execute(sql)


class PostgresDatabase:
    """A PostgreSQL database as a `bot.storage.database.Database`."""

    backend = "postgres"
    for_update = " FOR UPDATE"
    legacy_version_sql: str | None = None  # PostgreSQL storage started with the schema_version table
    queues_reminders = True

    def __init__(self, url: str) -> None:
        self.location = redacted(url)
        self._url = url  # holds the password, if any: never logged
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            # Not chained: libpq's message quotes the whole URL, password and all.
            raise StorageError(f"storage.url {self.location} is not a PostgreSQL URL libpq can read") from None
        # autocommit: a read is one statement on its own; writes open a transaction explicitly (`transaction`).
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
            url, min_size=1, max_size=POOL_MAX_SIZE, open=False, kwargs={"autocommit": True},
            timeout=CONNECT_TIMEOUT_S,
        )
        self._open = False
        self._jobs = reminder_jobs.deferring_app()

    async def connect(self) -> None:
        """Connect once on our own, which fails at once with libpq's reason (refused, no such database, password
        refused...) where the pool would retry until its timeout; then open the pool."""
        try:
            probe = await psycopg.AsyncConnection.connect(self._url, connect_timeout=int(CONNECT_TIMEOUT_S))
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"cannot connect to {self.location}: {exc}") from exc
        await probe.close()
        try:
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as exc:
            await self._pool.close()
            raise StorageUnavailable(f"cannot connect to {self.location} within {CONNECT_TIMEOUT_S:.0f} s") from exc
        self._open = True

    async def close(self) -> None:
        """Close the pool (idempotent)."""
        self._open = False
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[PostgresConnection]:
        """A pooled connection in autocommit mode."""
        async with self._connection() as conn:
            yield PostgresConnection(conn)

    @contextlib.asynccontextmanager
    async def transaction(self, user_id: int | None = None) -> AsyncIterator[PostgresConnection]:
        """A pooled connection in a transaction; with `user_id`, holding that user's advisory lock until it ends, so
        that the same user's updates on other replicas wait (two photos at once open one questionnaire)."""
        async with self._connection() as conn, conn.transaction():
            if user_id is not None:
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (user_id,))
            yield PostgresConnection(conn)

    @contextlib.asynccontextmanager
    async def migrating(self) -> AsyncIterator[None]:
        """Hold the migration lock on a connection of its own while the steps run on others."""
        async with self._connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    async def install_job_queue(self, conn: Connection) -> None:
        """Install procrastinate's schema if it is missing."""
        await reminder_jobs.install_schema(conn)

    async def reminder_added(self, conn: Connection, reminder: Reminder) -> None:
        """Defer the reminder's job in the transaction that inserted it."""
        assert isinstance(conn, PostgresConnection)  # a PostgresDatabase hands out only these
        await reminder_jobs.defer(self._jobs, conn.raw, reminder)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[tuple[Any, ...]]]:
        if not self._open:
            raise StorageError("storage used before connect()")
        try:
            async with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StorageUnavailable(f"no connection to {self.location} within {CONNECT_TIMEOUT_S:.0f} s") from exc


def placeholders(sql: str) -> str:
    """`sql` with psycopg's placeholders. The queries are written with `?` and contain no `?` or `%` of their own
    (psycopg would read a `%` as a placeholder)."""
    return sql.replace("?", "%s")
