"""Pure functions that compose the bot's longer replies from the message templates (no Telegram, no I/O)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.checklist import QUESTIONS
from bot.messages import Catalog, Language
from bot.policy import Advice, Reason
from bot.storage import HistoryEntry
from inference.assessment import Assessment
from inference.card import ModelCard

# Figures quoted by /about, in the order shown; rates are shown as percentages, the AUC as a decimal.
ABOUT_FIGURES: tuple[str, ...] = ("sensitivity", "specificity", "accuracy", "roc_auc")


def bullets(catalog: Catalog, lang: Language, lines: Iterable[str]) -> str:
    """Lines as a bulleted list."""
    return "\n".join(catalog.text(lang, "bullet", text=line) for line in lines)


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


def result_text(catalog: Catalog, lang: Language, assessment: Assessment) -> str:
    """The risk level in words, what it means, and the offer to answer the questions (status "ok")."""
    risk = assessment.risk or "medium"  # an "ok" result always has a risk; never present a missing one as low
    return catalog.text(
        lang,
        "result.text",
        risk_words=catalog.text(lang, f"result.risk.{risk}"),
        meaning=catalog.text(lang, f"result.meaning.{risk}"),
    )


def question_text(catalog: Catalog, lang: Language, position: int) -> str:
    """Question number `position` (0-based) with its progress line."""
    progress = catalog.text(lang, "checklist.progress", number=position + 1, total=len(QUESTIONS))
    text = catalog.text(lang, f"checklist.questions.{QUESTIONS[position].key}")
    return catalog.text(lang, "checklist.question", progress=progress, text=text)


def _reason_text(catalog: Catalog, lang: Language, reason: Reason, advice: Advice) -> str:
    params: dict[str, Any] = {"score": advice.score}
    if reason.feature:
        params["feature"] = catalog.text(lang, f"checklist.short.{reason.feature}")
    template = catalog.section(lang, f"advice.reasons.{reason.code}")
    return str(template).format(**params)


def advice_text(catalog: Catalog, lang: Language, advice: Advice) -> str:
    """The final advice: what to do, how soon, why, and the reminder offer."""
    reasons = bullets(catalog, lang, (_reason_text(catalog, lang, r, advice) for r in advice.reasons))
    return catalog.text(
        lang,
        "advice.text",
        title=catalog.text(lang, f"advice.title.{advice.level}"),
        body=catalog.text(lang, f"advice.body.{advice.level}"),
        reasons=reasons,
        footer=catalog.text(lang, "advice.footer"),
    )


def format_date(timestamp: float) -> str:
    """A Unix time as an ISO date (UTC), readable in both languages."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


def history_text(catalog: Catalog, lang: Language, entries: Sequence[HistoryEntry]) -> str:
    """The user's past checks, one line each: date, result, advice."""
    if not entries:
        return catalog.text(lang, "history.empty")
    lines = [catalog.text(lang, "history.header")]
    for entry in entries:
        if entry.status == "ok":
            result = catalog.text(lang, f"result.risk.{entry.risk or 'medium'}")
            advice = catalog.text(lang, f"history.advice.{entry.advice or 'none'}")
        else:
            result = catalog.text(lang, f"history.status.{entry.status}")
            advice = "–"
        lines.append(catalog.text(lang, "history.line", date=format_date(entry.created_at), result=result,
                                  advice=advice))
    return "\n".join(lines)


def about_text(catalog: Catalog, lang: Language, card: ModelCard, figures: Mapping[str, float]) -> str:
    """The model's version, its measured accuracy (`figures`, fractions) and its documented limitations."""
    shown = [name for name in ABOUT_FIGURES if name in figures]
    if shown:
        lines = [catalog.text(lang, "about.metrics_header")]
        for name in shown:
            value = f"{figures[name]:.2f}" if name == "roc_auc" else f"{figures[name]:.0%}"
            lines.append(catalog.text(lang, f"about.figures.{name}", value=value))
        metrics = "\n".join(lines)
    else:
        metrics = catalog.text(lang, "about.no_metrics")
    limitations = (
        bullets(catalog, lang, card.limitations) if card.limitations else catalog.text(lang, "about.no_limitations")
    )
    return catalog.text(lang, "about.text", version=card.version, metrics=metrics, limitations=limitations)
