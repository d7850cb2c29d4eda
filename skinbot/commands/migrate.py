"""`skinbot migrate`: bring the database schema to this code's version (the bot does the same on start), then print
the version. Safe while other replicas start or run: PostgreSQL migrations hold an advisory lock."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from skinbot.config import Config


def register(sub: Any) -> None:
    """Add the `migrate` subcommand."""
    parser = sub.add_parser("migrate", help="migrate the database schema and print its version", description=__doc__)
    parser.add_argument("--url", default=None, help="database URL, sqlite:///path or postgresql://... "
                                                    "(default: storage.url or SKINBOT_DB_URL)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Migrate and print the version (a StorageError is answered by `skinbot.cli.storage_unusable`)."""
    from bot.storage import migrate
    from bot.storage.database import redacted

    url = args.url or config.storage.url
    version = asyncio.run(migrate(url))
    print(f"{redacted(url)}: schema version {version}")
    return 0
