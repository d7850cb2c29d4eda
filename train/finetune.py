"""`skinbot train lesion`: end-to-end fine-tuning of the whole network, all four heads at once.

Input: a tf.data pipeline over images decoded once into memory; each draw is augmented online (geometry, colour,
blur, noise, down/upscaling, JPEG re-encoding at quality 50-95; `train.augment`), reproducibly from (seed, draw).
Sampling is balanced by modality and class (`STRATUM_SHARES`): dermoscopic moles are most of the data, but phone
photos and rashes are what users send. An epoch is a fixed number of draws.

Schedule: Adam with linear warm-up then cosine decay. After every epoch the validation split is scored, the best
epoch's weights are kept (`selection_score`), and the model with its optimizer state is saved, so `--resume`
continues an interrupted run where it stopped. Calibration and thresholds (`train.calibrate`) come from the best
epoch's validation predictions only.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference.preprocess import to_model_input
from skinbot.config import Config
from train import artifacts, datasets
from train.artifacts import RunState
from train.augment import augmented_input
from train.datasets import CLINICAL, LESION_TYPES, UNKNOWN, Sample
from train.images import load_rgb
from train.settings import TrainConfig
from train.splits import TrainingSplits, training_splits
from train.validation import RASH, ValidationScores, score_validation

log = logging.getLogger(__name__)

# Share of each epoch's draws per stratum (renormalised over the strata a data mix has).
STRATUM_SHARES = {
    "dermoscopic_benign": 0.28, "dermoscopic_malignant": 0.22,
    "clinical_benign": 0.14, "clinical_malignant": 0.14,
    "rash": 0.12, "not_skin": 0.10,
}
LOSS_WEIGHTS = {"gate_logit": 0.5, "lesion_logit": 1.0, "type_logits": 0.5, "modality_logit": 0.1}


def stratum(sample: Sample) -> str:
    """The sampling stratum of a training image."""
    if not sample.is_lesion:
        return "not_skin"
    if sample.kind == RASH:
        return "rash"
    return f"{sample.modality}_{'malignant' if sample.label == datasets.MALIGNANT else 'benign'}"


def draw_probabilities(samples: list[Sample]) -> np.ndarray:
    """Per-sample draw probability: each stratum gets its share, split evenly among its images."""
    names = [stratum(s) for s in samples]
    counts = {name: names.count(name) for name in set(names)}
    total_share = sum(STRATUM_SHARES[name] for name in counts)
    p = np.array([STRATUM_SHARES[n] / total_share / counts[n] for n in names], dtype=np.float64)
    normalised: np.ndarray = p / p.sum()
    return normalised


def epoch_draws(p: np.ndarray, size: int, seed: int, epoch: int) -> np.ndarray:
    """The sample indices drawn for one epoch (with replacement), fixed by (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).choice(len(p), size=size, replace=True, p=p)


@dataclass(frozen=True)
class Targets:
    """Per-sample targets and loss weights for each head (weight 0 where a source gives no label)."""

    y: dict[str, np.ndarray]
    w: dict[str, np.ndarray]


def targets(samples: list[Sample]) -> Targets:
    """Targets of the four heads."""
    is_lesion = np.array([s.is_lesion for s in samples], dtype=np.float32)
    label = np.array([s.label for s in samples])
    kind = np.array([s.kind for s in samples])
    clinical = np.array([s.modality == CLINICAL for s in samples], dtype=np.float32)
    y = {"gate_logit": is_lesion[:, None], "lesion_logit": np.maximum(label, 0).astype(np.float32)[:, None],
         "type_logits": np.maximum(kind, 0).astype(np.int32), "modality_logit": clinical[:, None]}
    w = {"gate_logit": np.ones(len(samples), np.float32),
         "lesion_logit": ((label != UNKNOWN) & (is_lesion > 0)).astype(np.float32),
         "type_logits": (kind != UNKNOWN).astype(np.float32),
         "modality_logit": is_lesion}
    return Targets(y, w)


def decode_all(samples: list[Sample]) -> list[np.ndarray]:
    """Every image decoded once, as serving decodes a photo (uint8 RGB at its stored size)."""
    started = time.perf_counter()
    images = [np.asarray(load_rgb(s)) for s in samples]
    log.info("decoded %d images in %.0f s (%.0f MB)", len(images), time.perf_counter() - started,
             sum(i.nbytes for i in images) / 1e6)
    return images


def clean_inputs(images: list[np.ndarray], size: int) -> np.ndarray:
    """Model inputs without augmentation (as served), stacked: (N, size, size, 3) uint8."""
    return np.stack([to_model_input(Image.fromarray(i), size) for i in images])


def input_pipeline(images: list[np.ndarray], t: Targets, draws: np.ndarray, tc: TrainConfig) -> Any:
    """tf.data: draw index -> augmented image (in parallel) -> batches of (image, targets, weights)."""
    import tensorflow as tf

    seed, size = tc.seed, tc.image_size

    def augment(position: np.int64, index: np.int64) -> np.ndarray:
        rng = np.random.default_rng([seed, int(position)])
        return augmented_input(Image.fromarray(images[int(index)]), size, rng, tc.jpeg_augment)

    def load(position: Any, index: Any) -> Any:
        image = tf.numpy_function(augment, [position, index], tf.uint8, stateful=False)
        image = tf.ensure_shape(image, (size, size, 3))
        ys = {k: tf.gather(tf.constant(v), index) for k, v in t.y.items()}
        ws = {k: tf.gather(tf.constant(v), index) for k, v in t.w.items()}
        return tf.cast(image, tf.float32), ys, ws

    positions = np.arange(len(draws), dtype=np.int64)
    ds = tf.data.Dataset.from_tensor_slices((positions, draws.astype(np.int64)))
    return ds.map(load, num_parallel_calls=2, deterministic=True).batch(tc.batch_size).prefetch(2)


def build_model(tc: TrainConfig, total_steps: int) -> Any:
    """A fresh network (ImageNet backbone) compiled with the run's losses and schedule."""
    import keras

    from train.model import SkinbotNet

    keras.utils.set_random_seed(tc.seed)
    model = SkinbotNet(tc.backbone, tc.image_size, len(LESION_TYPES))
    warmup = max(1, int(total_steps * tc.warmup_fraction))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=tc.learning_rate * 0.01, decay_steps=max(1, total_steps - warmup), alpha=0.01,
        warmup_target=tc.learning_rate, warmup_steps=warmup)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0),
        loss={"gate_logit": bce, "lesion_logit": bce, "modality_logit": bce,
              "type_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
        loss_weights=LOSS_WEIGHTS,
    )
    return model


class _EpochEnd:
    """Keras callback body (built lazily so this module imports without TensorFlow): score validation, keep the
    best weights, save the resumable model and state, log progress with ETA, stop early."""

    def __init__(self, run_dir: Path, state: RunState, val_x: np.ndarray, val: list[Sample], epochs: int,
                 patience: int) -> None:
        self.run_dir, self.state, self.val_x, self.val = run_dir, state, val_x, val
        self.epochs, self.patience = epochs, patience
        self.started = time.perf_counter()

    def callback(self) -> Any:
        import keras

        owner = self

        class Callback(keras.callbacks.Callback):  # type: ignore[misc]
            def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                owner.started = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                owner.epoch_end(self.model, epoch, logs or {})

        return Callback()

    def epoch_end(self, model: Any, epoch: int, logs: dict[str, Any]) -> None:
        logits = predict(model, self.val_x)
        scores = score_validation(self.val, logits)
        state = self.state
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}, **scores.flat()}
        state.history.append(row)
        improved = scores.selection > state.best_score
        if improved:
            state.best_score, state.best_epoch = scores.selection, epoch + 1
            model.save_weights(str(self.run_dir / artifacts.BEST_WEIGHTS))
            np.savez(self.run_dir / artifacts.VAL_PREDICTIONS, **logits)  # type: ignore[arg-type]
        model.save(str(self.run_dir / artifacts.LAST_MODEL))
        seconds = time.perf_counter() - self.started
        state.seconds += seconds
        state.epoch = epoch + 1
        state.save(self.run_dir)
        _write_history(self.run_dir / artifacts.HISTORY, state.history)
        done = len(state.history)
        eta = state.seconds / max(1, done) * (self.epochs - state.epoch)
        log.info("epoch %d/%d in %.0f s (ETA %.0f min): loss %.4f; val %s%s", epoch + 1, self.epochs, seconds,
                 eta / 60, logs.get("loss", float("nan")), scores.summary(), " *best*" if improved else "")
        if state.epoch - state.best_epoch >= self.patience:
            log.info("no validation improvement for %d epochs: stopping", self.patience)
            model.stop_training = True


def _write_history(path: Path, rows: list[dict[str, float]]) -> None:
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k != "epoch", k))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def predict(model: Any, x: np.ndarray, batch: int = 64) -> dict[str, np.ndarray]:
    """Logits of the trained outputs for clean uint8 inputs."""
    parts: dict[str, list[np.ndarray]] = {}
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch].astype(np.float32), training=False)
        for k, v in out.items():
            parts.setdefault(k, []).append(np.asarray(v))
    return {k: np.concatenate(v) for k, v in parts.items()}


@dataclass(frozen=True)
class FitOutcome:
    """The finished run: its state, the validation split and the best epoch's validation logits."""

    state: RunState
    val: list[Sample]
    val_logits: dict[str, np.ndarray]
    train: list[Sample]


def fit(config: Config, run_dir: Path, resume: bool = False, splits: TrainingSplits | None = None) -> FitOutcome:
    """Train (or resume) the network in `run_dir`; the best weights and the last model stay there. `splits`
    defaults to `train.splits.training_splits` of the configured sources."""
    import keras

    tc = config.train
    run_dir.mkdir(parents=True, exist_ok=True)
    splits = splits or training_splits(config.data.root, tc.lesion_sources)
    log.info("training pool %d images, validation %d (%s)", len(splits.train), len(splits.val),
             ", ".join(tc.lesion_sources))
    log.info("strata: %s", {k: sum(1 for s in splits.train if stratum(s) == k) for k in STRATUM_SHARES})
    steps = max(1, tc.epoch_images // tc.batch_size)
    total_steps = steps * tc.epochs
    state = RunState.load(run_dir) if resume else None
    if state is not None and (run_dir / artifacts.LAST_MODEL).is_file():
        model = keras.models.load_model(str(run_dir / artifacts.LAST_MODEL))
        log.info("resuming after epoch %d (best so far: epoch %d)", state.epoch, state.best_epoch)
    else:
        state = RunState()
        model = build_model(tc, total_steps)
    val_images = decode_all(splits.val)
    val_x = clean_inputs(val_images, tc.image_size)
    del val_images
    if state.epoch < tc.epochs and state.epoch - state.best_epoch < tc.early_stopping_patience:
        images = decode_all(splits.train)
        p = draw_probabilities(splits.train)
        draws = np.concatenate([epoch_draws(p, steps * tc.batch_size, tc.seed, e)
                                for e in range(state.epoch, tc.epochs)])
        ds = input_pipeline(images, targets(splits.train), draws, tc)
        body = _EpochEnd(run_dir, state, val_x, splits.val, tc.epochs, tc.early_stopping_patience)
        model.fit(ds, epochs=tc.epochs, initial_epoch=state.epoch, steps_per_epoch=steps,
                  callbacks=[body.callback()], verbose=0, shuffle=False)
    with np.load(run_dir / artifacts.VAL_PREDICTIONS) as saved:
        val_logits = {k: saved[k] for k in saved.files}
    return FitOutcome(state, splits.val, val_logits, splits.train)


def count_by_source(samples: list[Sample]) -> dict[str, int]:
    """Images per source."""
    out: dict[str, int] = {}
    for s in samples:
        out[s.source] = out.get(s.source, 0) + 1
    return out


def train_lesion(config: Config, run_dir: Path, resume: bool = False, splits: TrainingSplits | None = None
                 ) -> artifacts.TrainResult:
    """Fit, then calibrate and choose thresholds on the best epoch's validation predictions; writes result.json."""
    from train.calibrate import calibrate

    tc = config.train
    outcome = fit(config, run_dir, resume, splits)
    scores: ValidationScores = score_validation(outcome.val, outcome.val_logits)
    cal = calibrate(outcome.val, outcome.val_logits, tc)
    root = config.data.root
    result = artifacts.TrainResult(
        variant=tc.backbone, input_size=tc.image_size, lesion_types=LESION_TYPES,
        gate_temperature=cal.gate_temperature, gate_threshold=cal.gate_threshold, lesion=cal.lesion,
        rash_threshold=cal.rash_threshold, type_threshold=cal.type_threshold,
        validation={"at_best_epoch": scores.flat(), "calibrated": cal.validation},
        data={"train_images": len(outcome.train), "val_images": len(outcome.val),
              "train_by_source": count_by_source(outcome.train), "val_by_source": count_by_source(outcome.val),
              "train_files_sha256": datasets.file_list_hash(outcome.train, root),
              "val_files_sha256": datasets.file_list_hash(outcome.val, root)},
        settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(tc).items()
                  if not isinstance(v, Path)},
        epochs=outcome.state.epoch, best_epoch=outcome.state.best_epoch, seconds=round(outcome.state.seconds, 1),
    )
    result.save(run_dir)
    log.info("lesion: best epoch %d of %d; %s", result.best_epoch, result.epochs, cal.validation)
    return result
