import sqlite3

import pytest

from bot.checklist import QUESTION_KEYS
from bot.policy import advise
from bot.settings import PolicyConfig
from bot.storage import SCHEMA_VERSION, Storage, StorageError
from inference.assessment import Assessment

from .fakes import count_user_rows

OK = Assessment(
    status="ok", lesion_score=0.9, malignancy=0.4, risk="medium", model_version="t1", image_sha256="ab" * 32
)


@pytest.fixture
async def storage(tmp_path):
    store = Storage(tmp_path / "s.db")
    await store.connect()
    yield store
    await store.close()


async def test_schema_is_versioned_and_in_wal_mode(tmp_path, storage):
    with sqlite3.connect(tmp_path / "s.db") as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_keeps_data_and_a_newer_schema_is_refused(tmp_path, storage):
    await storage.set_language(1, "ko")
    await storage.close()
    again = Storage(tmp_path / "s.db")
    await again.connect()
    assert await again.language(1) == "ko"
    await again.close()
    with sqlite3.connect(tmp_path / "s.db") as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="schema version"):
        await Storage(tmp_path / "s.db").connect()


async def test_answers_are_accepted_only_in_order_and_only_once(storage):
    aid = await storage.add_assessment(7, OK, 12.5)
    sid = await storage.open_session(7, 70, aid)
    assert await storage.record_answer(sid, 1, "yes") is False  # skipping ahead
    assert await storage.record_answer(sid, 0, "yes") is True
    assert await storage.record_answer(sid, 0, "no") is False  # repeated press
    session = await storage.session(sid)
    assert session is not None and session.position == 1 and session.risk == "medium"
    assert await storage.answers(sid) == {QUESTION_KEYS[0]: "yes"}


async def test_a_new_photo_supersedes_the_open_questionnaire(storage):
    first = await storage.open_session(7, 70, await storage.add_assessment(7, OK, 1.0))
    second = await storage.open_session(7, 70, await storage.add_assessment(7, OK, 1.0))
    assert (await storage.session(first)).status == "superseded"
    assert (await storage.open_session_of(7)).id == second
    assert await storage.record_answer(first, 0, "no") is False


async def test_finishing_stores_advice_once_and_feeds_history(storage):
    sid = await storage.open_session(7, 70, await storage.add_assessment(7, OK, 1.0))
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


async def test_cancel_and_reminders(storage):
    assert await storage.cancel_open_session(7) is False
    await storage.open_session(7, 70, await storage.add_assessment(7, OK, 1.0))
    assert await storage.cancel_open_session(7) is True
    assert await storage.open_session_of(7) is None
    late = await storage.add_reminder(7, 70, 2000.0)
    soon = await storage.add_reminder(8, 80, 1000.0)
    assert [r.id for r in await storage.pending_reminders()] == [soon.id, late.id]
    assert await storage.mark_reminder_sent(soon.id) is True
    assert await storage.mark_reminder_sent(soon.id) is False
    assert [r.id for r in await storage.pending_reminders()] == [late.id]


async def test_forget_removes_every_row_of_the_user_only(storage):
    for user in (7, 8):
        sid = await storage.open_session(user, user * 10, await storage.add_assessment(user, OK, 1.0))
        await storage.record_answer(sid, 0, "yes")
        await storage.finish_session(sid, user, advise("low", {}, PolicyConfig()))
        await storage.log_intent(user, "abcde", 0.8)
        await storage.add_reminder(user, user * 10, 1.0)
        await storage.record_consent(user)
        first, again = (await storage.earlier_spots(user, 10**9, 1))[0].id, await storage.add_assessment(user, OK, 1.0)
        assert await storage.link_followup(user, again, first)
        await storage.journal_updates([(user * 100, user, '{"update_id": 1}')])  # an update still in flight
    solo = Assessment(status="ok", risk="low", model_version="t1", image_sha256="cd" * 32)
    await storage.add_assessment(7, solo, 1.0)
    shared_and_own = await storage.forget_user(7)
    assert shared_and_own == ["cd" * 32]  # the photo user 8 also sent is still referenced
    assert set((await count_user_rows(storage, 7)).values()) == {0}
    assert all(n > 0 for n in (await count_user_rows(storage, 8)).values())


async def test_consent_is_kept_from_the_first_photo(tmp_path, storage):
    def consent_at():
        with sqlite3.connect(tmp_path / "s.db") as raw:
            return raw.execute("SELECT consent_at FROM users WHERE user_id = 7").fetchone()[0]

    await storage.set_language(7, "en")
    assert consent_at() is None
    await storage.record_consent(7)
    first = consent_at()
    await storage.record_consent(7)
    assert first is not None and consent_at() == first


async def test_use_before_connect_is_an_error(tmp_path):
    with pytest.raises(StorageError):
        await Storage(tmp_path / "x.db").language(1)


async def test_an_update_is_claimed_by_one_handler_until_done_or_its_claim_expires(storage):
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=60.0) == "claimed"
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=60.0) == "busy"  # re-sent while running
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=0.0) == "claimed"  # its handler died
    await storage.finish_update(5)
    assert await storage.claim_update(5, 7, '{"update_id": 5}', lease_s=0.0) == "done"
    assert await storage.unfinished_updates() == []
