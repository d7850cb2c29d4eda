"""skinbot as a deployment runs it (docs/deploy.md), on loopback, fed by the emulator: the schema migrated first
(`skinbot migrate`), N webhook replicas sharing one database (PostgreSQL), nginx in front of them with the
generated configuration, optionally the reminder worker, and the emulator's webhook pointed at nginx.

The end-to-end cluster test and `skinbot loadtest --cluster` run on it.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from playground.botprocess import emulator_environment
from playground.cluster.nginx import Address, NginxSpec
from playground.cluster.processes import free_port
from playground.cluster.replicas import migrate, reminder_worker, webhook_replicas
from playground.cluster.stack import Cluster, running_cluster
from playground.fleet import SECRET_VARIABLE, WEBHOOK_PATH, webhook_config
from playground.server import Emulator
from playground.world import Webhook

# nginx leaves a replica that failed out this long: short, so that a restarted replica rejoins soon
FAIL_TIMEOUT_S = 1


@dataclass(frozen=True)
class ClusterSpec:
    """What to run: `replicas` webhook replicas on the database at `db_url`, the reminder worker if `worker`."""

    replicas: int
    db_url: str
    worker: bool = False
    env: dict[str, str] = field(default_factory=dict)  # added to every process's environment (the secret too)
    read_timeout_s: float = 60.0  # nginx's wait for a replica: above the slowest handling under load


@dataclass(frozen=True)
class BotCluster:
    """A running cluster of skinbot processes: the generic `cluster`, and where its logs are."""

    cluster: Cluster
    log_dir: Path

    def bot_rss_bytes(self) -> dict[str, int]:
        """Each skinbot process's resident memory now (replicas and worker; 0 for one that is down), by name."""
        return {**self.cluster.backends.rss_bytes(), **self.cluster.others.rss_bytes()}

    def access_log(self) -> str:
        """nginx's access log so far (one line per forwarded request, with the replica and its status)."""
        return (self.log_dir / "skinbot-access.log").read_text(errors="replace")


@contextlib.asynccontextmanager
async def bot_cluster(emulator: Emulator, spec: ClusterSpec, config_path: Path | None,
                      scratch: Path) -> AsyncIterator[BotCluster]:
    """Migrate `spec.db_url`, start the replicas (and the worker), then nginx, and point the emulator's webhook at
    nginx; yield; remove the webhook and stop everything (nginx first). Logs and nginx's files go to `scratch`."""
    if spec.replicas < 1:
        raise ValueError("a cluster needs at least one replica")
    config = webhook_config(config_path, scratch)
    env = {**emulator_environment(emulator, spec.db_url), **spec.env}
    env.setdefault(SECRET_VARIABLE, secrets.token_urlsafe(24))
    await migrate(config, env, scratch / "migrate.log")
    backends = webhook_replicas(spec.replicas, config, env, scratch)
    others = [reminder_worker(config, env, scratch)] if spec.worker else []
    nginx = NginxSpec(tuple(b.address for b in backends), Address("127.0.0.1", free_port()), scratch,
                      webhook_path=WEBHOOK_PATH, fail_timeout_s=FAIL_TIMEOUT_S, read_timeout_s=spec.read_timeout_s)
    async with running_cluster(backends, nginx, scratch / "nginx", others) as cluster:
        await emulator.world.set_webhook(Webhook(url=f"{cluster.url}{WEBHOOK_PATH}",
                                                 secret_token=env[SECRET_VARIABLE]))
        try:
            yield BotCluster(cluster, scratch)
        finally:
            await emulator.world.set_webhook(None)  # nothing more is delivered to a cluster going away
