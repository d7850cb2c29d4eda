"""`skinbot evaluate`: measure the served model on the held-out test sets; writes models/report/ and card metrics."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from skinbot.commands.data_option import add_data_option, with_data_option
from skinbot.config import Config


def register(sub: Any) -> None:
    """Add the `evaluate` subcommand."""
    parser = sub.add_parser("evaluate", help="evaluate the exported model (needs the [train] extra)",
                            description=__doc__)
    add_data_option(parser)
    parser.add_argument("--report", type=Path, default=None, help="report directory (default: <models>/report)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Evaluate and print the headline numbers as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    config = with_data_option(args, config)
    from inference.card import ModelCardError
    from train.datasets import DatasetError
    from train.evaluate import evaluate

    try:
        metrics = evaluate(config, args.report or config.models.dir / "report")
    except (ModelCardError, DatasetError, FileNotFoundError) as exc:
        print(f"skinbot evaluate: {exc}", file=sys.stderr)
        return 2
    headline = {name: {k: m[k] for k in ("n", "accuracy", "roc_auc", "sensitivity_refer", "specificity_refer")}
                for name, m in metrics["lesion"].items()}
    print(json.dumps({"lesion": headline, "gate": {k: metrics["gate"][k] for k in ("acceptance", "rejection")}},
                     indent=2))
    return 0
