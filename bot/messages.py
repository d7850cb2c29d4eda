"""Message templates: every user-facing string lives in `messages/<lang>.yaml`; this module only looks them up.

Keys are dotted paths into the YAML (`photo.not_skin`); placeholders are `str.format` fields (`{risk}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from skinbot import resources
from skinbot.vocabulary import LANGUAGES as LANGUAGES  # re-exported: declared in the shared vocabulary
from skinbot.vocabulary import Language as Language

DEFAULT_MESSAGES_DIR = resources.messages_dir()


class MessagesError(ValueError):
    """A message file is missing or malformed, or a key does not exist."""


@dataclass(frozen=True)
class Catalog:
    """All templates of all languages, loaded once at start-up."""

    tables: dict[str, dict[str, Any]]

    def section(self, lang: Language, key: str) -> Any:
        """The raw value (text, list or mapping) at a dotted key."""
        node: Any = self.tables[lang]
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise MessagesError(f"messages/{lang}.yaml has no key '{key}'")
            node = node[part]
        return node

    def text(self, lang: Language, key: str, **params: Any) -> str:
        """The template at `key` in `lang`, with `params` filled in."""
        template = self.section(lang, key)
        if not isinstance(template, str):
            raise MessagesError(f"messages/{lang}.yaml: '{key}' is not a text")
        return template.format(**params) if params else template


def language_for(code: str | None) -> Language:
    """Korean for Telegram language codes starting with "ko", English otherwise."""
    return "ko" if code and code.lower().startswith("ko") else "en"


def load_catalog(directory: Path = DEFAULT_MESSAGES_DIR) -> Catalog:
    """Load `en.yaml` and `ko.yaml` from `directory`."""
    tables: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        path = directory / f"{lang}.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise MessagesError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise MessagesError(f"{path}: the top level must be a mapping")
        tables[lang] = data
    return Catalog(tables)
