"""`skinbot cluster nginx-config`: print the nginx site (an `upstream` and a `server` block, for
/etc/nginx/conf.d/) that balances Telegram's webhook calls over several replicas; docs/deploy.md explains it.

The webhook path and the server name come from bot.webhook_url, so that nginx forwards exactly what Telegram calls.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from skinbot.config import Config

DEFAULT_LOG_DIR = Path("/var/log/nginx")


def register(subparsers: Any) -> None:
    """Add the `cluster` subcommand and its `nginx-config` action."""
    parser = subparsers.add_parser("cluster", help="several webhook replicas behind nginx (docs/deploy.md)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    nginx = actions.add_parser("nginx-config", help="print the nginx site for the replicas (conf.d/ file)")
    nginx.add_argument("--upstream", action="append", required=True, metavar="HOST:PORT",
                       help="a replica's address (its bot.webhook_listen and SKINBOT_WEBHOOK_PORT); repeat per replica")
    nginx.add_argument("--listen", default=None, metavar="[HOST:]PORT",
                       help="where nginx listens (default 443 with --tls-cert, else 80)")
    nginx.add_argument("--tls-cert", type=Path, default=None, help="certificate chain (PEM) to serve HTTPS with")
    nginx.add_argument("--tls-key", type=Path, default=None, help="its private key (PEM)")
    nginx.add_argument("--log-dir", type=Path, default=DEFAULT_LOG_DIR,
                       help=f"folder of the access log skinbot-access.log (default {DEFAULT_LOG_DIR})")
    nginx.add_argument("--read-timeout", type=float, default=None, metavar="SECONDS",
                       help="how long nginx waits for a replica's answer (default: a little above the bot's "
                            "slowest handling)")
    nginx.set_defaults(handler=run_nginx_config)


def run_nginx_config(args: argparse.Namespace, config: Config) -> int:
    """Print the site configuration; exit 2, saying why, for bad options."""
    from playground.cluster.nginx import Address, NginxSpec, TlsFiles, site_config

    if (args.tls_cert is None) != (args.tls_key is None):
        return _usage("--tls-cert and --tls-key go together")
    tls = TlsFiles(args.tls_cert, args.tls_key) if args.tls_cert else None
    webhook = urlparse(config.bot.webhook_url)
    timeout = {} if args.read_timeout is None else {"read_timeout_s": args.read_timeout}
    try:
        spec = NginxSpec(
            upstreams=tuple(Address.parse(text) for text in args.upstream),
            listen=Address.parse(args.listen or ("443" if tls else "80")),
            log_dir=args.log_dir, webhook_path=webhook.path or "/", server_name=webhook.hostname or "_", tls=tls,
            **timeout,
        )
    except ValueError as exc:
        return _usage(str(exc))
    print(site_config(spec), end="")
    return 0


def _usage(problem: str) -> int:
    print(f"skinbot cluster nginx-config: {problem}", file=sys.stderr)
    return 2
