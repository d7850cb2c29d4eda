"""The datasets under the data root, as lists of labelled samples with the group (lesion or patient) each belongs to.

Groups matter: images of one lesion (or one patient) must never sit on both sides of a split, or validation numbers
are inflated. See `../shared/data/README.md` for the caveats each function handles.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BENIGN, MALIGNANT = 0, 1
NOT_LESION, LESION = 0, 1


class DatasetError(FileNotFoundError):
    """A dataset folder or manifest is missing or malformed."""


@dataclass(frozen=True)
class Sample:
    """One image: `label` is the task's target, `group` the lesion/patient id used to keep splits honest."""

    path: Path
    label: int
    group: str
    source: str


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(f"missing {path}: is the data root right? (config data.root, --data or SKINBOT_DATA)")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def kaggle(root: Path, split: str) -> list[Sample]:
    """The Kaggle "skin cancer: malignant vs benign" split ("train" or "test"); groups are HAM10000 lesion ids."""
    base = root / "skin-cancer-mvb"
    lesion_of = {r["kaggle_file"]: r["ham_lesion_id"] for r in _rows(base / "ham10000_mapping.csv")}
    # train/malignant/768.jpg and 769.jpg are the same file: one group.
    lesion_of.setdefault("train/malignant/769.jpg", lesion_of.get("train/malignant/768.jpg", "kaggle-768"))
    lesion_of.setdefault("train/malignant/768.jpg", "kaggle-768")
    samples = []
    for label, cls in ((BENIGN, "benign"), (MALIGNANT, "malignant")):
        folder = base / split / cls
        if not folder.is_dir():
            raise DatasetError(f"missing {folder}")
        for path in sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0):
            rel = f"{split}/{cls}/{path.name}"
            samples.append(Sample(path, label, lesion_of.get(rel, f"kaggle:{rel}"), f"kaggle_{split}"))
    return samples


def kaggle_leaked_test_files(root: Path) -> set[str]:
    """Kaggle test files whose lesion also appears in the train split (`test/<class>/<n>.jpg`)."""
    leaked: set[str] = set()
    for row in _rows(root / "skin-cancer-mvb" / "lesion_leakage_train_test.csv"):
        leaked.update(f for f in row["kaggle_files"].split("|") if f.startswith("test/"))
    return leaked


def ham10000_disjoint(root: Path) -> list[Sample]:
    """HAM10000 images whose lesion is not in the Kaggle set (safe to add while testing on Kaggle test)."""
    base = root / "ham10000"
    return [
        Sample(base / r["file"], MALIGNANT if r["binary"] == "malignant" else BENIGN, r["lesion_id"], "ham10000")
        for r in _rows(base / "metadata.csv")
        if r["lesion_in_skin_cancer_mvb"] == "False"
    ]


def ph2(root: Path) -> list[Sample]:
    """PH2 (dermoscopic; benign = common and atypical nevi, malignant = melanoma); one image per lesion."""
    base = root / "ph2"
    return [Sample(base / r["file"], MALIGNANT if r["binary"] == "malignant" else BENIGN, f"ph2:{r['image_id']}", "ph2")
            for r in _rows(base / "labels.csv")]


def pad_ufes(root: Path, include_premalignant: bool = False) -> list[Sample]:
    """PAD-UFES-20 smartphone photos, grouped by patient. Actinic keratoses ("premalignant") are left out of the
    binary task unless asked for, and then counted as malignant (they warrant a doctor's visit)."""
    base = root / "pad-ufes-20"
    out = []
    for r in _rows(base / "manifest.csv"):
        if r["malignancy"] == "premalignant" and not include_premalignant:
            continue
        label = BENIGN if r["malignancy"] == "benign" else MALIGNANT
        out.append(Sample(base / r["file"], label, f"pad:{r['patient_id']}", "pad_ufes_20"))
    return out


def clinical(root: Path) -> list[Sample]:
    """Clinical camera photos of skin conditions (gate positives only: labels are not benign/malignant)."""
    out = []
    for sub in ("sd198", "dermnet_crawl"):
        base = root / "clinical" / sub
        out += [Sample(base / r["file"], LESION, f"{sub}:{r['file']}", f"clinical_{sub}")
                for r in _rows(base / "manifest.csv")]
    return out


def not_skin(root: Path) -> list[Sample]:
    """Negatives for the gate: everyday photos, receipts, screenshots, documents, wallpapers, people."""
    base = root / "not-skin"
    return [Sample(base / r["file"], NOT_LESION, f"notskin:{r['file']}", f"not_skin_{r['category']}")
            for r in _rows(base / "manifest.csv")]


def healthy_skin(root: Path) -> list[Sample]:
    """Lesion-free dermoscopic skin patches (cut from PH2 images): gate negatives, grouped by their PH2 image."""
    base = root / "healthy-skin"
    if not base.is_dir():
        raise DatasetError(f"missing {base}")
    return [Sample(p, NOT_LESION, f"ph2:{p.name.split('_')[0]}", "healthy_skin") for p in sorted(base.glob("*.jpg"))]


def group_split(samples: Sequence[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split into (rest, held_out) with about `fraction` of the samples held out, stratified by label and source,
    never separating a group. Deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group, []).append(s)
    # Stratify on (source, majority label) of each group.
    strata: dict[tuple[str, int], list[str]] = {}
    for gid, members in groups.items():
        label = round(sum(m.label for m in members) / len(members))
        strata.setdefault((members[0].source, label), []).append(gid)
    held: set[str] = set()
    for key in sorted(strata):
        gids = sorted(strata[key])
        rng.shuffle(gids)
        target = fraction * sum(len(groups[g]) for g in gids)
        taken = 0
        for gid in gids:
            if taken >= target:
                break
            held.add(gid)
            taken += len(groups[gid])
    rest = [s for s in samples if s.group not in held]
    out = [s for s in samples if s.group in held]
    return rest, out


def file_list_hash(samples: Iterable[Sample], root: Path) -> str:
    """SHA-256 over the sorted (relative path, label) list: identifies exactly which data a model saw."""
    lines = sorted(f"{_relative(s.path, root)}\t{s.label}" for s in samples)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
