"""`skinbot webhook set|delete|info`: register the webhook with Telegram (once per deployment: the replicas behind
it only serve it), remove it (back to long polling), or show what Telegram knows about it.

The token comes from TELEGRAM_BOT_TOKEN and the secret from SKINBOT_WEBHOOK_SECRET; neither is ever printed or
logged. Failures are one line and an exit code: 2 to fix the setup (no token, a bad URL or secret, a token or URL
Telegram refuses), 1 to try again later (Telegram unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import re
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from skinbot.commands.run import TOKEN_VARIABLE, WEBHOOK_SECRET_VARIABLE
from skinbot.config import Config
from skinbot.redact import install_redaction

if TYPE_CHECKING:
    from telegram import Bot, WebhookInfo

SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as setWebhook's secret_token
DEFAULT_MAX_CONNECTIONS = 40  # Telegram's default
TIMEOUT_S = 15.0


class SetupError(Exception):
    """Something to fix before Telegram is asked (exit 2)."""


def register(subparsers: Any) -> None:
    """Add the `webhook` subcommand and its actions."""
    parser = subparsers.add_parser("webhook", help="set, delete or show the Telegram webhook (a deploy step)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_parser = actions.add_parser("set", help="have Telegram POST updates to the URL (with the secret header)")
    set_parser.add_argument("--url", default=None, help="the public HTTPS URL (default: bot.webhook_url)")
    set_parser.add_argument("--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS,
                            help=f"requests Telegram sends at once, 1-100 (default {DEFAULT_MAX_CONNECTIONS})")
    set_parser.add_argument("--drop-pending", action="store_true", help="forget the updates waiting at Telegram")
    delete_parser = actions.add_parser("delete", help="remove the webhook (the bot can long-poll again)")
    delete_parser.add_argument("--drop-pending", action="store_true", help="forget the updates waiting at Telegram")
    actions.add_parser("info", help="show the webhook's URL, pending updates and last delivery error")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Carry out the action; returns the exit code."""
    from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    secret = os.environ.get(WEBHOOK_SECRET_VARIABLE, "")
    redactor = install_redaction([token, secret])
    try:
        if not token:
            raise SetupError(f"{TOKEN_VARIABLE} is not set")
        print(asyncio.run(_carry_out(args, config, token, secret)))
    except SetupError as exc:
        return _fail(args, str(exc), 2)
    except InvalidToken:
        return _fail(args, f"Telegram rejected the token in {TOKEN_VARIABLE}", 2)
    except BadRequest as exc:  # before NetworkError, its base class: the request itself was refused
        return _fail(args, f"Telegram refused: {redactor.redact(exc.message)}", 2)
    except (NetworkError, TelegramError) as exc:
        return _fail(args, f"cannot reach the Telegram Bot API at {config.bot.api_base_url}: "
                           f"{redactor.redact(str(exc))}", 1)
    return 0


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    print(f"skinbot webhook {args.action}: {message}", file=sys.stderr)
    return code


async def _carry_out(args: argparse.Namespace, config: Config, token: str, secret: str) -> str:
    """Check the inputs, then make the call; the text to print."""
    if args.action == "set":
        url = _checked_url(args.url or config.bot.webhook_url)
        _check_set_options(secret, args.max_connections)
    async with _bot(config, token) as bot:
        if args.action == "set":
            from bot.app import HANDLED_UPDATES

            await bot.set_webhook(url, secret_token=secret, max_connections=args.max_connections,
                                  allowed_updates=list(HANDLED_UPDATES), drop_pending_updates=args.drop_pending)
            return f"webhook set: {url} (max {args.max_connections} connections, updates: {', '.join(HANDLED_UPDATES)})"
        if args.action == "delete":
            await bot.delete_webhook(drop_pending_updates=args.drop_pending)
            return "webhook deleted: the bot can long-poll again"
        return describe(await bot.get_webhook_info())


def _checked_url(url: str) -> str:
    """The webhook URL, if it can be one (Telegram itself insists on HTTPS and a few ports, and says so)."""
    if not url:
        raise SetupError("no URL: pass --url or set bot.webhook_url")
    try:
        parsed = urlparse(url)
        usable = parsed.scheme in ("https", "http") and bool(parsed.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    if not usable:
        raise SetupError(f"not an HTTPS URL: {url!r}")
    return url


def _check_set_options(secret: str, max_connections: int) -> None:
    if not secret:
        raise SetupError(f"{WEBHOOK_SECRET_VARIABLE} is not set (the replicas refuse updates without it)")
    if not SECRET_TOKEN.fullmatch(secret):
        raise SetupError(f"{WEBHOOK_SECRET_VARIABLE} must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    if not 1 <= max_connections <= 100:
        raise SetupError("--max-connections must be between 1 and 100")


def _bot(config: Config, token: str) -> Bot:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S, write_timeout=TIMEOUT_S)
    return Bot(token, base_url=config.bot.api_base_url, request=request)


def describe(info: WebhookInfo) -> str:
    """getWebhookInfo as a few lines: url, pending_update_count, last_error (and the settings Telegram keeps)."""
    if info.last_error_date is not None:
        when = info.last_error_date.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        last_error = f"{when}: {info.last_error_message}"
    else:
        last_error = "none"
    lines = [f"url: {info.url or '(none: updates wait for getUpdates)'}",
             f"pending_update_count: {info.pending_update_count}",
             f"last_error: {last_error}"]
    if info.url:
        lines.append(f"max_connections: {info.max_connections}")
        lines.append(f"allowed_updates: {', '.join(info.allowed_updates or ()) or 'all'}")
    return "\n".join(lines)
