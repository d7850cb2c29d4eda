"""Callback data of the bot's inline buttons: built by `bot.keyboards`, parsed back here by one strict parser.

The Bot API lets a client send any callback data, not only that of a button the bot made, so everything a tap
carries is untrusted: `parse` accepts exactly the shapes below (ASCII digits only, ids within SQLite's integer
range, question positions within the checklist) and returns None for anything else.

    "q:start:<session>", "q:skip:<session>", "q:ans:<session>:<position>:<y|n|u>",
    "lang:<en|ko>", "forget:<yes|no>", "remind:<months>",
    "type:<lesion type>" (what is it?), "cam:<assessment>" (where did you look?), "rep:<assessment>" (the report),
    "spot:<assessment>:<earlier assessment|new>" (is this the same spot?)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.checklist import ANSWER_VALUES, QUESTIONS, AnswerValue
from bot.lesion_types import TYPE_INTENTS
from bot.messages import LANGUAGES, Language

MAX_DATA_BYTES = 64  # Telegram's limit for callback data
MAX_ROW_ID = 2**63 - 1  # SQLite INTEGER
MAX_MONTHS = 120
ANSWER_CODES: dict[str, AnswerValue] = {value[0]: value for value in ANSWER_VALUES}  # "y" -> "yes", …

_ID = r"([0-9]{1,19})"
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("start", re.compile(rf"q:start:{_ID}")),
    ("skip", re.compile(rf"q:skip:{_ID}")),
    ("answer", re.compile(rf"q:ans:{_ID}:([0-9]{{1,2}}):([ynu])")),
    ("language", re.compile(r"lang:(en|ko)")),
    ("forget", re.compile(r"forget:(yes|no)")),
    ("remind", re.compile(r"remind:([0-9]{1,3})")),
    ("type", re.compile(r"type:([a-z_]{1,32})")),
    ("heatmap", re.compile(rf"cam:{_ID}")),
    ("report", re.compile(rf"rep:{_ID}")),
    ("spot", re.compile(rf"spot:{_ID}:(?:{_ID}|new)")),
)


@dataclass(frozen=True)
class StartQuestions:
    session_id: int


@dataclass(frozen=True)
class SkipQuestions:
    session_id: int


@dataclass(frozen=True)
class AnswerQuestion:
    session_id: int
    position: int
    value: AnswerValue


@dataclass(frozen=True)
class ChooseLanguage:
    language: Language


@dataclass(frozen=True)
class ConfirmForget:
    confirmed: bool


@dataclass(frozen=True)
class ChooseReminder:
    months: int


@dataclass(frozen=True)
class ExplainType:
    type_name: str  # one of `bot.lesion_types.TYPE_INTENTS`


@dataclass(frozen=True)
class ShowHeatmap:
    assessment_id: int


@dataclass(frozen=True)
class SendReport:
    assessment_id: int


@dataclass(frozen=True)
class SameSpot:
    assessment_id: int
    earlier_id: int | None  # None: "No, a different spot"


Button = (StartQuestions | SkipQuestions | AnswerQuestion | ChooseLanguage | ConfirmForget | ChooseReminder
          | ExplainType | ShowHeatmap | SendReport | SameSpot)


def parse(data: object) -> Button | None:
    """The button a tap's callback data names, or None if it is not data this bot makes (forged, empty, from an
    older release, or out of bounds)."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8", "surrogatepass")) > MAX_DATA_BYTES:
        return None
    for kind, shape in _SHAPES:
        found = shape.fullmatch(data)
        if found is not None:
            return _build(kind, found.groups())
    return None


def _build(kind: str, groups: tuple[str, ...]) -> Button | None:
    if kind == "language":
        language = next(code for code in LANGUAGES if code == groups[0])
        return ChooseLanguage(language)
    if kind == "forget":
        return ConfirmForget(groups[0] == "yes")
    if kind == "remind":
        months = int(groups[0])
        return ChooseReminder(months) if 1 <= months <= MAX_MONTHS else None
    if kind == "type":
        return ExplainType(groups[0]) if groups[0] in TYPE_INTENTS else None
    ids = [int(g) for g in groups if g is not None and g.isdigit()]
    if kind in ("heatmap", "report", "spot") and not all(1 <= i <= MAX_ROW_ID for i in ids):
        return None
    if kind == "heatmap":
        return ShowHeatmap(ids[0])
    if kind == "report":
        return SendReport(ids[0])
    if kind == "spot":
        return SameSpot(ids[0], ids[1] if len(ids) > 1 else None)
    session_id = int(groups[0])
    if not 1 <= session_id <= MAX_ROW_ID:
        return None
    if kind == "start":
        return StartQuestions(session_id)
    if kind == "skip":
        return SkipQuestions(session_id)
    position = int(groups[1])
    if position >= len(QUESTIONS):
        return None
    return AnswerQuestion(session_id, position, ANSWER_CODES[groups[2]])
