"""A throwaway PostgreSQL server for the tests (the PostgreSQL storage backend): `postgres_server`, a session-scoped
fixture that starts a cluster in a temporary folder on a free loopback port, with its own socket folder, and stops
it at the end. As root (PostgreSQL refuses to run as root) it runs as the `postgres` OS user. tests/conftest.py
imports the fixture, so every test package can ask for it.

Without the server binaries the tests that need it fail (they are not skipped) and say what to install.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN_DIR = Path(os.environ.get("SKINBOT_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
INSTALL_HINT = ("the PostgreSQL storage tests need the PostgreSQL 15 server binaries in {bin_dir} (Debian: apt-get "
                "install postgresql-15; scripts/system-packages.sh test installs it), or SKINBOT_PG_BIN naming their "
                "folder, and psycopg (scripts/bootstrap.sh train,dev,scale)")


@dataclass
class PostgresServer:
    """A running throwaway cluster; `new_database` gives each test a database of its own."""

    port: int
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        """The URL of a database on this server (user postgres, trusted on loopback: no password)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start the cluster once for the test session; fail, saying what to install, when it cannot be."""
    hint = INSTALL_HINT.format(bin_dir=BIN_DIR)
    if not all((BIN_DIR / binary).exists() for binary in ("initdb", "pg_ctl", "postgres")):
        pytest.fail(f"no PostgreSQL server: {hint}")
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        pytest.fail(f"psycopg is not installed: {hint}")
    root = Path(tempfile.mkdtemp(prefix="skinbot-postgres-"))  # under /tmp: the postgres user can reach it
    as_user = _as_server_user(root)
    data, sockets, port = root / "data", root / "sockets", _free_port()
    sockets.mkdir()
    _chown(root, sockets)
    try:
        _run([*as_user, str(BIN_DIR / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--no-sync"])
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        _run([*as_user, str(BIN_DIR / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options,
              "-w", "start"])
        try:
            yield PostgresServer(port)
        finally:
            _run([*as_user, str(BIN_DIR / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _as_server_user(root: Path) -> list[str]:
    """The command prefix that runs the server binaries: as the postgres user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        pytest.fail(f"running as root, but there is no '{OS_USER}' OS user to run PostgreSQL as: "
                    f"{INSTALL_HINT.format(bin_dir=BIN_DIR)}")
    return ["runuser", "-u", OS_USER, "--"]


def _chown(*paths: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(OS_USER)
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
