"""The one judging function against an independent reference written with `math` (`expected_judgement`), on
synthetic model outputs: calibration, per-modality temperatures and thresholds, type probabilities, the rash flag,
shapes, broken outputs and the verdict order."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from inference.card import ModelCard, ModelCardError
from inference.judge import (
    NonFiniteOutputError,
    judge,
    judge_arrays,
    judge_batch,
    risk_levels,
    sigmoid,
    softmax,
    verdict,
)
from tests.inference.testmodel import LESION_TYPES, RASH_THRESHOLD, card_for, expected_judgement

NAMES = ("gate_logit", "lesion_logit", "type_logits", "modality_logit", "lesion_cam")


@pytest.fixture
def card(tmp_path: Path) -> ModelCard:
    return card_for(tmp_path, files=())


def outputs(gate: list[float], lesion: list[float], modality: list[float], types: np.ndarray | None = None,
            cam: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Model outputs for len(gate) images, shaped as the exporter may shape them ((N, 1) heads, (N,) lesion)."""
    n = len(gate)
    return {
        "gate_logit": np.array(gate, np.float32)[:, None],
        "lesion_logit": np.array(lesion, np.float32),
        "modality_logit": np.array(modality, np.float32)[:, None],
        "type_logits": np.zeros((n, len(LESION_TYPES)), np.float32) if types is None else types.astype(np.float32),
        "lesion_cam": np.zeros((n, 7, 7), np.float32) if cam is None else cam.astype(np.float32),
    }


def test_judgements_match_the_reference_on_random_outputs(card: ModelCard) -> None:
    rng = np.random.default_rng(7)
    n = 64
    gate, lesion, modality = (rng.normal(0, 3, n).astype(np.float32) for _ in range(3))
    types = rng.normal(0, 2, (n, len(LESION_TYPES))).astype(np.float32)
    types[::5, -1] += 6.0  # some images with a confident "rash"
    cam = rng.normal(0, 1, (n, 7, 7)).astype(np.float32)
    judged = judge_batch(outputs(list(gate), list(lesion), list(modality), types, cam), card)
    assert len(judged) == n
    for i, j in enumerate(judged):
        ref = expected_judgement({"gate_logit": gate[i], "lesion_logit": lesion[i], "modality_logit": modality[i],
                                  "type_logits": types[i]})
        assert j.lesion_score == pytest.approx(ref["lesion_score"], abs=1e-9)
        assert j.accepted == (j.lesion_score >= card.gate_threshold)
        assert j.modality == ref["modality"]
        assert j.malignancy == pytest.approx(ref["malignancy"], abs=1e-9)
        assert j.risk == ref["risk"]
        assert j.type_probs == pytest.approx(ref["type_probs"], abs=1e-9)
        assert list(j.type_probs) == list(LESION_TYPES)
        assert math.fsum(j.type_probs.values()) == pytest.approx(1.0, abs=1e-12)
        assert j.lesion_type == ref["lesion_type"]
        assert j.rash == ref["rash"]
        np.testing.assert_array_equal(np.array(j.cam), cam[i])
    assert {j.modality for j in judged} == {"clinical", "dermoscopic"}
    assert {j.risk for j in judged} == {"low", "medium", "high"}
    assert 0 < sum(j.rash for j in judged) < n


def test_each_modality_uses_its_own_temperature_and_thresholds(card: ModelCard) -> None:
    # The same lesion logit seen as dermoscopic (T=2, high 0.7) and as a phone photo (T=1, high 0.8).
    derm, clin = judge_batch(outputs([3.0, 3.0], [1.5, 1.5], [-4.0, 4.0]), card)
    assert (derm.modality, clin.modality) == ("dermoscopic", "clinical")
    assert derm.malignancy == pytest.approx(1 / (1 + math.exp(-0.75)))  # 0.679: under dermoscopic high
    assert clin.malignancy == pytest.approx(1 / (1 + math.exp(-1.5)))  # 0.818: over clinical high
    assert (derm.risk, clin.risk) == ("medium", "high")
    # A malignancy between the two `refer` thresholds is medium for one modality and low for the other.
    logit = math.log(0.3 / 0.7)  # malignancy 0.3 at T=1
    derm_low, clin_low = judge_batch(outputs([3.0, 3.0], [2 * logit, logit], [-4.0, 4.0]), card)
    assert derm_low.malignancy == pytest.approx(0.3) and clin_low.malignancy == pytest.approx(0.3)
    assert (derm_low.risk, clin_low.risk) == ("medium", "low")


def test_modality_threshold_comes_from_the_card(tmp_path: Path) -> None:
    strict = card_for(tmp_path, files=(), modality_threshold=0.9)
    logit = math.log(0.8 / 0.2)  # P(clinical) = 0.8
    assert judge(outputs([3.0], [0.0], [logit]), card_for(tmp_path, files=())).modality == "clinical"
    assert judge(outputs([3.0], [0.0], [logit]), strict).modality == "dermoscopic"


def test_rash_flag_is_the_rash_probability_against_the_card_threshold_for_a_low_risk_photo(card: ModelCard) -> None:
    def with_rash_probability(p: float) -> np.ndarray:
        # Seven types at logit 0 and "rash" at r: P(rash) = e^r / (7 + e^r) = p.
        types = np.zeros((1, len(LESION_TYPES)))
        types[0, -1] = math.log(7 * p / (1 - p))
        return types

    below = judge(outputs([3.0], [-6.0], [0.0], with_rash_probability(RASH_THRESHOLD - 1e-4)), card)
    above = judge(outputs([3.0], [-6.0], [0.0], with_rash_probability(RASH_THRESHOLD + 1e-4)), card)
    assert below.type_probs["rash"] == pytest.approx(RASH_THRESHOLD - 1e-4, abs=1e-6)
    assert (below.rash, above.rash) == (False, True)
    assert below.lesion_type == above.lesion_type == "rash"  # most likely, yet not confident enough below
    # The argmax alone never makes a rash: a 0.3 "rash" that leads the others is not one.
    plurality = judge(outputs([3.0], [-6.0], [0.0], with_rash_probability(0.3)), card)
    assert plurality.lesion_type == "rash" and plurality.rash is False


def test_a_rash_the_malignancy_model_does_not_rate_low_is_not_a_rash(card: ModelCard) -> None:
    # A few melanomas look like a rash to the type head: their risk level must not disappear behind rash guidance.
    types = np.zeros((3, len(LESION_TYPES)))
    types[:, -1] = 8.0  # "rash" with probability 0.997
    judged = judge_batch(outputs([3.0] * 3, [-6.0, 0.0, 6.0], [0.0] * 3, types), card)
    assert [j.risk for j in judged] == ["low", "medium", "high"]
    assert [j.rash for j in judged] == [True, False, False]
    assert all(j.lesion_type == "rash" for j in judged)


def test_gate_threshold_and_temperature_come_from_the_card(tmp_path: Path) -> None:
    card = card_for(tmp_path, files=(), gate_temperature=2.0, gate_threshold=0.7)
    j = judge(outputs([1.6], [0.0], [0.0]), card)  # sigmoid(0.8) = 0.69: under 0.7
    assert j.lesion_score == pytest.approx(1 / (1 + math.exp(-0.8)))
    assert j.accepted is False
    assert judge(outputs([1.8], [0.0], [0.0]), card).accepted is True


def test_arrays_and_per_image_judgements_agree(card: ModelCard) -> None:
    rng = np.random.default_rng(3)
    raw = outputs(list(rng.normal(0, 2, 9)), list(rng.normal(0, 2, 9)), list(rng.normal(0, 2, 9)),
                  rng.normal(0, 2, (9, 8)), rng.normal(0, 1, (9, 7, 7)))
    arrays = judge_arrays(raw, card)
    for i, j in enumerate(judge_batch(raw, card)):
        assert j == arrays.at(i)
        assert j == judge({name: value[i:i + 1] for name, value in raw.items()}, card)
    np.testing.assert_allclose(arrays.type_probs.sum(axis=1), 1.0)


def test_heads_shaped_n_or_n_by_1_and_a_cam_with_a_channel_axis_are_accepted(card: ModelCard) -> None:
    raw = outputs([2.0, -2.0], [1.0, -1.0], [1.0, -1.0], cam=np.arange(98.0).reshape(2, 7, 7))
    flat = {**raw, "gate_logit": raw["gate_logit"][:, 0], "lesion_cam": raw["lesion_cam"][..., None]}
    assert judge_batch(flat, card) == judge_batch(raw, card)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_outputs_raise(card: ModelCard, name: str, bad: float) -> None:
    raw = outputs([2.0, 2.0], [0.0, 0.0], [0.0, 0.0])
    raw[name] = raw[name].copy()
    raw[name].reshape(-1)[-1] = bad  # the second image
    with pytest.raises(NonFiniteOutputError, match=rf"non-finite values in '{name}' for image\(s\) \[1\]"):
        judge_arrays(raw, card)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type_logits": np.zeros((2, 5))}, "lists 8 lesion types"),
        ({"lesion_cam": np.zeros((2, 49))}, "expected \\(2, H, W\\)"),
        ({"lesion_logit": np.zeros(3)}, "expected \\(2,\\) or \\(2, 1\\)"),
        ({"modality_logit": np.zeros((2, 2))}, "modality_logit"),
    ],
)
def test_outputs_that_do_not_fit_the_card_are_refused(card: ModelCard, change: dict[str, np.ndarray],
                                                      message: str) -> None:
    with pytest.raises(ModelCardError, match=message):
        judge_arrays({**outputs([0.0, 0.0], [0.0, 0.0], [0.0, 0.0]), **change}, card)


def test_a_missing_output_is_refused(card: ModelCard) -> None:
    raw = outputs([0.0], [0.0], [0.0])
    del raw["lesion_cam"]
    with pytest.raises(ModelCardError, match="lack 'lesion_cam'"):
        judge(raw, card)


def test_judge_takes_exactly_one_image(card: ModelCard) -> None:
    with pytest.raises(ValueError, match="one image"):
        judge(outputs([0.0, 0.0], [0.0, 0.0], [0.0, 0.0]), card)


def test_sigmoid_is_stable_at_extremes() -> None:
    assert sigmoid(0.0) == 0.5
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(1000.0) == 1.0
    np.testing.assert_allclose(sigmoid([-2.0, 2.0]), [1 / (1 + math.exp(2.0)), 1 / (1 + math.exp(-2.0))])


def test_softmax_is_stable_for_large_logits() -> None:
    np.testing.assert_allclose(softmax([1000.0, 1000.0, -1000.0]), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(softmax([[0.0, math.log(3.0)]]), [[0.25, 0.75]])


def test_risk_band_edges_follow_the_thresholds() -> None:
    levels = risk_levels([0.0, 0.1999, 0.2, 0.6999, 0.7, 1.0], refer=0.2, high=0.7)
    assert levels.tolist() == [0, 0, 1, 1, 2, 2]


ACCEPTED, REJECTED = True, False
CONFIDENT_REJECT = {"too_dark": 0.02, "blurry": 0.3, "too_small": 0.35}


@pytest.mark.parametrize(
    ("accepted", "score", "issues", "status"),
    [
        (ACCEPTED, 0.9, (), "ok"),
        (REJECTED, 0.4, (), "not_skin"),
        # Bright, flat photos the gate rejects (screenshots, receipts) are not skin, not "retake".
        (REJECTED, 0.4, ("too_bright",), "not_skin"),
        (REJECTED, 0.4, ("low_contrast",), "not_skin"),
        (REJECTED, 0.4, ("too_bright", "low_contrast"), "not_skin"),
        # The same issues on a photo the gate accepts ask for a better photo.
        (ACCEPTED, 0.9, ("too_bright",), "poor_quality"),
        (ACCEPTED, 0.9, ("low_contrast",), "poor_quality"),
        # Dark, blurred or tiny photos make the gate unreliable: poor quality, unless the score is far below
        # what lesion photos with that issue get.
        (ACCEPTED, 0.9, ("too_dark",), "poor_quality"),
        (REJECTED, 0.4, ("too_dark",), "poor_quality"),
        (REJECTED, 0.4, ("blurry",), "poor_quality"),
        (REJECTED, 0.4, ("too_small",), "poor_quality"),
        (REJECTED, 0.4, ("too_dark", "low_contrast"), "poor_quality"),
        (REJECTED, 0.4, ("too_bright", "blurry"), "poor_quality"),
        (REJECTED, 0.001, ("too_small",), "not_skin"),  # a tiny receipt
        (REJECTED, 0.01, ("too_dark", "low_contrast"), "not_skin"),
        (REJECTED, 0.1, ("too_bright", "blurry"), "not_skin"),
        # Below one issue's threshold is not enough when another unreliable issue is also found.
        (REJECTED, 0.1, ("too_dark", "blurry"), "poor_quality"),
        (REJECTED, 0.01, ("too_dark", "blurry"), "not_skin"),
        # The threshold itself is not below it.
        (REJECTED, 0.02, ("too_dark",), "poor_quality"),
    ],
)
def test_verdict_order(accepted: bool, score: float, issues: tuple[str, ...], status: str) -> None:
    assert verdict(accepted, score, issues, CONFIDENT_REJECT) == status


def test_without_confident_reject_thresholds_unreliable_photos_always_ask_for_a_retake() -> None:
    assert verdict(REJECTED, 0.0, ("too_small",), {}) == "poor_quality"
    assert verdict(REJECTED, 0.0, ("blurry",), {"too_dark": 0.5}) == "poor_quality"

