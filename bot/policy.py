"""The advice policy: model risk + checklist answers -> urgent / soon / monitor. A pure function.

Safety first, so that the bot errs towards seeing a doctor:
- "not sure" and unanswered questions never lower the advice: they count as "no" for the urgent rules (which need a
  confirmed sign) but as "yes" for the `soon` rules, so an unsure answer that *could* reach the urgent score, or an
  unsure red flag, means at least `soon`. Skipping the questions therefore gives at least `soon`.
- medium model risk means at least `soon`; high model risk, or an unknown risk, is handled as stated below.
- `urgent`: high model risk; a confirmed checklist score >= `urgent_checklist_score`; a "yes" to a red-flag question
  (bleeding, change in size: config `red_flags`); or a spot new since adulthood with any confirmed major feature.
- `soon`: medium or unknown model risk; a confirmed score >= `soon_checklist_score`; an unsure answer that could reach
  the urgent score; an unsure red flag.
- `monitor` otherwise. No outcome ever says there is no need to see a doctor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.checklist import QUESTIONS, AnswerValue
from inference.assessment import Risk
from skinbot.config import PolicyConfig

AdviceLevel = Literal["monitor", "soon", "urgent"]
_RANK: dict[AdviceLevel, int] = {"monitor": 0, "soon": 1, "urgent": 2}


@dataclass(frozen=True)
class Reason:
    """Why the advice is what it is; `code` names a template under `advice.reasons`, `feature` a question key."""

    code: str
    feature: str = ""


@dataclass(frozen=True)
class Advice:
    """The final advice. `reasons` are the rules that set `level`; scores are NICE points."""

    level: AdviceLevel
    reasons: tuple[Reason, ...]
    score: int
    possible_score: int


def advise(risk: Risk | None, answers: Mapping[str, AnswerValue], policy: PolicyConfig) -> Advice:
    """Combine the model's risk and the checklist answers (missing keys count as "unsure") into advice."""
    answer = {q.key: answers.get(q.key, "unsure") for q in QUESTIONS}
    score = sum(q.points for q in QUESTIONS if answer[q.key] == "yes")
    possible = sum(q.points for q in QUESTIONS if answer[q.key] != "no")
    major_yes = any(q.major and answer[q.key] == "yes" for q in QUESTIONS)

    triggered: list[tuple[AdviceLevel, Reason]] = [("monitor", Reason("nothing_flagged"))]
    if risk == "high":
        triggered.append(("urgent", Reason("model_high")))
    elif risk == "medium":
        triggered.append(("soon", Reason("model_medium")))
    elif risk is None:
        triggered.append(("soon", Reason("model_unknown")))
    if score >= policy.urgent_checklist_score:
        triggered.append(("urgent", Reason("checklist_urgent")))
    elif score >= policy.soon_checklist_score:
        triggered.append(("soon", Reason("checklist_soon")))
    elif possible >= policy.urgent_checklist_score:
        triggered.append(("soon", Reason("unsure_could_refer")))
    for key in policy.red_flags:
        if answer.get(key) == "yes":
            triggered.append(("urgent", Reason("red_flag", key)))
        elif answer.get(key) == "unsure":
            triggered.append(("soon", Reason("red_flag_unsure", key)))
    if answer["new_since_adulthood"] == "yes" and major_yes:
        triggered.append(("urgent", Reason("new_with_major")))

    level = max((lvl for lvl, _ in triggered), key=_RANK.__getitem__)
    reasons = tuple(reason for lvl, reason in triggered if lvl == level)
    return Advice(level=level, reasons=reasons, score=score, possible_score=possible)
