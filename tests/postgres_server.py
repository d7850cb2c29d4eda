"""The tests' throwaway PostgreSQL server (the PostgreSQL storage backend): `postgres_server`, a session-scoped
fixture on `playground.cluster.postgres.throwaway_postgres`, which owns starting and stopping it. tests/conftest.py
imports the fixture, so every test package can ask for it.

Without the server binaries the tests that need it fail (they are not skipped) and say what to install.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from playground.cluster.postgres import PostgresServer, PostgresUnavailable, throwaway_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start the cluster once for the test session; fail, saying what to install, when it cannot be."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_postgres())
        except PostgresUnavailable as exc:
            pytest.fail(str(exc))
        yield server
