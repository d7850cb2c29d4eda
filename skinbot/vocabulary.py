"""The words every part of skinbot shares: languages, risk and advice levels, and what a photo's assessment can say.

A leaf: it imports nothing of skinbot's, so the bot, inference, training, the playground and the configuration can
all use it without depending on each other. To add a language, add it to `Language` (and `messages/<lang>.yaml`).
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Language = Literal["en", "ko"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

Risk = Literal["low", "medium", "high"]
RISK_LEVELS: tuple[Risk, ...] = get_args(Risk)  # least serious first

AdviceLevel = Literal["urgent", "soon", "monitor"]
ADVICE_LEVELS: tuple[AdviceLevel, ...] = get_args(AdviceLevel)  # most serious first

Status = Literal["ok", "not_skin", "poor_quality", "unreadable"]
Modality = Literal["dermoscopic", "clinical"]

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def has_hangul(text: str) -> bool:
    """Whether `text` holds a Hangul syllable, i.e. is (partly) Korean."""
    return _HANGUL.search(text) is not None
