"""End-to-end fine-tuning on fixture images: the real code path (tf.data, all four heads, checkpoints, resume,
calibration, export with parity), on tiny data."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from inference.card import load_card
from skinbot.config import load_config
from train import artifacts
from train.datasets import CLINICAL, DERMOSCOPIC, UNKNOWN, Sample, type_index
from train.finetune import clean_inputs, decode_all, draw_probabilities, epoch_draws, stratum, train_lesion
from train.splits import TrainingSplits

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "tests" / "fixtures" / "images"


def _samples():
    def lesion(name, label, kind, modality):
        return Sample(IMAGES / name, label, name, "fixture", type_index(kind), modality)

    return [
        lesion("benign_1.jpg", 0, "nevus", DERMOSCOPIC), lesion("malignant_1.jpg", 1, "melanoma", DERMOSCOPIC),
        lesion("benign_10.jpg", 0, "keratosis", CLINICAL), lesion("malignant_3.jpg", 1, "bcc", CLINICAL),
        Sample(IMAGES / "benign_10.jpg", 0, "rash-1", "fixture", type_index("rash"), CLINICAL),
        Sample(IMAGES / "notskin_receipt.jpg", UNKNOWN, "ns-1", "fixture", UNKNOWN, CLINICAL, is_lesion=False),
        Sample(IMAGES / "notskin_tench.jpg", UNKNOWN, "ns-2", "fixture", UNKNOWN, CLINICAL, is_lesion=False),
    ]


def _config(tmp_path, epochs):
    config = load_config(REPO / "config.yaml", env={}, overrides={"models": {"dir": str(tmp_path / "models")}})
    tc = dataclasses.replace(config.train, epochs=epochs, epoch_images=8, batch_size=4, early_stopping_patience=5)
    return dataclasses.replace(config, train=tc)


def test_balanced_sampling_gives_each_stratum_its_share():
    samples = _samples()
    p = draw_probabilities(samples)
    assert p.sum() == pytest.approx(1.0)
    draws = epoch_draws(p, 20000, seed=1, epoch=0)
    share = {name: np.mean([stratum(samples[i]) == name for i in draws]) for name in {stratum(s) for s in samples}}
    # Two not-skin images share one stratum: each is drawn half as often as the one clinical_malignant image.
    assert share["not_skin"] == pytest.approx(0.10 / sum((0.28, 0.22, 0.14, 0.14, 0.12, 0.10)), abs=0.01)
    assert np.array_equal(epoch_draws(p, 50, 1, 3), epoch_draws(p, 50, 1, 3))  # reproducible per epoch
    assert not np.array_equal(epoch_draws(p, 50, 1, 3), epoch_draws(p, 50, 1, 4))


@pytest.mark.slow
def test_training_resumes_and_exports_a_card_that_serving_reads(tmp_path):
    from train.export import export

    samples = _samples()
    splits = TrainingSplits(train=samples, val=samples)
    run = tmp_path / "run"
    first = train_lesion(_config(tmp_path, epochs=1), run, splits=splits)
    assert first.epochs == 1 and (run / artifacts.LAST_MODEL).is_file() and (run / artifacts.BEST_WEIGHTS).is_file()
    assert set(first.lesion) == {DERMOSCOPIC, CLINICAL} and first.lesion_types[-1] == "rash"

    resumed = train_lesion(_config(tmp_path, epochs=2), run, resume=True, splits=splits)
    state = json.loads((run / artifacts.STATE).read_text())
    assert resumed.epochs == 2 and state["epoch"] == 2 and [r["epoch"] for r in state["history"]] == [1, 2]
    assert (run / artifacts.HISTORY).read_text().count("\n") == 3  # header + one row per epoch

    config = _config(tmp_path, epochs=2)
    images = clean_inputs(decode_all(samples[:4]), 224).astype(np.float32)
    card_path = export(config, run, images=images, precisions=("float32",), validation=samples)
    card = load_card(card_path)  # verifies the files' hashes too
    assert card.lesion_types == resumed.lesion_types
    assert card.training["export_candidates"]["float32"]["max_abs_prob_diff_vs_keras"] < 1e-3
    # Chosen on the five lesion and rash fixtures (the not-skin ones are left out): all five are flagged when darkened.
    assert card.training["confident_reject_flagged"]["too_dark"] == 5
    assert set(card.confident_reject) <= {"too_dark", "blurry", "too_small"} and "too_dark" in card.confident_reject
    assert all(0 < t <= card.gate_threshold for t in card.confident_reject.values())
