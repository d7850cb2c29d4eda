"""Dataset lists and splits: no lesion or patient on both sides, leakage list read correctly."""

import os
from pathlib import Path

import pytest

from train import datasets
from train.datasets import Sample, group_split

DATA = Path(os.environ.get("SKINBOT_DATA", "../shared/data"))  # CI provides ../shared beside the clone


def _synthetic(n_groups=200):
    samples = []
    for g in range(n_groups):
        for k in range(1 + g % 4):
            samples.append(Sample(Path(f"/x/{g}_{k}.jpg"), g % 3 == 0, f"g{g}", "a" if g % 2 else "b"))
    return samples


def test_group_split_never_separates_a_group_and_is_deterministic():
    samples = _synthetic()
    rest, held = group_split(samples, 0.2, seed=7)
    assert {s.group for s in rest}.isdisjoint({s.group for s in held})
    assert len(rest) + len(held) == len(samples)
    assert 0.15 < len(held) / len(samples) < 0.3
    assert group_split(samples, 0.2, seed=7) == (rest, held)
    assert {s.label for s in held} == {0, 1}  # stratified: both classes held out


def test_lesion_pool_split_keeps_lesions_and_patients_apart():
    from train.lesion import lesion_data

    data = lesion_data(DATA, ("kaggle", "ham10000", "pad_ufes_20"), 0.15, 1337)
    assert {s.group for s in data.train}.isdisjoint({s.group for s in data.val})
    test_lesions = {s.group for s in datasets.kaggle(DATA, "test")}
    ham_groups = {s.group for s in data.train + data.val if s.source == "ham10000"}
    assert ham_groups.isdisjoint(test_lesions)  # lesion-disjoint HAM10000 only


def test_kaggle_counts_and_leakage_list():
    train, test = datasets.kaggle(DATA, "train"), datasets.kaggle(DATA, "test")
    assert (len(train), len(test)) == (2637, 660)
    assert sum(s.label for s in test) == 300
    assert len(datasets.kaggle_leaked_test_files(DATA)) == 97
    dup = {s.path.name: s.group for s in train if s.path.parent.name == "malignant"}
    assert dup["768.jpg"] == dup["769.jpg"]


def test_missing_data_root_gives_a_clear_error(tmp_path):
    with pytest.raises(datasets.DatasetError, match="data root"):
        datasets.kaggle(tmp_path, "train")
