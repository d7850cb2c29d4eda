import itertools

import pytest

from bot.checklist import ANSWER_VALUES, QUESTION_KEYS, QUESTIONS
from bot.policy import Reason, advise
from bot.settings import PolicyConfig

POLICY = PolicyConfig()
RANK = {"monitor": 0, "soon": 1, "urgent": 2}


def all_no(**changes):
    answers = dict.fromkeys(QUESTION_KEYS, "no")
    answers.update(changes)
    return answers


def test_checklist_is_nices_seven_points_plus_new_since_adulthood():
    assert [q.points for q in QUESTIONS] == [2, 2, 2, 1, 1, 1, 1, 0]
    assert sum(q.major for q in QUESTIONS) == 3
    assert QUESTION_KEYS[-1] == "new_since_adulthood"


@pytest.mark.parametrize(
    "risk, answers, level, reason",
    [
        ("low", all_no(), "monitor", Reason("nothing_flagged")),
        ("low", all_no(new_since_adulthood="yes"), "soon", Reason("new_in_adulthood")),
        ("high", all_no(), "urgent", Reason("model_high")),
        ("medium", all_no(), "soon", Reason("model_medium")),
        (None, all_no(), "soon", Reason("model_unknown")),
        ("low", all_no(irregular_shape="yes", diameter_7mm="yes"), "urgent", Reason("checklist_urgent")),
        ("low", all_no(inflammation="yes"), "soon", Reason("checklist_soon")),
        ("low", all_no(irregular_shape="yes"), "soon", Reason("checklist_soon")),
        ("low", all_no(irregular_colour="unsure", diameter_7mm="unsure"), "soon", Reason("unsure", "irregular_colour")),
        ("low", all_no(bleeding="yes"), "urgent", Reason("red_flag", "bleeding")),
        ("low", all_no(size_change="yes"), "urgent", Reason("red_flag", "size_change")),
        ("low", all_no(bleeding="unsure"), "soon", Reason("unsure", "bleeding")),
        ("low", all_no(irregular_shape="yes", new_since_adulthood="yes"), "urgent", Reason("new_with_major")),
        ("low", {}, "soon", Reason("all_skipped")),  # questions skipped: unanswered count as "not sure"
        ("low", {"size_change": "no"}, "soon", Reason("some_skipped")),
    ],
)
def test_each_rule_sets_the_level_and_is_named_as_a_reason(risk, answers, level, reason):
    advice = advise(risk, answers, POLICY)
    assert advice.level == level
    assert reason in advice.reasons


@pytest.mark.parametrize("key", QUESTION_KEYS)
def test_a_single_unsure_sign_counts_as_yes_for_the_soon_rules(key):
    # The docstring's rule, for every question: "not sure" alone gives at least the advice a "yes" gives for `soon`.
    unsure = advise("low", all_no(**{key: "unsure"}), POLICY)
    assert RANK[advise("low", all_no(**{key: "yes"}), POLICY).level] >= RANK["soon"]
    assert unsure.level == "soon"
    assert unsure.reasons == (Reason("unsure", key),)


def test_an_unsure_colour_is_not_milder_than_a_yes_for_soon():
    # Reproduction (issue 10): "irregular colour: not sure" gave `monitor` while "yes" gave `soon`.
    assert advise("low", all_no(irregular_colour="unsure"), POLICY).level == "soon"
    assert advise("low", all_no(irregular_colour="yes"), POLICY).level == "soon"


def test_a_spot_new_in_adulthood_alone_means_a_check_soon():
    assert advise("low", all_no(new_since_adulthood="yes"), POLICY).level == "soon"
    assert advise("low", all_no(new_since_adulthood="unsure"), POLICY).level == "soon"


def test_skipped_questions_are_reasons_of_their_own_not_unsure_answers():
    skipped = advise("low", {}, POLICY)
    assert skipped.reasons == (Reason("all_skipped"),) and skipped.skipped == len(QUESTIONS)
    partly = advise("low", {"size_change": "no", "irregular_shape": "unsure"}, POLICY)
    assert partly.reasons == (Reason("unsure", "irregular_shape"), Reason("some_skipped"))
    assert partly.skipped == len(QUESTIONS) - 2


def test_unsure_answers_are_named_only_when_they_raise_the_advice():
    # a confirmed score of 1 already means `soon`; an unsure bleeding could make it urgent, so it is named too
    advice = advise("low", all_no(sensation="yes", bleeding="unsure"), POLICY)
    assert advice.level == "soon"
    assert advice.reasons == (Reason("checklist_soon"), Reason("unsure", "bleeding"))
    # high risk is urgent whatever the unsure answers: they are not reasons
    assert advise("high", all_no(bleeding="unsure"), POLICY).reasons == (Reason("model_high"),)


def test_scores_count_confirmed_and_possible_points():
    advice = advise("low", all_no(size_change="yes", sensation="unsure"), POLICY)
    assert (advice.score, advice.possible_score) == (2, 3)


def test_reasons_only_list_the_rules_that_set_the_final_level():
    advice = advise("medium", all_no(bleeding="yes"), POLICY)
    assert advice.level == "urgent"
    assert Reason("model_medium") not in advice.reasons
    assert advice.reasons == (Reason("red_flag", "bleeding"),)


def test_thresholds_come_from_config():
    answers = all_no(irregular_shape="yes")  # 2 points
    assert advise("low", answers, POLICY).level == "soon"
    assert advise("low", answers, PolicyConfig(urgent_checklist_score=2)).level == "urgent"
    assert advise("low", all_no(bleeding="yes"), PolicyConfig(red_flags=())).level == "soon"
    assert advise("low", all_no(sensation="yes"), PolicyConfig(soon_checklist_score=2)).level == "monitor"
    assert advise("low", all_no(sensation="unsure"), PolicyConfig(soon_checklist_score=2)).level == "monitor"


def test_not_sure_never_lowers_and_yes_never_lowers_the_advice_exhaustively():
    # Every combination of answers for every risk: moving one answer from "no" to "not sure", or from "not sure"
    # to "yes", never gives milder advice.
    # A skipped question is checked like "not sure": no -> skipped and skipped -> yes never lower it either.
    for risk in ("low", "medium", "high", None):
        for combo in itertools.product(ANSWER_VALUES, repeat=len(QUESTION_KEYS)):
            answers = dict(zip(QUESTION_KEYS, combo, strict=True))
            base = RANK[advise(risk, answers, POLICY).level]
            for key, value in answers.items():
                if value == "no":
                    assert RANK[advise(risk, {**answers, key: "unsure"}, POLICY).level] >= base, (risk, answers, key)
                    without = {k: v for k, v in answers.items() if k != key}
                    assert RANK[advise(risk, without, POLICY).level] >= base, (risk, answers, key)
                elif value == "unsure":
                    assert RANK[advise(risk, {**answers, key: "yes"}, POLICY).level] >= base, (risk, answers, key)


def test_risk_sets_a_floor_whatever_the_answers():
    for combo in itertools.product(ANSWER_VALUES, repeat=len(QUESTION_KEYS)):
        answers = dict(zip(QUESTION_KEYS, combo, strict=True))
        assert advise("high", answers, POLICY).level == "urgent"
        assert advise("medium", answers, POLICY).level in ("soon", "urgent")
