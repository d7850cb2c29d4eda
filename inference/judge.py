"""Judging: the model's raw outputs and the model card -> what they mean. The one place these rules live.

Serving (`inference.pipeline`), `skinbot check` (through the pipeline) and `skinbot evaluate` all judge through
this module, so a threshold means the same thing everywhere. The rules (the card's format is in `inference.card`):

- lesion score = sigmoid(gate logit / gate_temperature); the gate `accepted` the photo when it is >= `thresholds.gate`
- modality = "clinical" when sigmoid(modality logit) >= `thresholds.modality`, else "dermoscopic"
- malignancy = sigmoid(lesion logit / that modality's temperature); risk "high" when malignancy >= that modality's
  `high`, "medium" when >= its `refer`, else "low"
- type probabilities = softmax(type logits), named by `card.lesion_types`; the lesion type is the most likely one
- rash when the "rash" probability >= `thresholds.rash` and the risk is "low": a few melanomas look like a rash to
  the type head, and a medium or high score must never disappear behind rash guidance
- the CAM is passed through as the model computed it (lesion-head logits per region of the last feature map)

Every number is computed for every image, accepted by the gate or not (evaluation measures malignancy on all of
them); which of them a user is shown is the verdict's business (`verdict`, and `inference.pipeline`).

Outputs are a mapping from the card's output names (`card.outputs`) to arrays with the batch first, as
`inference.runtime` returns them: gate, lesion and modality (N,) or (N, 1); type (N, len(card.lesion_types));
CAM (N, H, W) or (N, H, W, 1). Outputs that do not fit the card raise `ModelCardError`; a NaN or infinite output
raises `NonFiniteOutputError`, because NaN compares false with every threshold and would read as "low" risk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from inference.assessment import Modality, Risk, Status
from inference.card import ModelCard, ModelCardError, RiskCalibration
from inference.quality import QualityIssue
from skinbot.vocabulary import RISK_LEVELS

# Quality issues that make the gate's own judgement unreliable: in a dark, blurred or tiny photo the gate cannot
# tell a lesion from anything else, so the user is asked for a better photo whatever the gate says. Too bright and
# low contrast are different: screenshots, receipts and documents are bright and flat, and the gate judges those
# well, so a photo it rejects is "not skin" rather than "retake" (issue 8, item 6). Even with an unreliable gate, a
# score far below what validation lesion photos get when made that dark, blurred or small (the card's
# `confident_reject`) means "not skin": a tiny receipt, a blurred wallpaper.
GATE_UNRELIABLE: frozenset[QualityIssue] = frozenset({"too_small", "blurry", "too_dark"})

RISKS: tuple[Risk, ...] = RISK_LEVELS  # the judge's risk indices: 0 low, 1 medium, 2 high


class NonFiniteOutputError(RuntimeError):
    """The model returned NaN or infinity: a broken model, never to be reported as a result."""


@dataclass(frozen=True)
class Judgement:
    """What the model's outputs for one image mean under the card (see the module docstring for the rules)."""

    accepted: bool  # the gate says this is a close-up of a skin lesion or skin problem
    lesion_score: float  # the gate's calibrated probability of that
    clinical_score: float  # probability that this is a phone / clinical photo rather than dermoscopic
    modality: Modality
    malignancy: float  # calibrated with this modality's temperature
    risk: Risk  # from this modality's thresholds
    type_probs: dict[str, float]  # by lesion type name; sums to 1
    lesion_type: str  # the most likely type
    rash: bool  # the "rash" probability reaches the card's rash threshold and the risk is low
    cam: tuple[tuple[float, ...], ...]  # rows of the lesion head's class-activation map


@dataclass(frozen=True)
class Judgements:
    """The judgements of a batch as arrays (first axis: image), for metrics over many images; `at(i)` is one."""

    lesion_types: tuple[str, ...]
    accepted: NDArray[np.bool_]
    lesion_score: NDArray[np.float64]
    clinical_score: NDArray[np.float64]
    clinical: NDArray[np.bool_]
    malignancy: NDArray[np.float64]
    risk: NDArray[np.int64]  # index into RISKS: 0 low, 1 medium, 2 high
    type_probs: NDArray[np.float64]  # (N, len(lesion_types))
    rash: NDArray[np.bool_]
    cam: NDArray[np.float64]  # (N, H, W)

    def __len__(self) -> int:
        return int(self.accepted.shape[0])

    def at(self, i: int) -> Judgement:
        """The judgement of image `i`."""
        probs = self.type_probs[i]
        modality: Modality = "clinical" if self.clinical[i] else "dermoscopic"
        return Judgement(
            accepted=bool(self.accepted[i]),
            lesion_score=float(self.lesion_score[i]),
            clinical_score=float(self.clinical_score[i]),
            modality=modality,
            malignancy=float(self.malignancy[i]),
            risk=RISKS[int(self.risk[i])],
            type_probs={name: float(p) for name, p in zip(self.lesion_types, probs, strict=True)},
            lesion_type=self.lesion_types[int(np.argmax(probs))],
            rash=bool(self.rash[i]),
            cam=tuple(tuple(float(v) for v in row) for row in self.cam[i]),
        )


def sigmoid(x: ArrayLike) -> NDArray[np.float64]:
    """Logistic function, elementwise in float64, without overflow for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))  # never overflows; exp(-|x|) underflows to 0 at the extremes, giving exactly 0 or 1
    out: NDArray[np.float64] = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def softmax(logits: ArrayLike) -> NDArray[np.float64]:
    """Softmax over the last axis in float64 (shifted by the maximum, so large logits do not overflow)."""
    x = np.asarray(logits, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: NDArray[np.float64] = e / e.sum(axis=-1, keepdims=True)
    return out


def risk_levels(malignancy: ArrayLike, refer: ArrayLike, high: ArrayLike) -> NDArray[np.int64]:
    """Risk bands as indices into `RISKS`: >= `high` is 2 ("high"), >= `refer` is 1 ("medium"), lower is 0."""
    m = np.asarray(malignancy, dtype=np.float64)
    levels: NDArray[np.int64] = (m >= np.asarray(refer)).astype(np.int64) + (m >= np.asarray(high)).astype(np.int64)
    return levels


def _output(outputs: Mapping[str, np.ndarray], name: str) -> NDArray[np.float64]:
    if name not in outputs:
        raise ModelCardError(f"the model's outputs lack '{name}' named by the card (it has {sorted(outputs)})")
    array = np.asarray(outputs[name], dtype=np.float64)
    if not np.isfinite(array).all():
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(array))[:, 0]}) if array.ndim else [0]
        raise NonFiniteOutputError(f"the model returned non-finite values in '{name}' for image(s) {bad[:10]}")
    return array


def _per_image(array: NDArray[np.float64], name: str, count: int) -> NDArray[np.float64]:
    """A one-value-per-image head, shaped (N,) or (N, 1) by the exporter, as (N,)."""
    if array.shape not in ((count,), (count, 1)):
        raise ModelCardError(f"model output '{name}' has shape {array.shape}, expected ({count},) or ({count}, 1)")
    return array.reshape(count)


def _shaped(outputs: Mapping[str, np.ndarray], card: ModelCard) -> tuple[NDArray[np.float64], ...]:
    """The five outputs, checked against the card and reshaped: gate, lesion, modality (N,); type (N, K); CAM."""
    names = card.outputs
    gate = _output(outputs, names.gate)
    count = int(gate.shape[0]) if gate.ndim else 0
    lesion = _per_image(_output(outputs, names.lesion), names.lesion, count)
    modality = _per_image(_output(outputs, names.modality), names.modality, count)
    types = _output(outputs, names.type)
    if types.shape != (count, len(card.lesion_types)):
        raise ModelCardError(f"model output '{names.type}' has shape {types.shape}; the card lists "
                             f"{len(card.lesion_types)} lesion types for {count} image(s)")
    cam = _output(outputs, names.cam)
    if cam.ndim == 4 and cam.shape[-1] == 1:
        cam = cam[..., 0]
    if cam.ndim != 3 or cam.shape[0] != count:
        raise ModelCardError(f"model output '{names.cam}' has shape {cam.shape}, expected ({count}, H, W)")
    return _per_image(gate, names.gate, count), lesion, modality, types, cam


def calibrated_malignancy(lesion_logits: ArrayLike, clinical: ArrayLike, calibration: Mapping[str, RiskCalibration]
                          ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Each image's malignancy probability and its `refer` and `high` thresholds, under the calibration of its
    (predicted) modality: `clinical` is True for phone/clinical photos."""
    clinical = np.asarray(clinical, dtype=bool)
    derm, clin = calibration["dermoscopic"], calibration["clinical"]
    malignancy = sigmoid(np.asarray(lesion_logits, dtype=np.float64) / np.where(clinical, clin.temperature,
                                                                                derm.temperature))
    return malignancy, np.where(clinical, clin.refer, derm.refer), np.where(clinical, clin.high, derm.high)


def judge_arrays(outputs: Mapping[str, np.ndarray], card: ModelCard) -> Judgements:
    """Judge a batch of model outputs under `card`, vectorised: the arrays evaluation computes metrics from."""
    gate, lesion, modality, types, cam = _shaped(outputs, card)
    lesion_score = sigmoid(gate / card.gate_temperature)
    clinical_score = sigmoid(modality)
    clinical = clinical_score >= card.modality_threshold
    malignancy, refer, high = calibrated_malignancy(lesion, clinical, card.lesion_calibration)
    risk = risk_levels(malignancy, refer, high)
    type_probs = softmax(types)
    rash = (type_probs[:, card.lesion_types.index("rash")] >= card.rash_threshold) & (risk == RISKS.index("low"))
    return Judgements(
        lesion_types=card.lesion_types, accepted=lesion_score >= card.gate_threshold, lesion_score=lesion_score,
        clinical_score=clinical_score, clinical=clinical, malignancy=malignancy, risk=risk, type_probs=type_probs,
        rash=rash, cam=cam,
    )


def judge_batch(outputs: Mapping[str, np.ndarray], card: ModelCard) -> list[Judgement]:
    """Judge a batch of model outputs (a mapping from the card's output names to arrays, batch first, as
    `BatchRunner.run` returns it): one `Judgement` per image, in order."""
    judged = judge_arrays(outputs, card)
    return [judged.at(i) for i in range(len(judged))]


def judge(outputs: Mapping[str, np.ndarray], card: ModelCard) -> Judgement:
    """Judge the outputs of a batch of exactly one image."""
    judged = judge_arrays(outputs, card)
    if len(judged) != 1:
        raise ValueError(f"judge takes the outputs of one image, got {len(judged)}; use judge_batch")
    return judged.at(0)


def verdict(accepted: bool, lesion_score: float, issues: Iterable[str],
            confident_reject: Mapping[str, float]) -> Status:
    """The status of a photo that reached the model, from the gate's decision and score and the quality issues.

    Issues that make the gate unreliable (`GATE_UNRELIABLE`: too small, blurry, too dark) -> "poor_quality", unless
    the lesion score is below the `confident_reject` threshold of every such issue found -> "not_skin"; otherwise a
    photo the gate rejects -> "not_skin" (even if too bright or low in contrast); otherwise any remaining issue ->
    "poor_quality"; otherwise "ok".
    """
    found = set(issues)
    unreliable = found & GATE_UNRELIABLE
    if unreliable:
        confident = all(lesion_score < confident_reject.get(issue, 0.0) for issue in unreliable)
        return "not_skin" if confident and not accepted else "poor_quality"
    if not accepted:
        return "not_skin"
    return "poor_quality" if found else "ok"
