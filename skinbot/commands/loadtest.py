"""`skinbot loadtest`: many simulated users at once against the real bot through the local emulator.

Prints replies received vs expected, lost and duplicated replies, p50/p95 reply latency, throughput and the bot's
peak RSS; exits 1 when a reply was lost or duplicated or the photo p95 is above the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from skinbot.config import Config

DEFAULT_IMAGES = Path("tests/fixtures/images")
IMAGE_PATTERNS = ("benign_*.jpg", "malignant_*.jpg")  # lesion photos, so that every user gets the questionnaire


def register(subparsers: Any) -> None:
    """Add the `loadtest` subcommand."""
    parser = subparsers.add_parser("loadtest", help="simulate many concurrent users against the bot (local emulator)")
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users (default 50)")
    parser.add_argument("--photos", type=int, default=3, help="photos per user, each followed by the questionnaire")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES,
                        help=f"folder of lesion photos (default {DEFAULT_IMAGES}: {', '.join(IMAGE_PATTERNS)})")
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
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    parser.set_defaults(handler=run)


def lesion_photos(folder: Path) -> tuple[Path, ...]:
    """The lesion photos in `folder` (IMAGE_PATTERNS), sorted; a file given instead of a folder is used as is."""
    if folder.is_file():
        return (folder,)
    return tuple(sorted(p for pattern in IMAGE_PATTERNS for p in folder.glob(pattern)))


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the load test and print its report; the exit code says whether the targets were met."""
    from bot.messages import LANGUAGES, load_catalog
    from playground.loadtest import LoadSpec, big_photo, run_load

    if args.users < 1 or args.photos < 1 or args.timeout <= 0 or args.think < 0 or args.ramp < 0:
        print("skinbot loadtest: --users and --photos must be at least 1, --timeout positive, --think and --ramp >= 0",
              file=sys.stderr)
        return 2
    images = lesion_photos(args.images)
    if not images:
        print(f"skinbot loadtest: no lesion photos ({', '.join(IMAGE_PATTERNS)}) in {args.images}", file=sys.stderr)
        return 2
    if not config.models.card_path.is_file():
        print(f"skinbot loadtest: no model card at {config.models.card_path}: train or fetch a model first",
              file=sys.stderr)
        return 2
    catalog = load_catalog()
    with tempfile.TemporaryDirectory(prefix="skinbot-bigphoto-") as scratch:
        if args.big_photo_mb > 0:
            big = Path(scratch) / "big_photo.jpg"
            big.write_bytes(big_photo(images[0], int(args.big_photo_mb * 1_000_000)))
            print(f"skinbot loadtest: each user sends {big.stat().st_size / 1e6:.2f} MB as a file", flush=True)
            images = (big,)
        spec = LoadSpec(users=args.users, photos_per_user=args.photos, images=tuple(images),
                        reply_timeout_s=args.timeout, think_s=args.think, ramp_s=args.ramp,
                        as_file=args.as_file or args.big_photo_mb > 0,
                        busy_texts=frozenset(catalog.text(lang, "busy") for lang in LANGUAGES))
        print(f"skinbot loadtest: {spec.users} users x {spec.photos_per_user} photo(s) + questionnaire…", flush=True)
        report = asyncio.run(run_load(spec, config_path=args.config))
    print(report.summary())
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    met = report.lost_replies == 0 and report.duplicated_replies == 0 and report.photo_p95_ms <= args.p95_target_ms
    print("targets met" if met else f"targets NOT met (0 lost, 0 duplicated, photo p95 <= {args.p95_target_ms:.0f} ms)")
    return 0 if met else 1
