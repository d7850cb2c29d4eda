"""The inference pipeline: photo bytes -> decode -> model input -> quality checks + LiteRT model -> `Assessment`.

Load it once (`Pipeline.from_config`) and call `analyze` from any number of threads; an asyncio caller runs it in
an executor. It never imports TensorFlow and never raises on bad input: bad photos get a status and reason codes.

The verdict order (`inference.judge.verdict`): a photo that cannot be decoded is "unreadable" and never reaches the
model; every other photo goes through the model, quality issues or not, and then
1. too small, blurry or too dark -> "poor_quality" with its reasons: in such a photo the gate's judgement itself is
   unreliable, so the user is asked for a better photo, unless the gate's score is below what almost every
   validation lesion photo made that dark, blurred or small gets (the card's `confident_reject`): "not_skin";
2. the gate rejects it -> "not_skin", even if it is also too bright or low in contrast (screenshots, receipts and
   documents are bright and flat; "retake, too bright" would be the wrong advice); its quality issues are kept in
   `issues` for the record, though the bot does not show them;
3. other quality issues (too bright, low contrast) -> "poor_quality" with its reasons;
4. otherwise "ok", with malignancy, risk, modality, lesion type, type probabilities, rash flag and CAM.
"poor_quality" and "not_skin" carry the gate's `lesion_score` and nothing else the model said.

Test-time augmentation is deliberately not done here (issue 8, item 5): add it only if it measurably helps on
validation, within the latency `skinbot bench` measures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

import numpy as np

from inference.assessment import Assessment
from inference.card import ModelCard, load_card
from inference.decode import decode
from inference.judge import Judgement, judge, verdict
from inference.preprocess import to_model_input
from inference.quality import quality_issues, to_grey
from inference.runtime import InterpreterPool
from inference.settings import InferenceConfig, QualityConfig
from skinbot.config import Config


class ModelRunner(Protocol):
    """What the pipeline needs from a runtime (an `InterpreterPool` in serving)."""

    def run(self, batch: np.ndarray) -> Mapping[str, np.ndarray]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Prepared:
    """The model-free half of an analysis: the model input (None if the photo did not decode) and the issues:
    quality reason codes, or the one reason the photo is unreadable."""

    model_input: np.ndarray | None
    issues: tuple[str, ...]
    image_sha256: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


def prepare(image_bytes: bytes, input_size: int, inference: InferenceConfig, quality: QualityConfig) -> Prepared:
    """Decode, build the model input and run the quality checks; no model involved.

    The model input is exactly `to_model_input(decode(image_bytes).image, input_size)`, the same call training makes.
    """
    timings: dict[str, float] = {}
    digest = hashlib.sha256(image_bytes).hexdigest()
    start = time.perf_counter()
    # Reduced-size JPEG decoding never goes below what the model needs.
    draft_side = max(inference.decode_draft_side, input_size) if inference.decode_draft_side else 0
    decoded = decode(
        image_bytes, inference.max_pixels, draft_side, inference.max_image_bytes, inference.max_full_decode_pixels
    )
    timings["decode"] = _ms_since(start)
    if decoded.image is None:
        return Prepared(None, (decoded.reason or "not_an_image",), digest, timings)
    start = time.perf_counter()
    model_input = to_model_input(decoded.image, input_size)
    timings["preprocess"] = _ms_since(start)
    start = time.perf_counter()
    issues = quality_issues(to_grey(model_input), decoded.source_size, quality)
    timings["quality"] = _ms_since(start)
    return Prepared(model_input, issues, digest, timings)


def assess(judgement: Judgement, issues: Sequence[str], card: ModelCard) -> Assessment:
    """The assessment of a photo that reached the model (verdict order in the module docstring)."""
    status = verdict(judgement.accepted, judgement.lesion_score, issues, card.confident_reject)
    if status != "ok":
        return Assessment(status, lesion_score=judgement.lesion_score, issues=tuple(issues))
    return Assessment(
        "ok", lesion_score=judgement.lesion_score, malignancy=judgement.malignancy, risk=judgement.risk,
        modality=judgement.modality, lesion_type=judgement.lesion_type, type_probs=judgement.type_probs,
        rash=judgement.rash, cam=judgement.cam,
    )


class Pipeline:
    """A loaded model with its card; thread-safe `analyze`. Close it (or use `with`) to free the interpreters."""

    def __init__(
        self, card: ModelCard, runner: ModelRunner, inference: InferenceConfig, quality: QualityConfig
    ) -> None:
        self.card = card
        self._runner = runner
        self._inference = inference
        self._quality = quality

    @classmethod
    def from_config(cls, config: Config) -> Pipeline:
        """Load `models/model_card.json`, verify the model files' SHA-256 and start one interpreter per worker.

        Raises `inference.card.ModelCardError` with a readable message if the card or model is missing or wrong.
        """
        card = load_card(config.models.card_path, verify=True)
        settings = config.inference
        pool = InterpreterPool(card, settings.workers, settings.model_threads)
        return cls(card, pool, config.inference, config.quality)

    @property
    def max_image_bytes(self) -> int:
        """Larger photos are refused as "too_large_file"; callers reading files need not read beyond this + 1."""
        return self._inference.max_image_bytes

    def prepare(self, image_bytes: bytes) -> Prepared:
        """The model-free half of `analyze` with this pipeline's settings."""
        return prepare(image_bytes, self.card.input_size, self._inference, self._quality)

    def analyze(self, image_bytes: bytes) -> Assessment:
        """Assess one photo. Blocking and thread-safe; bad input yields a status and reasons, never an exception.

        Raises `inference.judge.NonFiniteOutputError` if the model returns NaN or infinity (a broken model).
        """
        start = time.perf_counter()
        prepared = self.prepare(image_bytes)
        timings = dict(prepared.timings_ms)
        if prepared.model_input is None:
            result = Assessment("unreadable", issues=prepared.issues)
        else:
            model_start = time.perf_counter()
            outputs = self._runner.run(prepared.model_input[np.newaxis].astype(np.float32))
            timings["model"] = _ms_since(model_start)
            result = assess(judge(outputs, self.card), prepared.issues, self.card)
        timings["total"] = _ms_since(start)
        return dataclasses.replace(
            result, model_version=self.card.version, image_sha256=prepared.image_sha256, timings_ms=timings
        )

    def close(self) -> None:
        """Free the interpreters; `analyze` must not be called afterwards."""
        self._runner.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
