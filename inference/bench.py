"""Measure the serving pipeline on real photos: latency, throughput, memory and cold start (`skinbot bench`).

Per-photo latency (p50/p95 of decode, preprocess, quality, model, total) on dataset photos and on phone-sized
JPEGs (dataset lesions upscaled to 1280x960, JPEG quality 90, made in memory); throughput at concurrency 1, 2, 4, 8;
peak RSS and cold start of a fresh serving process (which must not import TensorFlow). The original design's
timing (two Keras VGG16 passes) lives in `train.baseline` and is handed in by the command line, so this module
never touches TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from inference.pipeline import Pipeline
from skinbot.config import Config

PHONE_SIZE = (1280, 960)
PHONE_QUALITY = 90
CONCURRENCY = (1, 2, 4, 8)
STAGES = ("decode", "preprocess", "quality", "model", "total")
# Lesion photos the bench samples: dermoscopic (the Kaggle test split) and smartphone (PAD-UFES-20).
SOURCES = ("skin-cancer-mvb/test", "pad-ufes-20")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p95: float


def percentiles(values: Sequence[float]) -> Percentiles:
    """Median and 95th percentile (linear interpolation), in the values' unit."""
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    return Percentiles(round(float(np.percentile(array, 50)), 2), round(float(np.percentile(array, 95)), 2))


def sample_photos(data_root: Path, count: int) -> list[bytes]:
    """`count` lesion photos, spread evenly over the sources' sorted file lists (deterministic)."""
    per_source = -(-count // len(SOURCES))
    photos: list[bytes] = []
    for source in SOURCES:
        files = sorted(p for p in (data_root / source).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no photos under {data_root / source}: pass --data or set SKINBOT_DATA")
        step = max(1, len(files) // per_source)
        photos += [p.read_bytes() for p in files[::step][:per_source]]
    return photos[:count]


def phone_jpeg(photo: bytes) -> bytes:
    """The photo upscaled to a phone camera's 1280x960 and re-encoded as a JPEG of typical quality."""
    from PIL import Image

    with Image.open(io.BytesIO(photo)) as image:
        large = image.convert("RGB").resize(PHONE_SIZE, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    large.save(buffer, "JPEG", quality=PHONE_QUALITY)
    return buffer.getvalue()


def latency(pipeline: Pipeline, photos: Sequence[bytes]) -> dict[str, Any]:
    """Sequential per-photo stage timings over the photos that reached the model (others skip stages)."""
    results = [pipeline.analyze(photo) for photo in photos]
    timed = [r.timings_ms for r in results if "model" in r.timings_ms]
    if not timed:
        raise RuntimeError("no bench photo reached the model: none of them decoded as an image")
    stages = {stage: percentiles([t[stage] for t in timed]).__dict__ for stage in STAGES}
    return {"photos": len(photos), "reached_model": len(timed), "ms": stages}


@dataclass(frozen=True)
class Throughput:
    """Photos per second (wall clock), and the CPU time this process spent per photo (all threads)."""

    per_s: float
    cpu_ms_per_photo: float


def throughput(pipeline: Pipeline, photos: Sequence[bytes], concurrency: int) -> Throughput:
    """Throughput with `concurrency` callers analysing at once.

    CPU time per photo hardly depends on other processes competing for the cores, so it tells what the machine
    could do with its cores free: cores / CPU time per photo.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=concurrency) as executor:
        start, cpu_start = time.perf_counter(), time.process_time()
        list(executor.map(pipeline.analyze, photos))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return Throughput(round(len(photos) / elapsed, 1), round(cpu * 1000 / len(photos), 2))


def serving_probe(argv: Sequence[str]) -> int:
    """Body of the fresh serving process: import, load, analyse once (cold start), then all photos with 8 callers.

    Prints one JSON line: when the first analysis finished (wall clock), peak RSS, and whether TensorFlow got in.
    """
    config_path, photos_dir = Path(argv[0]), Path(argv[1])
    from concurrent.futures import ThreadPoolExecutor

    from skinbot import resources
    from skinbot.config import anchored, load_config

    photos = [p.read_bytes() for p in sorted(photos_dir.iterdir())]
    pipeline = Pipeline.from_config(anchored(load_config(config_path if config_path.name else None), resources.home()))
    pipeline.analyze(photos[0])
    first_done = time.time()
    with ThreadPoolExecutor(max_workers=max(CONCURRENCY)) as executor:
        list(executor.map(pipeline.analyze, photos))
    pipeline.close()
    print(json.dumps({"first_done": first_done, "peak_rss_mb": round(_peak_rss_kb() / 1024, 1),
                      "tensorflow_imported": "tensorflow" in sys.modules}))
    return 0


def _peak_rss_kb() -> int:
    """This process's peak resident memory. Linux's VmHWM belongs to the process's own memory map; getrusage's
    ru_maxrss also keeps the peak of the parent it was forked from (a test process with TensorFlow: ~1.9 GB)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # kilobytes on Linux


def serving_process(config_path: Path | None, photos: Sequence[bytes]) -> dict[str, Any]:
    """Run `serving_probe` in a fresh Python process; cold start is spawn -> first analysis done."""
    with tempfile.TemporaryDirectory() as folder:
        for i, photo in enumerate(photos):
            Path(folder, f"{i:05d}.jpg").write_bytes(photo)
        code = "import sys; from inference.bench import serving_probe; sys.exit(serving_probe(sys.argv[1:]))"
        start = time.time()
        done = subprocess.run(
            [sys.executable, "-c", code, str(config_path or ""), folder],
            capture_output=True, text=True, check=False, timeout=600,
        )
    if done.returncode != 0:
        raise RuntimeError(f"serving process failed: {done.stderr.strip()[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["cold_start_s"] = round(report.pop("first_done") - start, 2)
    return report


def timed(label: str, action: Callable[[], Any]) -> Any:
    """Run `action`, logging how long the bench step took to stderr (the report itself goes to stdout)."""
    start = time.perf_counter()
    result = action()
    print(f"bench: {label} took {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return result


def measure(config: Config, config_path: Path | None, photo_count: int,
            baseline: Callable[[Sequence[bytes]], float], baseline_photos: int) -> dict[str, Any]:
    """Measure everything; `baseline(photos)` times the original design in seconds per photo. Raises
    FileNotFoundError without photos and `inference.card.ModelCardError` without a model."""
    photos = sample_photos(config.data.root, photo_count)
    phone = timed("making phone-sized JPEGs", lambda: [phone_jpeg(p) for p in photos])
    pipeline = Pipeline.from_config(config)
    load_before = os.getloadavg()[0]
    with pipeline:
        timed("warm-up", lambda: [pipeline.analyze(p) for p in phone[:10]])
        dataset_latency = timed("dataset latency", lambda: latency(pipeline, photos))
        phone_latency = timed("phone latency", lambda: latency(pipeline, phone))
        runs = {c: timed(f"throughput x{c}", partial(throughput, pipeline, phone, c)) for c in CONCURRENCY}
    process = timed("serving process", lambda: serving_process(config_path, phone))
    seconds = timed("VGG16 baseline", lambda: baseline(phone[:baseline_photos]))
    rates = {c: r.per_s for c, r in runs.items()}
    best = max(rates, key=lambda c: rates[c])
    cpu_ms = runs[best].cpu_ms_per_photo
    cores = os.cpu_count() or 1
    result = {
        "model_version": pipeline.card.version,
        "workers": config.inference.workers,
        "model_threads": config.inference.model_threads,
        "cpu_count": os.cpu_count(),
        "load_avg_1m_before": round(load_before, 2),
        "p50_ms": phone_latency["ms"]["total"]["p50"],
        "p95_ms": phone_latency["ms"]["total"]["p95"],
        "throughput_per_s": rates[best],
        "best_concurrency": best,
        "throughput_by_concurrency": rates,
        "cpu_ms_per_photo": cpu_ms,
        "throughput_free_cores_per_s": round(cores * 1000 / cpu_ms, 1),
        "peak_rss_mb": process["peak_rss_mb"],
        "cold_start_s": process["cold_start_s"],
        "serving_imports_tensorflow": process["tensorflow_imported"],
        "baseline_ms_per_photo": round(seconds * 1000, 1),
        "baseline_throughput_per_s": round(1 / seconds, 2),
        "baseline_ratio": round(rates[best] * seconds, 1),
        "baseline_latency_ratio": round(seconds * 1000 / phone_latency["ms"]["total"]["p50"], 1),
        "latency_phone_1280x960": phone_latency,
        "latency_dataset": dataset_latency,
    }
    return result



def report(result: dict[str, Any]) -> str:
    """The human-readable bench report."""
    lines = [
        f"model {result['model_version']}, {result['workers']} interpreter(s) x {result['model_threads']} thread(s), "
        f"{result['cpu_count']} CPU(s), load average before {result['load_avg_1m_before']}",
        "",
        f"{'per photo (ms)':<26}" + "".join(f"{stage:>12}" for stage in STAGES),
    ]
    for label, key in (("phone 1280x960 JPEG", "latency_phone_1280x960"), ("dataset photo", "latency_dataset")):
        measured = result[key]
        for stat in ("p50", "p95"):
            cells = "".join(f"{measured['ms'][stage][stat]:>12.2f}" for stage in STAGES)
            lines.append(f"{label + ' ' + stat:<26}{cells}")
        lines.append(f"  ({measured['reached_model']} of {measured['photos']} photos reached the model)")
    rates = ", ".join(f"x{c}: {r}/s" for c, r in result["throughput_by_concurrency"].items())
    lines += [
        "",
        f"throughput (phone JPEGs) {rates}; best {result['throughput_per_s']}/s",
        f"CPU time {result['cpu_ms_per_photo']} ms/photo: {result['throughput_free_cores_per_s']}/s if all "
        f"{result['cpu_count']} cores were free",
        f"serving process: peak RSS {result['peak_rss_mb']} MB, cold start {result['cold_start_s']} s, "
        f"imports TensorFlow: {result['serving_imports_tensorflow']}",
        f"original design (2x VGG16, Keras): {result['baseline_ms_per_photo']} ms/photo "
        f"= {result['baseline_throughput_per_s']}/s",
        f"speed-up: {result['baseline_ratio']}x throughput, {result['baseline_latency_ratio']}x latency (p50)",
    ]
    return "\n".join(lines)
