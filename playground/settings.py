"""The playground's settings (`playground:` in config.yaml), owned here. A leaf; `skinbot.config` loads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlaygroundConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    token: str = "123456:PLAYGROUND-LOCAL-TOKEN"
    extra_hosts: tuple[str, ...] = ()
