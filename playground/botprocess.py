"""The real bot as a child process (`python -m skinbot run`) pointed at an in-process emulator.

Used by the load test and the end-to-end tests: the bot runs exactly as in production (its own process, the
token and API URL from the environment), so it can be killed, restarted and measured (RSS) on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import aiohttp
import psutil

from playground.server import Emulator


class BotProcessError(RuntimeError):
    """The bot process did not start or stopped unexpectedly; the message ends with its log tail."""


class BotProcess:
    """One `skinbot run` child process talking to `emulator`; its output goes to `log_path`."""

    def __init__(self, emulator: Emulator, db_path: Path, log_path: Path, config_path: Path | None = None,
                 cwd: Path | None = None, *, verbose: bool = False, env: dict[str, str] | None = None,
                 webhook_port: int | None = None) -> None:
        self.emulator = emulator
        self.db_path = db_path
        self.log_path = log_path
        self.config_path = config_path
        self.cwd = cwd
        self.verbose = verbose  # `skinbot -v`: DEBUG logs, python-telegram-bot's and httpx's included
        self.extra_env = env or {}
        # a webhook replica (config `bot.mode: webhook`) listens on this port, and is up once its health check is
        self.webhook_port = webhook_port
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BotProcessError("the bot process is not running")
        return self._process.pid

    def environment(self) -> dict[str, str]:
        """The child's environment: ours plus the emulator's token and URL and the database path."""
        port = {"SKINBOT_WEBHOOK_PORT": str(self.webhook_port)} if self.webhook_port else {}
        return {**os.environ, "TELEGRAM_BOT_TOKEN": self.emulator.token,
                "TELEGRAM_API_BASE_URL": self.emulator.api_base_url,
                "TELEGRAM_FILE_BASE_URL": self.emulator.file_base_url,
                "SKINBOT_DB_URL": f"sqlite:///{self.db_path.absolute()}", "PYTHONUNBUFFERED": "1", **port,
                **self.extra_env}

    async def start(self, ready_timeout: float = 90.0) -> None:
        """Spawn the bot and wait until it is up: long-polling the emulator for updates or, as a webhook replica,
        answering its health check."""
        polls_before = self.emulator.calls["getUpdates"]
        config_args = ["--config", str(self.config_path)] if self.config_path else []
        verbose_args = ["-v"] if self.verbose else []
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "skinbot", *verbose_args, *config_args, "run",
                stdout=log, stderr=asyncio.subprocess.STDOUT, env=self.environment(), cwd=self.cwd,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_timeout
        async with aiohttp.ClientSession() as http:
            while not await self._ready(http, polls_before):
                if self._process.returncode is not None:
                    raise BotProcessError(f"the bot exited with code {self._process.returncode}\n{self.log_tail()}")
                if loop.time() > deadline:
                    await self.kill()
                    raise BotProcessError(f"the bot was not up within {ready_timeout:.0f} s\n{self.log_tail()}")
                await asyncio.sleep(0.1)

    async def _ready(self, http: aiohttp.ClientSession, polls_before: int) -> bool:
        if self.webhook_port is None:
            return self.emulator.calls["getUpdates"] > polls_before
        try:
            async with http.get(f"http://127.0.0.1:{self.webhook_port}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (the bot's clean shutdown), then SIGKILL if it takes longer than `timeout`; the exit code."""
        process = self._process
        if process is None:
            return 0
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._process = None
        assert process.returncode is not None
        return process.returncode

    async def kill(self) -> None:
        """SIGKILL: the bot gets no chance to clean up (a crash or power cut)."""
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        self._process = None

    def rss_bytes(self) -> int:
        """Resident memory of the bot process now (0 if it has gone)."""
        with contextlib.suppress(psutil.Error, BotProcessError):
            return int(psutil.Process(self.pid).memory_info().rss)
        return 0

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the bot wrote (for failure messages)."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"
