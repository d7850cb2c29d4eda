import asyncio
import dataclasses
import socket

import aiohttp
import pytest
import telegram

from playground.runner import serve_playground
from playground.settings import PlaygroundConfig
from skinbot.config import Config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_on(port: int) -> Config:
    return dataclasses.replace(Config(), playground=PlaygroundConfig(port=port, token="777:PLAY"))


async def test_bot_runs_against_the_emulator_until_stop_then_all_is_closed():
    port = free_port()
    stop = asyncio.Event()
    announced: list[str] = []
    seen: dict[str, object] = {}

    async def fake_bot(config: Config, token: str, stop_event: asyncio.Event) -> None:
        bot = telegram.Bot(token, base_url=config.bot.api_base_url, base_file_url=config.bot.resolved_file_base_url)
        async with bot:
            seen["me"] = (await bot.get_me()).id
        seen["urls"] = (config.bot.api_base_url, config.bot.resolved_file_base_url)
        await stop_event.wait()

    task = asyncio.create_task(serve_playground(config_on(port), fake_bot, stop, announced.append))
    for _ in range(100):
        if "me" in seen:
            break
        await asyncio.sleep(0.05)
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as page:
        assert page.status == 200
    stop.set()
    await asyncio.wait_for(task, 5)
    assert announced == [f"skinbot playground: open http://127.0.0.1:{port} in a browser (Ctrl-C to stop)"]
    assert seen == {"me": 777, "urls": (f"http://127.0.0.1:{port}/bot", f"http://127.0.0.1:{port}/file/bot")}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{port}/")


async def test_bot_failure_stops_the_emulator_and_propagates():
    port = free_port()

    async def broken_bot(config: Config, token: str, stop_event: asyncio.Event) -> None:
        raise RuntimeError("model missing")

    with pytest.raises(RuntimeError, match="model missing"):
        await serve_playground(config_on(port), broken_bot, asyncio.Event(), lambda _: None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # the port is free again


async def test_busy_port_gives_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        async def never(config: Config, token: str, stop_event: asyncio.Event) -> None:
            raise AssertionError("the bot must not start")

        with pytest.raises(OSError, match=r"playground\.port"):
            await serve_playground(config_on(port), never, asyncio.Event(), lambda _: None)
