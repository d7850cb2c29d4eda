import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.intents import (
    FALLBACK,
    AnswerContext,
    IntentIndex,
    accuracy_figures,
    answer,
    index_for,
    normalise,
    render,
    stem,
)
from bot.messages import LANGUAGES, Catalog, Language, MessagesError, load_catalog
from inference.card import ModelCard, RiskCalibration

PARAPHRASES = Path(__file__).resolve().parent.parent / "fixtures" / "paraphrases"
# Written by a separate evaluator without seeing the intent examples or keywords, and never tuned on.
BLIND_PARAPHRASES = PARAPHRASES.parent / "paraphrases_fresh"
REQUIRED_INTENTS = {
    "risk_meaning", "is_it_cancer", "melanoma", "bcc", "scc", "accuracy", "what_now", "photo_tips", "abcde",
    "sun_protection", "find_dermatologist", "privacy", "delete_data", "check_another",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def paraphrases(lang: Language, folder: Path = PARAPHRASES) -> dict[str, list[str]]:
    data: dict[str, list[str]] = yaml.safe_load((folder / f"{lang}.yaml").read_text(encoding="utf-8"))
    return data


def intent_node(catalog: Catalog, lang: Language, intent: str) -> dict[str, Any]:
    node: dict[str, Any] = catalog.section(lang, f"intents.{intent}")
    return node


def card_with(metrics: dict[str, Any]) -> ModelCard:
    return ModelCard(
        version="2026.11.23", backbone="efficientnet_lite0", input_size=224, files=(), lesion_types=("rash",),
        gate_temperature=1.0, gate_threshold=0.5, rash_threshold=0.5,
        lesion_calibration={m: RiskCalibration(1.0, 0.2, 0.7) for m in ("dermoscopic", "clinical")},
        directory=Path("."), metrics=metrics,
    )


# --- routing -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("folder", [PARAPHRASES, BLIND_PARAPHRASES], ids=["held_out", "blind"])
def test_held_out_paraphrases_route_to_the_right_intent(catalog, lang, folder):
    index = index_for(catalog)
    questions = [(intent, q) for intent, qs in paraphrases(lang, folder).items() for q in qs]
    wrong = [(intent, q, index.route(q)) for intent, q in questions if index.route(q)[0] != intent]
    accuracy = 1 - len(wrong) / len(questions)
    print(f"\n{lang}: routing accuracy {accuracy:.3f} on {len(questions)} held-out questions; misrouted:")
    for intent, q, (got, score) in wrong:
        print(f"  {intent:>18} <- {q!r}: got {got} ({score:.2f})")
    assert accuracy >= 0.90


@pytest.mark.parametrize("lang", LANGUAGES)
def test_paraphrase_lists_cover_every_intent_and_are_not_copies_of_the_examples(catalog, lang):
    held_out = paraphrases(lang)
    intents = set(index_for(catalog).intents)
    assert intents >= REQUIRED_INTENTS
    assert set(held_out) == intents | {FALLBACK}
    assert all(len(qs) >= 5 for qs in held_out.values())
    examples = {
        normalise(e)
        for other in LANGUAGES
        for i in intents
        for e in intent_node(catalog, other, i)["examples"].splitlines()
    }
    copies = [q for qs in held_out.values() for q in qs if normalise(q) in examples]
    assert copies == []


@pytest.mark.parametrize(
    "question, lang, intent",
    [
        ("BCC가 뭐예요", "ko", "bcc"),
        ("SCC 위험해요?", "ko", "scc"),
        ("흑색종이 뭐예요?", "en", "melanoma"),  # a Korean question from a user whose language is English
        ("what is melanoma", "ko", "melanoma"),
        ("what does high risk mean", "en", "risk_meaning"),  # "hi" inside "high" must not make it a greeting
        ("고맙습니다", "ko", "thanks"),  # keyword "고마" matches the conjugated "고맙"
        ("is this skin cancer", "en", "is_it_cancer"),  # several-word keyword with one extra word inside
        ("much appreciated", "en", "thanks"),  # keyword "appreciate" with an English ending
        # the nearest example (melanoma) is not close enough to trust; the intent with a keyword ("어떤 의사") is
        ("피부암은 어떤 의사가 치료해요", "ko", "find_dermatologist"),
    ],
)
def test_questions_route_across_languages_spelling_and_inflection(catalog, question, lang, intent):
    result = answer(question, lang, AnswerContext(), catalog)
    assert result.intent == intent
    assert result.reply == intent_node(catalog, lang, intent)["reply"]


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   \n\t ",
        "🙂🙂🙂👍",
        "\x00\x07\x1b[31m\x7f",
        "asdf qwer zxcv",
        "x" * 10_000,
        "ㅋ" * 10_000,
        "".join(chr(0x4E00 + i % 500) for i in range(10_000)),
        "what's the weather tomorrow",
        "내일 날씨 어때요?",
    ],
)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_nonsense_and_off_topic_get_the_fallback(catalog, garbage, lang):
    started = time.perf_counter()
    result = answer(garbage, lang, AnswerContext(), catalog)
    assert time.perf_counter() - started < 1.0
    assert result.intent == FALLBACK
    assert result.reply == catalog.text(lang, "intents.fallback")


def test_a_long_question_is_still_answered(catalog):
    rambling = "I have had this mole for years and recently I noticed it. " * 3 + "Is it melanoma? What is melanoma?"
    assert answer(rambling, "en", AnswerContext(), catalog).intent == "melanoma"


# --- replies from context ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("risk", ["low", "medium", "high"])
def test_risk_meaning_explains_the_users_own_last_result(catalog, lang, risk):
    question = {"en": "what does my result mean", "ko": "제 결과는 무슨 뜻이에요?"}[lang]
    general = answer(question, lang, AnswerContext(), catalog)
    own = answer(question, lang, AnswerContext(last_risk=risk), catalog)
    assert general.intent == own.intent == "risk_meaning"
    assert own.reply == intent_node(catalog, lang, "risk_meaning")["reply_with_result"][risk]
    assert own.reply != general.reply


@pytest.mark.parametrize("lang", LANGUAGES)
def test_what_now_follows_the_last_advice_before_the_last_risk(catalog, lang):
    question = {"en": "what should I do now?", "ko": "이제 뭘 해야 해요?"}[lang]
    node = intent_node(catalog, lang, "what_now")
    assert answer(question, lang, AnswerContext(), catalog).reply == node["reply"]
    assert answer(question, lang, AnswerContext(last_risk="high"), catalog).reply == node["reply_with_result"]["high"]
    for advice in ("urgent", "soon", "monitor"):
        reply = answer(question, lang, AnswerContext(last_risk="low", last_advice=advice), catalog).reply
        assert reply == node["reply_with_advice"][advice]
    unknown = answer(question, lang, AnswerContext(last_advice="whatever"), catalog)
    assert unknown.reply == node["reply"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("risk", [None, "low", "medium", "high"])
def test_is_it_cancer_never_answers_yes_or_no(catalog, lang, risk):
    question = {"en": "is it cancer?", "ko": "암이에요?"}[lang]
    result = answer(question, lang, AnswerContext(last_risk=risk), catalog)
    assert result.intent == "is_it_cancer"
    cannot_tell = {"en": "can't tell", "ko": "알 수 없어요"}[lang]
    assert cannot_tell in result.reply
    assert not result.reply.lower().startswith(("yes", "no", "네", "아니"))
    assert ("doctor" if lang == "en" else "진료") in result.reply


METRICS = {"lesion": {"kaggle_test": {"accuracy": 0.873, "sensitivity_refer": 0.951, "specificity_refer": 0.62,
                                      "roc_auc": 0.934}}}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_accuracy_quotes_the_model_card(catalog, lang):
    question = {"en": "how accurate are you?", "ko": "얼마나 정확해요?"}[lang]
    result = answer(question, lang, AnswerContext(card=card_with(METRICS)), catalog)
    assert result.intent == "accuracy"
    for figure in ("87%", "95%", "62%", "0.93", "2026.11.23"):
        assert figure in result.reply
    assert "{" not in result.reply


@pytest.mark.parametrize("lang", LANGUAGES)
def test_accuracy_with_some_or_no_figures(catalog, lang):
    question = {"en": "how accurate are you?", "ko": "얼마나 정확해요?"}[lang]
    partial = card_with({"lesion": {"kaggle_test": {"sensitivity_refer": 0.9, "roc_auc": "n/a"}}})
    reply = answer(question, lang, AnswerContext(card=partial), catalog).reply
    assert "90%" in reply and "n/a" not in reply
    assert reply.count("\n•") == 1
    for context in (AnswerContext(), AnswerContext(card=card_with({})), AnswerContext(card=card_with({"lesion": 3}))):
        assert answer(question, lang, context, catalog).reply == intent_node(catalog, lang, "accuracy")["reply"]


def test_accuracy_figures_reads_only_valid_fractions():
    assert accuracy_figures(METRICS) == {"sensitivity": 0.951, "specificity": 0.62, "accuracy": 0.873, "roc_auc": 0.934}
    odd = {"lesion": {"kaggle_test": {"accuracy": True, "sensitivity_refer": 1.7, "specificity_refer": None,
                                      "roc_auc": 1}}}
    assert accuracy_figures(odd) == {"roc_auc": 1.0}
    assert accuracy_figures({}) == {}
    assert accuracy_figures({"lesion": {"kaggle_test": []}}) == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_reply_renders_fully_in_every_context(catalog, lang):
    contexts = [AnswerContext(), AnswerContext(card=card_with(METRICS))] + [
        AnswerContext(last_risk=r, last_advice=a)
        for r in ("low", "medium", "high")
        for a in (None, "urgent", "soon", "monitor")
    ]
    for intent in (*index_for(catalog).intents, FALLBACK):
        for context in contexts:
            reply = render(intent, lang, context, catalog)
            assert reply.strip() and "{" not in reply and "}" not in reply, (intent, context)


# --- index -------------------------------------------------------------------------------------------------------


def test_index_is_built_once_per_catalog(catalog):
    assert index_for(catalog) is index_for(catalog)
    other = Catalog(copy.deepcopy(catalog.tables))
    assert index_for(other) is not index_for(catalog)


def test_examples_shape_the_routing(catalog):
    tables = copy.deepcopy(catalog.tables)
    for lang in LANGUAGES:
        tables[lang]["intents"]["photo_tips"]["examples"] += "\npurple elephant parade"
    assert answer("purple elephant parade", "en", AnswerContext(), catalog).intent == FALLBACK
    assert answer("purple elephant parade", "en", AnswerContext(), Catalog(tables)).intent == "photo_tips"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t["ko"].pop("intents"), "no key 'intents'"),
        (lambda t: t["en"]["intents"].pop("fallback"), "fallback"),
        (lambda t: t["en"]["intents"]["bcc"].pop("examples"), "intent 'bcc' needs"),
        (lambda t: t["en"]["intents"]["bcc"].update(reply=["not", "text"]), "intent 'bcc' needs"),
        (lambda t: t["en"]["intents"]["bcc"].update(keywords=["a", "list"]), "intent 'bcc' needs"),
        (lambda t: t["en"]["intents"]["bcc"].update(examples=" \n "), "intent 'bcc' has no examples"),
        (lambda t: t["ko"]["intents"].pop("scc"), "intents differ"),
    ],
)
def test_malformed_intents_are_refused_clearly(catalog, change, message):
    tables = copy.deepcopy(catalog.tables)
    change(tables)
    with pytest.raises(MessagesError, match=message):
        IntentIndex.from_catalog(Catalog(tables))


@pytest.mark.parametrize(
    "word, stemmed",
    [("흑색종이", "흑색종"), ("기저세포암은", "기저세포암"), ("뭐예요", "뭐"), ("이", "이"), ("photos", "photo"),
     ("checking", "check"), ("moles", "mole"), ("is", "is"), ("glass", "glass")],
)
def test_stem(word, stemmed):
    assert stem(word) == stemmed


def test_normalise_folds_case_width_and_punctuation():
    assert normalise("  ＷＨＡＴ is   BCC?!\x00 ") == "what is bcc"
    assert len(normalise("a" * 100_000)) <= 500
