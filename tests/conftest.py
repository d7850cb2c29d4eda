"""Fixtures every test package may use: `postgres_server`, a throwaway PostgreSQL server started on first use."""

from tests.postgres_server import postgres_server as postgres_server
