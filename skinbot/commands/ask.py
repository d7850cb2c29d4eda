"""`skinbot ask`: answer a free-text question as the bot would, and show which intent it matched."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from skinbot.config import Config
from skinbot.vocabulary import ADVICE_LEVELS, LANGUAGES, RISK_LEVELS, has_hangul

if TYPE_CHECKING:
    from bot.messages import Language
    from bot.model_facts import ModelFacts


def register(subparsers: Any) -> None:
    """Add the `ask` subcommand."""
    parser = subparsers.add_parser("ask", help="answer a free-text question as the bot would")
    parser.add_argument("question", nargs="+", help="the question (quotes optional)")
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help="reply language (default: Korean for a question in Korean, else bot.default_language)")
    parser.add_argument("--json", action="store_true", help='print {"intent": ..., "reply": ...} as JSON')
    parser.add_argument("--risk", choices=RISK_LEVELS, default=None,
                        help="pretend the user's last photo had this risk")
    parser.add_argument("--advice", choices=ADVICE_LEVELS, default=None,
                        help="pretend the bot's last advice to the user was this")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    """Print the matched intent and the reply; exit code 2 if the message files are unusable."""
    from bot.messages import MessagesError, load_catalog
    from bot.nlu import AnswerContext, IntentIndex, answer

    question = " ".join(args.question)
    try:
        catalog = load_catalog()
        context = AnswerContext(last_risk=args.risk, last_advice=args.advice, model=_model_if_present(config))
        result = answer(question, args.lang or _language_of(question, config), context, catalog,
                        IntentIndex.from_catalog(catalog))
    except MessagesError as exc:
        print(f"skinbot ask: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"intent": result.intent, "reply": result.reply}, ensure_ascii=False))
    else:
        print(f"intent: {result.intent} (score {result.score:.2f})\n\n{result.reply}")
    return 0


def _language_of(question: str, config: Config) -> Language:
    """Korean when the question contains Hangul, else the bot's default language."""
    return "ko" if has_hangul(question) else config.bot.default_language


def _model_if_present(config: Config) -> ModelFacts | None:
    """The served model's facts for accuracy figures, if there is a readable card; `ask` works without it."""
    from bot.model_facts import ModelFacts
    from inference.card import ModelCardError, load_card

    path = config.models.card_path
    if not path.exists():
        return None
    try:
        return ModelFacts.from_card(load_card(path, verify=False))
    except ModelCardError as exc:
        print(f"skinbot ask: ignoring the model card: {exc}", file=sys.stderr)
        return None
