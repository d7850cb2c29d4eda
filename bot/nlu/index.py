"""The TF-IDF index of every intent's example phrasings and keywords, in all languages, and routing a question."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from bot.messages import LANGUAGES, Catalog, MessagesError
from bot.nlu.shape import FALLBACK, intent_table
from bot.nlu.text import decomposed, features, keyword_pattern, normalise

# Thresholds and weights: chosen on leave-one-out routing of the examples and on lists of off-topic questions.
MIN_SCORE = 0.3  # below this an intent is a guess: the fallback reply is more useful than a wrong answer
MIN_SIMILARITY = 0.4  # the bar for an intent none of whose keywords is in the question
CHAR_WEIGHT = 0.6  # character n-grams carry typos and Korean endings; words carry exact terms
KEYWORD_BOOST = 0.3
MULTIWORD_KEYWORD_BOOST = 0.4  # a keyword of several words ("asian skin") is more specific than one word
MAX_KEYWORD_BOOST = 0.6
# A keyword in the examples of n intents boosts by n ** -SPREAD_EXPONENT of its weight ("melanoma" is in many
# intents' examples, "contagious" in one). On the held-out list 0 and 0.25 tie; larger exponents are worse.
SPREAD_EXPONENT = 0.25

Vector = dict[str, float]


@dataclass(frozen=True)
class _Idf:
    """Inverse document frequencies of one feature kind over all example phrasings."""

    weights: Mapping[str, float]
    unseen: float  # weight of a feature no example has: rare, so it counts against similarity at full weight

    @classmethod
    def fit(cls, documents: list[Counter[str]]) -> _Idf:
        frequency: Counter[str] = Counter()
        for doc in documents:
            frequency.update(doc.keys())
        n = len(documents)
        return cls({f: math.log((1 + n) / (1 + df)) + 1 for f, df in frequency.items()}, math.log(1 + n) + 1)

    def vector(self, counts: Counter[str]) -> Vector:
        """Sublinear TF-IDF, L2-normalised."""
        raw = {f: (1 + math.log(c)) * self.weights.get(f, self.unseen) for f, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in raw.values()))
        return {f: v / norm for f, v in raw.items()} if norm else {}


def _cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(f, 0.0) for f, v in a.items())


@dataclass(frozen=True)
class _Example:
    intent: str
    grams: Vector
    words: Vector


@dataclass(frozen=True)
class IntentIndex:
    """Every intent's example phrasings and keywords, in all languages, ready for matching."""

    intents: tuple[str, ...]
    examples: tuple[_Example, ...]
    keywords: Mapping[str, tuple[re.Pattern[str], ...]]
    gram_idf: _Idf
    word_idf: _Idf
    keyword_spread: Mapping[str, int]  # keyword pattern -> how many intents' examples contain it

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> IntentIndex:
        """Index the `intents` section of every language; raises MessagesError if it is malformed."""
        phrasings: list[tuple[str, str]] = []
        keywords: dict[str, list[re.Pattern[str]]] = {}
        names: tuple[str, ...] | None = None
        for lang in LANGUAGES:
            table = intent_table(catalog, lang)
            if names is not None and set(table) != set(names):
                raise MessagesError(f"messages/{lang}.yaml: intents differ from messages/{LANGUAGES[0]}.yaml")
            names = tuple(table)
            for name, texts in table.items():
                phrasings.extend((name, text) for text in texts.examples)
                keywords.setdefault(name, []).extend(keyword_pattern(k) for k in texts.keywords)
        featured = [features(text) for _, text in phrasings]
        # Document frequency counts intents, not phrasings: a feature shared by many intents ("어떻게", "what")
        # says little about which one is meant, however often one intent repeats it.
        per_intent: dict[str, tuple[Counter[str], Counter[str]]] = {}
        for (name, _), (g, w) in zip(phrasings, featured, strict=True):
            grams, words = per_intent.setdefault(name, (Counter(), Counter()))
            grams.update(g)
            words.update(w)
        gram_idf = _Idf.fit([g for g, _ in per_intent.values()])
        word_idf = _Idf.fit([w for _, w in per_intent.values()])
        examples = tuple(
            _Example(name, gram_idf.vector(g), word_idf.vector(w))
            for (name, _), (g, w) in zip(phrasings, featured, strict=True)
        )
        texts_by_intent: dict[str, str] = {}
        for name, text in phrasings:
            texts_by_intent[name] = texts_by_intent.get(name, "") + "\n" + decomposed(normalise(text))
        spread = {
            pattern.pattern: sum(1 for text in texts_by_intent.values() if pattern.search(text))
            for patterns in keywords.values() for pattern in patterns
        }
        return cls(names or (), examples, {k: tuple(v) for k, v in keywords.items()}, gram_idf, word_idf, spread)

    def route(self, question: str) -> tuple[str, float]:
        """The best trusted intent and its score, or ("fallback", best score) when no intent is trusted.

        An intent is trusted when it scores at least MIN_SCORE and either has a keyword in the question or a close
        example (MIN_SIMILARITY): sentence frames such as "can you recommend ..." alone would otherwise route
        off-topic requests to some intent.
        """
        matches = self._matches(question)
        trusted = {
            name: m.score
            for name, m in matches.items()
            if m.score >= MIN_SCORE and (m.boost > 0 or m.similarity >= MIN_SIMILARITY)
        }
        if not trusted:
            return FALLBACK, max((m.score for m in matches.values()), default=0.0)
        name = max(trusted, key=lambda k: trusted[k])
        return name, trusted[name]

    def _matches(self, question: str) -> dict[str, _Match]:
        """Each intent's similarity (to its nearest example) and keyword boost for a question."""
        grams, words = features(question)
        q_grams, q_words = self.gram_idf.vector(grams), self.word_idf.vector(words)
        similarity = dict.fromkeys(self.intents, 0.0)
        if q_grams:
            for ex in self.examples:
                sim = CHAR_WEIGHT * _cosine(q_grams, ex.grams) + (1 - CHAR_WEIGHT) * _cosine(q_words, ex.words)
                similarity[ex.intent] = max(similarity[ex.intent], sim)
        text = decomposed(normalise(question))
        return {name: _Match(sim, self._boost(name, text)) for name, sim in similarity.items()}

    def _boost(self, intent: str, text: str) -> float:
        # One stretch of text matched by two forms of a keyword ("kid" + "s", "kids") counts once.
        hits: dict[tuple[int, int], float] = {}
        for pattern in self.keywords.get(intent, ()):
            if found := pattern.search(text):
                weight = MULTIWORD_KEYWORD_BOOST if r"\s+" in pattern.pattern else KEYWORD_BOOST
                weight *= _spread_factor(self.keyword_spread.get(pattern.pattern, 1))
                hits[found.span()] = max(hits.get(found.span(), 0.0), weight)
        return min(sum(hits.values()), MAX_KEYWORD_BOOST)


def _spread_factor(spread: int) -> float:
    """A keyword found in the examples of several intents says less about which one is meant."""
    return float(max(spread, 1) ** -SPREAD_EXPONENT)


@dataclass(frozen=True)
class _Match:
    similarity: float  # to the intent's nearest example phrasing, 0..1
    boost: float  # from the intent's keywords found in the question

    @property
    def score(self) -> float:
        return self.similarity + self.boost
