"""The model card: the one documented format through which training hands models to serving.

This module alone reads and writes `models/model_card.json` (format "skinbot-model-card/2"):

    {
      "format": "skinbot-model-card/2",
      "version": "2026.12.01-1a2b3c4d",             # shown to users and stored with every assessment
      "created": "2026-12-01T12:00:00Z",
      "backbone": "efficientnet_lite0",
      "input": {"size": 224, ...},                  # float32 RGB 0..255, (N, size, size, 3); see INPUT_DESCRIPTION
      "files": [{"role": "model", "path": "skinbot.tflite", "sha256": "<hex>", "precision": "float32"}, ...],
      "outputs": {"gate": "gate_logit", "lesion": "lesion_logit", "type": "type_logits",
                  "modality": "modality_logit", "cam": "lesion_cam"},   # names in the LiteRT signature
      "lesion_types": ["nevus", "melanoma", ...],   # the order of the type logits
      "calibration": {"gate_temperature": 1.0,
                      "lesion": {"dermoscopic": {"temperature": 1.2, "refer": 0.2, "high": 0.7},
                                 "clinical": {"temperature": 1.1, "refer": 0.3, "high": 0.8}}},
      "thresholds": {"gate": 0.5, "modality": 0.5, "rash": 0.6, "type": 0.7,
                     "confident_reject": {"too_dark": 0.01, "blurry": 0.2, "too_small": 0.4}},   # optional
      "training": {...}, "metrics": {...},
      "limitations": {"en": ["..."], "ko": ["..."]}   # in plain words, for users, one list per language
    }

Judging (`inference.judge`): lesion score = sigmoid(gate / gate_temperature), refused below `thresholds.gate`;
modality = "clinical" when sigmoid(modality logit) >= `thresholds.modality`, else "dermoscopic"; malignancy =
sigmoid(lesion / that modality's temperature); risk "high" from its `high`, "medium" from its `refer`; type
probabilities = softmax(type logits); a photo whose "rash" probability reaches `thresholds.rash` and whose risk is
"low" is a rash; what a lesion most resembles is worth saying when its top type probability reaches `thresholds.type`.
A photo with a quality issue that makes the gate unreliable (too dark, blurry, too small) asks for a retake unless
its lesion score is below `thresholds.confident_reject` for each such issue: then it is "not skin" (absent: never).
The CAM output is the lesion head at each position of the last feature map (its mean is the lesion logit).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.quality import ISSUES

CARD_FORMAT = "skinbot-model-card/2"
CARD_FILE = "model_card.json"
INPUT_DESCRIPTION = {
    "color": "RGB", "dtype": "float32", "range": [0, 255],
    "preprocessing": "inference.decode.decode (EXIF orientation, RGB) then inference.preprocess.to_model_input "
                     "(centre square crop, bilinear resize)",
    "normalization": "(x - 127) / 128, inside the model",
}


class ModelCardError(ValueError):
    """The model card is missing, malformed, or does not match the model files beside it."""


@dataclass(frozen=True)
class ModelFile:
    role: str
    path: str
    sha256: str
    precision: str = "float32"


@dataclass(frozen=True)
class Outputs:
    """Output names in the model's signature."""

    gate: str = "gate_logit"
    lesion: str = "lesion_logit"
    type: str = "type_logits"
    modality: str = "modality_logit"
    cam: str = "lesion_cam"


@dataclass(frozen=True)
class RiskCalibration:
    """Malignancy temperature and risk thresholds for one photo modality."""

    temperature: float
    refer: float
    high: float


# The modality head is trained as a plain classifier: its even odds separate phone from dermoscope photos.
MODALITY_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModelCard:
    """The parsed card; `directory` is where the model files live."""

    version: str
    backbone: str
    input_size: int
    files: tuple[ModelFile, ...]
    lesion_types: tuple[str, ...]
    gate_temperature: float
    gate_threshold: float
    lesion_calibration: dict[str, RiskCalibration]  # by modality: "dermoscopic", "clinical"
    rash_threshold: float
    directory: Path
    modality_threshold: float = MODALITY_THRESHOLD
    type_threshold: float = 1.0  # top type probability from which a resemblance is worth saying (1.0: never)
    # By quality issue: the lesion score below which a photo with that issue is "not skin", not "retake".
    confident_reject: dict[str, float] = field(default_factory=dict)
    outputs: Outputs = field(default_factory=Outputs)
    created: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    limitations: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by language code: the texts users see
    training: dict[str, Any] = field(default_factory=dict)

    def file(self, role: str) -> Path:
        """Path of the model file with this role (e.g. "model")."""
        for f in self.files:
            if f.role == role:
                return self.directory / f.path
        raise ModelCardError(f"model card lists no file with role '{role}'")

    def to_json(self) -> dict[str, Any]:
        """The card as written to `model_card.json`."""
        return {
            "format": CARD_FORMAT,
            "version": self.version,
            "created": self.created,
            "backbone": self.backbone,
            "input": {"size": self.input_size, **INPUT_DESCRIPTION},
            "files": [{"role": f.role, "path": f.path, "sha256": f.sha256, "precision": f.precision}
                      for f in self.files],
            "outputs": {"gate": self.outputs.gate, "lesion": self.outputs.lesion, "type": self.outputs.type,
                        "modality": self.outputs.modality, "cam": self.outputs.cam},
            "lesion_types": list(self.lesion_types),
            "calibration": {
                "gate_temperature": self.gate_temperature,
                "lesion": {m: {"temperature": c.temperature, "refer": c.refer, "high": c.high}
                           for m, c in self.lesion_calibration.items()},
            },
            "thresholds": {"gate": self.gate_threshold, "modality": self.modality_threshold,
                           "rash": self.rash_threshold, "type": self.type_threshold,
                           "confident_reject": dict(self.confident_reject)},
            "training": self.training,
            "metrics": self.metrics,
            "limitations": {lang: list(texts) for lang, texts in self.limitations.items()},
        }


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_card(card: ModelCard, path: Path) -> None:
    """Write the card atomically (a crash leaves the previous card)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(card.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _parse(raw: dict[str, Any], directory: Path) -> ModelCard:
    calibration = raw["calibration"]
    thresholds = raw["thresholds"]
    outputs = raw["outputs"]
    return ModelCard(
        version=str(raw["version"]),
        created=str(raw.get("created", "")),
        backbone=str(raw["backbone"]),
        input_size=int(raw["input"]["size"]),
        files=tuple(ModelFile(role=str(f["role"]), path=str(f["path"]), sha256=str(f["sha256"]),
                              precision=str(f.get("precision", "float32"))) for f in raw["files"]),
        outputs=Outputs(gate=str(outputs["gate"]), lesion=str(outputs["lesion"]), type=str(outputs["type"]),
                        modality=str(outputs["modality"]), cam=str(outputs["cam"])),
        lesion_types=tuple(str(t) for t in raw["lesion_types"]),
        gate_temperature=float(calibration["gate_temperature"]),
        gate_threshold=float(thresholds["gate"]),
        lesion_calibration={str(m): RiskCalibration(float(c["temperature"]), float(c["refer"]), float(c["high"]))
                            for m, c in calibration["lesion"].items()},
        modality_threshold=float(thresholds["modality"]),
        rash_threshold=float(thresholds["rash"]),
        type_threshold=float(thresholds.get("type", 1.0)),
        confident_reject={str(k): float(v) for k, v in thresholds.get("confident_reject", {}).items()},
        directory=directory,
        metrics=dict(raw.get("metrics", {})),
        limitations={str(lang): tuple(str(x) for x in texts) for lang, texts in raw.get("limitations", {}).items()},
        training=dict(raw.get("training", {})),
    )


def _validate(card: ModelCard, path: Path) -> None:
    if set(card.lesion_calibration) != {"dermoscopic", "clinical"}:
        raise ModelCardError(f"{path}: lesion calibration must cover the modalities dermoscopic and clinical")
    for modality, c in card.lesion_calibration.items():
        if not 0.0 < c.refer <= c.high < 1.0:
            raise ModelCardError(f"{path}: {modality} thresholds must satisfy 0 < refer <= high < 1")
        if c.temperature <= 0:
            raise ModelCardError(f"{path}: temperatures must be positive")
    if card.gate_temperature <= 0:
        raise ModelCardError(f"{path}: temperatures must be positive")
    for name, threshold in (("gate", card.gate_threshold), ("modality", card.modality_threshold),
                            ("rash", card.rash_threshold), ("type", card.type_threshold)):
        if not 0.0 < threshold <= 1.0:  # a probability; e.g. 50 (a percentage) would silently refuse every photo
            raise ModelCardError(f"{path}: thresholds.{name} must be a probability in (0, 1], got {threshold}")
    for issue, threshold in card.confident_reject.items():
        if issue not in ISSUES:
            raise ModelCardError(f"{path}: thresholds.confident_reject names an unknown quality issue '{issue}'")
        if not 0.0 < threshold <= card.gate_threshold:  # above the gate threshold it would reject accepted photos
            raise ModelCardError(f"{path}: thresholds.confident_reject.{issue} must be in (0, thresholds.gate], "
                                 f"got {threshold}")
    if not card.lesion_types or "rash" not in card.lesion_types:
        raise ModelCardError(f"{path}: lesion_types must list the type head's classes, including 'rash'")


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
        card = _parse(raw, path.parent)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelCardError(f"{path}: model card is missing or has a bad field: {exc!r}") from exc
    _validate(card, path)
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
