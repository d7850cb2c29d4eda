"""`skinbot bench` building blocks on the generated test model: statistics, phone JPEGs, the serving process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from PIL import Image

from inference.bench import latency, percentiles, phone_jpeg, serving_process, throughput
from inference.pipeline import Pipeline
from tests.inference.testmodel import FIXTURES, REPO, config_for, make_model_dir

PHOTOS = [p.read_bytes() for p in sorted(FIXTURES.glob("*.jpg"))]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("models"))


def test_percentiles_interpolate() -> None:
    result = percentiles([float(v) for v in range(1, 101)])
    assert (result.p50, result.p95) == (50.5, 95.05)


def test_phone_jpeg_is_1280x960_jpeg() -> None:
    data = phone_jpeg(PHOTOS[0])
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (1280, 960), "RGB")


def test_latency_and_throughput_are_measured_on_photos_that_reach_the_model(model_dir: Path) -> None:
    blank = phone_jpeg(PHOTOS[0])[:100]  # truncated: never reaches the model, so must not count
    with Pipeline.from_config(config_for(model_dir)) as pipeline:
        measured = latency(pipeline, [*PHOTOS, blank])
        rate = throughput(pipeline, PHOTOS * 3, concurrency=2)
    assert measured["photos"] == len(PHOTOS) + 1
    assert measured["reached_model"] == len(PHOTOS)
    total = measured["ms"]["total"]
    assert 0 < total["p50"] <= total["p95"]
    assert measured["ms"]["model"]["p50"] <= total["p50"]
    assert rate.per_s > 0
    assert 0 < rate.cpu_ms_per_photo < 10_000


def test_serving_process_reports_memory_and_cold_start_without_tensorflow(model_dir: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["models"]["dir"] = str(model_dir)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    report = serving_process(config, [phone_jpeg(p) for p in PHOTOS[:3]])
    assert report["tensorflow_imported"] is False
    assert 20 < report["peak_rss_mb"] < 1000
    assert 0 < report["cold_start_s"] < 60
