"""Free-text questions: route a question to an intent from the message files and reply from that intent's templates.

Matching needs no model download: TF-IDF over character 2-4-grams (robust to typos and to Korean endings, with no
morphological analyser) and over stemmed words; an intent's score is the similarity of its nearest example phrasing
plus a boost for each of its keywords in the question. Examples and keywords of every language are indexed together,
so a Korean question still matches when the user's language is English; the reply is always in the user's language.

The rooms: `text` (normalising, stemming, n-grams, keyword patterns), `shape` (checking the YAML's `intents`
section), `index` (the TF-IDF index and routing; built once per catalog by its owner, `bot.services.Services`, or
`skinbot ask`) and `replies` (choosing and filling an intent's reply template).
"""

from __future__ import annotations

from bot.nlu.index import IntentIndex
from bot.nlu.replies import Answer, AnswerContext, answer, render
from bot.nlu.shape import FALLBACK
from bot.nlu.text import normalise, stem

__all__ = ["FALLBACK", "Answer", "AnswerContext", "IntentIndex", "answer", "normalise", "render", "stem"]
