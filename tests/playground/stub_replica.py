"""A stand-in webhook replica for the cluster tests, run as `python -m tests.playground.stub_replica NAME PORT
JOURNAL`. It appends each POST's `id` to JOURNAL as the request arrives, before it answers, so that what a
SIGKILLed stub received is still known; a POST's `hold_s` keeps the answer back that long (an update in flight)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web


def make_app(name: str, journal: Path) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        return web.Response(text=name)

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        with journal.open("a", encoding="utf-8") as log:
            log.write(f"{update['id']}\n")
        await asyncio.sleep(float(update.get("hold_s", 0)))
        return web.json_response({"upstream": name, "id": update["id"]})

    app = web.Application()
    app.add_routes([web.get("/healthz", health), web.post("/hook", hook)])
    return app


if __name__ == "__main__":
    stub_name, port, journal_path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    web.run_app(make_app(stub_name, journal_path), host="127.0.0.1", port=port, print=None, access_log=None)
