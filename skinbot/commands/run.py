"""`skinbot run`: serve the Telegram bot (token from TELEGRAM_BOT_TOKEN; never printed or logged)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from skinbot.config import Config, ConfigError
from skinbot.redact import install_redaction

if TYPE_CHECKING:
    from inference.pipeline import Pipeline

TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_VARIABLE = "SKINBOT_WEBHOOK_SECRET"


def register(subparsers: Any) -> None:
    """Add the `run` subcommand."""
    parser = subparsers.add_parser("run", help="run the Telegram bot (long polling, or a webhook by config)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Serve the bot until Ctrl-C / SIGTERM; returns the exit code. The token and the webhook secret are
    redacted from every log line, at every level."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    install_redaction([token, os.environ.get(WEBHOOK_SECRET_VARIABLE, ""), config.playground.token])
    if not token:
        return run_without_token(config)
    return run_with_token(config, token)


def run_without_token(config: Config) -> int:
    """No token: the local playground, i.e. the Bot API emulator with its web chat page and the bot against it,
    in one event loop (see `playground.runner`), until Ctrl-C / SIGTERM."""
    from bot.app import build_application, serve
    from playground.runner import serve_playground

    print(
        f"skinbot: {TOKEN_VARIABLE} is not set, so this is the local playground (no Telegram involved).\n"
        f"To serve Telegram, create a bot with @BotFather and run  {TOKEN_VARIABLE}=<your token> skinbot run",
        file=sys.stderr,
    )

    async def main(pipeline: Pipeline) -> None:
        async def serve_bot(bot_config: Config, token: str, stop: asyncio.Event) -> None:
            await serve(build_application(bot_config, pipeline, token), stop)

        stop = asyncio.Event()
        stop_on_signals(stop)
        await serve_playground(config, serve_bot, stop, announce=lambda line: print(line, flush=True))

    return _run_with_pipeline(config, main)


def run_with_token(config: Config, token: str) -> int:
    """Load the model, build the Application and serve it in a fresh event loop."""
    from bot.app import build_application

    secret = os.environ.get(WEBHOOK_SECRET_VARIABLE) or None

    async def main(pipeline: Pipeline) -> None:
        await serve_until_signalled(build_application(config, pipeline, token), webhook_secret=secret)

    return _run_with_pipeline(config, main)


def _run_with_pipeline(config: Config, main: Callable[[Pipeline], Coroutine[Any, Any, None]]) -> int:
    """Load the model, run `main(pipeline)` in a fresh event loop, and turn the usual failures into a clear
    message and an exit code (2: fix the setup; 1: try again later)."""
    from telegram.error import InvalidToken, NetworkError

    from inference.card import ModelCardError
    from inference.pipeline import Pipeline

    try:
        pipeline = Pipeline.from_config(config)
    except ModelCardError as exc:
        from skinbot.cli import model_unavailable

        return model_unavailable("run", exc)
    try:
        asyncio.run(main(pipeline))
    except ConfigError as exc:
        print(f"skinbot: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except InvalidToken:
        print(f"skinbot: Telegram rejected the token in {TOKEN_VARIABLE}", file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"skinbot: cannot reach the Telegram Bot API at {config.bot.api_base_url}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"skinbot: {exc}", file=sys.stderr)
        return 1
    finally:
        pipeline.close()
    return 0


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGINT / SIGTERM (call inside the running loop)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


async def serve_until_signalled(application: Any, webhook_secret: str | None = None) -> None:
    """Serve `application` until SIGINT / SIGTERM."""
    from bot.app import serve

    stop = asyncio.Event()
    stop_on_signals(stop)
    await serve(application, stop, webhook_secret=webhook_secret)
