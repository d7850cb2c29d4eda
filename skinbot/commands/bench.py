"""`skinbot bench`: measure the serving pipeline on real photos, and the original design side by side.

The measurements live with what they measure: `inference.bench` (serving) and `train.baseline` (the original
design, TensorFlow imported only there); this module parses the options and prints the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from skinbot.commands.data_option import add_data_option, with_data_option
from skinbot.config import Config


def register(subparsers: Any) -> None:
    """Add the `bench` subcommand."""
    parser = subparsers.add_parser("bench", help="measure latency, throughput, memory and cold start")
    parser.add_argument("--photos", type=int, default=200, help="photos per measurement (default 200)")
    parser.add_argument("--baseline-photos", type=int, default=12, help="photos timed on the VGG16 baseline")
    add_data_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a report")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Measure everything and print a report (or one JSON object)."""
    from inference.bench import measure, report
    from train.baseline import baseline_seconds_per_photo

    try:
        result = measure(with_data_option(args, config), args.config, args.photos, baseline_seconds_per_photo,
                         args.baseline_photos)
    except FileNotFoundError as exc:
        print(f"skinbot bench: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else report(result))
    return 0
