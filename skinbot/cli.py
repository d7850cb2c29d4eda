"""The `skinbot` command line: one subcommand per module in `skinbot.commands`.

Command modules keep heavy imports (TensorFlow, LiteRT, Telegram) inside their `run` function, so that
`skinbot --help` and light commands start fast and serving never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.storage.records import StorageError, StorageUnavailable
from inference.card import ModelCardError
from skinbot import resources
from skinbot.config import ConfigError, anchored, load_config

# Subcommand name -> module under skinbot.commands defining `register(subparsers)`.
COMMANDS: dict[str, str] = {
    "run": "run",
    "check": "check",
    "ask": "ask",
    "bench": "bench",
    "train": "train",
    "evaluate": "evaluate",
    "loadtest": "loadtest",
    "killtest": "killtest",
    "webhook": "webhook",
    "migrate": "migrate",
    "cluster": "cluster",
    "worker": "worker",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(prog="skinbot", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=None,
                        help=f"configuration file (default: config.yaml in ${resources.HOME_VARIABLE} or the checkout, "
                             "else the built-in defaults)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(f"skinbot.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"skinbot.commands.{module_name}":
                raise
            continue  # a command whose module does not exist yet is simply not offered
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `skinbot` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO: noise (each URL holds the bot token, which `skinbot run` redacts anyway).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    foreign = resources.foreign_packages()
    if foreign:
        print(f"skinbot: these packages are not skinbot's own but another installation's: {', '.join(foreign)}; "
              "install skinbot in a virtual environment of its own", file=sys.stderr)
        return 2
    try:
        config = anchored(load_config(args.config), resources.home())
    except ConfigError as exc:
        print(f"skinbot: invalid configuration: {exc}", file=sys.stderr)
        return 2
    try:
        code: int = args.handler(args, config)
        sys.stdout.flush()  # inside the try: a reader that went away fails here, not at interpreter exit
    except BrokenPipeError:
        return _reader_gone()
    except ModelCardError as exc:  # every command that serves the model: fix the setup, exit 2
        return model_unavailable(args.command, exc)
    except StorageError as exc:  # every command that opens the database
        return storage_unusable(args.command, exc)
    return code


def model_unavailable(command: str, exc: ModelCardError) -> int:
    """The one answer to a model that cannot be loaded: say why, and exit 2 (fix the setup, then retry)."""
    print(f"skinbot {command}: cannot load the model: {exc}", file=sys.stderr)
    return 2


def storage_unusable(command: str, exc: StorageError) -> int:
    """The one answer to a database that cannot be used: say why (its URL never shows a password), and exit 1 when
    the server could not be reached (try again later), else 2 (fix the URL, or run a newer skinbot)."""
    print(f"skinbot {command}: storage: {exc}", file=sys.stderr)
    return 1 if isinstance(exc, StorageUnavailable) else 2


def _reader_gone() -> int:
    """The reader of stdout went away (`skinbot check ... | head`): stop quietly, as Unix tools do. Python would
    otherwise complain again when it flushes stdout at exit, so stdout is pointed at /dev/null first."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
