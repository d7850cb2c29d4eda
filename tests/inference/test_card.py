"""The model card loader refuses garbage with a clear message."""

import json
from pathlib import Path

import pytest

from inference.card import CARD_FORMAT, ModelCardError, load_card

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
        ("[1, 2, 3]", "not a skinbot-model-card/1"),
        (json.dumps({"format": "something-else"}), "not a skinbot-model-card/1"),
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


def test_shipped_card_loads_and_verifies(tmp_path):
    card = load_card(SHIPPED)
    assert 0 < card.thresholds.refer <= card.thresholds.high < 1
    assert card.metrics["lesion"]["kaggle_test"]["n"] == 660
    # The same card with swapped thresholds is refused.
    raw = json.loads(SHIPPED.read_text())
    raw["thresholds"]["refer"], raw["thresholds"]["high"] = raw["thresholds"]["high"], raw["thresholds"]["refer"]
    with pytest.raises(ModelCardError, match="refer <= high"):
        load_card(_write(tmp_path, json.dumps(raw)), verify=False)


def test_missing_model_file_is_refused(tmp_path):
    raw = json.loads(SHIPPED.read_text())
    with pytest.raises(ModelCardError, match="missing"):
        load_card(_write(tmp_path, json.dumps(raw)))
