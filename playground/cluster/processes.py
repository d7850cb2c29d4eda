"""Child processes started from argv + environment: spawned in a session of their own (so that killing one also
kills what it spawned, such as nginx's workers), waited for until a readiness check passes, SIGKILLed, started
again, stopped (their stop signal, then SIGKILL) and measured (RSS of the whole process tree).

Nothing here knows what the processes are: readiness is "GET url answers 200" or "a TCP port accepts".
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import aiohttp
import psutil

POLL_S = 0.1  # how often readiness is probed while a process starts
PROBE_TIMEOUT_S = 2.0  # one readiness probe; a process that is up answers a loopback probe far sooner


class ProcessFailed(RuntimeError):
    """A child process did not become ready or stopped unexpectedly; the message ends with its log tail."""


@dataclass(frozen=True)
class HttpReady:
    """Ready once GET `url` answers 200."""

    url: str

    async def probe(self, http: aiohttp.ClientSession) -> bool:
        """One attempt: True if the URL answered 200 now."""
        try:
            async with http.get(self.url, timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


@dataclass(frozen=True)
class TcpReady:
    """Ready once `host:port` accepts a TCP connection."""

    host: str
    port: int

    async def probe(self, http: aiohttp.ClientSession) -> bool:
        """One attempt: True if a connection was accepted now (it is closed again at once); `http` is not needed
        here, the signature is HttpReady's."""
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), PROBE_TIMEOUT_S)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True


@dataclass(frozen=True)
class ConditionReady:
    """Ready once `check()` is true: for a process that shows it is up only through what it does to us (a bot
    long-polling an in-process emulator)."""

    check: Callable[[], bool]

    async def probe(self, http: aiohttp.ClientSession) -> bool:
        """One attempt: the condition now; `http` is not needed here, the signature is HttpReady's."""
        return self.check()


# None: up as soon as it is spawned (a process with nothing to probe)
Readiness = HttpReady | TcpReady | ConditionReady | None


@dataclass(frozen=True)
class ProcessSpec:
    """What to run: `argv` with our environment plus `env`, output appended to `log_path`."""

    name: str
    argv: tuple[str, ...]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    ready: Readiness = None
    cwd: Path | None = None
    stop_signal: signal.Signals = signal.SIGTERM  # the process's clean shutdown (nginx: SIGQUIT)
    ready_timeout_s: float = 90.0
    stop_timeout_s: float = 20.0


class Started(abc.ABC):
    """Something started on entering `async with` and always stopped on leaving it, even after an error."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start and wait until ready."""

    @abc.abstractmethod
    async def stop(self) -> object:
        """Stop (whatever state it is in)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()


class ManagedProcess(Started):
    """One child process of `spec`; `start` again after `kill` or `stop` to restart it. As an async context
    manager it is started on entry and always stopped on exit."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        self._process: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise ProcessFailed(f"{self.spec.name} is not running")
        return self._process.pid

    async def start(self) -> None:
        """Spawn the process and wait until it is ready; on failure it is killed and ProcessFailed raised."""
        if self.running:
            raise ProcessFailed(f"{self.spec.name} is already running (pid {self.pid})")
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self.spec.argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **self.spec.env}, cwd=self.spec.cwd, start_new_session=True,
            )
        try:
            await self._wait_ready(self._process)
        except BaseException:
            await self.kill()  # also on cancellation: a process half started is never left behind
            raise

    async def _wait_ready(self, process: asyncio.subprocess.Process) -> None:
        ready = self.spec.ready
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.spec.ready_timeout_s
        async with aiohttp.ClientSession() as http:
            while True:
                if process.returncode is not None:
                    raise ProcessFailed(f"{self.spec.name} exited with code {process.returncode} while starting\n"
                                        f"{self.log_tail()}")
                if ready is None or await ready.probe(http):
                    return
                if loop.time() > deadline:
                    raise ProcessFailed(f"{self.spec.name} was not ready ({ready}) within "
                                        f"{self.spec.ready_timeout_s:g} s\n{self.log_tail()}")
                await asyncio.sleep(POLL_S)

    async def kill(self) -> None:
        """SIGKILL the process and everything it spawned (a crash or power cut: no chance to clean up)."""
        process = self._process
        if process is None:
            return
        _kill_session(process.pid)
        await process.wait()
        self._process = None

    async def stop(self) -> int | None:
        """The stop signal, then SIGKILL after `stop_timeout_s`; the exit code (None if it was not running).
        Whatever the process left behind in its session is killed too."""
        process = self._process
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(self.spec.stop_signal)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), self.spec.stop_timeout_s)
        code = process.returncode
        await self.kill()
        return code if code is not None else -signal.SIGKILL

    def rss_bytes(self) -> int:
        """Resident memory of the process and its descendants now (0 when it is not running)."""
        if not self.running:
            return 0
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.pid)
            total = 0
            for member in (root, *root.children(recursive=True)):
                with contextlib.suppress(psutil.Error):  # a child may exit between listing and measuring
                    total += member.memory_info().rss
            return total
        return 0

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the process wrote (for failure messages)."""
        with contextlib.suppress(OSError):
            return "\n".join(self.spec.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


def _kill_session(pid: int) -> None:
    """SIGKILL every process in the session `pid` leads (spawned with start_new_session, so its group id is its
    pid); a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class ProcessSet(Started):
    """Several processes started together and always all stopped together (an async context manager); a set
    whose start fails stops the ones already up before the error propagates."""

    def __init__(self, specs: Sequence[ProcessSpec]) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be distinct: {names}")
        self.members = [ManagedProcess(spec) for spec in specs]

    def __getitem__(self, name: str) -> ManagedProcess:
        for member in self.members:
            if member.spec.name == name:
                return member
        raise KeyError(name)

    async def start(self) -> None:
        """Start every member at once and wait for all; if any fails, all are stopped and its error raised."""
        results = await asyncio.gather(*(member.start() for member in self.members), return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            await self.stop()
            raise failures[0]

    async def stop(self) -> dict[str, int | None]:
        """Stop every member at once; their exit codes by name."""
        codes = await asyncio.gather(*(member.stop() for member in self.members))
        return {member.spec.name: code for member, code in zip(self.members, codes, strict=True)}

    def rss_bytes(self) -> dict[str, int]:
        """Each member's resident memory now (0 for one that is down), by name."""
        return {member.spec.name: member.rss_bytes() for member in self.members}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now (the OS picks it; another program could take it before it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
