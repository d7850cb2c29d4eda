"""skinbot's own processes in a cluster: webhook replicas (`skinbot run` with bot.mode webhook, each on its own
port) and the reminder worker (`skinbot worker`), as child processes of this Python."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.intake import HEALTH_PATH
from playground.cluster.nginx import Address
from playground.cluster.processes import HttpReady, ProcessFailed, ProcessSpec, free_port
from playground.cluster.stack import Backend


def skinbot_argv(command: str, config_path: Path | None, verbose: bool = False) -> tuple[str, ...]:
    """`skinbot [-v] [--config FILE] COMMAND`, run by this interpreter (the same virtual environment as ours);
    `verbose`: DEBUG logs, python-telegram-bot's and httpx's included."""
    config_args = ("--config", str(config_path)) if config_path else ()
    verbose_args = ("-v",) if verbose else ()
    return (sys.executable, "-m", "skinbot", *verbose_args, *config_args, command)


def replica_spec(name: str, port: int, config_path: Path | None, env: dict[str, str], log_path: Path,
                 host: str = "127.0.0.1", verbose: bool = False) -> ProcessSpec:
    """One webhook replica: `skinbot run` with `env` (token, API URL, database URL, webhook secret) on `port`
    (SKINBOT_WEBHOOK_PORT), ready once its health check answers 200 (it answers 503 while it shuts down)."""
    return ProcessSpec(
        name=name, argv=skinbot_argv("run", config_path, verbose), log_path=log_path,
        env={**env, "SKINBOT_WEBHOOK_PORT": str(port), "PYTHONUNBUFFERED": "1"},
        ready=HttpReady(f"http://{host}:{port}{HEALTH_PATH}"),
    )


def webhook_replicas(count: int, config_path: Path | None, env: dict[str, str], log_dir: Path,
                     host: str = "127.0.0.1") -> list[Backend]:
    """`count` replicas (`replica_spec`) sharing one configuration and `env`, each on a free port of `host`."""
    backends = []
    for index in range(count):
        port = free_port(host)
        spec = replica_spec(f"replica-{index}", port, config_path, env, log_dir / f"replica-{index}.log", host)
        backends.append(Backend(spec, Address(host, port)))
    return backends


def reminder_worker(config_path: Path | None, env: dict[str, str], log_dir: Path) -> ProcessSpec:
    """The reminder worker: it serves nothing to probe, so it counts as up once spawned."""
    return ProcessSpec(name="worker", argv=skinbot_argv("worker", config_path), log_path=log_dir / "worker.log",
                       env={**env, "PYTHONUNBUFFERED": "1"})


async def migrate(config_path: Path | None, env: dict[str, str], log_path: Path) -> None:
    """`skinbot migrate` to completion, as a deployment does before its replicas start (replicas migrating an empty
    database at once would wait on each other's lock); ProcessFailed, with its output, when it fails."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *skinbot_argv("migrate", config_path), stdin=asyncio.subprocess.DEVNULL, stdout=log,
            stderr=asyncio.subprocess.STDOUT, env={**os.environ, **env})
        code = await process.wait()
    if code != 0:
        raise ProcessFailed(f"skinbot migrate exited with code {code}\n{log_path.read_text(errors='replace')}")
