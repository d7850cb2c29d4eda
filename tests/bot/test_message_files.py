import re
import string
from pathlib import Path

import yaml

from bot.messages import DEFAULT_MESSAGES_DIR, load_catalog


def flatten(node, prefix=""):
    """Dotted key -> leaf value, over the whole file (lists are indexed)."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = ((str(i), v) for i, v in enumerate(node))
    else:
        return {prefix: node}
    out = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def load(lang):
    return flatten(yaml.safe_load((DEFAULT_MESSAGES_DIR / f"{lang}.yaml").read_text(encoding="utf-8")))


def test_both_files_have_the_same_keys():
    en, ko = load("en"), load("ko")
    assert sorted(set(en) - set(ko)) == []
    assert sorted(set(ko) - set(en)) == []


def test_same_placeholders_in_every_text():
    en, ko = load("en"), load("ko")
    mismatched = {
        key: (placeholders(en[key]), placeholders(ko[key]))
        for key in en
        if isinstance(en[key], str) and isinstance(ko.get(key), str) and placeholders(en[key]) != placeholders(ko[key])
    }
    assert mismatched == {}


def test_every_text_is_non_empty_and_a_string():
    for lang in ("en", "ko"):
        for key, value in load(lang).items():
            assert isinstance(value, str) and value.strip(), f"{lang}: {key}"


def test_korean_texts_are_korean():
    ko = load("ko")
    hangul = [k for k, v in ko.items() if any("가" <= ch <= "힣" for ch in v)]
    # Only names of languages and other non-translatable labels may be without Hangul.
    assert len(hangul) / len(ko) > 0.9


def test_catalog_loads_the_repository_files():
    catalog = load_catalog()
    assert "skinbot" in catalog.text("en", "start.text")
    assert Path(DEFAULT_MESSAGES_DIR / "ko.yaml").is_file()


# A Korean particle is written right after its word, also after a command, a number or a Latin word ("/forget으로",
# "7mm보다", "BCC는"): a space before it is a typo. Listed particles cannot start a Korean word of their own here.
PARTICLES = "으로|로|을|를|은|는|이에요|예요|에서|에게|에|의|과|와|도|만"
PARTICLE_AFTER_SPACE = re.compile(rf"[A-Za-z0-9)/%]\s+(?:{PARTICLES})(?=[\s.,!?)]|$)")


def test_korean_particles_follow_their_word_without_a_space():
    ko = load("ko")
    assert {key: text for key, text in ko.items() if PARTICLE_AFTER_SPACE.search(text)} == {}


def test_korean_uses_one_term_for_seeing_a_dermatologist():
    # 피부과 진료 (the visit) and 피부과 전문의 (the doctor); not "병원에 가 보세요" or "피부 검진" for the same advice.
    # Examples and keywords are how users may write, so they are left out.
    said = {key: text for key, text in load("ko").items() if not key.endswith((".examples", ".keywords"))}
    assert {key: text for key, text in said.items() if re.search(r"병원에 가 보세요|피부 검진|피부 진료", text)} == {}


def test_korean_never_writes_a_lump_with_a_topic_particle():
    # "혹은" reads as "or": a lump (혹) takes another ending ("혹이라면", "혹을"), or the sentence is rewritten.
    said = {key: text for key, text in load("ko").items() if not key.endswith((".examples", ".keywords"))}
    assert {key: text for key, text in said.items() if "혹은" in text} == {}
