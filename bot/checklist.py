"""The questions the bot asks after an "ok" photo: the NICE weighted 7-point checklist plus one extra question.

The weights are NICE's (major features 2 points, minor 1), so they are a definition here, not a tunable setting;
the thresholds that turn points into advice live in config (`policy:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AnswerValue = Literal["yes", "no", "unsure"]
ANSWER_VALUES: tuple[AnswerValue, ...] = ("yes", "no", "unsure")


@dataclass(frozen=True)
class Question:
    """One checklist question; its text lives in the message files under `checklist.questions.<key>`."""

    key: str
    points: int
    major: bool


QUESTIONS: tuple[Question, ...] = (
    Question("size_change", 2, major=True),
    Question("irregular_shape", 2, major=True),
    Question("irregular_colour", 2, major=True),
    Question("diameter_7mm", 1, major=False),
    Question("inflammation", 1, major=False),
    Question("bleeding", 1, major=False),  # oozing, crusting or bleeding
    Question("sensation", 1, major=False),  # itch or other change in sensation
    # Not part of NICE's score: a new mole in adulthood raises concern when it also shows a major feature.
    Question("new_since_adulthood", 0, major=False),
)
QUESTION_KEYS: tuple[str, ...] = tuple(q.key for q in QUESTIONS)
