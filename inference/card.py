"""The model card: the one documented format through which training hands models to serving.

`models/model_card.json` (format "skinbot-model-card/1") looks like this; serving reads everything it needs here:

    {
      "format": "skinbot-model-card/1",
      "version": "2026.11.23",                       # shown to users and stored with every assessment
      "created": "2026-11-23T12:00:00Z",
      "backbone": "efficientnet_lite0",
      "input": {"size": 224, "color": "RGB", "dtype": "float32", "range": [0, 255],
                "preprocessing": "inference.preprocess.to_model_input (centre square crop, bilinear resize)",
                "normalization": "(x - 127) / 128, inside the model"},
      "files": [{"role": "model", "path": "skinbot.tflite", "sha256": "<hex>", "precision": "float32"}],
      "outputs": {"gate": "gate_logit", "lesion": "lesion_logit"},   # names in the LiteRT signature
      "calibration": {"method": "temperature", "gate_temperature": 1.0, "lesion_temperature": 1.3},
      "thresholds": {"gate": 0.5, "refer": 0.2, "high": 0.7},
      "training_data": {...}, "metrics": {...}, "limitations": ["..."]
    }

The model takes a float32 batch (N, size, size, 3) of raw RGB values and returns one logit per head.
Probabilities are sigmoid(logit / temperature). Risk: malignancy >= high -> "high"; >= refer -> "medium"; else "low".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CARD_FORMAT = "skinbot-model-card/1"


class ModelCardError(ValueError):
    """The model card is missing, malformed, or does not match the model files beside it."""


@dataclass(frozen=True)
class ModelFile:
    role: str
    path: str
    sha256: str
    precision: str


@dataclass(frozen=True)
class Thresholds:
    gate: float
    refer: float
    high: float


@dataclass(frozen=True)
class ModelCard:
    """The parsed card; `directory` is where the model files live."""

    version: str
    backbone: str
    input_size: int
    files: tuple[ModelFile, ...]
    gate_output: str
    lesion_output: str
    gate_temperature: float
    lesion_temperature: float
    thresholds: Thresholds
    directory: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    limitations: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)

    def file(self, role: str) -> Path:
        """Path of the model file with this role (e.g. "model")."""
        for f in self.files:
            if f.role == role:
                return self.directory / f.path
        raise ModelCardError(f"model card lists no file with role '{role}'")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_card(path: Path, verify: bool = True) -> ModelCard:
    """Read and validate a model card; with `verify`, refuse model files whose SHA-256 differs from the card."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelCardError(f"no model card at {path}: train a model or check `models.dir` in config") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelCardError(f"{path}: unreadable model card: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != CARD_FORMAT:
        raise ModelCardError(f"{path}: not a {CARD_FORMAT} model card")
    try:
        card = ModelCard(
            version=str(raw["version"]),
            backbone=str(raw["backbone"]),
            input_size=int(raw["input"]["size"]),
            files=tuple(
                ModelFile(role=str(f["role"]), path=str(f["path"]), sha256=str(f["sha256"]),
                          precision=str(f.get("precision", "float32")))
                for f in raw["files"]
            ),
            gate_output=str(raw["outputs"]["gate"]),
            lesion_output=str(raw["outputs"]["lesion"]),
            gate_temperature=float(raw["calibration"]["gate_temperature"]),
            lesion_temperature=float(raw["calibration"]["lesion_temperature"]),
            thresholds=Thresholds(
                gate=float(raw["thresholds"]["gate"]),
                refer=float(raw["thresholds"]["refer"]),
                high=float(raw["thresholds"]["high"]),
            ),
            directory=path.parent,
            metrics=dict(raw.get("metrics", {})),
            limitations=tuple(str(x) for x in raw.get("limitations", [])),
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelCardError(f"{path}: model card is missing or has a bad field: {exc!r}") from exc
    if not 0.0 < card.thresholds.refer <= card.thresholds.high < 1.0:
        raise ModelCardError(f"{path}: thresholds must satisfy 0 < refer <= high < 1")
    if card.gate_temperature <= 0 or card.lesion_temperature <= 0:
        raise ModelCardError(f"{path}: temperatures must be positive")
    if verify:
        for f in card.files:
            target = card.directory / f.path
            if not target.is_file():
                raise ModelCardError(f"model file {target} named by the card is missing")
            actual = sha256_file(target)
            if actual != f.sha256:
                raise ModelCardError(
                    f"model file {target} does not match the card (sha256 {actual[:12]}…, card says "
                    f"{f.sha256[:12]}…): refusing to serve a model the card does not describe"
                )
    return card
