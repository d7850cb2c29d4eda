"""The shape of the message files' `intents` section: checked once, when the index is built, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass

from bot.messages import Catalog, Language, MessagesError

FALLBACK = "fallback"


def intent_table(catalog: Catalog, lang: Language) -> dict[str, IntentText]:
    """The intents of one language (every key of `intents` but the fallback text), checked for shape."""
    section = catalog.section(lang, "intents")
    if not isinstance(section, dict) or not isinstance(section.get(FALLBACK), str):
        raise MessagesError(f"messages/{lang}.yaml: 'intents' must be a mapping with a '{FALLBACK}' text")
    table: dict[str, IntentText] = {}
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
        table[str(name)] = IntentText(examples, keywords)
    return table


@dataclass(frozen=True)
class IntentText:
    # Texts rather than lists in the YAML, so that both languages have the same keys whatever their number.
    examples: tuple[str, ...]
    keywords: tuple[str, ...]
