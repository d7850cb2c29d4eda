"""The datasets under the data root, as lists of labelled samples with the group (lesion or patient) each belongs to.

Every sample carries all the labels the network learns: malignancy (`label`), lesion type (`kind`, an index into
`LESION_TYPES`), whether the photo shows a skin lesion or skin problem at all (`is_lesion`, the gate's target), and
how it was taken (`modality`). A label a source does not give is `UNKNOWN` and masked out of that head's loss.

Groups matter: images of one lesion (or one patient) must never sit on both sides of a split, or validation numbers
are inflated. See `../shared/data/README.md` for the caveats each function handles.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

BENIGN, MALIGNANT, UNKNOWN = 0, 1, -1
DERMOSCOPIC, CLINICAL = "dermoscopic", "clinical"
MODALITIES = (DERMOSCOPIC, CLINICAL)

# What the type head tells apart, in output order. "rash" is every non-tumour skin condition (eczema, psoriasis,
# tinea, acne...): the bot gives rash guidance instead of a mole risk for it.
LESION_TYPES = ("nevus", "melanoma", "bcc", "ak_scc", "keratosis", "dermatofibroma", "vascular", "rash")
_TYPE = {name: i for i, name in enumerate(LESION_TYPES)}
MALIGNANT_TYPES = ("melanoma", "bcc", "ak_scc")  # actinic keratosis counts: it warrants a doctor's visit

# Source diagnosis codes -> type name.
_HAM_TYPES = {"nv": "nevus", "mel": "melanoma", "bcc": "bcc", "akiec": "ak_scc", "bkl": "keratosis",
              "df": "dermatofibroma", "vasc": "vascular"}
_PAD_TYPES = {"nev": "nevus", "mel": "melanoma", "bcc": "bcc", "ack": "ak_scc", "scc": "ak_scc", "sek": "keratosis"}
_SD198_TYPES = {"malignant_melanoma": "melanoma", "lentigo_maligna_melanoma": "melanoma",
                "basal_cell_carcinoma": "bcc", "actinic_keratosis": "ak_scc", "dermatofibroma": "dermatofibroma",
                "angioma": "vascular", "pyogenic_granuloma": "vascular", "nevus_spilus": "nevus"}


class DatasetError(FileNotFoundError):
    """A dataset folder or manifest is missing or malformed."""


@dataclass(frozen=True)
class Sample:
    """One image and its labels; `group` is the lesion/patient id used to keep splits honest."""

    path: Path
    label: int  # malignancy: BENIGN, MALIGNANT or UNKNOWN
    group: str
    source: str
    kind: int = UNKNOWN  # index into LESION_TYPES
    modality: str = DERMOSCOPIC
    is_lesion: bool = True


def type_index(name: str) -> int:
    """The type head's output index of a type name."""
    return _TYPE[name]


def malignancy_of_type(name: str) -> int:
    """The malignancy label a lesion type implies."""
    return MALIGNANT if name in MALIGNANT_TYPES else BENIGN


def _typed(path: Path, type_name: str, group: str, source: str, modality: str) -> Sample:
    return Sample(path, malignancy_of_type(type_name), group, source, type_index(type_name), modality)


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(f"missing {path}: is the data root right? (config data.root, --data or SKINBOT_DATA)")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def kaggle(root: Path, split: str) -> list[Sample]:
    """The Kaggle "skin cancer: malignant vs benign" split ("train" or "test"); groups are HAM10000 lesion ids.

    Benign images are all nevi; a malignant image's type is known only where it is a HAM10000 copy."""
    base = root / "skin-cancer-mvb"
    mapping = {r["kaggle_file"]: r for r in _rows(base / "ham10000_mapping.csv")}
    lesion_of = {k: r["ham_lesion_id"] for k, r in mapping.items()}
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
            dx = mapping[rel]["ham_dx"] if rel in mapping else ("nv" if label == BENIGN else "")
            kind = type_index(_HAM_TYPES[dx]) if dx in _HAM_TYPES else UNKNOWN
            samples.append(Sample(path, label, lesion_of.get(rel, f"kaggle:{rel}"), f"kaggle_{split}", kind))
    return samples


def kaggle_leaked_test_files(root: Path) -> set[str]:
    """Kaggle test files whose lesion also appears in the train split (`test/<class>/<n>.jpg`)."""
    leaked: set[str] = set()
    for row in _rows(root / "skin-cancer-mvb" / "lesion_leakage_train_test.csv"):
        leaked.update(f for f in row["kaggle_files"].split("|") if f.startswith("test/"))
    return leaked


def kaggle_ham_derived_test_files(root: Path) -> set[str]:
    """Kaggle test files that are HAM10000 copies (all 360 benign ones): a source detector scores well on them."""
    return {r["kaggle_file"] for r in _rows(root / "skin-cancer-mvb" / "ham10000_mapping.csv")
            if r["kaggle_file"].startswith("test/")}


def kaggle_relative(sample: Sample, root: Path) -> str:
    """A Kaggle sample's path as the CSVs write it (`test/<class>/<n>.jpg`)."""
    return sample.path.relative_to(root / "skin-cancer-mvb").as_posix()


def ham10000_disjoint(root: Path) -> list[Sample]:
    """HAM10000 images whose lesion is not in the Kaggle set (safe to add while testing on Kaggle test)."""
    base = root / "ham10000"
    return [_typed(base / r["file"], _HAM_TYPES[r["dx"]], r["lesion_id"], "ham10000", DERMOSCOPIC)
            for r in _rows(base / "metadata.csv") if r["lesion_in_skin_cancer_mvb"] == "False"]


def ph2(root: Path) -> list[Sample]:
    """PH2 (dermoscopic; benign = common and atypical nevi, malignant = melanoma); one image per lesion."""
    base = root / "ph2"
    return [_typed(base / r["file"], "melanoma" if r["binary"] == "malignant" else "nevus", f"ph2:{r['image_id']}",
                   "ph2", DERMOSCOPIC) for r in _rows(base / "labels.csv")]


def _derm7pt_type(diagnosis: str) -> str | None:
    if "nevus" in diagnosis:
        return "nevus"
    if diagnosis.startswith("melanoma"):
        return "melanoma"
    return {"basal cell carcinoma": "bcc", "seborrheic keratosis": "keratosis", "lentigo": "keratosis",
            "dermatofibroma": "dermatofibroma", "vascular lesion": "vascular"}.get(diagnosis)


def derm7pt(root: Path) -> list[Sample]:
    """Derm7pt (dermoscopic, not ISIC), grouped by lesion; melanosis and "miscellaneous" keep only malignancy."""
    base = root / "derm7pt"
    out = []
    for r in _rows(base / "manifest.csv"):
        name = _derm7pt_type(r["diagnosis"])
        group = f"derm7pt:{r['lesion_group']}"
        if name is None:
            label = MALIGNANT if r["malignancy"] == "malignant" else BENIGN
            out.append(Sample(base / r["file"], label, group, "derm7pt", UNKNOWN, DERMOSCOPIC))
        else:
            out.append(_typed(base / r["file"], name, group, "derm7pt", DERMOSCOPIC))
    return out


def pad_ufes(root: Path) -> list[Sample]:
    """PAD-UFES-20 smartphone photos, grouped by patient; actinic keratoses count as malignant (see a doctor)."""
    base = root / "pad-ufes-20"
    return [_typed(base / r["file"], _PAD_TYPES[r["label"]], f"pad:{r['patient_id']}", "pad_ufes_20", CLINICAL)
            for r in _rows(base / "manifest.csv")]


def pad_masked(root: Path) -> list[Sample]:
    """PAD-UFES-20 lesion crops with the surroundings blacked out (not like a phone photo: training only)."""
    base = root / "pad-ufes-20" / "masked"
    return [_typed(base / r["file"], _PAD_TYPES[r["label"]], f"pad:{r['patient_id']}", "pad_masked", CLINICAL)
            for r in _rows(base / "manifest.csv")]


def clinical(root: Path) -> list[Sample]:
    """Clinical camera photos of skin conditions: SD-198 (tumours typed, non-neoplastic ones as rash, the rest with
    malignancy only) and the DermNet crawl (eczema, psoriasis, tinea: rash)."""
    base = root / "clinical" / "sd198"
    out = []
    for r in _rows(base / "manifest.csv"):
        path, group = base / r["file"], f"sd198:{r['file']}"
        if r["label"] in _SD198_TYPES:
            out.append(_typed(path, _SD198_TYPES[r["label"]], group, "clinical_sd198", CLINICAL))
        elif r["malignancy"] == "non-neoplastic":
            out.append(_typed(path, "rash", group, "clinical_sd198", CLINICAL))
        else:  # keloid (benign), cutaneous horn (indeterminate: may hide an SCC)
            label = BENIGN if r["malignancy"] == "benign" else UNKNOWN
            out.append(Sample(path, label, group, "clinical_sd198", UNKNOWN, CLINICAL))
    crawl = root / "clinical" / "dermnet_crawl"
    out += [_typed(crawl / r["file"], "rash", f"dermnet_crawl:{r['file']}", "clinical_dermnet_crawl", CLINICAL)
            for r in _rows(crawl / "manifest.csv")]
    return out


def dermnet_rash(root: Path) -> list[Sample]:
    """DermNet NZ photos of non-tumour skin conditions (about 240 diagnoses): the rash class."""
    base = root / "clinical" / "dermnet_rash"
    return [_typed(base / r["file"], "rash", f"dermnet_rash:{r['file']}", "clinical_dermnet_rash", CLINICAL)
            for r in _rows(base / "manifest.csv")]


def not_skin(root: Path) -> list[Sample]:
    """Negatives for the gate: everyday photos, receipts, screenshots, documents, wallpapers, people."""
    base = root / "not-skin"
    return [Sample(base / r["file"], UNKNOWN, f"notskin:{r['file']}", f"not_skin_{r['category']}", UNKNOWN,
                   CLINICAL, is_lesion=False) for r in _rows(base / "manifest.csv")]


def healthy_skin(root: Path) -> list[Sample]:
    """Lesion-free dermoscopic skin patches (cut from PH2 images): gate negatives, grouped by their PH2 image."""
    base = root / "healthy-skin"
    if not base.is_dir():
        raise DatasetError(f"missing {base}")
    return [Sample(p, UNKNOWN, f"ph2:{p.name.split('_')[0]}", "healthy_skin", UNKNOWN, DERMOSCOPIC, is_lesion=False)
            for p in sorted(base.glob("*.jpg"))]


def file_list_hash(samples: Iterable[Sample], root: Path) -> str:
    """SHA-256 over the sorted (relative path, label) list: identifies exactly which data a model saw."""
    lines = sorted(f"{_relative(s.path, root)}\t{s.label}" for s in samples)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
