from bot.messages import load_catalog
from bot.policy import Advice, Reason
from bot.render import about_text, advice_text, history_text, problem_text, question_text
from bot.storage import HistoryEntry
from inference.assessment import Assessment

from .fakes import make_card

CATALOG = load_catalog()


def test_unknown_issue_codes_fall_back_to_a_general_reason():
    text = problem_text(CATALOG, "en", Assessment(status="poor_quality", issues=("new_code_from_inference",)))
    assert "• the photo isn't clear enough" in text
    text = problem_text(CATALOG, "ko", Assessment(status="unreadable", issues=()))
    assert "사용할 수 없는 파일이에요" in text


def test_every_question_renders_with_its_number():
    assert question_text(CATALOG, "en", 0).startswith("Question 1 of 8\n\nHas the spot changed in size")
    assert question_text(CATALOG, "ko", 7).startswith("질문 8/8\n\n이 점은 어른이 된 뒤에")


def test_advice_lists_every_reason_with_scores_and_features():
    advice = Advice("urgent", (Reason("checklist_urgent"), Reason("red_flag", "size_change")), 4, 6)
    text = advice_text(CATALOG, "en", advice)
    assert "• your answers score 4 points" in text and "• you reported a change in size" in text
    assert "'크기 변화' 질문에 '네'라고 답하셨어요" in advice_text(CATALOG, "ko", advice)


def test_history_lines():
    entries = [HistoryEntry(0.0, "not_skin", None, None), HistoryEntry(86400.0, "ok", "high", "urgent"),
               HistoryEntry(86400.0, "ok", "low", None)]
    lines = history_text(CATALOG, "en", entries).splitlines()
    assert lines == ["Your last checks:", "1970-01-01: not a skin spot, –",
                     "1970-01-02: high risk, see a doctor within 2 weeks",
                     "1970-01-02: low risk, no advice (questions not finished)"]


def test_about_with_partial_metrics_and_no_limitations():
    text = about_text(CATALOG, "en", make_card(limitations=()), {"roc_auc": 0.9012})
    assert "ROC AUC: 0.90" in text and "sensitivity" not in text and "none recorded" in text
