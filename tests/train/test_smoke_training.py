"""A one-epoch smoke run of both training phases on a few fixture images: the real code path, tiny data."""

from pathlib import Path

import numpy as np

from train.datasets import Sample
from train.features import FeatureSpec, compute_features
from train.fit import PhaseSettings, RandomViews, class_weights, train_phase
from train.model import LESION_OUTPUT, HeadNet, UpperNet

IMAGES = Path(__file__).resolve().parent.parent / "fixtures" / "images"


def _samples():
    files = sorted(IMAGES.glob("benign_*.jpg")) + sorted(IMAGES.glob("malignant_*.jpg"))
    return [Sample(p, int(p.name.startswith("malignant")), p.stem, "fixture") for p in files]


def test_one_epoch_of_each_phase_runs_and_caches(tmp_path):
    samples = _samples()
    assert len(samples) >= 4 and {s.label for s in samples} == {0, 1}
    spec = FeatureSpec("efficientnet_lite0", 224, 15, seed=3)
    feats = compute_features(spec, samples, views=2, cache_dir=tmp_path / "cache", name="smoke")
    assert feats.acts[0].shape == (len(samples), 7, 7, 192) and feats.acts[0].dtype == np.float16
    assert feats.pooled[1].shape == (len(samples), 1280)
    assert not np.allclose(feats.pooled[0], feats.pooled[1])  # view 1 is augmented
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(cached) == 2
    again = compute_features(spec, samples, views=2, cache_dir=tmp_path / "cache", name="smoke")
    np.testing.assert_array_equal(again.pooled[1], feats.pooled[1])  # read back, not recomputed differently

    settings = PhaseSettings(epochs=1, learning_rate=1e-3, batch_size=4, patience=1, seed=0)
    weights = class_weights(feats.labels)
    head = HeadNet(LESION_OUTPUT)
    before = head.get_layer(LESION_OUTPUT).get_weights()[0].copy()
    history = train_phase(head, (feats.pooled[1], feats.labels), (feats.pooled[0], feats.labels), settings,
                          weights, tmp_path / "run", "head")
    assert len(history["loss"]) == 1 and np.isfinite(history["val_loss"][0])
    assert not np.allclose(before, head.get_layer(LESION_OUTPUT).get_weights()[0])
    assert (tmp_path / "run" / "head_log.csv").is_file() and (tmp_path / "run" / "head.weights.h5").is_file()

    upper = UpperNet("efficientnet_lite0", (7, 7, 192), 15)
    views = RandomViews(feats.acts, feats.labels, batch_size=4, seed=0)
    history = train_phase(upper, views, (feats.acts[0].astype(np.float32), feats.labels), settings, weights,
                          tmp_path / "run", "finetune")
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
