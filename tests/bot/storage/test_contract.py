"""The storage contract: every method of `bot.storage.Storage`, run against each backend (see conftest)."""

import asyncio

import pytest

from bot.checklist import QUESTION_KEYS
from bot.policy import advise
from bot.settings import PolicyConfig
from bot.storage import StorageError, storage_for
from bot.storage.schema import latest_version
from inference.assessment import Assessment

from ..fakes import count_user_rows
from .conftest import scalar

OK = Assessment(
    status="ok", lesion_score=0.9, malignancy=0.4, risk="medium", model_version="t1", image_sha256="ab" * 32
)
RASH = Assessment(status="ok", risk="low", model_version="t1", image_sha256="ef" * 32, rash=True, modality="clinical",
                  type_probs={"eczema": 0.7, "psoriasis": 0.2})


async def new_session(storage, user=7):
    return await storage.open_session(user, user * 10, await storage.add_assessment(user, OK, 1.0))


async def test_reopening_keeps_data(storage_url, storage):
    await storage.set_language(1, "ko")
    await storage.set_language(2, "en")
    await storage.set_language(2, "ko")
    await storage.close()
    again = storage_for(storage_url)
    await again.connect()
    assert (await again.language(1), await again.language(2), await again.language(3)) == ("ko", "ko", None)
    await again.close()


async def test_the_schema_is_versioned_and_a_newer_one_is_refused(storage_url, storage):
    latest = latest_version(storage.db.backend)
    assert storage.schema_version == latest
    assert await scalar(storage, "SELECT COUNT(*) FROM schema_version") == latest
    async with storage.db.transaction() as conn:
        await conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (latest + 1, 0.0))
    newer = storage_for(storage_url)
    with pytest.raises(StorageError, match=f"schema version {latest + 1}, newer than this code"):
        await newer.connect()
    with pytest.raises(StorageError, match="before connect"):
        await newer.language(1)  # it was closed, not left half open


async def test_processes_starting_at_once_migrate_once(storage_url):
    replicas = [storage_for(storage_url) for _ in range(3)]
    await asyncio.gather(*(replica.connect() for replica in replicas))
    assert {replica.schema_version for replica in replicas} == {latest_version(replicas[0].db.backend)}
    versions = await scalar(replicas[0], "SELECT COUNT(DISTINCT version) FROM schema_version")
    assert versions == await scalar(replicas[0], "SELECT COUNT(*) FROM schema_version")
    for replica in replicas:
        await replica.close()


async def test_use_before_connect_is_an_error(storage_url):
    with pytest.raises(StorageError, match="before connect"):
        await storage_for(storage_url).language(1)


async def test_ping_reaches_the_database_only_while_connected(storage_url, storage):
    await storage.ping()
    await storage.close()
    with pytest.raises(StorageError, match="before connect"):
        await storage.ping()


async def test_consent_is_kept_from_the_first_photo(storage):
    def consent_at():
        return scalar(storage, "SELECT consent_at FROM users WHERE user_id = 7")

    await storage.set_language(7, "en")
    assert await consent_at() is None
    await storage.record_consent(7)
    first = await consent_at()
    await storage.record_consent(7)
    assert first is not None and await consent_at() == first
    assert await storage.language(7) == "en"  # consent keeps the language


async def test_a_check_is_found_again_by_its_update(storage):
    aid = await storage.add_assessment(7, OK, 12.5, update_id=41)
    assert await storage.assessment_of_update(7, 41) == (aid, OK.__class__(
        status="ok", issues=(), lesion_score=0.9, malignancy=0.4, risk="medium", model_version="t1",
        image_sha256="ab" * 32))
    assert await storage.assessment_of_update(8, 41) is None  # another user's update id
    assert await storage.assessment_of_update(7, 42) is None


async def test_answers_are_accepted_only_in_order_and_only_once(storage):
    sid = await new_session(storage)
    assert await storage.record_answer(sid, 1, "yes") is False  # skipping ahead
    assert await storage.record_answer(sid, 0, "yes") is True
    assert await storage.record_answer(sid, 0, "no") is False  # repeated press
    session = await storage.session(sid)
    assert session is not None and session.position == 1 and session.risk == "medium"
    assert await storage.answers(sid) == {QUESTION_KEYS[0]: "yes"}
    assert await storage.session(sid + 1000) is None


async def test_a_new_photo_supersedes_the_open_questionnaire(storage):
    first = await new_session(storage)
    second = await new_session(storage)
    assert (await storage.session(first)).status == "superseded"
    assert (await storage.open_session_of(7)).id == second
    assert await storage.record_answer(first, 0, "no") is False


async def test_a_result_never_delivered_is_found_until_its_message_is_known(storage):
    aid = await storage.add_assessment(7, OK, 1.0)
    sid = await storage.open_session(7, 70, aid)
    found = await storage.undelivered_session(7)
    assert found is not None and found[0].id == sid and found[1] == aid
    assert (await storage.session_of_assessment(aid)).id == sid
    assert await storage.session_assessment(sid) == aid
    await storage.set_session_message(sid, 99)
    assert await storage.undelivered_session(7) is None
    assert (await storage.session(sid)).message_id == 99
    assert await storage.session_of_assessment(aid + 1000) is None
    assert await storage.session_assessment(sid + 1000) is None


async def test_finishing_stores_advice_once_and_feeds_history(storage):
    assert await storage.last_result(7) == (None, None)
    sid = await new_session(storage)
    advice = advise("medium", {}, PolicyConfig())
    assert await storage.finish_session(sid, 7, advice) is True
    assert await storage.finish_session(sid, 7, advice) is False
    assert await storage.last_result(7) == ("medium", "soon")
    await storage.add_assessment(7, Assessment(status="not_skin", model_version="t1"), 3.0)
    await storage.add_assessment(7, OK, 1.0)  # assessed, questions not finished
    history = await storage.history(7, 10)
    assert [(h.status, h.risk, h.advice) for h in history.entries] == [("ok", "medium", None), ("ok", "medium", "soon")]
    assert history.unassessed == 1
    assert history.most_serious is not None and history.most_serious.advice == "soon"
    assert len((await storage.history(7, 1)).entries) == 1
    assert (await storage.history(7, 1)).most_serious == history.most_serious  # older than the one listed
    assert (await storage.history(8, 10)).entries == []


async def test_the_most_serious_advice_wins_the_history(storage):
    for answers, risk in (({}, "low"), ({"bleeding": "yes"}, "medium"), ({}, "medium")):
        sid = await storage.open_session(7, 70, await storage.add_assessment(7, OK, 1.0))
        await storage.finish_session(sid, 7, advise(risk, answers, PolicyConfig()))
    assert (await storage.history(7, 10)).most_serious.advice == "urgent"


async def test_cancel_and_reminders(storage):
    assert await storage.cancel_open_session(7) is False
    await new_session(storage)
    assert await storage.cancel_open_session(7) is True
    assert await storage.open_session_of(7) is None
    late = await storage.add_reminder(7, 70, 2000.0)
    soon = await storage.add_reminder(8, 80, 1000.0)
    assert (late.user_id, late.chat_id, late.due_at) == (7, 70, 2000.0)
    assert [r.id for r in await storage.pending_reminders()] == [soon.id, late.id]
    assert await storage.claim_reminder(soon.id) == soon
    assert await storage.claim_reminder(soon.id) is None  # claimed: no second sender gets it
    assert [r.id for r in await storage.pending_reminders()] == [late.id]
    assert await storage.finish_reminder(soon.id, "sent") is True
    assert await storage.finish_reminder(soon.id, "sent") is False
    assert await storage.finish_reminder(late.id, "sent") is False  # not claimed
    assert await storage.claim_reminder(late.id) == late
    await storage.release_reminder(late.id)  # a transient failure: pending again
    assert [r.id for r in await storage.pending_reminders()] == [late.id]
    assert await storage.claim_reminder(late.id) == late
    assert await storage.finish_reminder(late.id, "undeliverable") is True
    await storage.release_reminder(late.id)  # too late: its outcome is recorded
    assert await scalar(storage, "SELECT outcome FROM reminders WHERE id = ?", (late.id,)) == "undeliverable"
    assert await scalar(storage, "SELECT outcome FROM reminders WHERE id = ?", (soon.id,)) == "sent"
    assert await storage.pending_reminders() == []
    assert await storage.claim_reminder(10**9) is None  # no such reminder (or /forget deleted it)


async def test_of_concurrent_claims_of_a_reminder_exactly_one_wins(storage, replicas):
    reminder = await storage.add_reminder(7, 70, 1000.0)
    claims = await asyncio.gather(*(other.claim_reminder(reminder.id) for other in [storage, *replicas]))
    assert [c for c in claims if c is not None] == [reminder]


async def test_details_spots_and_follow_ups(storage):
    first = await storage.add_assessment(7, OK, 1.0)
    rash = await storage.add_assessment(7, RASH, 1.0)
    await storage.record_details(rash, RASH)
    second = await storage.add_assessment(7, OK, 1.0)
    stranger = await storage.add_assessment(8, OK, 1.0)
    recorded = await storage.check(rash)
    assert (recorded.rash, recorded.modality, recorded.lesion_type, recorded.type_probability) == (
        True, "clinical", "eczema", 0.7)
    assert [c.id for c in await storage.earlier_spots(7, second, 5)] == [first]  # the rash is no spot
    assert await storage.link_followup(7, second, stranger) is False  # not the user's
    assert await storage.link_followup(7, first, second) is False  # the earlier one must be older
    assert await storage.link_followup(7, second, first) is True
    assert await storage.link_followup(7, second, first) is False  # a repeated tap
    linked = await storage.check(second)
    assert linked.followup and linked.spot_id is not None and (await storage.check(first)).spot_id == linked.spot_id
    assert [c.id for c in await storage.spot_checks(linked.spot_id)] == [first, second]
    third = await storage.add_assessment(7, OK, 1.0)
    assert [c.id for c in await storage.earlier_spots(7, third, 5)] == [second]  # one spot, its newest check
    assert (await storage.latest_check(7)).id == third
    assert await storage.latest_check(9) is None and await storage.check(third + 1000) is None


async def test_advice_is_replaced_only_where_given(storage):
    sid = await new_session(storage)
    urgent = advise("medium", {"bleeding": "yes"}, PolicyConfig())
    assert await storage.replace_advice(sid, urgent) is False  # not finished yet
    await storage.finish_session(sid, 7, advise("low", {}, PolicyConfig()))
    assert await storage.replace_advice(sid, urgent) is True
    check = await storage.check(await storage.session_assessment(sid))
    assert check.advice == "urgent" and check.reasons == tuple((r.code, r.feature) for r in urgent.reasons)
    assert (check.score, check.possible_score) == (urgent.score, urgent.possible_score)


async def test_the_journal_records_replays_and_forgets_old_updates(storage, clock):
    assert await storage.journal_updates([(1, 7, '{"update_id": 1}'), (2, None, '{"update_id": 2}')]) == [1, 2]
    await storage.finish_update(1)
    assert await storage.journal_updates([(1, 7, '{"update_id": 1}'), (3, 7, '{"update_id": 3}')]) == [3]
    assert await storage.unfinished_updates() == ['{"update_id": 2}', '{"update_id": 3}']
    assert await scalar(storage, "SELECT payload FROM updates WHERE update_id = 1") is None  # content dropped
    clock.advance(100.0)
    await storage.finish_update(2)
    assert await storage.prune_updates(50.0) == 1  # update 1, handled 100 s ago; 2 was just handled, 3 is not
    assert await scalar(storage, "SELECT COUNT(*) FROM updates") == 2
    assert await storage.journal_updates([(1, 7, '{"update_id": 1}')]) == [1]  # forgotten: new again


async def test_an_update_is_claimed_by_one_handler_until_done_or_its_claim_expires(storage, clock):
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=60.0) == "claimed"
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=60.0) == "busy"  # re-sent while running
    clock.advance(61.0)
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=60.0) == "claimed"  # its handler died
    await storage.finish_update(5)
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=0.0) == "done"
    assert await storage.unfinished_updates() == []


async def test_the_first_update_of_an_album_answers_for_it_also_when_replayed(storage, clock):
    assert await storage.first_of_album(7, 70, "album-1", 11) is True
    assert await storage.first_of_album(7, 70, "album-1", 12) is False
    assert await storage.first_of_album(7, 70, "album-1", 11) is True  # the first one, replayed after a restart
    assert await storage.first_of_album(8, 80, "album-1", 13) is True  # the same id in another chat
    clock.advance(100.0)
    await storage.first_of_album(7, 70, "album-2", 14)
    assert await storage.prune_updates(50.0) == 2  # album-1 in both chats
    assert await scalar(storage, "SELECT COUNT(*) FROM albums") == 1


async def test_photos_are_admitted_within_a_sliding_window_per_user(storage, clock):
    assert [await storage.admit_photo(1, 2, 60.0) for _ in range(3)] == [True, True, False]
    assert await storage.admit_photo(2, 2, 60.0) is True
    clock.advance(59.9)
    assert await storage.admit_photo(1, 2, 60.0) is False
    clock.advance(0.1)
    assert await storage.admit_photo(1, 2, 60.0) is True  # the first photos left the window; refused ones never counted
    assert await storage.admit_photo(1, 2, 60.0) is True
    assert await storage.admit_photo(1, 2, 60.0) is False


async def test_admissions_outside_the_window_are_not_kept(storage, clock):
    for user in range(20):
        await storage.admit_photo(user, 3, 10.0)
    clock.advance(11.0)
    await storage.admit_photo(0, 3, 10.0)
    assert await scalar(storage, "SELECT COUNT(*) FROM photo_admissions WHERE user_id = 0") == 1  # trimmed at once
    assert await storage.prune_updates(10.5) == 19  # the idle users' rows go with the journal's
    assert await scalar(storage, "SELECT COUNT(*) FROM photo_admissions") == 1


async def test_forget_removes_every_row_of_the_user_only(storage):
    for user in (7, 8):
        sid = await new_session(storage, user)
        await storage.record_answer(sid, 0, "yes")
        await storage.finish_session(sid, user, advise("low", {}, PolicyConfig()))
        await storage.log_intent(user, "abcde", 0.8)
        await storage.add_reminder(user, user * 10, 1.0)
        await storage.record_consent(user)
        first, again = (await storage.earlier_spots(user, 10**9, 1))[0].id, await storage.add_assessment(user, OK, 1.0)
        assert await storage.link_followup(user, again, first)
        await storage.journal_updates([(user * 100, user, '{"update_id": 1}')])  # an update still in flight
        await storage.first_of_album(user, user * 10, "album", user * 100)
        await storage.admit_photo(user, 5, 60.0)
    solo = Assessment(status="ok", risk="low", model_version="t1", image_sha256="cd" * 32)
    await storage.add_assessment(7, solo, 1.0)
    shared_and_own = await storage.forget_user(7)
    assert shared_and_own == ["cd" * 32]  # the photo user 8 also sent is still referenced
    assert set((await count_user_rows(storage, 7)).values()) == {0}
    assert all(n > 0 for n in (await count_user_rows(storage, 8)).values())


# Concurrent updates of one user: each call runs on another replica (its own connection), all at once.


async def test_photos_at_once_leave_exactly_one_open_questionnaire(storage, replicas):
    aids = [await storage.add_assessment(7, OK, 1.0) for _ in replicas]
    opened = await asyncio.gather(*(r.open_session(7, 70, aid) for r, aid in zip(replicas, aids, strict=True)))
    statuses = [(await storage.session(sid)).status for sid in opened]
    assert statuses.count("open") == 1 and statuses.count("superseded") == len(replicas) - 1
    assert await scalar(storage, "SELECT COUNT(*) FROM sessions WHERE user_id = 7 AND status = 'open'") == 1


async def test_a_double_press_stores_the_answer_once(storage, replicas):
    sid = await new_session(storage)
    stored = await asyncio.gather(*(r.record_answer(sid, 0, "yes") for r in replicas))
    assert sorted(stored) == [False, False, False, True]
    assert await scalar(storage, "SELECT COUNT(*) FROM answers WHERE session_id = ?", (sid,)) == 1


async def test_finishing_twice_at_once_stores_the_advice_once(storage, replicas):
    sid = await new_session(storage)
    advice = advise("medium", {}, PolicyConfig())
    finished = await asyncio.gather(*(r.finish_session(sid, 7, advice) for r in replicas))
    assert sorted(finished) == [False, False, False, True]
    assert await scalar(storage, "SELECT COUNT(*) FROM advice WHERE session_id = ?", (sid,)) == 1


async def test_a_double_tap_on_the_same_spot_makes_one_spot(storage, replicas):
    first, second = await storage.add_assessment(7, OK, 1.0), await storage.add_assessment(7, OK, 1.0)
    linked = await asyncio.gather(*(r.link_followup(7, second, first) for r in replicas))
    assert sorted(linked) == [False, False, False, True]
    assert await scalar(storage, "SELECT COUNT(*) FROM spots WHERE user_id = 7") == 1


async def test_an_album_arriving_at_once_has_one_first_photo(replicas):
    firsts = await asyncio.gather(*(r.first_of_album(7, 70, "album", update) for update, r in enumerate(replicas)))
    assert firsts.count(True) == 1


async def test_photos_arriving_at_once_are_admitted_up_to_the_limit(storage, replicas):
    admitted = await asyncio.gather(*(r.admit_photo(7, 2, 60.0) for r in replicas))
    assert admitted.count(True) == 2
    assert await scalar(storage, "SELECT COUNT(*) FROM photo_admissions WHERE user_id = 7") == 2


async def test_an_update_sent_to_replicas_at_once_is_claimed_once(replicas):
    claims = await asyncio.gather(*(r.claim_update(9, 7, '{"update_id": 9}', 60.0) for r in replicas))
    assert sorted(claims) == ["busy", "busy", "busy", "claimed"]
