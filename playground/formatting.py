"""Telegram's `parse_mode="HTML"`: turn the bot's HTML into plain text plus message entities, as the server does.

Telegram refuses messages whose HTML it cannot parse (unknown tags, unbalanced tags, a bare `<`); the emulator
does the same, so a formatting bug shows up here instead of on a user's phone. Offsets are in UTF-16 code units.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

# Tag -> entity type, as listed in the Bot API's "HTML style" section.
_TAGS: dict[str, str] = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "code": "code", "pre": "pre",
    "a": "text_link", "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
}


# A "<" that does not open a tag: Python's parser would keep it as text, Telegram refuses it.
_STRAY_LT = re.compile(r"<(?!/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?>)")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message says why, in Telegram's words."""


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in a JSON value holds a lone UTF-16 surrogate ("\\ud800" in JSON): not Unicode
    text, so Telegram refuses it, and it cannot be written back out as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(item) for item in value)
    return False


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.length = 0
        self.open: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            raise EntityParseError(f"Unsupported start tag \"{tag}\"")
        extra: dict[str, Any] = {}
        if tag == "a":
            href = dict(attrs).get("href")
            if not href:
                raise EntityParseError("Can't find end of an a tag with empty href")
            extra["url"] = href
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            raise EntityParseError("Tag \"span\" must have class \"tg-spoiler\"")
        self.open.append((tag, self.length, extra))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise EntityParseError(f"Can't find end tag corresponding to start tag \"{tag}\"")
        _, start, extra = self.open.pop()
        if self.length > start:
            self.entities.append({"type": _TAGS[tag], "offset": start, "length": self.length - start, **extra})

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self.length += utf16_len(data)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities (sorted by offset) of Telegram-HTML `source`; raises EntityParseError."""
    stray = _STRAY_LT.search(source)
    if stray:
        raise EntityParseError(f"Unexpected end of name token at byte offset {len(source[: stray.start()].encode())}")
    parser = _Parser()
    parser.feed(source)
    parser.close()
    if parser.open:
        raise EntityParseError(f"Can't find end tag corresponding to start tag \"{parser.open[-1][0]}\"")
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.text), entities
