"""Dataset lists and splits: no lesion or patient on both sides, labels read correctly, leakage lists."""

import os
from pathlib import Path

import pytest

from train import datasets, splits
from train.datasets import LESION_TYPES, MALIGNANT, UNKNOWN

DATA = Path(os.environ.get("SKINBOT_DATA", "../shared/data"))  # CI provides ../shared beside the clone
ALL_SOURCES = tuple(splits.SOURCES)


@pytest.fixture(scope="module")
def pool():
    return splits.training_splits(DATA, ALL_SOURCES)


@pytest.fixture(scope="module")
def tests():
    return splits.test_sets(DATA)


def test_no_group_on_two_sides(pool, tests):
    train = {s.group for s in pool.train}
    val = {s.group for s in pool.val}
    test = {s.group for name, samples in tests.items() if name not in ("kaggle_test", "ph2") for s in samples}
    assert train.isdisjoint(val) and train.isdisjoint(test) and val.isdisjoint(test)
    # PH2 is kept whole for testing; the only training images of its lesions are the healthy-skin patches cut from
    # around them (gate negatives: if anything they make those photos harder to accept, never easier to score).
    ph2_in_training = {s.source for s in pool.train + pool.val if s.group in {x.group for x in tests["ph2"]}}
    assert ph2_in_training == {"healthy_skin"}
    # The Kaggle split itself leaks lesions from train to test: exactly the documented ones, no more.
    leaked = datasets.kaggle_leaked_test_files(DATA)
    kaggle_test = tests["kaggle_test"]
    leaked_groups = {s.group for s in kaggle_test if datasets.kaggle_relative(s, DATA) in leaked}
    assert {s.group for s in kaggle_test} & (train | val) == leaked_groups
    # The masked PAD crops of a held-out patient stay out of training with the patient's photos.
    held_patients = {s.group for s in tests["pad_ufes_20"]} | {s.group for s in pool.val if s.source == "pad_ufes_20"}
    assert not {s.group for s in pool.train if s.source == "pad_masked"} & held_patients
    assert not any(s.source == "pad_masked" for s in pool.val)


def test_validation_split_does_not_depend_on_the_training_mix(pool):
    kaggle_only = splits.training_splits(DATA, ("kaggle",))
    assert [s.path for s in kaggle_only.val] == [s.path for s in pool.val]
    assert {s.source for s in kaggle_only.train} == {"kaggle_train", "healthy_skin"} | {
        s.source for s in pool.train if s.source.startswith("not_skin")}


def test_kaggle_test_lesions_never_train(pool, tests):
    test_lesions = {s.group for s in tests["kaggle_test"]}
    assert not {s.group for s in pool.train + pool.val if s.source == "ham10000"} & test_lesions


def test_labels_follow_the_diagnoses():
    ham = {s.path.name: s for s in datasets.ham10000_disjoint(DATA)}
    assert all((s.label == MALIGNANT) == (LESION_TYPES[s.kind] in datasets.MALIGNANT_TYPES) for s in ham.values())
    pad = datasets.pad_ufes(DATA)
    ack = [s for s in pad if "/ack/" in s.path.as_posix()]
    assert ack and all(s.label == MALIGNANT and LESION_TYPES[s.kind] == "ak_scc" for s in ack)
    assert all(s.modality == "clinical" for s in pad)
    rash = datasets.dermnet_rash(DATA)
    assert len(rash) == 1600 and {LESION_TYPES[s.kind] for s in rash} == {"rash"}
    clinical = datasets.clinical(DATA)
    horns = [s for s in clinical if "cutaneous_horn" in s.path.as_posix()]
    assert horns and all(s.label == UNKNOWN and s.kind == UNKNOWN for s in horns)  # may hide an SCC: no label
    assert not any(s.is_lesion for s in datasets.not_skin(DATA))


def test_kaggle_counts_and_leakage_lists():
    train, test = datasets.kaggle(DATA, "train"), datasets.kaggle(DATA, "test")
    assert (len(train), len(test)) == (2637, 660)
    assert sum(s.label for s in test) == 300
    assert len(datasets.kaggle_leaked_test_files(DATA)) == 97
    assert len(datasets.kaggle_ham_derived_test_files(DATA)) == 504
    dup = {s.path.name: s.group for s in train if s.path.parent.name == "malignant"}
    assert dup["768.jpg"] == dup["769.jpg"]
    assert all(LESION_TYPES[s.kind] == "nevus" for s in train if s.label == 0)


def test_missing_data_root_gives_a_clear_error(tmp_path):
    with pytest.raises(datasets.DatasetError, match="data root"):
        datasets.kaggle(tmp_path, "train")
