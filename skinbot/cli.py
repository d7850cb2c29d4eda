"""The `skinbot` command line: one subcommand per module in `skinbot.commands`.

Command modules keep heavy imports (TensorFlow, LiteRT, Telegram) inside their `run` function, so that
`skinbot --help` and light commands start fast and serving never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from skinbot.config import ConfigError, load_config

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
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(prog="skinbot", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=None, help="configuration file (default: config.yaml)")
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
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"skinbot: invalid configuration: {exc}", file=sys.stderr)
        return 2
    code: int = args.handler(args, config)
    return code


if __name__ == "__main__":
    sys.exit(main())
