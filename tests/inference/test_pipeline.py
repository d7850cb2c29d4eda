"""The pipeline end to end on the generated test model: statuses and the verdict order, calibrated numbers per
modality, type probabilities, the CAM, timings, identical preprocessing to training, model-file verification and
concurrent use."""

from __future__ import annotations

import io
import json
import math
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from inference.card import ModelCardError, Outputs
from inference.decode import decode
from inference.judge import NonFiniteOutputError
from inference.pipeline import Pipeline
from inference.preprocess import to_model_input
from tests.inference.testmodel import (
    BLOCK,
    CALIBRATION,
    FIXTURES,
    LESION_TYPES,
    RASH_THRESHOLD,
    SIZE,
    config_for,
    expected_judgement,
    expected_outputs,
    write_test_card,
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

    def run(self, batch: np.ndarray) -> Mapping[str, np.ndarray]:
        self.batches.append(batch.copy())
        return self.inner.run(batch)

    def close(self) -> None:
        """The wrapped pool belongs to the session fixture, which closes it."""


def textured(base: tuple[int, int, int], height: int = 240, width: int = 320) -> np.ndarray:
    """A flat colour with fine stripes, so the photo is not "blurry"."""
    stripes = np.where(np.arange(width) // 8 % 2, 12, -12)[np.newaxis, :, np.newaxis]
    return np.clip(np.array(base) + np.zeros((height, 1, 1)) + stripes, 0, 255).astype(np.uint8)


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def model_view(data: bytes) -> np.ndarray:
    decoded = decode(data)
    assert decoded.image is not None
    return to_model_input(decoded.image, SIZE)


@pytest.mark.parametrize("name", LESION_FILES)
def test_lesion_photo_gets_calibrated_scores_risk_type_and_cam(pipeline: Pipeline, name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    result = pipeline.analyze(data)
    raw = expected_outputs(model_view(data))
    expected = expected_judgement(raw)
    assert result.status == "ok"
    assert result.lesion_score == pytest.approx(expected["lesion_score"], abs=2e-3)
    assert result.modality == expected["modality"]
    assert result.malignancy == pytest.approx(expected["malignancy"], abs=2e-3)
    assert result.risk == expected["risk"]
    assert result.type_probs == pytest.approx(expected["type_probs"], abs=2e-3)
    assert sum(result.type_probs.values()) == pytest.approx(1.0, abs=1e-9)
    assert result.lesion_type == expected["lesion_type"]
    assert result.rash == expected["rash"]
    np.testing.assert_allclose(np.array(result.cam), raw["lesion_cam"], atol=1e-4)
    assert result.issues == ()
    assert result.model_version == "test-0.1"
    assert len(result.image_sha256) == 64
    assert set(result.timings_ms) == {"decode", "preprocess", "quality", "model", "total"}
    assert result.timings_ms["total"] >= result.timings_ms["model"] > 0


def test_risk_bands_cover_low_medium_and_high(pipeline: Pipeline) -> None:
    # The test model scores darker photos as more suspicious, so brightness walks through all three bands.
    risks = []
    for base in ((235, 225, 205), (150, 128, 110), (100, 80, 60)):  # reddish: all pass the test model's gate
        data = jpeg(Image.fromarray(textured(base)))
        result = pipeline.analyze(data)
        assert result.status == "ok", result
        assert result.risk == expected_judgement(expected_outputs(model_view(data)))["risk"]
        risks.append(result.risk)
    assert risks == ["low", "medium", "high"]


def framed(border: int, centre: int) -> np.ndarray:
    """A reddish 224x224 photo whose outer 32-px frame has grey level about `border` and the rest `centre`: a dark
    frame is the test model's sign of a dermoscope."""
    pixels = textured((centre + 20, centre, centre - 20), SIZE, SIZE).astype(int)
    frame = textured((border + 20, border, border - 20), SIZE, SIZE).astype(int)
    ring = np.ones((SIZE, SIZE), dtype=bool)
    ring[32:-32, 32:-32] = False
    pixels[ring] = frame[ring]
    framed_pixels: np.ndarray = np.clip(pixels, 0, 255).astype(np.uint8)
    return framed_pixels


def test_each_modality_is_judged_with_its_own_temperature_and_thresholds(pipeline: Pipeline) -> None:
    # Both photos have the same mean brightness (so the same lesion logit); only the frame tells them apart.
    photos = {"dermoscopic": png(framed(border=50, centre=127)), "clinical": png(framed(border=127, centre=50))}
    for modality, data in photos.items():
        result = pipeline.analyze(data)
        raw = expected_outputs(model_view(data))
        assert result.status == "ok", result
        assert result.modality == modality
        calibration = CALIBRATION[modality]
        assert result.malignancy == pytest.approx(1 / (1 + math.exp(-raw["lesion_logit"] / calibration.temperature)),
                                                  abs=2e-3)
        assert result.risk == expected_judgement(raw)["risk"]
    derm, clin = (pipeline.analyze(data) for data in photos.values())
    assert derm.malignancy is not None and clin.malignancy is not None
    assert derm.malignancy < clin.malignancy  # same logit, the dermoscopic temperature is higher
    assert (derm.risk, clin.risk) == ("medium", "high")


def test_cam_is_7x7_and_peaks_on_the_lesion(pipeline: Pipeline) -> None:
    pixels = textured((205, 160, 140), SIZE, SIZE)
    rows, cols = np.mgrid[:SIZE, :SIZE]
    centre = (2 * BLOCK + BLOCK // 2, 5 * BLOCK + BLOCK // 2)  # in CAM cell (2, 5)
    disc = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= 14 ** 2
    pixels[disc] = (70, 40, 30)  # a dark brown spot, off centre
    result = pipeline.analyze(png(pixels))
    assert result.status == "ok", result
    cam = np.array(result.cam)
    assert cam.shape == (7, 7)
    assert tuple(int(i) for i in np.unravel_index(np.argmax(cam), cam.shape)) == (2, 5)
    assert cam.mean() == pytest.approx(10 * (0.5 - pixels.mean() / 255), abs=1e-3)  # averages to the lesion logit


def test_a_very_red_inflamed_photo_is_flagged_as_a_rash_unless_its_risk_is_not_low(pipeline: Pipeline) -> None:
    result = pipeline.analyze(jpeg(Image.fromarray(textured((240, 110, 110)))))
    assert result.status == "ok", result
    assert result.lesion_type == "rash" and result.risk == "low"
    assert result.type_probs["rash"] >= RASH_THRESHOLD and result.rash is True
    assert list(result.type_probs) == list(LESION_TYPES)
    darker = pipeline.analyze(jpeg(Image.fromarray(textured((210, 70, 70)))))  # darker: the test model says medium
    assert darker.lesion_type == "rash" and darker.type_probs["rash"] >= RASH_THRESHOLD
    assert darker.risk == "medium" and darker.rash is False
    calm = pipeline.analyze(jpeg(Image.fromarray(textured((150, 128, 110)))))
    assert calm.rash is False and calm.type_probs["rash"] < RASH_THRESHOLD


def test_grey_photo_is_not_skin(pipeline: Pipeline) -> None:
    result = pipeline.analyze((FIXTURES / "notskin_receipt.jpg").read_bytes())
    assert result.status == "not_skin"
    assert result.lesion_score is not None and result.lesion_score < 0.5
    assert result.malignancy is None and result.risk is None
    assert result.modality is None and result.lesion_type is None and result.type_probs == {} and result.cam == ()


def page(text_level: int = 190) -> np.ndarray:
    """A white page with grey lines of "text": too bright, and grey, so the test model's gate rejects it."""
    pixels = np.full((480, 640, 3), 250, dtype=np.uint8)
    for top in range(40, 440, 24):
        pixels[top:top + 6, 40:600:3] = text_level
    return pixels


# Issue 8 item 6, both directions: what the gate rejects is "not_skin" even when also too bright or flat; dark,
# blurred or tiny photos stay "poor_quality" whatever the gate says, and issues on accepted photos ask for a retake.
GATE_ACCEPTS, GATE_REJECTS = True, False
VERDICTS = {
    "bright page": (lambda: png(page()), GATE_REJECTS, "not_skin", ("too_bright",)),
    "white frame": (lambda: jpeg(Image.new("RGB", (300, 300), (255, 255, 255))), GATE_REJECTS, "not_skin",
                    ("too_bright", "low_contrast")),
    "flat grey card": (lambda: png(np.full((300, 300, 3), 128, np.uint8)), GATE_REJECTS, "not_skin",
                       ("low_contrast",)),
    "overexposed skin": (lambda: png(textured((255, 240, 228))), GATE_ACCEPTS, "poor_quality", ("too_bright",)),
    "flat skin": (lambda: png(np.full((240, 320, 3), (200, 150, 130), np.uint8)), GATE_ACCEPTS, "poor_quality",
                  ("low_contrast",)),
    "dark grey": (lambda: png(textured((22, 22, 22))), GATE_REJECTS, "poor_quality", ("too_dark",)),
    "black": (lambda: jpeg(Image.new("RGB", (640, 480))), GATE_REJECTS, "poor_quality", ("too_dark", "low_contrast")),
    "dark skin photo": (lambda: png(textured((45, 15, 5))), GATE_ACCEPTS, "poor_quality", ("too_dark",)),
    "tiny skin": (lambda: png(textured((200, 150, 130), 64, 64)), GATE_ACCEPTS, "poor_quality", ("too_small",)),
    "tiny grey": (lambda: png(textured((128, 128, 128), 64, 64)), GATE_REJECTS, "poor_quality", ("too_small",)),
}


@pytest.mark.parametrize(("make", "gate", "status", "issues"), VERDICTS.values(), ids=VERDICTS.keys())
def test_verdict_order(
    pipeline: Pipeline, make: Callable[[], bytes], gate: bool, status: str, issues: tuple[str, ...]
) -> None:
    data = make()
    expected = expected_judgement(expected_outputs(model_view(data)))
    assert expected["accepted"] is gate  # what the test model's gate makes of this photo
    result = pipeline.analyze(data)
    assert (result.status, result.issues) == (status, issues)
    assert "model" in result.timings_ms  # the model runs whenever there is a model input
    assert result.lesion_score == pytest.approx(expected["lesion_score"], abs=2e-3)
    assert result.malignancy is None and result.risk is None and result.lesion_type is None


def test_a_confident_rejection_is_not_skin_despite_an_unreliable_gate(model_dir: Path, tmp_path: Path) -> None:
    # The test gate scores a grey photo sigmoid(-1) = 0.27: below a too_small threshold of 0.3, above a too_dark one.
    shutil.copytree(model_dir, tmp_path / "models")
    write_test_card(tmp_path / "models", confident_reject={"too_small": 0.3, "too_dark": 0.1})
    with Pipeline.from_config(config_for(tmp_path / "models", workers=1)) as strict:
        tiny_grey = strict.analyze(VERDICTS["tiny grey"][0]())
        assert (tiny_grey.status, tiny_grey.issues) == ("not_skin", ("too_small",))
        assert tiny_grey.malignancy is None and tiny_grey.lesion_type is None
        assert strict.analyze(VERDICTS["tiny skin"][0]()).status == "poor_quality"  # the gate accepts it
        assert strict.analyze(VERDICTS["dark grey"][0]()).status == "poor_quality"  # 0.27 is not below 0.1


def test_blurry_lesion_photo_is_poor_quality_even_though_the_gate_accepts_it(pipeline: Pipeline) -> None:
    # Skin lit unevenly (plenty of contrast) with stripes: sharp, then the same blurred away.
    sharp = textured((200, 150, 130)).astype(int) + np.linspace(-60, 40, 320).astype(int)[np.newaxis, :, np.newaxis]
    sharp_photo = np.clip(sharp, 0, 255).astype(np.uint8)
    blurred = png(np.asarray(Image.fromarray(sharp_photo).filter(ImageFilter.GaussianBlur(8))))
    result = pipeline.analyze(blurred)
    assert (result.status, result.issues) == ("poor_quality", ("blurry",))
    assert expected_judgement(expected_outputs(model_view(blurred)))["accepted"]
    assert result.lesion_score is not None and result.lesion_score >= 0.5
    assert pipeline.analyze(png(sharp_photo)).status == "ok"


@pytest.mark.parametrize(("data", "reason"), [(b"", "empty"), (b"plain text, not a photo", "not_an_image")])
def test_unreadable_input_gets_reason_and_no_model_run(pipeline: Pipeline, data: bytes, reason: str) -> None:
    result = pipeline.analyze(data)
    assert result.status == "unreadable"
    assert result.issues == (reason,)
    assert result.lesion_score is None and result.malignancy is None and result.risk is None
    assert result.model_version == "test-0.1"
    assert "model" not in result.timings_ms and "total" in result.timings_ms


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
    write_test_card(tmp_path / "models", outputs=Outputs(lesion="melanoma_logit"))
    with pytest.raises(ModelCardError, match="melanoma_logit"):
        Pipeline.from_config(config_for(tmp_path / "models"))


def test_missing_card_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelCardError, match="no model card"):
        Pipeline.from_config(config_for(tmp_path))


def test_card_metadata_is_exposed(pipeline: Pipeline, model_dir: Path) -> None:
    raw = json.loads((model_dir / "model_card.json").read_text())
    assert pipeline.card.version == raw["version"]
    assert pipeline.card.metrics == {"test_accuracy": 0.5}
    assert pipeline.card.lesion_calibration == CALIBRATION
    assert pipeline.card.lesion_types == LESION_TYPES


def test_closed_pipeline_refuses_work(model_dir: Path) -> None:
    loaded = Pipeline.from_config(config_for(model_dir, workers=1))
    loaded.close()
    with pytest.raises(RuntimeError, match="closed"):
        loaded.analyze((FIXTURES / "benign_1.jpg").read_bytes())


class NanRunner:
    """The real model's outputs with the lesion logit replaced by NaN."""

    def __init__(self, inner: Pipeline) -> None:
        self.inner = inner._runner

    def run(self, batch: np.ndarray) -> Mapping[str, np.ndarray]:
        outputs = dict(self.inner.run(batch))
        outputs["lesion_logit"] = np.full(len(batch), np.nan, np.float32)
        return outputs

    def close(self) -> None:
        """The wrapped pool belongs to the session fixture, which closes it."""


def test_broken_model_output_is_never_reported_as_low_risk(pipeline: Pipeline) -> None:
    config = config_for(pipeline.card.directory)
    broken = Pipeline(pipeline.card, NanRunner(pipeline), config.inference, config.quality)
    with pytest.raises(NonFiniteOutputError, match="non-finite"):
        broken.analyze((FIXTURES / "benign_1.jpg").read_bytes())
