"""The search record: finished trials survive the loss of runs/, and the table is written from them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from inference.card import RiskCalibration
from skinbot.config import Config, ModelsConfig
from train import search
from train.search import Record, Row, load_record, save_record, write_table


def row(name: str, auc: float) -> Row:
    return Row(trial=name, command=f"skinbot train search --only {name}", epochs=14, best_epoch=9, minutes=61.0,
               val_n={"dermoscopic": 1569, "clinical": 194}, val_auc={"dermoscopic": auc, "clinical": None},
               type_balanced_accuracy=0.5, specificity_refer={"dermoscopic": 0.6, "clinical": 0.4},
               peak_auc={"dermoscopic": (auc + 0.01, 11)},
               jpeg75={"auc": {"dermoscopic": auc - 0.004}, "same_risk": {"dermoscopic": 0.95, "clinical": 0.9}})


def test_record_round_trips_in_trial_order(tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    save_record(Record(rows={"lite1": row("lite1", 0.91), "default": row("default", 0.9)}), path)
    loaded = load_record(path)
    assert list(loaded.rows) == ["default", "lite1"]
    assert loaded.rows["lite1"] == row("lite1", 0.91)
    assert load_record(tmp_path / "missing.json") == Record()


def test_table_lists_every_recorded_trial(tmp_path: Path) -> None:
    path = tmp_path / "search.md"
    write_table(Record(rows={"default": row("default", 0.899), "lite2": row("lite2", 0.93)},
                       tta={"1 view(s)": {"dermoscopic": 0.899, "clinical": 0.9}}), path)
    text = path.read_text()
    assert "| default | `skinbot train search --only default` | 14 (9) | 61 | 0.899 | - |" in text
    assert "| 0.909 (11) | - | 0.895 / - | 0.950 / 0.900 |" in text
    assert "| lite2 |" in text and "dermoscopic 1569, clinical 194" in text and "| 1 view(s) | 0.899 | 0.900 |" in text


def test_table_lists_trials_in_search_order_whatever_order_they_finished(tmp_path: Path) -> None:
    # `--only default_repeat` after `--only lite2` records default_repeat last; the table still follows trials().
    path = tmp_path / "search.md"
    write_table(Record(rows={"lite2": row("lite2", 0.93), "default_repeat": row("default_repeat", 0.9)}), path)
    text = path.read_text()
    assert text.index("| default_repeat |") < text.index("| lite2 |")


def test_recorded_trials_are_not_trained_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    record = Record(rows={t.name: row(t.name, 0.9) for t in search.trials(())})
    save_record(record, models / "report" / search.RECORD_FILE)

    def train_lesion(*_: object, **__: object) -> None:
        raise AssertionError("a recorded trial was trained again")

    monkeypatch.setattr("train.finetune.train_lesion", train_lesion)
    config = dataclasses.replace(Config(), models=ModelsConfig(dir=models))
    rows = search.run_search(config, tmp_path / "runs" / "search")
    assert [r.trial for r in rows] == [t.name for t in search.trials(())]


def test_a_trial_finishing_keeps_the_rows_another_search_recorded_while_it_trained(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "models" / "report" / search.RECORD_FILE
    save_record(Record(rows={"default": row("default", 0.9)}, tta={"1 view(s)": {"dermoscopic": 0.9}}), path)

    def train_lesion(*_: object, **__: object) -> None:  # meanwhile, `--only lite2` finishes in another process
        save_record(Record(rows={**load_record(path).rows, "lite2": row("lite2", 0.93)}), path)

    monkeypatch.setattr("train.finetune.train_lesion", train_lesion)
    monkeypatch.setattr(search, "measure_jpeg", lambda *_: {})
    monkeypatch.setattr(Row, "of", classmethod(lambda cls, trial, *_: row(trial.name, 0.91)))
    config = dataclasses.replace(Config(), models=ModelsConfig(dir=tmp_path / "models"))
    search.run_search(config, tmp_path / "runs" / "search", only="lite1")
    assert load_record(path).rows == {"default": row("default", 0.9), "lite1": row("lite1", 0.91),
                                      "lite2": row("lite2", 0.93)}
    assert "| lite2 |" in (path.parent / "search.md").read_text()


def test_peaks_are_each_modalitys_best_epoch() -> None:
    history = [{"val_auc_dermoscopic": 0.84, "val_auc_clinical": 0.78}, {"val_auc_dermoscopic": 0.88,
                                                                            "val_auc_clinical": 0.70}]
    assert search.peaks(history) == {"dermoscopic": (0.88, 2), "clinical": (0.78, 1)}
    assert search.peaks([]) == {}


@pytest.mark.parametrize(("trial", "patience"), [("seed_2", 14), ("default_repeat", 4)])
def test_trials_train_the_whole_schedule_but_the_repeat_trains_as_train_lesion_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trial: str, patience: int) -> None:
    class Trained(Exception):
        pass

    def train_lesion(config: Config, run_dir: Path, resume: bool) -> None:
        assert run_dir.name == trial and resume
        raise Trained(config.train)

    monkeypatch.setattr("train.finetune.train_lesion", train_lesion)
    config = dataclasses.replace(Config(), models=ModelsConfig(dir=tmp_path / "models"))
    assert (config.train.epochs, config.train.early_stopping_patience) == (14, 4)
    with pytest.raises(Trained) as trained:
        search.run_search(config, tmp_path / "runs" / "search", only=trial)
    tc = trained.value.args[0]
    assert tc.early_stopping_patience == patience
    assert tc.seed == (2 if trial == "seed_2" else config.train.seed)
    assert dataclasses.replace(tc, early_stopping_patience=4, seed=config.train.seed) == config.train


def test_same_risk_share_counts_images_whose_level_survives_the_round_trip() -> None:
    calibration = {"dermoscopic": RiskCalibration(temperature=1.0, refer=0.3, high=0.7),
                   "clinical": RiskCalibration(temperature=2.0, refer=0.3, high=0.7)}
    before = np.array([-3.0, 0.0, 3.0, 0.0])  # low, medium, high (dermoscopic); medium (clinical: sigmoid(0) = 0.5)
    after = np.array([-2.0, 0.5, 0.0, 1.2])  # low, medium, medium; clinical sigmoid(0.6) = 0.65 stays medium
    clinical = np.array([False, False, False, True])
    assert search.same_risk_share(before, after, clinical, calibration) == 0.75
    # Under the dermoscopic calibration the fourth image would move from medium to high (sigmoid(1.2) = 0.77).
    assert search.same_risk_share(before, after, np.zeros(4, dtype=bool), calibration) == 0.5
