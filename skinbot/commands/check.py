"""`skinbot check PATH...`: assess photo files (directories are walked) and print a table or JSON lines.

Every file gets a line, whatever it contains: unreadable files get status "unreadable" and a reason, never a
traceback. The exit code is 0 unless none of the given paths exists (1) or the model cannot be loaded (2).

JSON keys: path, status, lesion_score, malignancy, risk, modality ("dermoscopic" or "clinical"), lesion_type (the
most likely type), type_probs (probability by type name), rash (true/false), cam (the lesion head's
class-activation map as a list of rows, rounded to 4 decimals), issues, ms, model_version. modality, lesion_type,
type_probs, rash and cam are null unless status is "ok" (they were not judged). The table shows all but
type_probs and the cam.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skinbot.config import Config

if TYPE_CHECKING:
    from inference.assessment import Assessment
    from inference.pipeline import Pipeline

# Not a code from assessment.py: the bot never meets it, only files on disk can fail to be read.
READ_ERROR = "read_error"


def register(subparsers: Any) -> None:
    """Add the `check` subcommand."""
    parser = subparsers.add_parser("check", help="assess photo files or directories of photos")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photo files or directories (walked)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file instead of a table")
    parser.set_defaults(handler=run)


def iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    """The given files, and every non-hidden file under the given directories, in sorted order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            yield path
        elif path.exists():  # a FIFO or device would block or never end
            print(f"skinbot check: not a regular file, skipped: {path}", file=sys.stderr)


def assess_file(pipeline: Pipeline, path: Path) -> Assessment:
    """Analyse one file; a file that cannot be read at all is "unreadable" with reason `read_error`."""
    from inference.assessment import Assessment

    try:
        with path.open("rb") as handle:
            data = handle.read(pipeline.max_image_bytes + 1)  # one byte more lets the pipeline see it is too large
    except OSError:
        return Assessment("unreadable", issues=(READ_ERROR,), model_version=pipeline.card.version)
    return pipeline.analyze(data)


def to_record(path: Path, result: Assessment) -> dict[str, Any]:
    """The JSON object printed for one file."""
    judged = result.status == "ok"
    return {
        "path": str(path),
        "status": result.status,
        "lesion_score": _rounded(result.lesion_score),
        "malignancy": _rounded(result.malignancy),
        "risk": result.risk,
        "modality": result.modality,
        "lesion_type": result.lesion_type,
        "type_probs": {name: round(p, 6) for name, p in result.type_probs.items()} if judged else None,
        "rash": result.rash if judged else None,
        "cam": [[round(v, 4) for v in row] for row in result.cam] if judged else None,
        "issues": list(result.issues),
        "ms": round(result.timings_ms.get("total", 0.0), 2),
        "model_version": result.model_version,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


TABLE_HEADER = (f"{'status':<13} {'lesion':>6} {'malig.':>6} {'risk':<6} {'ms':>7}  {'modality':<11} {'type':<14} "
                f"{'rash':<4}  {'issues':<24} path")


def table_row(record: dict[str, Any]) -> str:
    """One aligned table line; the path comes last so long paths do not break the columns."""

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    issues = ",".join(record["issues"]) or "-"
    rash = {None: "-", True: "yes", False: "no"}[record["rash"]]
    return (
        f"{record['status']:<13} {number(record['lesion_score']):>6} {number(record['malignancy']):>6} "
        f"{record['risk'] or '-':<6} {record['ms']:>7.1f}  {record['modality'] or '-':<11} "
        f"{record['lesion_type'] or '-':<14} {rash:<4}  {issues:<24} {record['path']}"
    )


def summary(records: Sequence[dict[str, Any]]) -> str:
    """A closing line: how many photos got each status, and the median time per photo."""
    counts = Counter(r["status"] for r in records)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    median = statistics.median(r["ms"] for r in records) if records else 0.0
    return f"{len(records)} file(s): {parts or 'none'}; median {median:.1f} ms per file"


def run(args: argparse.Namespace, config: Config) -> int:
    """Assess every file under `args.paths`, printing as results arrive (in path order)."""
    from concurrent.futures import ThreadPoolExecutor

    from inference.pipeline import Pipeline

    missing = [p for p in args.paths if not p.exists()]
    for path in missing:
        print(f"skinbot check: no such file or directory: {path}", file=sys.stderr)
    if len(missing) == len(args.paths):
        return 1
    pipeline = Pipeline.from_config(config)  # a model that cannot be loaded: skinbot.cli exits 2
    records: list[dict[str, Any]] = []
    with pipeline, ThreadPoolExecutor(max_workers=config.inference.workers) as executor:
        files = list(iter_files(args.paths))
        try:
            if not args.json:
                print(f"model {pipeline.card.version}\n{TABLE_HEADER}")
            for path, result in zip(files, executor.map(lambda p: assess_file(pipeline, p), files), strict=True):
                record = to_record(path, result)
                records.append(record)
                print(json.dumps(record, ensure_ascii=False) if args.json else table_row(record), flush=True)
            if not args.json:
                print(summary(records))
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop without analysing the rest; the CLI ends quietly.
            executor.shutdown(cancel_futures=True)
            raise
    return 0
