"""The served model (`models/model_card.json` and the file it names) on real fixture photos with known labels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inference.pipeline import Pipeline
from skinbot.config import load_config
from tests.inference.testmodel import FIXTURES, REPO

LESIONS = ["benign_1.jpg", "benign_10.jpg", "malignant_1.jpg", "malignant_3.jpg"]  # Kaggle test split, not leaked


@pytest.fixture(scope="module")
def served() -> Iterator[Pipeline]:
    config = load_config(REPO / "config.yaml", env={}, overrides={"models": {"dir": str(REPO / "models")}})
    with Pipeline.from_config(config) as pipeline:
        yield pipeline


@pytest.mark.parametrize("name", LESIONS)
def test_dermoscopic_lesions_are_assessed(served: Pipeline, name: str) -> None:
    result = served.analyze((FIXTURES / name).read_bytes())
    assert result.status == "ok", result
    assert result.lesion_score is not None and result.lesion_score >= served.card.gate_threshold
    assert result.malignancy is not None and 0.0 <= result.malignancy <= 1.0
    assert result.model_version == served.card.version


def test_malignant_fixtures_score_above_benign_ones_and_are_referred(served: Pipeline) -> None:
    scores = {name: served.analyze((FIXTURES / name).read_bytes()) for name in LESIONS}
    malignant = [r for name, r in scores.items() if name.startswith("malignant")]
    benign = [r for name, r in scores.items() if name.startswith("benign")]
    assert min(r.malignancy or 0.0 for r in malignant) > max(r.malignancy or 1.0 for r in benign)
    assert all(r.risk in {"medium", "high"} for r in malignant)  # the refer threshold favours sensitivity


@pytest.mark.parametrize("name", ["notskin_receipt.jpg", "notskin_tench.jpg"])
def test_photos_of_other_things_are_not_skin(served: Pipeline, name: str) -> None:
    result = served.analyze((FIXTURES / name).read_bytes())
    assert result.status == "not_skin", result
    assert result.malignancy is None and result.risk is None


def test_served_model_gives_every_v2_output(served: Pipeline) -> None:
    result = served.analyze((FIXTURES / "malignant_1.jpg").read_bytes())
    assert result.status == "ok", result
    assert result.modality in {"dermoscopic", "clinical"}
    assert list(result.type_probs) == list(served.card.lesion_types)
    assert sum(result.type_probs.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.lesion_type == max(result.type_probs, key=lambda k: result.type_probs[k])
    assert len(result.cam) == 7 and all(len(row) == 7 for row in result.cam)
