"""The inference pipeline: photo bytes -> decode -> model input -> quality checks -> LiteRT model -> `Assessment`.

Load it once (`Pipeline.from_config`) and call `analyze` from any number of threads; an asyncio caller runs it in
an executor. It never imports TensorFlow and never raises on bad input: bad photos get a status and reason codes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

import numpy as np

from inference.assessment import Assessment, Risk
from inference.card import ModelCard, Thresholds, load_card
from inference.decode import decode
from inference.preprocess import to_model_input
from inference.quality import quality_issues, to_grey
from inference.runtime import InterpreterPool, Logits
from skinbot.config import Config, InferenceConfig, QualityConfig


class ModelRunner(Protocol):
    """What the pipeline needs from a runtime (an `InterpreterPool` in serving)."""

    def run(self, batch: np.ndarray) -> Logits: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Prepared:
    """The model-free half of an analysis: the model input (if the photo decoded) and, when the photo must not
    reach the model, the `early` final verdict."""

    model_input: np.ndarray | None
    early: Assessment | None
    image_sha256: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def sigmoid(x: float) -> float:
    """Logistic function without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def risk_level(malignancy: float, thresholds: Thresholds) -> Risk:
    """The card's risk bands: >= high is "high", >= refer is "medium", anything lower is "low"."""
    if malignancy >= thresholds.high:
        return "high"
    if malignancy >= thresholds.refer:
        return "medium"
    return "low"


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 3)


def prepare(image_bytes: bytes, input_size: int, inference: InferenceConfig, quality: QualityConfig) -> Prepared:
    """Decode, build the model input and run the quality checks; no model involved.

    The model input is exactly `to_model_input(decode(image_bytes).image, input_size)`, the same call training makes.
    `early` is set (status "unreadable" or "poor_quality") when the photo must not reach the model.
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
        unreadable = Assessment("unreadable", issues=(decoded.reason or "not_an_image",))
        return Prepared(None, unreadable, digest, timings)
    start = time.perf_counter()
    model_input = to_model_input(decoded.image, input_size)
    timings["preprocess"] = _ms_since(start)
    start = time.perf_counter()
    issues = quality_issues(to_grey(model_input), decoded.source_size, quality)
    timings["quality"] = _ms_since(start)
    return Prepared(model_input, Assessment("poor_quality", issues=issues) if issues else None, digest, timings)


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
        pool = InterpreterPool(
            card.file("model"), card.input_size, card.gate_output, card.lesion_output, settings.workers,
            settings.model_threads,
        )
        return cls(card, pool, config.inference, config.quality)

    @property
    def max_image_bytes(self) -> int:
        """Larger photos are refused as "too_large_file"; callers reading files need not read beyond this + 1."""
        return self._inference.max_image_bytes

    def prepare(self, image_bytes: bytes) -> Prepared:
        """The model-free half of `analyze` with this pipeline's settings."""
        return prepare(image_bytes, self.card.input_size, self._inference, self._quality)

    def analyze(self, image_bytes: bytes) -> Assessment:
        """Assess one photo. Blocking and thread-safe; bad input yields status "unreadable" or "poor_quality"."""
        start = time.perf_counter()
        prepared = self.prepare(image_bytes)
        timings = dict(prepared.timings_ms)
        result = prepared.early
        if result is None:
            assert prepared.model_input is not None  # prepare() always builds it when there is no early verdict
            model_start = time.perf_counter()
            logits = self._runner.run(prepared.model_input[np.newaxis].astype(np.float32))
            timings["model"] = _ms_since(model_start)
            result = self._judge(float(logits.gate[0]), float(logits.lesion[0]))
        timings["total"] = _ms_since(start)
        return dataclasses.replace(
            result, model_version=self.card.version, image_sha256=prepared.image_sha256, timings_ms=timings
        )

    def _judge(self, gate_logit: float, lesion_logit: float) -> Assessment:
        """Calibrated probabilities and the risk band from the card's temperatures and thresholds."""
        if not (math.isfinite(gate_logit) and math.isfinite(lesion_logit)):
            # NaN compares false with every threshold and would read as "low" risk: fail loudly instead.
            raise RuntimeError(f"the model returned non-finite logits ({gate_logit}, {lesion_logit})")
        lesion_score = sigmoid(gate_logit / self.card.gate_temperature)
        if lesion_score < self.card.thresholds.gate:
            return Assessment("not_skin", lesion_score=lesion_score)
        malignancy = sigmoid(lesion_logit / self.card.lesion_temperature)
        return Assessment(
            "ok", lesion_score=lesion_score, malignancy=malignancy, risk=risk_level(malignancy, self.card.thresholds)
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
