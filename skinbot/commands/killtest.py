"""`skinbot killtest`: SIGKILL the bot at a random moment while many users send a photo and answer the
questionnaire, restart it, and check that every user got their advice (directly or after acting again on what
their chat showed) and that the database is consistent. Exits 1 if any round fails."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from skinbot.commands.loadtest import DEFAULT_IMAGES
from skinbot.config import Config


def register(subparsers: Any) -> None:
    """Add the `killtest` subcommand."""
    parser = subparsers.add_parser("killtest", help="kill the bot at random moments under load and check recovery")
    parser.add_argument("--users", type=int, default=50, help="users per round, all at once (default 50)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds, each with a fresh bot and database")
    parser.add_argument("--seed", type=int, default=11, help="seed of the kill moments")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="folder of lesion photos")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the rounds and print one line per round; the exit code says whether all passed."""
    from playground.killtest import KillSpec, run_round
    from playground.loadtest import busy_texts, lesion_photos

    images = lesion_photos(args.images)
    if args.users < 1 or args.rounds < 1 or not images:
        print("skinbot killtest: --users and --rounds must be at least 1, and --images must hold lesion photos",
              file=sys.stderr)
        return 2
    spec = KillSpec(users=args.users, rounds=args.rounds, images=images, seed=args.seed, busy_texts=busy_texts())
    print(f"skinbot killtest: {spec.rounds} round(s) x {spec.users} users, one SIGKILL each…", flush=True)
    passed = 0
    for index in range(spec.rounds):
        report = asyncio.run(run_round(spec, index, args.config, None))
        passed += report.passed
        print(f"round {report.round}: kill at {report.kill_at_s:.2f} s, {report.outcomes['direct']} direct, "
              f"{report.outcomes['recovered']} recovered, {report.outcomes['failed']} failed: "
              f"{'pass' if report.passed else 'FAIL'}", flush=True)
        for problem in report.problems:
            print(f"  {problem}", flush=True)
    print(f"{passed} of {spec.rounds} rounds passed")
    return 0 if passed == spec.rounds else 1
