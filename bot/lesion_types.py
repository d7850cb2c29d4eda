"""What a spot resembles: the type head's most likely lesion type, named only when the model is confident enough.

The type never changes the advice (the policy decides, from the risk level and the answers); it only adds a line of
plain words after the risk level and a button that explains the type. Safety rules, because a reassuring name can
outweigh a warning in a reader's mind:
- nothing is named below the card's `type_threshold` (chosen on validation when the model was exported);
- a harmless type is not named beside a high risk level (the two would pull apart, and the comforting one would win);
- "rash" is never named as a resemblance: a photo the model calls a rash gets rash guidance instead (`Assessment.rash`).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.messages import Catalog, Language
from inference.assessment import Assessment, Risk

# Type name (as in the model card's `lesion_types`) -> the free-text intent that explains it (messages: intents).
TYPE_INTENTS: Mapping[str, str] = {
    "nevus": "nevus",
    "melanoma": "melanoma",
    "bcc": "bcc",
    "ak_scc": "scc",
    "keratosis": "seborrheic_keratosis",
    "dermatofibroma": "dermatofibroma",
    "vascular": "vascular_lesion",
    "rash": "rash",
}
MALIGNANT_TYPES = frozenset({"melanoma", "bcc", "ak_scc"})


def top_type(assessment: Assessment) -> tuple[str, float] | None:
    """The most likely type and its probability, if the model gave type probabilities."""
    if not assessment.type_probs:
        return None
    name = max(assessment.type_probs, key=lambda k: assessment.type_probs[k])
    return name, assessment.type_probs[name]


def resembled(assessment: Assessment, threshold: float) -> str | None:
    """The type to name after the risk level, or None (see the module docstring for when nothing is named)."""
    found = top_type(assessment)
    if assessment.status != "ok" or found is None:
        return None
    return nameable(found[0], found[1], assessment.risk, assessment.rash, threshold)


def nameable(name: str | None, probability: float | None, risk: Risk | None, rash: bool,
             threshold: float) -> str | None:
    """`name` if a check with this top type, probability, risk and rash flag may be told what it resembles."""
    if name is None or probability is None or rash or probability < threshold:
        return None
    if name == "rash" or name not in TYPE_INTENTS:
        return None
    if name not in MALIGNANT_TYPES and risk == "high":
        return None
    return name


def resemblance_text(catalog: Catalog, lang: Language, name: str) -> str:
    """"It looks most like …" and the caveat that fits: a photo can't rule out melanoma, or it is no diagnosis."""
    caveat = "types.caveat_malignant" if name in MALIGNANT_TYPES else "types.caveat_benign"
    return f"{catalog.text(lang, f'types.{name}.resembles')} {catalog.text(lang, caveat)}"
