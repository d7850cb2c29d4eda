"""`skinbot train lesion|export|all|search|quality-gate`: fine-tune the network end to end and export the served
model."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Any

from skinbot.commands.data_option import add_data_option, with_data_option
from skinbot.config import Config

STAGES = ("lesion", "export", "all", "search", "quality-gate")


def register(sub: Any) -> None:
    """Add the `train` subcommand."""
    parser = sub.add_parser("train", help="train a stage (needs the [train] extra)", description=__doc__)
    parser.add_argument("stage", choices=STAGES,
                        help="lesion: fine-tune the whole network (all heads); export: write models/; all: both; "
                             "search: hyperparameter search (writes models/report/search.md); quality-gate: choose "
                             "the card's confident_reject thresholds again for the model in models/ (export does it "
                             "too)")
    add_data_option(parser)
    parser.add_argument("--runs", type=Path, default=None, help="checkpoints and logs (default: train.runs_dir)")
    parser.add_argument("--out", type=Path, default=None, help="models directory to export into (default: models.dir)")
    parser.add_argument("--only", default=None, help="search: run only the trial with this name")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run from its last finished epoch (same --runs)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the requested training stage(s)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    config = with_data_option(args, config)
    if args.out is not None:
        config = dataclasses.replace(config, models=dataclasses.replace(config.models, dir=args.out))
    runs = args.runs or config.train.runs_dir
    if not config.data.root.is_dir():
        print(f"skinbot train: data root {config.data.root} does not exist (set --data or SKINBOT_DATA)",
              file=sys.stderr)
        return 2
    try:
        import tensorflow  # noqa: F401  (fail early with a clear message)
    except ImportError:
        print("skinbot train: TensorFlow is not installed; install the training extra: pip install -e '.[train]'",
              file=sys.stderr)
        return 2
    logging.getLogger("absl").setLevel(logging.ERROR)
    from train.datasets import DatasetError

    try:
        if args.stage == "search":
            from train.search import run_search

            run_search(config, runs / "search", args.only)
            return 0
        if args.stage == "quality-gate":
            return _quality_gate(config)
        if args.stage in ("lesion", "all"):
            from train.finetune import train_lesion

            train_lesion(config, runs / "lesion", resume=args.resume)
        if args.stage in ("export", "all"):
            from train.export import export

            card = export(config, runs / "lesion")
            print(f"exported {card}")
    except (DatasetError, FileNotFoundError) as exc:
        print(f"skinbot train: {exc}", file=sys.stderr)
        return 2
    return 0


def _quality_gate(config: Config) -> int:
    """Recompute `thresholds.confident_reject` of the served model on validation data and rewrite its card."""
    from inference.card import ModelCardError, load_card, write_card
    from inference.runtime import BatchRunner
    from train.confident_reject import validation_photos, with_confident_reject

    try:
        card = load_card(config.models.card_path)
    except ModelCardError as exc:
        print(f"skinbot train: {exc}", file=sys.stderr)
        return 2
    runner = BatchRunner(card, threads=2)
    try:
        card = with_confident_reject(config, card, runner, validation_photos(config))
    finally:
        runner.close()
    write_card(card, config.models.card_path)
    print(f"confident_reject {card.confident_reject} -> {config.models.card_path}")
    return 0
