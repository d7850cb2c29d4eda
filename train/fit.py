"""Keras training loops shared by both stages: a head on pooled features, and the top blocks on activations.

Both use binary cross-entropy on logits, Adam, class weights, EarlyStopping on validation loss (restoring the best
weights), ModelCheckpoint and a CSV log per phase, with one line of progress per epoch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhaseSettings:
    epochs: int
    learning_rate: float
    batch_size: int
    patience: int
    seed: int


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Weights that make both classes count equally in the loss."""
    counts = np.bincount(labels.astype(int), minlength=2).astype(np.float64)
    if np.any(counts == 0):
        raise ValueError("both classes must be present in the training data")
    total = counts.sum()
    return {c: float(total / (2 * counts[c])) for c in (0, 1)}


class _ProgressLog(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self, phase: str) -> None:
        super().__init__()
        self.phase = phase

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        log.info("%s epoch %d: %s", self.phase, epoch + 1,
                 " ".join(f"{k}={v:.4f}" for k, v in sorted(logs.items()) if isinstance(v, float)))


class RandomViews(keras.utils.PyDataset):  # type: ignore[misc]
    """Each epoch, each training image is seen once, in one randomly chosen cached view (augmented copy)."""

    def __init__(self, views: list[np.ndarray], labels: np.ndarray, batch_size: int, seed: int) -> None:
        super().__init__()
        self.views, self.labels, self.batch_size = views, labels, batch_size
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return int(np.ceil(len(self.labels) / self.batch_size))

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.labels))
        self.choice = self.rng.integers(0, len(self.views), size=len(self.labels))

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x = np.stack([self.views[self.choice[i]][i] for i in idx]).astype(np.float32)
        return x, self.labels[idx][:, None]


def train_phase(
    model: keras.Model,
    train_data: keras.utils.PyDataset | tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    settings: PhaseSettings,
    weights: dict[int, float],
    run_dir: Path,
    phase: str,
) -> dict[str, list[float]]:
    """Fit `model` (outputs logits) and return its history; the best weights (by val loss) are kept."""
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(settings.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy"), keras.metrics.AUC(from_logits=True,
                                                                                                  name="auc")],
    )
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(run_dir / f"{phase}.weights.h5"), monitor="val_loss",
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.CSVLogger(str(run_dir / f"{phase}_log.csv")),
        _ProgressLog(phase),
    ]
    if isinstance(train_data, tuple):
        x, y = train_data
        history = model.fit(x, y[:, None], validation_data=(val_data[0], val_data[1][:, None]),
                            epochs=settings.epochs, batch_size=settings.batch_size, class_weight=weights,
                            callbacks=callbacks, verbose=0, shuffle=True)
    else:
        history = model.fit(train_data, validation_data=(val_data[0], val_data[1][:, None]),
                            epochs=settings.epochs, class_weight=weights, callbacks=callbacks, verbose=0)
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def predict_logits(model: keras.Model, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Logits as a flat float64 array."""
    return np.asarray(model.predict(x.astype(np.float32), batch_size=batch_size, verbose=0),
                      dtype=np.float64).ravel()
