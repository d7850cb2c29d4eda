"""`skinbot worker`: send re-check reminders as they fall due, in PostgreSQL mode (several webhook replicas); run
one or more next to the replicas. The single-process SQLite mode needs none: the bot sends its own reminders.

The token comes from TELEGRAM_BOT_TOKEN and is never printed or logged. Failures are one line and an exit code:
2 to fix the setup (no token, a token Telegram refuses, a SQLite storage.url), 1 to try again later (the database
or Telegram unreachable). SIGTERM or SIGINT stops it once the sends under way are done.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from skinbot.commands.run import TOKEN_VARIABLE, stop_on_signals
from skinbot.config import Config
from skinbot.redact import install_redaction


def register(sub: Any) -> None:
    """Add the `worker` subcommand."""
    parser = sub.add_parser("worker", help="send reminders as they fall due (PostgreSQL mode)", description=__doc__)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the reminder worker until a signal; returns the exit code (a StorageError is answered by
    `skinbot.cli.storage_unusable`)."""
    from telegram.error import InvalidToken, NetworkError

    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    redactor = install_redaction([token])
    if not token:
        return _fail(f"{TOKEN_VARIABLE} is not set", 2)
    try:
        asyncio.run(_work(config, token))
    except InvalidToken:
        return _fail(f"Telegram rejected the token in {TOKEN_VARIABLE}", 2)
    except NetworkError as exc:
        return _fail(f"cannot reach the Telegram Bot API at {config.bot.api_base_url}: "
                     f"{redactor.redact(str(exc))}", 1)
    return 0


async def _work(config: Config, token: str) -> None:
    from bot.reminder_queue import run_worker

    stop = asyncio.Event()
    stop_on_signals(stop)
    await run_worker(config, token, stop)


def _fail(message: str, code: int) -> int:
    print(f"skinbot worker: {message}", file=sys.stderr)
    return code
