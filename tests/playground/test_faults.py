import pytest

from playground.faults import Fault, FaultPlan, FaultSpecError, fault_from_json


def test_fault_fires_count_times_for_its_method_only():
    plan = FaultPlan()
    plan.add(Fault("429", method="sendMessage", count=2, retry_after=3))
    assert plan.take("getUpdates") is None
    first = plan.take("sendmessage")
    assert first is not None and first.error() == (429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3}})
    assert plan.take("sendMessage") is not None
    assert plan.take("sendMessage") is None
    assert plan.fired == {"429": 2}
    assert plan.active() == []


def test_faults_apply_oldest_first_and_empty_method_matches_all():
    plan = FaultPlan()
    plan.add(Fault("502"))
    plan.add(Fault("drop", method="getFile"))
    assert plan.take("getFile").kind == "502"
    assert plan.take("getFile").kind == "drop"


@pytest.mark.parametrize("raw", [
    [], {"kind": "418"}, {"kind": "429", "count": 0}, {"kind": "delay", "delay": -1},
    {"kind": "500", "colour": "red"}, {"kind": "500", "count": "many"},
])
def test_bad_fault_specs_are_refused(raw):
    with pytest.raises(FaultSpecError):
        fault_from_json(raw)


def test_fault_spec_defaults():
    assert fault_from_json({"kind": "delay", "delay": 2.5}) == Fault("delay", delay=2.5)
