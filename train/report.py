"""The evaluation report: PNG plots and `models/report/README.md`, written by `skinbot evaluate`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.card import ModelCard
from skinbot.config import Config
from train import artifacts
from train.metrics import reliability, roc_curve

if TYPE_CHECKING:
    from train.evaluate import Scored

COMMANDS = """\
```bash
export SKINBOT_DATA=../shared/data        # or wherever the datasets live
skinbot train all                         # end-to-end fine-tuning (runs/lesion), LiteRT export -> models/
skinbot evaluate                          # this report and the model card's metrics
```"""
ROC_SETS = ("kaggle_test", "kaggle_test_other_sources", "ph2", "derm7pt", "pad_ufes_20", "clinical")


def write_report(config: Config, card: ModelCard, scored: dict[str, Scored], metrics: dict[str, Any],
                 out: Path) -> None:
    """Write every plot and the Markdown report into `out` (`scored` by set name, the Kaggle subsets included)."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    _training_curves(config.train.runs_dir / "lesion" / artifacts.HISTORY, out / "training_curves.png")
    _roc(scored, out / "roc.png")
    _type_confusion(metrics["types"], out / "type_confusion.png")
    _reliability(scored, out / "reliability.png")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "README.md").write_text(_markdown(card, metrics))


def _training_curves(history: Path, path: Path) -> None:
    import matplotlib.pyplot as plt

    if not history.is_file():
        return
    with history.open() as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("loss", "lesion_logit_loss", "type_logits_loss", "gate_logit_loss"):
        axes[0].plot(epochs, [float(r[key]) for r in rows], label=key)
    axes[0].set_title("training losses")
    for key in ("val_auc_dermoscopic", "val_auc_clinical", "val_type_balanced_accuracy"):
        if key in rows[0]:
            axes[1].plot(epochs, [float(r[key]) for r in rows], "o-", label=key.removeprefix("val_"))
    axes[1].set_title("validation (model selection: mean of the two AUCs)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _roc(scored: dict[str, Scored], path: Path) -> None:
    import matplotlib.pyplot as plt

    from train.metrics import roc_auc

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in ROC_SETS:
        y, p = scored[name].lesions().labels_and_malignancy()
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y, p):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("ROC, malignant vs benign (served model)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _type_confusion(types: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    matrix = np.array(types["confusion"])
    labels = types["labels"]
    rows = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color="white" if rows[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted type")
    ax.set_ylabel("true type")
    ax.set_title("Type head on all test sets (counts; colour = row share)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _reliability(scored: dict[str, Scored], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in ("kaggle_test", "pad_ufes_20", "clinical"):
        conf, freq, count = reliability(*scored[name].lesions().labels_and_malignancy())
        ok = count > 0
        ax.plot(conf[ok], freq[ok], "o-", label=name)
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect calibration")
    ax.set_xlabel("predicted probability of malignancy")
    ax.set_ylabel("observed fraction malignant")
    ax.set_title("Reliability diagram (10 bins)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _lesion_table(lesion: dict[str, Any]) -> list[str]:
    lines = ["| test set | n (malignant) | accuracy @0.5 | ROC AUC | sens. / spec. @refer | sens. / spec. @high | ECE |"
             " served as phone photo | JPEG q75: AUC (drop) | JPEG q75: same risk |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in lesion.items():
        jpeg = m.get("jpeg75", {})
        lines.append(
            f"| {name} | {m['n']} ({m['malignant']}) | {_fmt(m['accuracy'])} | {_fmt(m['roc_auc'])} | "
            f"{_fmt(m['sensitivity_refer'])} / {_fmt(m['specificity_refer'])} | "
            f"{_fmt(m['sensitivity_high'])} / {_fmt(m['specificity_high'])} | {_fmt(m['ece'])} | "
            f"{_fmt(m['served_as_clinical'])} | {_fmt(jpeg.get('roc_auc'))} ({_fmt(jpeg.get('auc_drop'))}) | "
            f"{_fmt(jpeg.get('risk_unchanged'))} |")
    return lines


def _markdown(card: ModelCard, metrics: dict[str, Any]) -> str:
    cal = card.lesion_calibration
    gate = metrics["gate"]
    types = metrics["types"]
    training = card.training
    lines = [
        "# skinbot model report",
        "",
        f"Model `{card.version}` ({card.backbone}, {card.input_size} px), fine-tuned end to end for "
        f"{training.get('epochs')} epochs (best: {training.get('best_epoch')}, {training.get('seconds')} s). "
        "Every number below was made by:",
        "",
        COMMANDS,
        "",
        "Thresholds and temperatures were chosen on the validation split only (`train/calibrate.py`), per photo "
        "modality; a photo gets the calibration of the modality the model's modality head sees in it:",
        "",
        "| modality | temperature | refer | high |",
        "|---|---:|---:|---:|",
        *[f"| {m} | {c.temperature:.3f} | {c.refer:.4f} | {c.high:.4f} |" for m, c in cal.items()],
        "",
        f"Gate threshold {card.gate_threshold:.4f} (temperature {card.gate_temperature:.3f}); rash threshold "
        f"{card.rash_threshold:.4f}.",
        "",
        "A photo too dark, blurry or small for the gate to be trusted is told \"not skin\" rather than \"retake\" "
        "only when its gate score is below the threshold of each such issue: "
        + (", ".join(f"{issue} {t:.4f}" for issue, t in card.confident_reject.items()) or "none set") + " ("
        + str(card.training.get("threshold_rules", {}).get("confident_reject", "no rule recorded")) + ").",
        "",
        "## Malignancy (served model, served thresholds)",
        "",
        *_lesion_table(metrics["lesion"]),
        "",
        "- `kaggle_test_leak_free` drops the 97 test files whose lesion is also in the train split.",
        "- `kaggle_test_ham10000` are the 504 test images copied from HAM10000 (all 360 benign ones); "
        "`kaggle_test_other_sources` the other 156 (all malignant, so only sensitivity means anything there).",
        "- `pad_ufes_20` (smartphone photos) and `clinical` (SD-198 camera photos of tumours) are held-out "
        "patients/images: the closest to what users send. `ph2` and `derm7pt` are other dermoscopic sources.",
        "- JPEG q75: each image re-encoded at quality 75 (as Telegram does) and scored again.",
        "",
        "## Lesion type",
        "",
        f"{types['n']} test images with a known type; accuracy {_fmt(types['accuracy'])}, balanced accuracy "
        f"{_fmt(types['balanced_accuracy'])}.",
        "",
        "| type | recall |",
        "|---|---:|",
        *[f"| {name} | {_fmt(r)} |" for name, r in types["recall"].items()],
        "",
        "![type confusion](type_confusion.png)",
        "",
        "## Rash or spot",
        "",
        "Told rash: rash guidance instead of a risk level, as the bot gives it (`inference.judge`): the type head's "
        "\"rash\" probability reaches the rash threshold and the malignancy model rates the photo low risk.",
        "",
        "| test set | rashes told rash | lesions told rash | malignant told rash |",
        "|---|---:|---:|---:|",
        *[f"| {n} | {r.get('rashes_told_rash', '-')} / {r.get('rashes', '-')} | {r['lesions_told_rash']} / "
          f"{r['lesions']} | {r['malignant_told_rash']} / {r['malignant']} |" for n, r in metrics["rash"].items()],
        "",
        "## Stage 1: the gate",
        "",
        "| set | accepted |",
        "|---|---:|",
        *[f"| {n} | {_fmt(v)} |" for n, v in gate["acceptance"].items()],
        "",
        "| held-out non-lesion set | rejected |",
        "|---|---:|",
        *[f"| {n} | {_fmt(v)} |" for n, v in gate["rejection"].items()],
        *[f"| not_skin: {n} (n={v['n']}) | {_fmt(v['rejected'])} |" for n, v in gate["rejection_by_category"].items()],
        "",
        f"Through the whole serving pipeline (quality checks first), the held-out not-skin photos got: "
        f"{gate['not_skin_verdicts']['not_skin']}.",
        "",
        "## Hyperparameter search",
        "",
        "[search.md](search.md) (`skinbot train search`), on validation data only.",
        "",
        "## Plots",
        "",
        "![training curves](training_curves.png)",
        "![ROC](roc.png)",
        "![reliability](reliability.png)",
        "",
        "## Limitations",
        "",
        *[f"- {x}" for x in card.limitations.get("en", ())],
        "",
    ]
    return "\n".join(lines)
