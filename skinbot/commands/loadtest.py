"""`skinbot loadtest`: many simulated users at once against the real bot through the local emulator.

Prints replies received vs expected, lost and duplicated replies, p50/p95 reply latency, throughput and the bot's
peak RSS (all processes, and each one's); `--cluster` runs the replicas as deployed, behind nginx on PostgreSQL;
exits 1 when a reply was lost or duplicated or the photo p95 is above the target.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from skinbot.config import Config

DEFAULT_IMAGES = Path("tests/fixtures/images")


def register(subparsers: Any) -> None:
    """Add the `loadtest` subcommand."""
    parser = subparsers.add_parser("loadtest", help="simulate many concurrent users against the bot (local emulator)")
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users (default 50)")
    parser.add_argument("--photos", type=int, default=3, help="photos per user, each followed by the questionnaire")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES,
                        help=f"folder of lesion photos (default {DEFAULT_IMAGES}: benign_*.jpg, malignant_*.jpg)")
    parser.add_argument("--think", type=float, default=3.0,
                        help="seconds each user pauses between a reply and their next action (default 3; 0 = flat out)")
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="seconds over which the users start, evenly (default 10; 0 = all at once)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each reply")
    parser.add_argument("--p95-target-ms", type=float, default=1000.0, help="photo-to-reply p95 target")
    parser.add_argument("--as-file", action="store_true", help="send the photos as files (uncompressed), not photos")
    parser.add_argument("--big-photo-mb", type=float, default=0.0,
                        help="instead of --images, every user sends one camera-sized JPEG of this many MB as a file "
                             "(made from the first lesion photo; for memory measurements, see docs/benchmarks.md)")
    parser.add_argument("--webhook", action="store_true",
                        help="the bot runs as webhook replicas (see --replicas) and the emulator posts updates to them")
    parser.add_argument("--replicas", type=int, default=None,
                        help="webhook replicas sharing one database behind a round-robin balancer (implies --webhook; "
                             "default 1 with --webhook)")
    parser.add_argument("--cluster", action="store_true",
                        help="the replicas as deployed (docs/deploy.md): behind nginx, on a throwaway PostgreSQL "
                             "server after skinbot migrate, with skinbot worker (implies --webhook; needs nginx and "
                             "PostgreSQL 15)")
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the load test and print its report; the exit code says whether the targets were met."""
    from playground.loadtest import IMAGE_PATTERNS, LoadSpec, busy_texts, lesion_photos, load_test

    replicas = args.replicas if args.replicas is not None else int(args.webhook or args.cluster)
    if args.users < 1 or args.photos < 1 or args.timeout <= 0 or args.think < 0 or args.ramp < 0:
        print("skinbot loadtest: --users and --photos must be at least 1, --timeout positive, --think and --ramp >= 0",
              file=sys.stderr)
        return 2
    if args.replicas is not None and args.replicas < 1:
        print("skinbot loadtest: --replicas must be at least 1", file=sys.stderr)
        return 2
    images = lesion_photos(args.images)
    if not images:
        print(f"skinbot loadtest: no lesion photos ({', '.join(IMAGE_PATTERNS)}) in {args.images}", file=sys.stderr)
        return 2
    if not config.models.card_path.is_file():
        print(f"skinbot loadtest: no model card at {config.models.card_path}: train or fetch a model first",
              file=sys.stderr)
        return 2
    spec = LoadSpec(users=args.users, photos_per_user=args.photos, images=images, reply_timeout_s=args.timeout,
                    think_s=args.think, ramp_s=args.ramp, as_file=args.as_file, busy_texts=busy_texts(),
                    replicas=replicas, cluster=args.cluster)
    report = load_test(spec, args.config, args.big_photo_mb, announce=lambda line: print(line, flush=True))
    print(report.summary())
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    met = report.targets_met(args.p95_target_ms)
    print("targets met" if met else f"targets NOT met (0 lost, 0 duplicated, photo p95 <= {args.p95_target_ms:.0f} ms)")
    return 0 if met else 1
