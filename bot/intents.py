"""Free-text questions: route a question to an intent from the message files and reply from that intent's templates.

Matching needs no model download: TF-IDF over character 2-4-grams (robust to typos and to Korean endings, with no
morphological analyser) and over stemmed words; an intent's score is the similarity of its nearest example phrasing
plus a boost for each of its keywords in the question. Examples and keywords of every language are indexed together,
so a Korean question still matches when the user's language is English; the reply is always in the user's language.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args

from bot import model_facts
from bot.messages import LANGUAGES, Catalog, Language, MessagesError
from bot.policy import ADVICE_LEVELS
from bot.render import level_phrases
from inference.assessment import Risk
from inference.card import ModelCard
from skinbot.vocabulary import has_hangul

FALLBACK = "fallback"
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
NGRAM_SIZES = (2, 3, 4)
MAX_QUESTION_CHARS = 500  # real questions are short; this bounds the work on a pasted novel

# Korean particles and copula endings stripped from the end of a word ("흑색종이" -> "흑색종"), longest first.
_KO_SUFFIXES = tuple(
    sorted(
        {
            "이에요", "예요", "인가요", "인데요", "이라는", "라는", "이란", "이랑", "랑", "에서는", "에서", "에게는",
            "에게", "에는", "으로는", "으로", "로는", "로", "한테", "까지", "부터", "처럼", "보다", "은", "는", "이",
            "가", "을", "를", "에", "의", "도", "만", "요", "나요", "까요", "가요", "죠",
        },
        key=len,
        reverse=True,
    )
)
_EN_SUFFIXES = ("ing", "ed", "s")


@dataclass(frozen=True)
class AnswerContext:
    """What the bot knows about the user when they ask: their last result and advice, and the model card."""

    last_risk: Risk | None = None
    last_advice: str | None = None  # "urgent" | "soon" | "monitor" from the bot's policy (bot.policy.ADVICE_LEVELS)
    card: ModelCard | None = None


@dataclass(frozen=True)
class Answer:
    """The matched intent, the reply to send, and the match score (similarity 0..1 plus keyword boosts)."""

    intent: str  # "fallback" when nothing matched well enough
    reply: str
    score: float


def normalise(text: str) -> str:
    """Compatibility-folded, case-folded words separated by single spaces; everything but letters and digits dropped."""
    folded = unicodedata.normalize("NFKC", text[: MAX_QUESTION_CHARS * 4]).casefold()
    spaced = "".join(ch if ch.isalnum() else " " for ch in folded)
    return " ".join(spaced.split())[:MAX_QUESTION_CHARS]


def stem(word: str) -> str:
    """A word without its ending: Korean particles and copulas ("흑색종이" -> "흑색종"), English -s/-ed/-ing."""
    if has_hangul(word):
        for suffix in _KO_SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix):
                return word[: -len(suffix)]
        return word
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _features(text: str) -> tuple[Counter[str], Counter[str]]:
    """Character n-grams (within words, with boundary marks) and words of a text."""
    words = [stem(w) for w in normalise(text).split()]
    grams: Counter[str] = Counter()
    for word in words:
        padded = f"<{word}>"
        for n in NGRAM_SIZES:
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams, Counter(words)


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
            table = _intent_table(catalog, lang)
            if names is not None and set(table) != set(names):
                raise MessagesError(f"messages/{lang}.yaml: intents differ from messages/{LANGUAGES[0]}.yaml")
            names = tuple(table)
            for name, texts in table.items():
                phrasings.extend((name, text) for text in texts.examples)
                keywords.setdefault(name, []).extend(_keyword_pattern(k) for k in texts.keywords)
        features = [_features(text) for _, text in phrasings]
        # Document frequency counts intents, not phrasings: a feature shared by many intents ("어떻게", "what")
        # says little about which one is meant, however often one intent repeats it.
        per_intent: dict[str, tuple[Counter[str], Counter[str]]] = {}
        for (name, _), (g, w) in zip(phrasings, features, strict=True):
            grams, words = per_intent.setdefault(name, (Counter(), Counter()))
            grams.update(g)
            words.update(w)
        gram_idf = _Idf.fit([g for g, _ in per_intent.values()])
        word_idf = _Idf.fit([w for _, w in per_intent.values()])
        examples = tuple(
            _Example(name, gram_idf.vector(g), word_idf.vector(w))
            for (name, _), (g, w) in zip(phrasings, features, strict=True)
        )
        texts_by_intent: dict[str, str] = {}
        for name, text in phrasings:
            texts_by_intent[name] = texts_by_intent.get(name, "") + "\n" + _decomposed(normalise(text))
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
        grams, words = _features(question)
        q_grams, q_words = self.gram_idf.vector(grams), self.word_idf.vector(words)
        similarity = dict.fromkeys(self.intents, 0.0)
        if q_grams:
            for ex in self.examples:
                sim = CHAR_WEIGHT * _cosine(q_grams, ex.grams) + (1 - CHAR_WEIGHT) * _cosine(q_words, ex.words)
                similarity[ex.intent] = max(similarity[ex.intent], sim)
        text = _decomposed(normalise(question))
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


def _decomposed(text: str) -> str:
    """Hangul syllables split into letters, so that the keyword "고마" matches "고맙습니다" and "반가" "반갑게"."""
    return unicodedata.normalize("NFD", text)


def _intent_table(catalog: Catalog, lang: Language) -> dict[str, _IntentText]:
    """The intents of one language (every key of `intents` but the fallback text), checked for shape."""
    section = catalog.section(lang, "intents")
    if not isinstance(section, dict) or not isinstance(section.get(FALLBACK), str):
        raise MessagesError(f"messages/{lang}.yaml: 'intents' must be a mapping with a '{FALLBACK}' text")
    table: dict[str, _IntentText] = {}
    for name, node in section.items():
        if name == FALLBACK:
            continue
        if (
            not isinstance(node, dict)
            or not isinstance(node.get("examples"), str)
            or not isinstance(node.get("keywords", ""), str)
            or not isinstance(node.get("reply"), str)
        ):
            raise MessagesError(
                f"messages/{lang}.yaml: intent '{name}' needs 'examples' (a text, one per line), a 'reply' text "
                "and optionally 'keywords' (a text, comma-separated)"
            )
        examples = tuple(line.strip() for line in node["examples"].splitlines() if line.strip())
        keywords = tuple(k.strip() for k in node.get("keywords", "").split(",") if k.strip())
        if not examples:
            raise MessagesError(f"messages/{lang}.yaml: intent '{name}' has no examples")
        table[str(name)] = _IntentText(examples, keywords)
    return table


@dataclass(frozen=True)
class _IntentText:
    # Texts rather than lists in the YAML, so that both languages have the same keys whatever their number.
    examples: tuple[str, ...]
    keywords: tuple[str, ...]


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Latin keywords match whole words, with or without an English ending (-s, -ed, -ing) or a Korean particle
    ("melanoma가"); Korean ones the start of a word (whatever particle or ending follows)."""
    # Words of a several-word keyword may have one extra word between them: "is this cancer" ~ "is this skin cancer".
    text = r"(?:\s+\S+)?\s+".join(re.escape(w) for w in _decomposed(normalise(keyword)).split())
    if has_hangul(keyword):
        return re.compile(rf"(?<!\w){text}")
    return re.compile(rf"(?<!\w){text}(?:s|es|d|ed|ing)?(?![^\W\u1100-\u11ff])")  # Hangul letters may follow


class _ByIdentity:
    """A catalog as a cache key: catalogs hold dicts, so they are not hashable themselves."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __hash__(self) -> int:
        return id(self.catalog)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByIdentity) and other.catalog is self.catalog


@functools.lru_cache(maxsize=4)
def _index_for(key: _ByIdentity) -> IntentIndex:
    # The cache keeps the catalog alive, so its id cannot be reused by another catalog while cached.
    return IntentIndex.from_catalog(key.catalog)


def index_for(catalog: Catalog) -> IntentIndex:
    """The intent index of a catalog, built on first use and cached."""
    return _index_for(_ByIdentity(catalog))


def _named_level(catalog: Catalog, intent: str, question: str) -> Risk | None:
    """The one risk level a question names through the intent's `level_words` in any language ("what does medium
    risk mean?"), if it names exactly one."""
    text = _decomposed(normalise(question))
    named: set[str] = set()
    for lang in LANGUAGES:
        words = catalog.section(lang, f"intents.{intent}").get("level_words")
        if not isinstance(words, Mapping):
            continue
        named.update(
            level for level in get_args(Risk)
            if any(_keyword_pattern(w).search(text) for w in str(words.get(level, "")).split(",") if w.strip())
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
    if context.card is not None and "reply_with_numbers" in node:
        figures = model_facts.figures_text(catalog, lang, context.card.metrics)
        if figures:
            return str(node["reply_with_numbers"]), {"version": context.card.version, "figures": figures}
    return str(node["reply"]), {}


def render(intent: str, lang: Language, context: AnswerContext, catalog: Catalog, question: str = "") -> str:
    """The reply of an intent in `lang`, using the most specific template the context (and the question) allows;
    timing words come from the advice levels (`advice.level.*`), the same the advice policy uses."""
    if intent == FALLBACK:
        return catalog.text(lang, f"intents.{FALLBACK}")
    template, params = _template(intent, lang, context, catalog, question)
    return template.format(**level_phrases(catalog, lang), **params)


def answer(question: str, lang: Language, context: AnswerContext, catalog: Catalog) -> Answer:
    """Answer a free-text question in `lang`; unknown or garbled questions get the fallback reply.

    Never raises on any text; raises MessagesError only if the catalog's `intents` section is malformed.
    """
    intent, score = index_for(catalog).route(question)
    return Answer(intent=intent, reply=render(intent, lang, context, catalog, question), score=round(score, 4))

