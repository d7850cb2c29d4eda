"""A round-robin load balancer for webhook replicas: the one URL the emulator's webhook points at, in front of
several bot processes (`skinbot loadtest --replicas`, the end-to-end tests).

Each POST goes to the next replica in turn, body and Telegram's headers unchanged, and the replica's answer goes
back. A replica that refuses the connection (down) is skipped for the next; one that breaks the connection after
the request was sent (killed mid-update) gets a 502 back, as a real balancer answers, and Telegram re-sends.
"""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web

FORWARDED_HEADERS = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


class RoundRobin:
    """Forwards POSTs on any path to `backends` (base URLs such as http://127.0.0.1:18101), in turn."""

    def __init__(self, backends: list[str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.backends = [b.rstrip("/") for b in backends]
        self.host = host
        self.port = port
        self.answers: list[tuple[str, int]] = []  # (backend, HTTP status) of each answered request, in order
        self.in_flight: Counter[str] = Counter()  # requests each backend has not answered yet
        self._next = itertools.cycle(range(len(self.backends)))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen on host:port (port 0: a free one, then `self.port` holds it)."""
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application(client_max_size=1024 * 1024)
        app.add_routes([web.post("/{path:.*}", self._forward)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening and close the connections to the replicas."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        for _ in self.backends:
            backend = self.backends[next(self._next)]
            self.in_flight[backend] += 1
            try:
                async with self._session.post(backend + request.path_qs, data=body, headers=headers) as response:
                    self.answers.append((backend, response.status))
                    return web.Response(status=response.status, body=await response.read())
            except aiohttp.ClientConnectorError:
                continue  # not listening: nothing was sent, so the next replica may have it
            except aiohttp.ClientError:
                return web.Response(status=502, text="the replica broke the connection")
            finally:
                self.in_flight[backend] -= 1
        return web.Response(status=502, text="no replica is listening")
