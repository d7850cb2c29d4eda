"""The model card: written by `write_card`, read back identically by `load_card`, which refuses garbage and
inconsistent calibration with a clear message."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from inference.card import CARD_FILE, CARD_FORMAT, ModelCardError, ModelFile, RiskCalibration, load_card, write_card
from tests.inference.testmodel import card_for

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "model_card.json"


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "model_card.json"
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "unreadable model card"),
        ("{not json", "unreadable model card"),
        ("[1, 2, 3]", f"not a {CARD_FORMAT}"),
        (json.dumps({"format": "something-else"}), f"not a {CARD_FORMAT}"),
        (json.dumps({"format": "skinbot-model-card/1"}), f"not a {CARD_FORMAT}"),
        (json.dumps({"format": CARD_FORMAT, "version": "x"}), "missing or has a bad field"),
    ],
)
def test_garbage_cards_are_refused(tmp_path, content, message):
    with pytest.raises(ModelCardError, match=message):
        load_card(_write(tmp_path, content))


def test_binary_garbage_is_refused(tmp_path):
    path = tmp_path / "model_card.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelCardError):
        load_card(path)


def test_a_written_card_reads_back_identically(tmp_path):
    (tmp_path / "skinbot.tflite").write_bytes(b"a model")
    card = card_for(tmp_path, training={"seed": 1}, metrics={"lesion": {"roc_auc": 0.9}},
                    confident_reject={"too_dark": 0.01, "too_small": 0.3})
    write_card(card, tmp_path / CARD_FILE)
    assert load_card(tmp_path / CARD_FILE) == card
    assert json.loads((tmp_path / CARD_FILE).read_text())["format"] == CARD_FORMAT


def _without_files(tmp_path: Path, **changes: Any) -> Path:
    card = card_for(tmp_path, files=(ModelFile("model", "absent.tflite", "00"),), **changes)
    write_card(card, tmp_path / CARD_FILE)
    return tmp_path / CARD_FILE


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lesion_calibration": {"dermoscopic": RiskCalibration(1.0, 0.2, 0.7)}}, "dermoscopic and clinical"),
        ({"lesion_calibration": {"dermoscopic": RiskCalibration(1.0, 0.7, 0.2),
                                 "clinical": RiskCalibration(1.0, 0.2, 0.7)}}, "dermoscopic thresholds"),
        ({"lesion_calibration": {"dermoscopic": RiskCalibration(1.0, 0.2, 0.7),
                                 "clinical": RiskCalibration(0.0, 0.2, 0.7)}}, "temperatures must be positive"),
        ({"gate_temperature": -1.0}, "temperatures must be positive"),
        ({"lesion_types": ("nevus", "melanoma")}, "including 'rash'"),
        ({"gate_threshold": 50.0}, "thresholds.gate must be a probability"),
        ({"rash_threshold": 0.0}, "thresholds.rash must be a probability"),
        ({"modality_threshold": -0.5}, "thresholds.modality must be a probability"),
        ({"confident_reject": {"too_blurry": 0.1}}, "unknown quality issue 'too_blurry'"),
        # Above the gate threshold it would turn photos the gate accepts into "not skin".
        ({"gate_threshold": 0.5, "confident_reject": {"too_dark": 0.6}}, r"confident_reject.too_dark must be in"),
        ({"confident_reject": {"blurry": 0.0}}, r"confident_reject.blurry must be in"),
    ],
)
def test_inconsistent_cards_are_refused(tmp_path, changes, message):
    with pytest.raises(ModelCardError, match=message):
        load_card(_without_files(tmp_path, **changes), verify=False)


def test_missing_model_file_is_refused(tmp_path):
    path = _without_files(tmp_path)
    assert load_card(path, verify=False).file("model") == tmp_path / "absent.tflite"
    with pytest.raises(ModelCardError, match="missing"):
        load_card(path)


def test_shipped_card_loads_and_verifies(tmp_path):
    card = load_card(SHIPPED)
    for calibration in card.lesion_calibration.values():
        assert 0 < calibration.refer <= calibration.high < 1
    assert card.metrics["lesion"]["kaggle_test"]["n"] == 660
    # The same card with swapped thresholds is refused.
    swapped = dict(card.lesion_calibration)
    derm = swapped["dermoscopic"]
    swapped["dermoscopic"] = dataclasses.replace(derm, refer=derm.high, high=derm.refer)
    write_card(dataclasses.replace(card, lesion_calibration=swapped), tmp_path / CARD_FILE)
    with pytest.raises(ModelCardError, match="refer <= high"):
        load_card(tmp_path / CARD_FILE, verify=False)
