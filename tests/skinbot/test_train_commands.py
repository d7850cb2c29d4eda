"""`skinbot train` and `skinbot evaluate` given bad paths: a clear message and exit code 2, never a traceback."""

from pathlib import Path

import pytest

from skinbot.cli import main

REPO = Path(__file__).parents[2]


def test_train_with_missing_data_root(tmp_path, capsys):
    assert main(["train", "lesion", "--data", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_with_empty_data_root(tmp_path, capsys):
    assert main(["train", "lesion", "--data", str(tmp_path), "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "skin-cancer-mvb" in err


def test_train_export_before_lesion(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    assert main(["train", "export", "--data", str(tmp_path / "data"), "--runs", str(tmp_path / "runs")]) == 2
    assert "skinbot train lesion" in capsys.readouterr().err


def test_evaluate_without_a_model(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(f"models: {{dir: {tmp_path / 'no-models'}}}\n")
    assert main(["--config", str(config), "evaluate", "--data", str(tmp_path)]) == 2
    assert "no model card" in capsys.readouterr().err


def test_unknown_stage_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "everything"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_quality_gate_without_a_model(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    assert main(["train", "quality-gate", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "none")]) == 2
    assert "no model card" in capsys.readouterr().err


def test_quality_gate_with_an_empty_data_root_leaves_the_card_alone(tmp_path, capsys):
    card = REPO / "models" / "model_card.json"
    before = card.read_bytes()
    assert main(["train", "quality-gate", "--data", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err
    assert card.read_bytes() == before
