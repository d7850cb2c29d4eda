"""The advice policy: model risk + checklist answers -> urgent / soon / monitor. A pure function.

Safety first, so that the bot errs towards seeing a doctor:
- "not sure" and unanswered (skipped) questions never lower the advice: they count as "no" for the urgent rules
  (which need a confirmed sign) but as "yes" for the `soon` rules, so any unsure or skipped answer that would have
  triggered a rule had it been "yes" means at least `soon`. Skipping the questions therefore gives at least `soon`.
- `urgent`: high model risk; a confirmed checklist score >= `urgent_checklist_score`; a "yes" to a red-flag question
  (bleeding, change in size: config `red_flags`); or a spot new since adulthood with any confirmed major feature.
- `soon`: medium or unknown model risk; a confirmed score >= `soon_checklist_score`; a spot new since adulthood;
  any urgent or soon rule that an unsure or skipped answer, counted as "yes", would trigger.
- `monitor` otherwise. No outcome ever says there is no need to see a doctor.
- a follow-up photo of the same spot with a clear rise (its risk level went up, or its malignancy score rose by at
  least `followup_rise`) moves the advice one level sooner (`monitor` -> `soon` -> `urgent`): change is the
  strongest warning sign of a melanoma, and the model seeing more of what it associates with cancer is one.

Every rule is monotone in the answers, so changing an answer from "no" to "not sure", or from "not sure" to "yes",
never gives milder advice (tests/bot/test_policy.py checks every answer vector).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.checklist import QUESTIONS, AnswerValue
from bot.settings import PolicyConfig
from inference.assessment import Risk
from skinbot.vocabulary import ADVICE_LEVELS as ADVICE_LEVELS  # re-exported: declared in the shared vocabulary
from skinbot.vocabulary import AdviceLevel as AdviceLevel

_RANK: dict[AdviceLevel, int] = {"monitor": 0, "soon": 1, "urgent": 2}


def rank(level: AdviceLevel) -> int:
    """How serious an advice level is: monitor 0, soon 1, urgent 2."""
    return _RANK[level]


@dataclass(frozen=True)
class Reason:
    """Why the advice is what it is; `code` names a template under `advice.reasons`, `feature` a question key."""

    code: str
    feature: str = ""


@dataclass(frozen=True)
class Advice:
    """The final advice. `reasons` are the rules that set `level`; scores are NICE points; `skipped` counts the
    questions left unanswered."""

    level: AdviceLevel
    reasons: tuple[Reason, ...]
    score: int
    possible_score: int
    skipped: int = 0


def _rules(answer: Mapping[str, AnswerValue], policy: PolicyConfig) -> list[tuple[AdviceLevel, Reason]]:
    """The checklist rules a vector of answers triggers, reading only "yes" as a sign."""
    score = sum(q.points for q in QUESTIONS if answer[q.key] == "yes")
    fired: list[tuple[AdviceLevel, Reason]] = []
    if score >= policy.urgent_checklist_score:
        fired.append(("urgent", Reason("checklist_urgent")))
    elif score >= policy.soon_checklist_score:
        fired.append(("soon", Reason("checklist_soon")))
    fired.extend(("urgent", Reason("red_flag", key)) for key in policy.red_flags if answer.get(key) == "yes")
    if answer["new_since_adulthood"] == "yes":
        major_yes = any(q.major and answer[q.key] == "yes" for q in QUESTIONS)
        fired.append(("urgent", Reason("new_with_major")) if major_yes else ("soon", Reason("new_in_adulthood")))
    return fired


def _top(fired: list[tuple[AdviceLevel, Reason]]) -> int:
    return max((rank(level) for level, _ in fired), default=rank("monitor"))


@dataclass(frozen=True)
class Change:
    """A follow-up of the same spot: the earlier check's risk and malignancy score, and this check's."""

    risk_before: Risk | None
    score_before: float | None
    risk_now: Risk | None
    score_now: float | None


_RISK_RANK: dict[Risk, int] = {"low": 0, "medium": 1, "high": 2}
_SOONER: dict[AdviceLevel, AdviceLevel] = {"monitor": "soon", "soon": "urgent", "urgent": "urgent"}


def clear_rise(change: Change, policy: PolicyConfig) -> bool:
    """Whether the spot looks clearly worse than last time: a higher risk level, or a score up by `followup_rise`."""
    if change.risk_before is not None and change.risk_now is not None \
            and _RISK_RANK[change.risk_now] > _RISK_RANK[change.risk_before]:
        return True
    if change.score_before is None or change.score_now is None:
        return False
    # A small tolerance, so that a rise of exactly `followup_rise` in decimal counts despite binary rounding.
    return change.score_now - change.score_before >= policy.followup_rise - 1e-9


def sooner(level: AdviceLevel) -> AdviceLevel:
    """The next more serious advice level (`urgent` stays `urgent`)."""
    return _SOONER[level]


def advise(risk: Risk | None, answers: Mapping[str, AnswerValue], policy: PolicyConfig,
           change: Change | None = None) -> Advice:
    """Combine the model's risk and the checklist answers (a missing key is a skipped question) into advice; a
    follow-up `change` with a clear rise makes it one level sooner."""
    answer: dict[str, AnswerValue] = {q.key: answers.get(q.key, "unsure") for q in QUESTIONS}
    skipped = [q.key for q in QUESTIONS if q.key not in answers]

    triggered: list[tuple[AdviceLevel, Reason]] = [("monitor", Reason("nothing_flagged"))]
    if risk == "high":
        triggered.append(("urgent", Reason("model_high")))
    elif risk == "medium":
        triggered.append(("soon", Reason("model_medium")))
    elif risk is None:
        triggered.append(("soon", Reason("model_unknown")))
    confirmed = _rules(answer, policy)
    triggered.extend(confirmed)
    # The soon rules read "not sure" and "skipped" as "yes": if that would give more serious advice than the
    # confirmed answers do, the advice is at least `soon`, and each such answer is named.
    pessimistic = _rules({k: "yes" if v == "unsure" else v for k, v in answer.items()}, policy)
    if _top(pessimistic) > _top(confirmed):
        triggered.extend(
            ("soon", Reason("unsure", q.key)) for q in QUESTIONS if answer[q.key] == "unsure" and q.key not in skipped
        )
        if skipped:
            triggered.append(("soon", Reason("all_skipped" if len(skipped) == len(QUESTIONS) else "some_skipped")))

    level = max((lvl for lvl, _ in triggered), key=rank)
    if change is not None and clear_rise(change, policy):
        level = sooner(level)
        triggered.append((level, Reason("followup_rise")))
    reasons = tuple(dict.fromkeys(reason for lvl, reason in triggered if lvl == level))
    score = sum(q.points for q in QUESTIONS if answer[q.key] == "yes")
    possible = sum(q.points for q in QUESTIONS if answer[q.key] != "no")
    return Advice(level=level, reasons=reasons, score=score, possible_score=possible, skipped=len(skipped))

