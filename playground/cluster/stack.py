"""The local cluster put together: backend processes (webhook replicas), other processes (the reminder worker)
and nginx in front of the backends, started in that order and always stopped in the reverse one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from playground.cluster.nginx import Address, NginxSpec, nginx_process
from playground.cluster.processes import ManagedProcess, ProcessSet, ProcessSpec


class Backend(NamedTuple):
    """A process nginx forwards to, and the address it serves on."""

    process: ProcessSpec
    address: Address


@dataclass(frozen=True)
class Cluster:
    """A running cluster: `url` is nginx's, the one address the outside world (Telegram) calls."""

    backends: ProcessSet
    others: ProcessSet
    nginx: ManagedProcess
    url: str

    def rss_bytes(self) -> dict[str, int]:
        """Every process's resident memory now, by name (0 for one that is down)."""
        return {**self.backends.rss_bytes(), **self.others.rss_bytes(), "nginx": self.nginx.rss_bytes()}


@contextlib.asynccontextmanager
async def running_cluster(backends: Sequence[Backend], nginx: NginxSpec, runtime_dir: Path,
                          others: Sequence[ProcessSpec] = ()) -> AsyncIterator[Cluster]:
    """Start `backends` and `others` (all at once), then nginx on `nginx` in `runtime_dir`; yield the cluster;
    stop nginx first (no new requests), then the rest. `nginx.upstreams` must be the backends' addresses."""
    addresses = tuple(b.address for b in backends)
    if nginx.upstreams != addresses:
        raise ValueError(f"nginx upstreams {list(map(str, nginx.upstreams))} are not the backends' addresses "
                         f"{list(map(str, addresses))}")
    async with contextlib.AsyncExitStack() as stack:
        started = await stack.enter_async_context(ProcessSet([b.process for b in backends]))
        helpers = await stack.enter_async_context(ProcessSet(others))
        balancer = await stack.enter_async_context(nginx_process(nginx, runtime_dir))
        host = nginx.listen.host or "127.0.0.1"
        yield Cluster(started, helpers, balancer, f"http://{host}:{nginx.listen.port}")
