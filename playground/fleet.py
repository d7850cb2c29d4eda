"""The bot as the load test and the end-to-end tests run it against the emulator: one process long-polling it, or
several webhook replicas sharing one database behind a round-robin balancer, which the emulator's webhook points
at (as a deployment's load balancer would be).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

from playground.balancer import RoundRobin
from playground.botprocess import BotProcess
from playground.cluster.processes import free_port
from playground.server import Emulator
from playground.world import Webhook
from skinbot import resources

WEBHOOK_PATH = "/hook"
SECRET_VARIABLE = "SKINBOT_WEBHOOK_SECRET"


def webhook_config(source: Path | None, directory: Path) -> Path:
    """A copy of the configuration (`source`, else the default file) that makes the bot a webhook replica on the
    loopback interface, written into `directory`; each replica gets its port from SKINBOT_WEBHOOK_PORT."""
    source = source or resources.default_config_file()
    raw = (yaml.safe_load(source.read_text(encoding="utf-8")) if source.is_file() else None) or {}
    raw["bot"] = {**(raw.get("bot") or {}), "mode": "webhook", "webhook_listen": "127.0.0.1",
                  "webhook_url": f"https://replicas.invalid{WEBHOOK_PATH}"}
    target = directory / "webhook-config.yaml"
    target.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return target


class Fleet:
    """The bot process(es) serving `emulator`, with their logs and database in `scratch`. `replicas` 0 means one
    bot long-polling; N means N webhook replicas behind a `RoundRobin` balancer."""

    def __init__(self, emulator: Emulator, scratch: Path, config_path: Path | None, cwd: Path | None = None, *,
                 replicas: int = 0, verbose: bool = False, env: dict[str, str] | None = None) -> None:
        self.emulator = emulator
        self.db_path = scratch / "bot.db"
        env = dict(env or {})
        self.balancer: RoundRobin | None = None
        if replicas:
            env.setdefault(SECRET_VARIABLE, secrets.token_urlsafe(24))
            config = webhook_config(config_path, scratch)
            self.bots = [BotProcess(emulator, self.db_path, scratch / f"bot{i}.log", config, cwd, verbose=verbose,
                                    env=env, webhook_port=free_port()) for i in range(replicas)]
            self.balancer = RoundRobin([f"http://127.0.0.1:{bot.webhook_port}" for bot in self.bots])
        else:
            self.bots = [BotProcess(emulator, self.db_path, scratch / "bot.log", config_path, cwd, verbose=verbose,
                                    env=env)]
        self._secret = env.get(SECRET_VARIABLE, "")

    async def start(self) -> None:
        """Start every bot, one after another (the first creates the database), then, for replicas, the balancer
        and the emulator's webhook pointing at it."""
        for bot in self.bots:
            await bot.start()
        if self.balancer is not None:
            await self.balancer.start()
            await self.emulator.world.set_webhook(Webhook(url=f"{self.balancer.url}{WEBHOOK_PATH}",
                                                          secret_token=self._secret))

    async def stop(self) -> list[int]:
        """Stop every bot (SIGTERM) and the balancer; the bots' exit codes."""
        codes = [await bot.stop() for bot in self.bots]
        if self.balancer is not None:
            await self.balancer.stop()
        return codes

    def rss_by_process(self) -> dict[str, int]:
        """Resident memory of each bot process now, by name (bot0, bot1, ...)."""
        return {f"bot{i}": bot.rss_bytes() for i, bot in enumerate(self.bots)}
