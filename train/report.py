"""The evaluation report: PNG plots and `models/report/README.md`, written by `skinbot evaluate`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.card import ModelCard
from skinbot.config import Config
from train.metrics import reliability, roc_curve

if TYPE_CHECKING:
    from train.evaluate import Scored

COMMANDS = """\
```bash
export SKINBOT_DATA=../shared/data        # or wherever the datasets live
skinbot train all                         # lesion stage, gate stage, LiteRT export -> models/
skinbot evaluate                          # this report and the model card's metrics
```"""


def write_report(config: Config, card: ModelCard, scored: dict[str, Scored], metrics: dict[str, Any],
                 out: Path) -> None:
    """Write every plot and the Markdown report into `out`."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    _training_curves(config.train.runs_dir, out / "training_curves.png")
    _roc(scored, out / "roc.png")
    _confusions(metrics["lesion"], out / "confusion_matrices.png")
    _reliability(scored, out / "reliability.png")
    kaggle = scored["kaggle_test"]
    rng = np.random.default_rng(0)
    pick = sorted(rng.choice(len(kaggle.samples), size=24, replace=False).tolist())
    _image_grid(kaggle, pick, card, out / "test_examples.png", "Kaggle test images: truth / prediction (p)")
    errors = np.abs(kaggle.labels - kaggle.lesion_probs)
    worst = np.argsort(-errors)[:24].tolist()
    _image_grid(kaggle, worst, card, out / "worst_errors.png", "Kaggle test: the 24 worst errors")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "README.md").write_text(_markdown(card, metrics))


def _training_curves(runs: Path, path: Path) -> None:
    import matplotlib.pyplot as plt

    logs = [("lesion: head (frozen backbone)", runs / "lesion" / "head_log.csv"),
            ("lesion: fine-tuning top blocks", runs / "lesion" / "finetune_log.csv"),
            ("gate head", runs / "gate" / "gate_log.csv")]
    logs = [(t, p) for t, p in logs if p.is_file()]
    if not logs:
        return
    fig, axes = plt.subplots(2, len(logs), figsize=(5 * len(logs), 7), squeeze=False)
    for col, (title, csv_path) in enumerate(logs):
        with csv_path.open() as handle:
            rows = list(csv.DictReader(handle))
        epochs = [int(r["epoch"]) + 1 for r in rows]
        for row, metric in enumerate(("loss", "accuracy")):
            ax = axes[row][col]
            ax.plot(epochs, [float(r[metric]) for r in rows], label="train")
            ax.plot(epochs, [float(r[f"val_{metric}"]) for r in rows], label="validation")
            ax.set_title(f"{title}\n{metric}" if row == 0 else metric)
            ax.set_xlabel("epoch")
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _roc(scored: dict[str, Scored], path: Path) -> None:
    import matplotlib.pyplot as plt

    from train.metrics import roc_auc

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in ("kaggle_test", "kaggle_test_leak_free", "ph2", "pad_ufes_20_test"):
        if name in scored:
            s = scored[name]
            fpr, tpr, _ = roc_curve(s.labels, s.lesion_probs)
            ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(s.labels, s.lesion_probs):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("ROC, malignant vs benign")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _confusions(lesion: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    names = [n for n in ("kaggle_test", "kaggle_test_leak_free") if n in lesion]
    keys = (("0_5", "threshold 0.5"), ("refer", "refer threshold"), ("high", "high threshold"))
    fig, axes = plt.subplots(len(names), len(keys), figsize=(11, 3.6 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        for c, (key, label) in enumerate(keys):
            m = lesion[name][f"confusion_{key}"]
            grid = np.array([[m["tn"], m["fp"]], [m["fn"], m["tp"]]])
            ax = axes[r][c]
            ax.imshow(grid, cmap="Blues")
            for (i, j), v in np.ndenumerate(grid):
                ax.text(j, i, str(v), ha="center", va="center", fontsize=13)
            ax.set_xticks([0, 1], ["pred benign", "pred malignant"])
            ax.set_yticks([0, 1], ["benign", "malignant"])
            ax.set_title(f"{name}, {label}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _reliability(scored: dict[str, Scored], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in ("kaggle_test", "pad_ufes_20_test"):
        if name in scored:
            conf, freq, count = reliability(scored[name].labels, scored[name].lesion_probs)
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


def _image_grid(scored: Scored, indices: list[int], card: ModelCard, path: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    from train.features import model_input

    cols = 6
    rows = int(np.ceil(len(indices) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.5 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), indices, strict=False):
        sample = scored.samples[i]
        p = float(scored.lesion_probs[i])
        truth = "malignant" if sample.label else "benign"
        predicted = "malignant" if p >= 0.5 else "benign"
        ax.imshow(model_input(sample, 112, 0, 0))
        ax.set_title(f"{truth} / {predicted}\np={p:.2f}", fontsize=8,
                     color="black" if truth == predicted else "red")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _markdown(card: ModelCard, metrics: dict[str, Any]) -> str:
    t = card.thresholds
    lines = [
        "# skinbot model report",
        "",
        f"Model `{card.version}` ({card.backbone}, {card.input_size} px). Made by:",
        "",
        COMMANDS,
        "",
        f"Thresholds (chosen on validation data, never on a test set): refer = {t.refer:.4f}, high = {t.high:.4f},"
        f" gate = {t.gate:.4f}. Temperatures: lesion {card.lesion_temperature:.3f}, gate {card.gate_temperature:.3f}.",
        "",
        "## Stage 2: benign vs malignant",
        "",
        "| test set | n | accuracy | balanced acc. | ROC AUC | sens. / spec. @0.5 | sens. / spec. @refer |"
        " sens. / spec. @high | ECE |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in metrics["lesion"].items():
        lines.append(
            f"| {name} | {m['n']} | {_fmt(m['accuracy'])} | {_fmt(m['balanced_accuracy'])} | {_fmt(m['roc_auc'])} | "
            f"{_fmt(m['sensitivity_0_5'])} / {_fmt(m['specificity_0_5'])} | "
            f"{_fmt(m['sensitivity_refer'])} / {_fmt(m['specificity_refer'])} | "
            f"{_fmt(m['sensitivity_high'])} / {_fmt(m['specificity_high'])} | {_fmt(m['ece'])} |")
    gate = metrics["gate"]
    lines += [
        "",
        "`kaggle_test_leak_free` drops the 97 test files whose lesion also appears in the train split "
        "(`skin-cancer-mvb/lesion_leakage_train_test.csv`). `pad_ufes_20_test` is smartphone photos of held-out "
        "patients: the closest to what users send.",
        "",
        "## Stage 1: the gate (is this a close-up of a skin lesion?)",
        "",
        "| set | accepted as a skin lesion |",
        "|---|---:|",
        *[f"| {n} | {_fmt(v)} |" for n, v in gate["acceptance"].items()],
        "",
        "| held-out non-lesion set | rejected |",
        "|---|---:|",
        *[f"| {n} | {_fmt(v)} |" for n, v in gate["rejection"].items()],
        *[f"| not_skin: {n} (n={v['n']}) | {_fmt(v['rejected'])} |" for n, v in gate["rejection_by_category"].items()],
        "",
        "## Hyperparameter search",
        "",
        "[search.md](search.md) (`skinbot train search`): backbone size (Lite0/1/2), input size, fine-tuned depth,"
        " learning rates, batch size, training data sources and augmentation, on validation data only.",
        "",
        "## Plots",
        "",
        "![training curves](training_curves.png)",
        "![ROC](roc.png)",
        "![confusion matrices](confusion_matrices.png)",
        "![reliability](reliability.png)",
        "![test examples](test_examples.png)",
        "![worst errors](worst_errors.png)",
        "",
        "## Limitations",
        "",
        *[f"- {x}" for x in card.limitations],
        "",
    ]
    return "\n".join(lines)
