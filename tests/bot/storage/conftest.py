"""Fixtures of the storage tests: `storage_url` and `storage` yield each backend in turn (SQLite in a file, and a
fresh database on the throwaway PostgreSQL server of `tests.postgres_server`), so every contract test runs against
both."""

import time

import pytest

from bot.storage import storage_for

BACKENDS = ("sqlite", "postgres")


class Clock:
    """The storage's clock, moved by hand (it starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=BACKENDS)
def storage_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def storage(storage_url, clock):
    store = storage_for(storage_url, clock)
    await store.connect()
    yield store
    await store.close()


@pytest.fixture
async def replicas(storage_url, storage):
    """Four more storages on `storage`'s database, as webhook replicas would have: each with a connection of its own."""
    others = [storage_for(storage_url) for _ in range(4)]
    for other in others:
        await other.connect()
    yield others
    for other in others:
        await other.close()


async def scalar(storage, sql, params=()):
    """One value read with plain SQL (`?` placeholders), so the tests need not trust the code they check."""
    async with storage.db.reading() as conn:
        return (await conn.execute(sql, params)).value()
