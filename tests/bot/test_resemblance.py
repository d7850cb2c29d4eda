"""What a spot resembles: named after the risk level only above the card's type threshold, never a harmless type
beside a high risk level, never changing the advice; a button and a typed question both explain the type."""

import dataclasses

import pytest

from bot.app import running
from bot.lesion_types import TYPE_INTENTS, resembled
from bot.messages import LANGUAGES, load_catalog
from bot.model_facts import ModelFacts
from bot.nlu import AnswerContext, IntentIndex, render

from .conftest import make_config, make_env
from .fakes import FakeAnalyzer, make_card
from .v2 import probs, v2

CATALOG = load_catalog()
INDEX = IntentIndex.from_catalog(CATALOG)
KERATOSIS, MELANOMA, UNSURE = b"keratosis-like", b"melanoma-like", b"no clear type"


@pytest.mark.parametrize(
    "risk, top, p, rash, expected",
    [
        ("low", "keratosis", 0.8, False, "keratosis"),
        ("medium", "dermatofibroma", 0.61, False, "dermatofibroma"),
        ("low", "keratosis", 0.59, False, None),  # below the threshold: nothing named
        ("high", "keratosis", 0.95, False, None),  # a harmless name never sits beside a high risk level
        ("high", "melanoma", 0.7, False, "melanoma"),
        ("low", "rash", 0.9, False, None),  # a rash is never a resemblance (rash guidance covers it)
        ("low", "nevus", 0.9, True, None),
    ],
)
def test_when_a_type_is_named(risk, top, p, rash, expected):
    assert resembled(v2(b"x", risk, 0.1, top, p, rash), threshold=0.6) == expected


def test_a_type_the_bot_does_not_know_is_not_named():
    found = v2(b"x", "low", 0.1)
    assert resembled(dataclasses.replace(found, type_probs={"new_kind": 0.9, "nevus": 0.1}), 0.6) is None


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("type_name", sorted(TYPE_INTENTS))
def test_typing_the_buttons_question_reaches_the_same_explanation(lang, type_name):
    question = CATALOG.text(lang, f"types.{type_name}.question")
    assert INDEX.route(question)[0] == TYPE_INTENTS[type_name]


@pytest.mark.parametrize("lang, question", [("en", "what is a seborrheic keratosis?"), ("ko", "검버섯이 뭐예요?"),
                                            ("en", "what's a dermatofibroma"), ("ko", "체리혈관종은 위험한가요?")])
def test_asking_about_a_type(lang, question):
    intent = INDEX.route(question)[0]
    assert intent in {"seborrheic_keratosis", "dermatofibroma", "vascular_lesion"}


async def _env(tmp_path, type_threshold=0.6):
    analyzer = FakeAnalyzer(results={
        KERATOSIS: v2(KERATOSIS, "low", 0.08, "keratosis", 0.82),
        MELANOMA: v2(MELANOMA, "high", 0.91, "melanoma", 0.7),
        UNSURE: v2(UNSURE, "medium", 0.4, "nevus", 0.45),
    }, card=dataclasses.replace(make_card(), type_threshold=type_threshold))
    return make_env(make_config(tmp_path), analyzer)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_resemblance_line_follows_the_risk_level_and_its_button_explains(tmp_path, lang):
    env = await _env(tmp_path)
    async with running(env.application):
        chat = env.chat(language_code=lang)
        await chat.photo(KERATOSIS)
        text = env.telegram.texts()[-1]
        risk_at = text.index(CATALOG.text(lang, "result.risk.low"))
        line = CATALOG.text(lang, "types.keratosis.resembles")
        assert risk_at < text.index(line)
        assert CATALOG.text(lang, "types.caveat_benign") in text  # a photo can't rule out melanoma
        result_id = env.telegram.last_message_id(chat.user_id)
        labels = [label for label, _ in env.telegram.buttons(chat.user_id, result_id)]
        offer = [CATALOG.text(lang, "buttons.start_questions"), CATALOG.text(lang, "buttons.skip_questions")]
        assert labels[:2] == offer
        await chat.press_label(CATALOG.text(lang, "types.keratosis.question"))
        explained = env.telegram.texts()[-1]
        model = ModelFacts.from_card(env.analyzer.card)
        assert explained == render("seborrheic_keratosis", lang, AnswerContext(model=model), CATALOG)
        assert env.telegram.messages[(chat.user_id, result_id)]["text"] == text  # the result stays as it was


async def test_a_malignant_type_says_it_is_no_diagnosis(tmp_path):
    env = await _env(tmp_path)
    async with running(env.application):
        await env.chat().photo(MELANOMA)
        text = env.telegram.texts()[-1]
        assert CATALOG.text("en", "types.melanoma.resembles") in text
        assert CATALOG.text("en", "types.caveat_malignant") in text


async def test_nothing_is_named_below_the_cards_threshold(tmp_path):
    env = await _env(tmp_path, type_threshold=0.9)
    async with running(env.application):
        chat = env.chat()
        await chat.photo(KERATOSIS)
        await chat.photo(UNSURE)
        for text in [t for t in env.telegram.texts() if t.startswith("Result:")]:
            assert "looks most like" not in text
        assert all("What is" not in label for (c, m) in env.telegram.messages if c == chat.user_id
                   for label, _ in env.telegram.buttons(c, m))


async def test_skipping_gives_the_same_advice_whatever_it_resembles(tmp_path):
    env = make_env(make_config(tmp_path), FakeAnalyzer(results={
        KERATOSIS: v2(KERATOSIS, "medium", 0.4, "keratosis", 0.9),
        MELANOMA: v2(MELANOMA, "medium", 0.4, "melanoma", 0.9),
    }))
    async with running(env.application):
        advice = []
        for user, photo in ((1, KERATOSIS), (2, MELANOMA)):
            chat = env.chat(user)
            await chat.photo(photo)
            await chat.press_label("Skip")
            advice.append(env.telegram.texts()[-1])
        assert advice[0] == advice[1]


def test_probs_helper_sums_to_one():
    assert abs(sum(probs("nevus", 0.7).values()) - 1.0) < 1e-9
