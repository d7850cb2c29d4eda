"""Follow-up of the same spot: which earlier check a new photo is compared with, the change in plain words, and the
advice the change leads to. The rule itself (a clear rise means one level sooner) lives in `bot.policy`."""

from __future__ import annotations

from collections.abc import Mapping

from bot import render
from bot.checklist import QUESTIONS, AnswerValue
from bot.messages import Catalog, Language
from bot.policy import ADVICE_LEVELS, Advice, AdviceLevel, Change, Reason, advise, clear_rise, rank
from bot.settings import PolicyConfig
from bot.storage import CheckRecord, Storage

_LEVELS: dict[str, AdviceLevel] = {level: level for level in ADVICE_LEVELS}
SAME_SCORE = 0.02  # score changes smaller than this are reported as "about the same" (they are noise)


def change_between(before: CheckRecord, now: CheckRecord) -> Change:
    """The change from an earlier check of a spot to a later one."""
    return Change(risk_before=before.risk, score_before=before.malignancy, risk_now=now.risk,
                  score_now=now.malignancy)


async def previous_check(storage: Storage, now: CheckRecord) -> CheckRecord | None:
    """The newest earlier check of the same spot, if `now` was recorded as a follow-up."""
    if now.spot_id is None or not now.followup:
        return None
    earlier = [c for c in await storage.spot_checks(now.spot_id) if c.id < now.id]
    return earlier[-1] if earlier else None


async def change_of_session(storage: Storage, session_id: int) -> Change | None:
    """The follow-up change of the check a questionnaire is about, if it is a follow-up (for the advice)."""
    assessment_id = await storage.session_assessment(session_id)
    now = None if assessment_id is None else await storage.check(assessment_id)
    before = None if now is None else await previous_check(storage, now)
    return None if now is None or before is None else change_between(before, now)


def _score(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def change_text(catalog: Catalog, lang: Language, before: CheckRecord, now: CheckRecord) -> str:
    """"Compared with your check on …: rated medium then and medium now. My score went up from 0.31 to 0.45." """
    if before.malignancy is None or now.malignancy is None or abs(now.malignancy - before.malignancy) < SAME_SCORE:
        direction = "score_same"
    else:
        direction = "score_up" if now.malignancy > before.malignancy else "score_down"
    return catalog.text(
        lang, "followup.change", date=render.format_date(catalog, lang, before.created_at),
        risk_before=catalog.text(lang, f"result.risk.{before.risk or 'medium'}"),
        risk_now=catalog.text(lang, f"result.risk.{now.risk or 'medium'}"),
        score_change=catalog.text(lang, f"followup.{direction}", before=_score(before.malignancy),
                                  now=_score(now.malignancy)),
    )


def given_advice(check: CheckRecord, answers: Mapping[str, AnswerValue]) -> Advice | None:
    """The advice stored for a check (None while its questions are unfinished), rebuilt for rendering."""
    level = _LEVELS.get(check.advice or "")
    if level is None:
        return None
    return Advice(level=level, reasons=tuple(Reason(code, feature) for code, feature in check.reasons),
                  score=check.score, possible_score=check.possible_score, skipped=len(QUESTIONS) - len(answers))


def raised_advice(now: CheckRecord, answers: Mapping[str, AnswerValue], given: Advice | None, change: Change,
                  policy: PolicyConfig) -> Advice | None:
    """The advice with the follow-up rule applied, when it is more serious than the advice already given (None
    when nothing was given yet, or when the change does not raise it)."""
    if given is None or not clear_rise(change, policy):
        return None
    recomputed = advise(now.risk, answers, policy, change)
    return recomputed if rank(recomputed.level) > rank(given.level) else None
