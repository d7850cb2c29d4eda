"""The real bot as a child process (`python -m skinbot run`) pointed at an in-process emulator.

Used by the load test and the end-to-end tests: the bot runs exactly as in production (its own process, the
token and API URL from the environment), so it can be killed, restarted and measured (RSS) on its own. It is
launched as a `playground.cluster.processes.ManagedProcess`, as the cluster's replicas are.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from playground.cluster.processes import ConditionReady, ManagedProcess, ProcessSpec
from playground.cluster.replicas import replica_spec, skinbot_argv
from playground.server import Emulator


def emulator_environment(emulator: Emulator, db_url: str) -> dict[str, str]:
    """What a bot process needs in its environment to talk to `emulator` and keep its state at `db_url`."""
    return {"TELEGRAM_BOT_TOKEN": emulator.token, "TELEGRAM_API_BASE_URL": emulator.api_base_url,
            "TELEGRAM_FILE_BASE_URL": emulator.file_base_url, "SKINBOT_DB_URL": db_url, "PYTHONUNBUFFERED": "1"}


class BotProcess:
    """One `skinbot run` child process talking to `emulator`, its state in the SQLite file `db_path` and its output
    in `log_path`; `webhook_port` makes it a webhook replica (config `bot.mode: webhook`) on that port."""

    def __init__(self, emulator: Emulator, db_path: Path, log_path: Path, config_path: Path | None = None,
                 cwd: Path | None = None, *, verbose: bool = False, env: dict[str, str] | None = None,
                 webhook_port: int | None = None) -> None:
        self.emulator = emulator
        self.db_path = db_path
        self.log_path = log_path
        self.webhook_port = webhook_port
        self._polls_before = 0  # a polling bot is up once it polled the emulator after this count (set at start)
        environment = {**emulator_environment(emulator, f"sqlite:///{db_path.absolute()}"), **(env or {})}
        if webhook_port is not None:
            spec = replica_spec("bot", webhook_port, config_path, environment, log_path, verbose=verbose)
        else:
            spec = ProcessSpec(name="bot", argv=skinbot_argv("run", config_path, verbose), log_path=log_path,
                               env=environment, ready=ConditionReady(self._polled))
        self._process = ManagedProcess(dataclasses.replace(spec, cwd=cwd))

    @property
    def pid(self) -> int:
        """The bot's process id (ProcessFailed before it was started)."""
        return self._process.pid

    def _polled(self) -> bool:
        return self.emulator.calls["getUpdates"] > self._polls_before

    async def start(self) -> None:
        """Spawn the bot and wait until it is up: long-polling the emulator for updates or, as a webhook replica,
        answering its health check; ProcessFailed (ending with its log's tail) when it does not come up."""
        self._polls_before = self.emulator.calls["getUpdates"]
        await self._process.start()

    async def stop(self) -> int:
        """SIGTERM (the bot's clean shutdown), then SIGKILL if it takes too long; the exit code (0 when it was not
        running)."""
        code = await self._process.stop()
        return 0 if code is None else code

    async def kill(self) -> None:
        """SIGKILL: the bot gets no chance to clean up (a crash or power cut)."""
        await self._process.kill()

    def rss_bytes(self) -> int:
        """Resident memory of the bot process (and anything it spawned) now (0 if it is not running)."""
        return self._process.rss_bytes()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the bot wrote (for failure messages)."""
        return self._process.log_tail(lines)
