"""A throwaway PostgreSQL server: a cluster created in a temporary folder, started on a free loopback port with
its own socket folder, and removed again on leaving `throwaway_postgres`. The tests' `postgres_server` fixture and
the cluster load test (`skinbot loadtest --cluster`) both run on it.

As root (PostgreSQL refuses to run as root) the server binaries run as the `postgres` OS user.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playground.cluster.processes import free_port

BIN_DIR = Path(os.environ.get("SKINBOT_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
COMMAND_TIMEOUT_S = 120
INSTALL_HINT = ("a throwaway PostgreSQL server needs the PostgreSQL 15 server binaries in {bin_dir} (Debian: apt-get "
                "install postgresql-15; scripts/system-packages.sh test installs it), or SKINBOT_PG_BIN naming their "
                "folder, and psycopg (scripts/bootstrap.sh train,dev,scale)")


class PostgresUnavailable(RuntimeError):
    """The throwaway server could not be started; the message says what to install or what failed."""


@dataclass
class PostgresServer:
    """A running throwaway cluster; `new_database` gives each user of it a database of its own."""

    port: int
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        """The URL of a database on this server (user postgres, trusted on loopback: no password)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg  # the scale extra: imported only where a server is really used

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@contextlib.contextmanager
def throwaway_postgres(bin_dir: Path = BIN_DIR, max_connections: int = 100) -> Iterator[PostgresServer]:
    """Create and start a cluster, yield it, then stop it (immediately: its data is thrown away) and delete its
    folder; PostgresUnavailable when it cannot be started."""
    _check_installed(bin_dir)
    root = Path(tempfile.mkdtemp(prefix="skinbot-postgres-"))  # under /tmp: the postgres user can reach it
    try:
        as_user = _as_server_user(bin_dir)
        data, sockets, port = root / "data", root / "sockets", free_port()
        sockets.mkdir()
        _chown(root, sockets)
        _run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--no-sync"])
        # durability is pointless for data thrown away at the end, and fsync is slow
        options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                   f"-c max_connections={max_connections}")
        _run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options,
              "-w", "start"])
        try:
            yield PostgresServer(port)
        finally:
            _run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _check_installed(bin_dir: Path) -> None:
    hint = INSTALL_HINT.format(bin_dir=bin_dir)
    if not all((bin_dir / binary).exists() for binary in SERVER_BINARIES):
        raise PostgresUnavailable(f"no PostgreSQL server: {hint}")
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError as exc:
        raise PostgresUnavailable(f"psycopg is not installed: {hint}") from exc


def _as_server_user(bin_dir: Path) -> list[str]:
    """The command prefix that runs the server binaries: as the postgres user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(OS_USER)
    except KeyError as exc:
        raise PostgresUnavailable(f"running as root, but there is no '{OS_USER}' OS user to run PostgreSQL as: "
                                  f"{INSTALL_HINT.format(bin_dir=bin_dir)}") from exc
    return ["runuser", "-u", OS_USER, "--"]


def _chown(*paths: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(OS_USER)
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
