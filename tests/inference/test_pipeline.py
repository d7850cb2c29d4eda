"""The pipeline end to end on the generated test model: statuses, calibrated numbers, risk bands, timings,
identical preprocessing to training, model-file verification and concurrent use."""

from __future__ import annotations

import io
import json
import math
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.card import ModelCardError, Thresholds
from inference.decode import decode
from inference.pipeline import Pipeline, risk_level, sigmoid
from inference.preprocess import to_model_input
from inference.runtime import Logits
from tests.inference.testmodel import (
    FIXTURES,
    GATE_TEMPERATURE,
    LESION_TEMPERATURE,
    SIZE,
    THRESHOLDS,
    config_for,
    expected_logits,
    write_card,
)

LESION_FILES = ["benign_1.jpg", "benign_10.jpg", "malignant_1.jpg", "malignant_3.jpg"]


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def phone_photo(name: str) -> bytes:
    """A lesion photo upscaled to a phone's 1280x960 and re-encoded, as the bench makes them."""
    image = Image.open(FIXTURES / name).convert("RGB")
    return jpeg(image.resize((1280, 960), Image.Resampling.BICUBIC))


class RecordingRunner:
    """Wraps the real runtime and keeps every batch the pipeline sends to the model."""

    def __init__(self, inner: Pipeline) -> None:
        self.inner = inner._runner
        self.batches: list[np.ndarray] = []

    def run(self, batch: np.ndarray) -> Logits:
        self.batches.append(batch.copy())
        return self.inner.run(batch)

    def close(self) -> None:
        """The wrapped pool belongs to the session fixture, which closes it."""


@pytest.mark.parametrize("name", LESION_FILES)
def test_lesion_photo_gets_calibrated_scores_and_risk(pipeline: Pipeline, name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    result = pipeline.analyze(data)
    decoded = decode(data)
    assert decoded.image is not None
    gate_logit, lesion_logit = expected_logits(to_model_input(decoded.image, SIZE))
    assert result.status == "ok"
    assert result.lesion_score == pytest.approx(1 / (1 + math.exp(-gate_logit / GATE_TEMPERATURE)), abs=2e-3)
    assert result.malignancy == pytest.approx(1 / (1 + math.exp(-lesion_logit / LESION_TEMPERATURE)), abs=2e-3)
    assert result.malignancy is not None
    assert result.risk == risk_level(result.malignancy, Thresholds(**THRESHOLDS))
    assert result.issues == ()
    assert result.model_version == "test-0.1"
    assert len(result.image_sha256) == 64
    assert set(result.timings_ms) == {"decode", "preprocess", "quality", "model", "total"}
    assert result.timings_ms["total"] >= result.timings_ms["model"] > 0


def test_risk_bands_cover_low_medium_and_high(pipeline: Pipeline) -> None:
    # The test model scores darker photos as more suspicious, so brightness walks through all three bands.
    stripes = np.where(np.arange(320) // 8 % 2, 12, -12)[np.newaxis, :, np.newaxis]  # texture, so not "blurry"
    risks = []
    for base in ((235, 225, 205), (150, 128, 110), (100, 80, 60)):  # reddish: all pass the test model's gate
        pixels = np.clip(np.array(base) + np.zeros((240, 1, 1)) + stripes, 0, 255).astype(np.uint8)
        result = pipeline.analyze(jpeg(Image.fromarray(pixels)))
        assert result.status == "ok", result
        risks.append(result.risk)
    assert risks == ["low", "medium", "high"]


def test_grey_photo_is_not_skin(pipeline: Pipeline) -> None:
    result = pipeline.analyze((FIXTURES / "notskin_receipt.jpg").read_bytes())
    assert result.status == "not_skin"
    assert result.lesion_score is not None and result.lesion_score < THRESHOLDS["gate"]
    assert result.malignancy is None and result.risk is None


@pytest.mark.parametrize(("data", "reason"), [(b"", "empty"), (b"plain text, not a photo", "not_an_image")])
def test_unreadable_input_gets_reason_and_no_model_run(pipeline: Pipeline, data: bytes, reason: str) -> None:
    result = pipeline.analyze(data)
    assert result.status == "unreadable"
    assert result.issues == (reason,)
    assert result.lesion_score is None and result.malignancy is None and result.risk is None
    assert result.model_version == "test-0.1"
    assert "model" not in result.timings_ms and "total" in result.timings_ms


def test_black_photo_is_poor_quality_before_the_model(pipeline: Pipeline) -> None:
    result = pipeline.analyze(jpeg(Image.new("RGB", (640, 480))))
    assert result.status == "poor_quality"
    assert result.issues == ("too_dark", "low_contrast")
    assert result.lesion_score is None
    assert "model" not in result.timings_ms


SOURCES = {
    "dataset-file": lambda: (FIXTURES / "benign_10.jpg").read_bytes(),
    "phone-jpeg": lambda: phone_photo("malignant_1.jpg"),  # decoded at reduced size: still the same path
}


@pytest.mark.parametrize("make", SOURCES.values(), ids=SOURCES.keys())
def test_model_sees_exactly_the_training_preprocessing(pipeline: Pipeline, make: Callable[[], bytes]) -> None:
    data = make()
    recorder = RecordingRunner(pipeline)
    config = config_for(pipeline.card.directory)
    spy = Pipeline(pipeline.card, recorder, config.inference, config.quality)
    assert spy.analyze(data).status == "ok"
    training_view = decode(data).image  # what training does: decode with its defaults, then to_model_input
    assert training_view is not None
    (batch,) = recorder.batches
    assert batch.dtype == np.float32 and batch.shape == (1, SIZE, SIZE, 3)
    np.testing.assert_array_equal(batch[0], to_model_input(training_view, SIZE).astype(np.float32))


def test_reduced_decoding_never_goes_below_the_model_input(model_dir: Path) -> None:
    data = phone_photo("benign_10.jpg")  # 1280x960: a draft side of 16 alone would decode it at 160x120
    with Pipeline.from_config(config_for(model_dir, workers=1, decode_draft_side=16)) as small_draft:
        prepared = small_draft.prepare(data)
    at_model_size = decode(data, draft_side=SIZE).image
    assert at_model_size is not None and at_model_size.size == (320, 240)
    assert prepared.model_input is not None
    np.testing.assert_array_equal(prepared.model_input, to_model_input(at_model_size, SIZE))


def test_concurrent_use_gives_the_same_answers_as_sequential(pipeline: Pipeline) -> None:
    photos = [(FIXTURES / name).read_bytes() for name in [*LESION_FILES, "notskin_receipt.jpg"]]
    photos += [phone_photo("benign_1.jpg"), b"", jpeg(Image.new("RGB", (300, 300), (255, 255, 255)))]
    sequential = [pipeline.analyze(p) for p in photos]
    with ThreadPoolExecutor(max_workers=8) as executor:
        concurrent = list(executor.map(pipeline.analyze, photos * 6))
    for i, result in enumerate(concurrent):
        expected = sequential[i % len(photos)]
        assert (result.status, result.issues, result.risk) == (expected.status, expected.issues, expected.risk)
        assert result.lesion_score == expected.lesion_score
        assert result.malignancy == expected.malignancy


def test_multithreaded_interpreters_give_the_same_scores(pipeline: Pipeline, model_dir: Path) -> None:
    data = (FIXTURES / "malignant_1.jpg").read_bytes()
    with Pipeline.from_config(config_for(model_dir, workers=1, model_threads=2)) as threaded:
        result = threaded.analyze(data)
    assert result.malignancy == pytest.approx(pipeline.analyze(data).malignancy, abs=1e-6)


def test_model_file_that_does_not_match_the_card_is_refused(model_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(model_dir, tmp_path / "models")
    model = tmp_path / "models" / "skinbot.tflite"
    data = bytearray(model.read_bytes())
    data[-1] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelCardError, match="does not match the card"):
        Pipeline.from_config(config_for(tmp_path / "models"))


def test_card_naming_an_output_the_model_lacks_is_refused(model_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(model_dir, tmp_path / "models")
    write_card(tmp_path / "models", outputs={"gate": "gate_logit", "lesion": "melanoma_logit"})
    with pytest.raises(ModelCardError, match="melanoma_logit"):
        Pipeline.from_config(config_for(tmp_path / "models"))


def test_missing_card_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelCardError, match="no model card"):
        Pipeline.from_config(config_for(tmp_path))


def test_card_metadata_is_exposed(pipeline: Pipeline, model_dir: Path) -> None:
    raw = json.loads((model_dir / "model_card.json").read_text())
    assert pipeline.card.version == raw["version"]
    assert pipeline.card.metrics == {"test_accuracy": 0.5}
    assert pipeline.card.thresholds == Thresholds(**THRESHOLDS)


def test_closed_pipeline_refuses_work(model_dir: Path) -> None:
    loaded = Pipeline.from_config(config_for(model_dir, workers=1))
    loaded.close()
    with pytest.raises(RuntimeError, match="closed"):
        loaded.analyze((FIXTURES / "benign_1.jpg").read_bytes())


class NanRunner:
    def run(self, batch: np.ndarray) -> Logits:
        return Logits(gate=np.full(len(batch), 5.0, np.float32), lesion=np.full(len(batch), np.nan, np.float32))

    def close(self) -> None:
        """Nothing to release."""


def test_broken_model_output_is_never_reported_as_low_risk(pipeline: Pipeline) -> None:
    config = config_for(pipeline.card.directory)
    broken = Pipeline(pipeline.card, NanRunner(), config.inference, config.quality)
    with pytest.raises(RuntimeError, match="non-finite"):
        broken.analyze((FIXTURES / "benign_1.jpg").read_bytes())


def test_sigmoid_is_stable_at_extremes() -> None:
    assert sigmoid(0.0) == 0.5
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(2.0) == pytest.approx(1 / (1 + math.exp(-2.0)))


def test_risk_band_edges_follow_the_card() -> None:
    thresholds = Thresholds(gate=0.5, refer=0.2, high=0.7)
    assert [risk_level(m, thresholds) for m in (0.0, 0.1999, 0.2, 0.6999, 0.7, 1.0)] == [
        "low", "low", "medium", "medium", "high", "high"
    ]
