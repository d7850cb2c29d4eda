"""Text as the intent matcher sees it: folded and normalised, stemmed, split into character n-grams and words."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from skinbot.vocabulary import has_hangul

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


def features(text: str) -> tuple[Counter[str], Counter[str]]:
    """Character n-grams (within words, with boundary marks) and words of a text."""
    words = [stem(w) for w in normalise(text).split()]
    grams: Counter[str] = Counter()
    for word in words:
        padded = f"<{word}>"
        for n in NGRAM_SIZES:
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams, Counter(words)



def decomposed(text: str) -> str:
    """Hangul syllables split into letters, so that the keyword "고마" matches "고맙습니다" and "반가" "반갑게"."""
    return unicodedata.normalize("NFD", text)



def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Latin keywords match whole words, with or without an English ending (-s, -ed, -ing) or a Korean particle
    ("melanoma가"); Korean ones the start of a word (whatever particle or ending follows)."""
    # Words of a several-word keyword may have one extra word between them: "is this cancer" ~ "is this skin cancer".
    text = r"(?:\s+\S+)?\s+".join(re.escape(w) for w in decomposed(normalise(keyword)).split())
    if has_hangul(keyword):
        return re.compile(rf"(?<!\w){text}")
    return re.compile(rf"(?<!\w){text}(?:s|es|d|ed|ing)?(?![^\W\u1100-\u11ff])")  # Hangul letters may follow
