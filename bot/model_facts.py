"""What the bot knows about the served model, as `ModelFacts`: its version, test figures, limitations (by language),
lesion types and the threshold for naming a type, read from its model card. Handlers, replies and the report see
these facts only, never the card (paths, hashes, temperatures).

This is the one place that knows the card's layout beyond `inference.card.ModelCard`'s typed fields, so a new card
format needs changes here only. Keys read, all optional (anything missing or malformed is left out, never guessed):

- `metrics.lesion.<test set>.{sensitivity_refer, specificity_refer, sensitivity_high, roc_auc, n, malignant}`, for
  the first test set present of each photo kind in `TEST_SETS`. `_refer` and `_high` are the figures at the card's
  per-modality `refer` and `high` thresholds, the cut-offs between low/medium and medium/high risk that the bot uses;
  figures at other cut-offs (such as `accuracy` and `*_0_5`, at 0.5) are never quoted.
- `limitations.<lang>`: the card's limitations in plain words, in that language (English if the card lacks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages import Catalog, Language
from inference.card import ModelCard

# Photo kind -> test sets in the card's metrics, preferred first (the leak-free Kaggle test set has no images that
# also occur in training).
TEST_SETS: Mapping[str, tuple[str, ...]] = {
    "dermoscopic": ("kaggle_test_leak_free", "kaggle_test"),
    "phone": ("pad_ufes_20",),
}
# Figure name (as the `about.figures` templates know it) -> key in a test set's metrics, in the order shown.
FIGURES: Mapping[str, str] = {
    "sensitivity": "sensitivity_refer",
    "sensitivity_high": "sensitivity_high",
    "specificity": "specificity_refer",
    "roc_auc": "roc_auc",
}


@dataclass(frozen=True)
class SetFigures:
    """The figures of one photo kind on its test set: fractions in [0, 1], and the set's size when known."""

    kind: str
    figures: Mapping[str, float]
    n: int | None = None
    malignant: int | None = None


@dataclass(frozen=True)
class ModelFacts:
    """The bot's narrow view of the served model."""

    version: str
    figures: tuple[SetFigures, ...]  # per photo kind, as `card_figures` finds them
    limitations: Mapping[str, tuple[str, ...]]  # by language code
    lesion_types: tuple[str, ...]
    type_threshold: float  # top type probability from which a resemblance is worth saying (1.0: never)

    @classmethod
    def from_card(cls, card: ModelCard) -> ModelFacts:
        """The facts of a model card."""
        return cls(card.version, tuple(card_figures(card.metrics)), card.limitations, card.lesion_types,
                   card.type_threshold)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the card has limitations in."""
        return tuple(self.limitations)

    def limitations_in(self, lang: Language) -> tuple[str, ...]:
        """The model's limitations in `lang`, or in English where the card has none in `lang`."""
        return self.limitations.get(lang) or self.limitations.get("en", ())


def _fraction(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def card_figures(metrics: Mapping[str, Any]) -> list[SetFigures]:
    """The figures quoted to users, per photo kind, from a card's `metrics` (kinds without any figure left out)."""
    lesion = metrics.get("lesion")
    if not isinstance(lesion, Mapping):
        return []
    found: list[SetFigures] = []
    for kind, names in TEST_SETS.items():
        tests = [lesion[name] for name in names if isinstance(lesion.get(name), Mapping)]
        if not tests:
            continue
        test = tests[0]
        figures = {name: v for name, key in FIGURES.items() if (v := _fraction(test.get(key))) is not None}
        if figures:
            found.append(SetFigures(kind, figures, _count(test.get("n")), _count(test.get("malignant"))))
    return found


def _format_figure(name: str, value: float) -> str:
    return f"{value:.2f}" if name == "roc_auc" else f"{value:.0%}"


def figures_text(catalog: Catalog, lang: Language, figures: Sequence[SetFigures]) -> str | None:
    """The figures as lines under a heading per photo kind, in `lang`; None when there are none."""
    blocks = []
    for test in figures:
        kind = catalog.text(lang, f"about.kinds.{test.kind}")
        if test.n is not None and test.malignant is not None:
            heading = catalog.text(lang, "about.test_set", kind=kind, n=test.n, malignant=test.malignant)
        else:
            heading = catalog.text(lang, "about.test_set_uncounted", kind=kind)
        lines = [catalog.text(lang, f"about.figures.{name}", value=_format_figure(name, value))
                 for name, value in test.figures.items()]
        blocks.append("\n".join([heading, *lines]))
    return "\n\n".join(blocks) if blocks else None

