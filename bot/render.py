"""Pure functions that compose the bot's longer replies from the message templates (no Telegram, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from bot import lesion_types, model_facts
from bot.checklist import QUESTIONS
from bot.messages import Catalog, Language
from bot.model_facts import ModelFacts
from bot.policy import ADVICE_LEVELS, Advice, Reason
from bot.storage import History
from inference.assessment import Assessment, Risk

# Times are shown in Korea time to Korean-speaking users and in UTC, labelled as such, to everyone else: Telegram
# does not tell a bot the user's time zone.
UTC_OFFSET_HOURS: dict[Language, int] = {"en": 0, "ko": 9}


def bullets(catalog: Catalog, lang: Language, lines: Iterable[str]) -> str:
    """Lines as a bulleted list."""
    return "\n".join(catalog.text(lang, "bullet", text=line) for line in lines)


def plural(catalog: Catalog, lang: Language, key: str, count: int, **params: Any) -> str:
    """The `one` or `other` form of the text at `key`, with `count` and `params` filled in."""
    return catalog.text(lang, f"{key}.{'one' if count == 1 else 'other'}", count=count, **params)


def level_phrases(catalog: Catalog, lang: Language) -> dict[str, str]:
    """The wording of each advice level ("see a doctor within 2 weeks"), by level: the one source of timing."""
    return {level: catalog.text(lang, f"advice.level.{level}") for level in ADVICE_LEVELS}


def _known(catalog: Catalog, lang: Language, section: str, codes: Sequence[str]) -> list[str]:
    """Texts for the reason codes the templates know; the `unknown` text if none is known."""
    table = catalog.section(lang, section)
    texts = [str(table[code]) for code in codes if code in table and code != "unknown"]
    return texts or [str(table["unknown"])]


def problem_text(catalog: Catalog, lang: Language, assessment: Assessment) -> str:
    """The explanation and retake tips for a photo that could not be assessed (status other than "ok")."""
    tips = catalog.text(lang, "photo.retake_tips")
    if assessment.status == "unreadable":
        reason = _known(catalog, lang, "photo.unreadable_reasons", assessment.issues)[0]
        return catalog.text(lang, "photo.unreadable", reason=reason, tips=tips)
    if assessment.status == "poor_quality":
        reasons = bullets(catalog, lang, _known(catalog, lang, "photo.quality_reasons", assessment.issues))
        return catalog.text(lang, "photo.poor_quality", reasons=reasons, tips=tips)
    return catalog.text(lang, "photo.not_skin", tips=tips)


def result_text(catalog: Catalog, lang: Language, assessment: Assessment, resembles: str | None = None) -> str:
    """The risk level in words, what it means, what the spot resembles (the type `resembles`, chosen by
    `bot.lesion_types.resembled`) and the offer to answer the questions (status "ok")."""
    risk = assessment.risk or "medium"  # an "ok" result always has a risk; never present a missing one as low
    meaning = catalog.text(lang, f"result.meaning.{risk}")
    if resembles is not None:
        meaning = f"{meaning}\n\n{lesion_types.resemblance_text(catalog, lang, resembles)}"
    return catalog.text(
        lang,
        "result.text",
        risk_words=catalog.text(lang, f"result.risk.{risk}"),
        meaning=meaning,
    )


def question_text(catalog: Catalog, lang: Language, position: int) -> str:
    """Question number `position` (0-based) with its progress line."""
    progress = catalog.text(lang, "checklist.progress", number=position + 1, total=len(QUESTIONS))
    text = catalog.text(lang, f"checklist.questions.{QUESTIONS[position].key}")
    return catalog.text(lang, "checklist.question", progress=progress, text=text)


def _reason_text(catalog: Catalog, lang: Language, reason: Reason, advice: Advice) -> str:
    key = f"advice.reasons.{reason.code}"
    params: dict[str, Any] = {}
    if reason.feature:
        params["feature"] = catalog.text(lang, f"checklist.short.{reason.feature}")
    if reason.code in ("checklist_urgent", "checklist_soon"):
        return plural(catalog, lang, key, advice.score, score=advice.score)
    if reason.code == "some_skipped":
        return plural(catalog, lang, key, advice.skipped)
    return catalog.text(lang, key, **params)


def reason_texts(catalog: Catalog, lang: Language, advice: Advice) -> list[str]:
    """Why the advice is what it is, one sentence per reason."""
    return [_reason_text(catalog, lang, r, advice) for r in advice.reasons]


def advice_text(catalog: Catalog, lang: Language, advice: Advice, risk: Risk | None) -> str:
    """The final advice: what to do and how soon, the photo's rating again, why, and the reminder offer."""
    reasons = bullets(catalog, lang, reason_texts(catalog, lang, advice))
    rating = (catalog.text(lang, "advice.rating", risk_words=catalog.text(lang, f"result.risk.{risk}"))
              if risk is not None else catalog.text(lang, "advice.rating_unknown"))
    return catalog.text(
        lang,
        "advice.text",
        title=catalog.text(lang, "advice.title", when=level_phrases(catalog, lang)[advice.level]),
        rating=rating,
        body=catalog.text(lang, f"advice.body.{advice.level}"),
        reasons=reasons,
        footer=catalog.text(lang, "advice.footer"),
    )


def _local(timestamp: float, lang: Language) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone(dt.timedelta(hours=UTC_OFFSET_HOURS[lang])))


def format_date(catalog: Catalog, lang: Language, timestamp: float) -> str:
    """A Unix time as a date the way people write it: "1 March 2027", "2027년 3월 1일"."""
    when = _local(timestamp, lang)
    month = catalog.section(lang, "dates.months")[when.month - 1]
    return catalog.text(lang, "dates.date", day=when.day, month=month, year=when.year)


def format_datetime(catalog: Catalog, lang: Language, timestamp: float) -> str:
    """A Unix time as date and time: "1 March 2027, 2:05 pm UTC", "2027년 3월 1일 한국 시간 오후 2:05"."""
    when = _local(timestamp, lang)
    return catalog.text(
        lang, "dates.date_time", date=format_date(catalog, lang, timestamp), hour12=(when.hour - 1) % 12 + 1,
        minute=f"{when.minute:02d}", ampm=catalog.text(lang, "dates.am" if when.hour < 12 else "dates.pm"),
    )


def history_text(catalog: Catalog, lang: Language, history: History) -> str:
    """The user's checks: the most serious advice first if it calls for a doctor, then each check that could be
    assessed (newest first) with its result and advice, then how many photos could not be assessed."""
    if not history.entries:
        if history.unassessed:
            return plural(catalog, lang, "history.only_unassessed", history.unassessed)
        return catalog.text(lang, "history.empty")
    phrases = level_phrases(catalog, lang)
    lines = []
    serious = history.most_serious
    if serious is not None and serious.advice in ("urgent", "soon"):
        lines += [catalog.text(lang, "history.most_serious", date=format_datetime(catalog, lang, serious.created_at),
                               advice=phrases[serious.advice]), ""]
    lines.append(catalog.text(lang, "history.header"))
    for entry in history.entries:
        date = format_datetime(catalog, lang, entry.created_at)
        result = catalog.text(lang, f"result.risk.{entry.risk or 'medium'}")
        if entry.rash:
            lines.append(catalog.text(lang, "history.rash", date=date))
        elif entry.advice in phrases:
            lines.append(catalog.text(lang, "history.done", date=date, result=result, advice=phrases[entry.advice]))
        else:
            lines.append(catalog.text(lang, "history.unfinished", date=date, result=result))
    if history.unassessed:
        lines += ["", plural(catalog, lang, "history.unassessed", history.unassessed)]
    return "\n".join(lines)


def about_text(catalog: Catalog, lang: Language, model: ModelFacts) -> str:
    """The model's version, its test figures at the bot's cut-offs and its limitations, all in `lang`."""
    figures = model_facts.figures_text(catalog, lang, model.figures)
    metrics = (f"{catalog.text(lang, 'about.metrics_header')}\n\n{figures}" if figures
               else catalog.text(lang, "about.no_metrics"))
    limits = model.limitations_in(lang)
    limitations = bullets(catalog, lang, limits) if limits else catalog.text(lang, "about.no_limitations")
    return catalog.text(lang, "about.text", version=model.version, metrics=metrics, limitations=limitations)
