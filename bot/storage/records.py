"""What storage hands back: plain frozen records, the same for every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from inference.assessment import Risk

ReminderOutcome = Literal["sent", "undeliverable"]
Claim = Literal["claimed", "busy", "done"]


class StorageError(RuntimeError):
    """The storage URL is not one this code can open, the database is newer than this code, or storage was used
    before `connect`."""


class StorageUnavailable(StorageError):
    """The database server could not be reached (try again later)."""


@dataclass(frozen=True)
class Session:
    """A questionnaire after an "ok" photo; `position` is the index of the next question to ask."""

    id: int
    user_id: int
    chat_id: int
    status: str
    message_id: int | None
    risk: Risk | None
    position: int


@dataclass(frozen=True)
class HistoryEntry:
    """One past photo check as /history lists it; `advice` is None while its questions are unfinished."""

    created_at: float
    status: str
    risk: Risk | None
    advice: str | None
    rash: bool = False  # the photo looked like a rash: it got rash guidance, not a risk level and questions


@dataclass(frozen=True)
class History:
    """What /history shows: the newest checks that could be assessed, the check with the most serious advice (which
    may be older than all of them), and how many photos could not be assessed."""

    entries: list[HistoryEntry]
    most_serious: HistoryEntry | None
    unassessed: int


@dataclass(frozen=True)
class Reminder:
    """A re-check reminder, due at `due_at` (Unix time)."""

    id: int
    user_id: int
    chat_id: int
    due_at: float
    # The language the user was talked to in when they set it (Telegram's, unless they chose one): a reminder falls
    # due with no update to take the user's language from.
    language: str | None = None


@dataclass(frozen=True)
class CheckRecord:
    """One assessed photo ("ok") with what follow-ups and the report need: the model's result, what the spot
    resembled, its spot (None until a later photo is said to show the same spot) and the advice, once given."""

    id: int
    user_id: int
    created_at: float
    risk: Risk | None
    malignancy: float | None
    lesion_type: str | None
    type_probability: float | None
    rash: bool
    modality: str | None
    model_version: str
    spot_id: int | None
    followup: bool  # recorded as a follow-up of an earlier check of the same spot
    session_id: int | None
    advice: str | None  # advice level, None while the questions are unfinished
    reasons: tuple[tuple[str, str], ...] = ()  # (code, feature) of the advice's reasons
    score: int = 0
    possible_score: int = 0
