"""What one training run leaves in its run directory, typed: the file names and the result record.

`skinbot train lesion` writes these; `skinbot train export` reads them. Nothing else spells the file names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inference.card import RiskCalibration

LAST_MODEL = "last.keras"  # model + optimizer after the latest finished epoch (for --resume)
BEST_WEIGHTS = "best.weights.h5"  # weights of the epoch with the best validation score
STATE = "state.json"  # RunState after the latest finished epoch
HISTORY = "history.csv"  # one row per epoch: losses and validation metrics
VAL_PREDICTIONS = "val_predictions.npz"  # logits of the best epoch on the validation split
RESULT = "result.json"  # TrainResult: calibration, thresholds, validation numbers


@dataclass
class RunState:
    """Progress of a run, rewritten after every epoch; `epoch` counts finished epochs."""

    epoch: int = 0
    best_epoch: int = 0
    best_score: float = float("-inf")
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)

    def save(self, run_dir: Path) -> None:
        """Write atomically: a kill mid-write leaves the previous state."""
        tmp = run_dir / (STATE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(run_dir / STATE)

    @classmethod
    def load(cls, run_dir: Path) -> RunState | None:
        """The saved state, or None when the run has not finished an epoch."""
        path = run_dir / STATE
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))



@dataclass(frozen=True)
class TrainResult:
    """Everything export needs from a run, and the validation numbers the card reports."""

    variant: str
    input_size: int
    lesion_types: tuple[str, ...]
    gate_temperature: float
    gate_threshold: float
    lesion: dict[str, RiskCalibration]  # by modality ("dermoscopic", "clinical")
    rash_threshold: float  # type probability of "rash" from which a photo is treated as a rash
    type_threshold: float  # top type probability from which the bot says what a spot resembles
    validation: dict[str, Any]
    data: dict[str, Any]
    settings: dict[str, Any]
    epochs: int
    best_epoch: int
    seconds: float

    def save(self, run_dir: Path) -> None:
        """Write `result.json`."""
        (run_dir / RESULT).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, run_dir: Path) -> TrainResult:
        """Read `result.json` of a finished run."""
        path = run_dir / RESULT
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: run `skinbot train lesion` first")
        raw = json.loads(path.read_text())
        raw["lesion_types"] = tuple(raw["lesion_types"])
        raw["lesion"] = {k: RiskCalibration(**v) for k, v in raw["lesion"].items()}
        return cls(**raw)
