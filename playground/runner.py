"""`skinbot run` without a token: the emulator and the bot in one process and one event loop.

The bot is started by a callable the caller passes in (so this package does not depend on the bot), with a copy
of the configuration whose Bot API URLs point at the emulator and the playground's fake token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from playground.server import Emulator
from skinbot.config import Config

# (config pointing at the emulator, token, stop event) -> runs the bot until stop is set.
BotServer = Callable[[Config, str, asyncio.Event], Awaitable[None]]

log = logging.getLogger(__name__)


def pointed_at(config: Config, emulator: Emulator) -> Config:
    """`config` with the bot long-polling the emulator (one bot in this process: no need for a webhook)."""
    bot = dataclasses.replace(config.bot, api_base_url=emulator.api_base_url, file_base_url=emulator.file_base_url,
                              mode="polling")
    return dataclasses.replace(config, bot=bot)


async def serve_playground(
    config: Config, serve_bot: BotServer, stop: asyncio.Event, announce: Callable[[str], None] = print
) -> None:
    """Run the emulator on `config.playground` host:port and the bot against it until `stop` is set.

    `announce` receives the page URL as soon as the emulator listens (the bot connects right after; the page
    works meanwhile). If the bot stops on its own (an error), the emulator is stopped too and the error propagates.
    """
    settings = config.playground
    emulator = Emulator(token=settings.token, host=settings.host, port=settings.port, extra_hosts=settings.extra_hosts)
    try:
        await emulator.start()
    except OSError as exc:
        raise OSError(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}); "
                      "set playground.port in config.yaml to a free port") from exc
    try:
        announce(f"skinbot playground: open {emulator.url} in a browser (Ctrl-C to stop)")
        await serve_bot(pointed_at(config, emulator), settings.token, stop)
    finally:
        await emulator.stop()
        log.info("playground stopped")
