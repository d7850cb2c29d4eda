"""What the pipeline says about one photo: the contract between inference and everything that shows results."""

from __future__ import annotations

from dataclasses import dataclass, field

# Re-exported: declared in the shared vocabulary, which the bot and the command line use too.
from skinbot.vocabulary import Modality as Modality
from skinbot.vocabulary import Risk as Risk
from skinbot.vocabulary import Status as Status

# Reason codes in `Assessment.issues`; the bot turns each into a sentence from its message templates.
# unreadable: `inference.decode.UnreadableReason`; poor_quality: `inference.quality.QualityIssue`.


@dataclass(frozen=True)
class Assessment:
    """The result of analysing one photo.

    `lesion_score` is the gate's probability that the photo is a close-up of a skin lesion; `malignancy` is the
    calibrated probability of malignancy (only when status is "ok"); `risk` comes from the model card's thresholds
    for the photo's `modality` (dermoscopic or a phone / clinical photo, as the model sees it). `type_probs` are the
    type head's probabilities by type name (`lesion_type` is the most likely); `rash` means the photo looks like a
    rash or other skin condition rather than a single spot. `cam` is the lesion head's class-activation map (rows
    of logits over the model input, higher = weighed more towards "malignant").
    """

    status: Status
    lesion_score: float | None = None
    malignancy: float | None = None
    risk: Risk | None = None
    modality: Modality | None = None
    lesion_type: str | None = None
    type_probs: dict[str, float] = field(default_factory=dict)
    rash: bool = False
    cam: tuple[tuple[float, ...], ...] = ()
    issues: tuple[str, ...] = ()
    model_version: str = ""
    image_sha256: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
