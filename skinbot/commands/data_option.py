"""The `--data DIR` option shared by the commands that read the datasets."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from skinbot.config import Config


def add_data_option(parser: Any) -> None:
    """Add `--data DIR` (the dataset root) to a subcommand's parser."""
    parser.add_argument("--data", type=Path, default=None, help="data root (default: config data.root or SKINBOT_DATA)")


def with_data_option(args: argparse.Namespace, config: Config) -> Config:
    """The config with `data.root` replaced by `--data`, when given."""
    if args.data is None:
        return config
    return dataclasses.replace(config, data=dataclasses.replace(config.data, root=args.data))
