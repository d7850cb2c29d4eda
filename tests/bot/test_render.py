from typing import get_args

import pytest

from bot.messages import load_catalog
from bot.model_facts import ModelFacts
from bot.policy import Advice, Reason
from bot.render import about_text, advice_text, format_date, format_datetime, history_text, problem_text, question_text
from bot.storage import History, HistoryEntry
from inference.assessment import Assessment
from inference.decode import UnreadableReason
from inference.quality import ISSUES
from skinbot.vocabulary import LANGUAGES

from .fakes import make_card

CATALOG = load_catalog()


def test_unknown_issue_codes_fall_back_to_a_general_reason():
    text = problem_text(CATALOG, "en", Assessment(status="poor_quality", issues=("new_code_from_inference",)))
    assert "• the photo isn't clear enough" in text
    text = problem_text(CATALOG, "ko", Assessment(status="unreadable", issues=()))
    assert "사용할 수 없는 파일이에요" in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_reason_code_inference_gives_has_its_own_sentence(lang):
    general = {status: problem_text(CATALOG, lang, Assessment(status=status, issues=("no_such_code",)))
               for status in ("poor_quality", "unreadable")}
    for status, codes in (("poor_quality", ISSUES), ("unreadable", get_args(UnreadableReason))):
        for code in codes:
            assert problem_text(CATALOG, lang, Assessment(status=status, issues=(code,))) != general[status], code


def test_every_question_renders_with_its_number():
    assert question_text(CATALOG, "en", 0).startswith("Question 1 of 8\n\nHas the spot changed in size")
    assert question_text(CATALOG, "ko", 7).startswith("질문 8/8\n\n이 점은 어른이 된 뒤에")


def test_advice_lists_every_reason_with_scores_and_features():
    advice = Advice("urgent", (Reason("checklist_urgent"), Reason("red_flag", "size_change")), 4, 6)
    text = advice_text(CATALOG, "en", advice, "medium")
    assert "• your answers score 4 points" in text and "• you reported a change in size" in text
    assert "Photo result: medium risk." in text
    assert "'크기 변화' 질문에 '네'라고 답하셨어요" in advice_text(CATALOG, "ko", advice, "medium")
    one = advice_text(CATALOG, "en", Advice("soon", (Reason("checklist_soon"),), 1, 1), "low")
    assert "• your answers score 1 point on" in one
    assert "I couldn't rate the photo" in advice_text(CATALOG, "en", advice, None)


def test_dates_are_written_as_people_write_them():
    march = 1803866700.0  # 2027-03-01 02:05 UTC, 11:05 in Korea
    assert format_date(CATALOG, "en", march) == "1 March 2027"
    assert format_date(CATALOG, "ko", march) == "2027년 3월 1일"
    assert format_datetime(CATALOG, "en", march) == "1 March 2027, 2:05 am UTC"
    assert format_datetime(CATALOG, "ko", march) == "2027년 3월 1일 한국 시간 오전 11:05"
    assert format_datetime(CATALOG, "ko", march + 3 * 3600) == "2027년 3월 1일 한국 시간 오후 2:05"
    assert format_datetime(CATALOG, "en", march + 10 * 3600) == "1 March 2027, 12:05 pm UTC"


def test_history_lines():
    entries = [HistoryEntry(86400.0, "ok", "low", None), HistoryEntry(86400.0, "ok", "high", "urgent")]
    text = history_text(CATALOG, "en", History(entries, entries[1], unassessed=2))
    assert text.splitlines() == [
        "My most serious advice so far (2 January 1970, 12:00 am UTC): see a doctor within 2 weeks. If you have seen "
        "a doctor about that spot since, follow their advice.",
        "",
        "Your checks, newest first:",
        "• 2 January 1970, 12:00 am UTC: low risk, questions not finished, so no advice yet",
        "• 2 January 1970, 12:00 am UTC: high risk → see a doctor within 2 weeks",
        "",
        "2 photos I couldn't assess (not a skin spot, or not clear enough) are not listed.",
    ]
    monitor = HistoryEntry(0.0, "ok", "low", "monitor")
    assert history_text(CATALOG, "en", History([monitor], monitor, 0)).startswith("Your checks")  # no summary line
    assert history_text(CATALOG, "en", History([], None, 1)).startswith("I couldn't assess the 1 photo you sent")
    assert history_text(CATALOG, "ko", History([], None, 0)).startswith("아직 보내 주신 사진이 없어요")


def test_about_with_partial_metrics_and_no_limitations():
    card = make_card(metrics={"lesion": {"kaggle_test": {"roc_auc": 0.9012}}}, limitations=())
    text = about_text(CATALOG, "en", ModelFacts.from_card(card))
    assert "ROC AUC: 0.90" in text and "sensitivity" not in text and "none recorded" in text
