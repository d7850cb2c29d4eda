"""Replies to intents: the most specific template of an intent that the user's context allows, filled in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args

from bot import model_facts
from bot.messages import LANGUAGES, Catalog, Language
from bot.model_facts import ModelFacts
from bot.nlu.index import IntentIndex
from bot.nlu.shape import FALLBACK
from bot.nlu.text import decomposed, keyword_pattern, normalise
from bot.policy import ADVICE_LEVELS
from bot.render import level_phrases
from inference.assessment import Risk


@dataclass(frozen=True)
class AnswerContext:
    """What the bot knows about the user when they ask: their last result and advice, and the served model."""

    last_risk: Risk | None = None
    last_advice: str | None = None  # "urgent" | "soon" | "monitor" from the bot's policy (bot.policy.ADVICE_LEVELS)
    model: ModelFacts | None = None


@dataclass(frozen=True)
class Answer:
    """The matched intent, the reply to send, and the match score (similarity 0..1 plus keyword boosts)."""

    intent: str  # "fallback" when nothing matched well enough
    reply: str
    score: float



def _named_level(catalog: Catalog, intent: str, question: str) -> Risk | None:
    """The one risk level a question names through the intent's `level_words` in any language ("what does medium
    risk mean?"), if it names exactly one."""
    text = decomposed(normalise(question))
    named: set[str] = set()
    for lang in LANGUAGES:
        words = catalog.section(lang, f"intents.{intent}").get("level_words")
        if not isinstance(words, Mapping):
            continue
        named.update(
            level for level in get_args(Risk)
            if any(keyword_pattern(w).search(text) for w in str(words.get(level, "")).split(",") if w.strip())
        )
    return cast(Risk, named.pop()) if len(named) == 1 else None


def _template(
    intent: str, lang: Language, context: AnswerContext, catalog: Catalog, question: str
) -> tuple[str, dict[str, str]]:
    """The most specific reply template of an intent that the context allows, and its own placeholder values."""
    node: dict[str, Any] = catalog.section(lang, f"intents.{intent}")
    by_advice = node.get("reply_with_advice")
    if context.last_advice in ADVICE_LEVELS and isinstance(by_advice, dict) and context.last_advice in by_advice:
        return str(by_advice[context.last_advice]), {}
    named = _named_level(catalog, intent, question)
    by_level = node.get("reply_for_level")
    if named is not None and named != context.last_risk and isinstance(by_level, dict) and named in by_level:
        return str(by_level[named]), {}  # a question about a level, not about the user's own result
    by_risk = node.get("reply_with_result")
    if context.last_risk in get_args(Risk) and isinstance(by_risk, dict) and context.last_risk in by_risk:
        return str(by_risk[context.last_risk]), {}
    if context.model is not None and "reply_with_numbers" in node:
        figures = model_facts.figures_text(catalog, lang, context.model.figures)
        if figures:
            return str(node["reply_with_numbers"]), {"version": context.model.version, "figures": figures}
    return str(node["reply"]), {}


def render(intent: str, lang: Language, context: AnswerContext, catalog: Catalog, question: str = "") -> str:
    """The reply of an intent in `lang`, using the most specific template the context (and the question) allows;
    timing words come from the advice levels (`advice.level.*`), the same the advice policy uses."""
    if intent == FALLBACK:
        return catalog.text(lang, f"intents.{FALLBACK}")
    template, params = _template(intent, lang, context, catalog, question)
    return template.format(**level_phrases(catalog, lang), **params)


def answer(question: str, lang: Language, context: AnswerContext, catalog: Catalog, index: IntentIndex) -> Answer:
    """Answer a free-text question in `lang`, routed by `index` (built from `catalog`, once, by the caller: see
    `bot.services.Services.intents`); unknown or garbled questions get the fallback reply.

    Never raises on any text.
    """
    intent, score = index.route(question)
    return Answer(intent=intent, reply=render(intent, lang, context, catalog, question), score=round(score, 4))
