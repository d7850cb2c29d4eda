import json
from pathlib import Path

import pytest

from bot.messages import MessagesError, load_catalog
from bot.nlu import AnswerContext, render
from inference.card import ModelFile
from skinbot.cli import main
from tests.inference.testmodel import write_test_card

ACCURACY = {"lesion": {"kaggle_test": {"sensitivity_refer": 0.944, "specificity_refer": 0.711}}}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture
def config_with_models(tmp_path):
    """A config whose models directory is empty: tests add a card to it when they need one."""
    models = tmp_path / "models"
    models.mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(f"models: {{dir: '{models}'}}\n", encoding="utf-8")
    return path, models


def ask_json(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, dict[str, str]]:
    code = main(["--config", str(config), "ask", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_output_has_exactly_intent_and_reply(capsys, catalog, config_with_models):
    config, _ = config_with_models
    code, data = ask_json(capsys, config, "--lang", "ko", "BCC가 뭐예요")
    assert code == 0
    assert set(data) == {"intent", "reply"}
    assert data == {"intent": "bcc", "reply": render("bcc", "ko", AnswerContext(), catalog)}


def test_lang_chooses_the_reply_language(capsys, catalog, config_with_models):
    config, _ = config_with_models
    _, data = ask_json(capsys, config, "--lang", "en", "흑색종이", "뭐예요?")
    assert data == {"intent": "melanoma", "reply": render("melanoma", "en", AnswerContext(), catalog)}


def test_without_lang_a_korean_question_gets_a_korean_reply(capsys, catalog, config_with_models):
    config, _ = config_with_models
    _, korean = ask_json(capsys, config, "선크림 얼마나 자주 발라요?")
    _, english = ask_json(capsys, config, "how often do I put on sunscreen?")
    assert korean["reply"] == catalog.text("ko", "intents.sun_protection.reply")
    assert english["reply"] == catalog.text("en", "intents.sun_protection.reply")


def test_plain_output_shows_intent_and_reply(capsys, catalog, config_with_models):
    config, _ = config_with_models
    assert main(["--config", str(config), "ask", "--lang", "en", "what are the ABCDE signs?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("intent: abcde (score ")
    assert catalog.text("en", "intents.abcde.reply") in out


def test_context_flags_select_the_context_reply(capsys, catalog, config_with_models):
    config, _ = config_with_models
    _, data = ask_json(capsys, config, "--lang", "en", "--risk", "medium", "what does my result mean")
    assert data["reply"] == render("risk_meaning", "en", AnswerContext(last_risk="medium"), catalog)
    _, data = ask_json(capsys, config, "--lang", "en", "--advice", "urgent", "what should I do now")
    assert data["reply"] == render("what_now", "en", AnswerContext(last_advice="urgent"), catalog)
    assert "My advice was: see a doctor within 2 weeks." in data["reply"]


def test_the_readme_example_explains_medium_risk_whatever_the_last_result(capsys, catalog, config_with_models):
    config, _ = config_with_models
    for risk in ("low", "high"):
        _, data = ask_json(capsys, config, "--lang", "en", "--risk", risk, "what does medium risk mean?")
        assert data["intent"] == "risk_meaning"
        assert data["reply"].startswith("Medium risk means")


def test_accuracy_uses_the_model_card_when_there_is_one(capsys, catalog, config_with_models):
    config, models = config_with_models
    _, without = ask_json(capsys, config, "--lang", "en", "how accurate are you?")
    assert without == {"intent": "accuracy", "reply": catalog.text("en", "intents.accuracy.reply")}
    write_test_card(models, version="test-7", files=(ModelFile("model", "skinbot.tflite", "00"),), metrics=ACCURACY)
    _, with_card = ask_json(capsys, config, "--lang", "en", "how accurate are you?")
    assert with_card["intent"] == "accuracy"
    assert "test-7" in with_card["reply"] and "94%" in with_card["reply"] and "71%" in with_card["reply"]


def test_a_broken_model_card_is_reported_and_ignored(capsys, catalog, config_with_models):
    config, models = config_with_models
    (models / "model_card.json").write_text("{not json", encoding="utf-8")
    assert main(["--config", str(config), "ask", "--json", "--lang", "en", "how accurate are you?"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["reply"] == catalog.text("en", "intents.accuracy.reply")
    assert "ignoring the model card" in captured.err


def test_nonsense_gets_the_fallback(capsys, catalog, config_with_models):
    config, _ = config_with_models
    _, data = ask_json(capsys, config, "--lang", "ko", "🙂🙂")
    assert data == {"intent": "fallback", "reply": catalog.text("ko", "intents.fallback")}


def test_bad_lang_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ask", "--lang", "fr", "hello"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_unusable_message_files_exit_with_a_message(capsys, monkeypatch, config_with_models):
    config, _ = config_with_models

    def broken_catalog() -> None:
        raise MessagesError("messages/ko.yaml has no key 'intents'")

    monkeypatch.setattr("bot.messages.load_catalog", broken_catalog)
    assert main(["--config", str(config), "ask", "what is melanoma"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no key 'intents'" in captured.err
