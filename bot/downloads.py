"""Photo downloads with bounded memory: a global limit on photos downloaded and analysed at once, and a streaming
download that stops at the size cap.

Memory is bounded by config: at most `bot.photo_slots` photos are held at once, each at most `bot.max_photo_bytes`
as downloaded plus what decoding it takes (`inference.max_full_decode_pixels`); photos beyond that wait, at most
`bot.photo_wait_s` and at most `bot.photo_queue_limit` of them, and the rest are told the bot is busy.

Files come only from the Bot API file server: `getFile` answers with a path relative to it, and a path that is
absolute, climbs out with `..` or is anything but plain path segments is refused, so a misbehaving Bot API server
cannot make the bot read its own disk (python-telegram-bot would read a `file_path` that names a local file).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
from telegram.error import NetworkError, TimedOut

CHUNK_BYTES = 64 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,254}")


class Busy(Exception):
    """Every photo slot is taken and too many photos are waiting already (or waited too long)."""


class FileRefused(Exception):
    """The file cannot be fetched: its path is not on the file server, or the server refused it for good."""


class FileTooBig(FileRefused):
    """The file is larger than the download limit."""

    def __init__(self, size: int) -> None:
        super().__init__(f"file of at least {size} bytes")
        self.size = size


class PhotoSlots:
    """At most `slots` photos in download or analysis at once; at most `max_waiting` waiting for a slot, each at
    most `wait_s` seconds."""

    def __init__(self, slots: int, max_waiting: int, wait_s: float) -> None:
        self._semaphore = asyncio.Semaphore(slots)
        self._max_waiting = max_waiting
        self._wait_s = wait_s
        self._waiting = 0

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold a slot for the block; Busy if none is free in time."""
        if self._semaphore.locked() and self._waiting >= self._max_waiting:
            raise Busy
        self._waiting += 1
        try:
            async with asyncio.timeout(self._wait_s):
                await self._semaphore.acquire()
        except TimeoutError:
            raise Busy from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()


def relative_file_path(file_path: str | None, base_file_url: str) -> str:
    """The path a `File` names on the file server at `base_file_url`, checked to be plain path segments."""
    prefix = base_file_url.rstrip("/") + "/"
    if not file_path or not file_path.startswith(prefix):
        raise FileRefused("the file is not on the Bot API file server")
    relative = file_path[len(prefix):]
    segments = relative.split("/")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise FileRefused("the file path is not a plain relative path")
    return relative


class FileFetcher:
    """Streams files from the Bot API file server with a size cap (one shared HTTP client)."""

    def __init__(self, base_file_url: str, timeout: httpx.Timeout, connections: int,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_file_url = base_file_url
        self._timeout = timeout
        self._limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def url(self, file_path: str | None) -> str:
        """The download URL of a `File.file_path`; FileRefused unless it is a plain path on the file server."""
        relative = relative_file_path(file_path, self.base_file_url)
        return f"{self.base_file_url.rstrip('/')}/{quote(relative)}"

    async def fetch(self, file_path: str | None, limit: int) -> bytes:
        """The file's bytes, read in chunks and abandoned as soon as they pass `limit`. Transient failures raise
        telegram's NetworkError / TimedOut (so `bot.retry` retries them), permanent ones FileRefused."""
        url = self.url(file_path)
        try:
            async with self._http().stream("GET", url) as response:
                if response.status_code >= 500:
                    raise NetworkError(f"the file server answered {response.status_code}")
                if response.status_code != 200:
                    raise FileRefused(f"the file server answered {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FileTooBig(int(declared))
                buffer = io.BytesIO()
                async for chunk in response.aiter_bytes(CHUNK_BYTES):
                    if buffer.tell() + len(chunk) > limit:
                        raise FileTooBig(buffer.tell() + len(chunk))
                    buffer.write(chunk)
                return buffer.getvalue()
        except httpx.TimeoutException as exc:
            raise TimedOut(f"file download timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise NetworkError(f"file download failed ({type(exc).__name__})") from None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, limits=self._limits, transport=self._transport,
                                             follow_redirects=False)
        return self._client

    async def close(self) -> None:
        """Close the HTTP client (idempotent)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
