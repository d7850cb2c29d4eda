"""What only the SQLite backend does: WAL, and adopting a file written before the schema_version table."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage import storage_for
from bot.storage.schema import latest_version, steps
from bot.storage.sqlite import statements
from inference.assessment import Assessment

from .conftest import scalar

LEGACY_DUMP = Path(__file__).parents[2] / "fixtures" / "storage" / "skinbot-v4.dump"


def legacy_file(path: Path, dump: str, version: int) -> str:
    """A database file as the code of before schema_version left it (its version in PRAGMA user_version)."""
    with sqlite3.connect(path) as raw:
        raw.executescript(dump)
        raw.execute(f"PRAGMA user_version = {version}")
    return f"sqlite:///{path}"


async def test_processes_opening_a_new_file_at_once_all_connect(tmp_path):
    # Each round is a race for the new file's lock (switching it to WAL). Before the switch was retried, 5 of 100
    # rounds of 3 failed with "database is locked" on a busy 2-core machine (none when idle), so this test catches
    # a regression often, not always.
    for round_ in range(30):
        replicas = [storage_for(f"sqlite:///{tmp_path / f'{round_}.db'}") for _ in range(4)]
        await asyncio.gather(*(replica.connect() for replica in replicas))
        for replica in replicas:
            assert await scalar(replica, "PRAGMA journal_mode") == "wal"
            await replica.close()


async def test_the_file_is_in_wal_mode_and_tells_old_code_it_is_newer(tmp_path):
    store = storage_for(f"sqlite:///{tmp_path / 'sub' / 's.db'}")  # the folder is created
    await store.connect()
    await store.close()
    with sqlite3.connect(tmp_path / "sub" / "s.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 5  # code of before schema_version refuses it


async def test_a_file_of_the_old_code_is_adopted_without_losing_a_row(tmp_path):
    url = legacy_file(tmp_path / "old.db", LEGACY_DUMP.read_text(encoding="utf-8"), 4)
    store = storage_for(url)
    await store.connect()
    try:
        assert store.schema_version == latest_version("sqlite")
        assert await scalar(store, "SELECT COUNT(*) FROM schema_version") == latest_version("sqlite")
        assert await store.language(7) == "ko"
        history = await store.history(7, 10)
        assert [(h.risk, h.advice) for h in history.entries] == [("medium", None), ("medium", "soon")]
        open_now = await store.open_session_of(7)
        assert open_now is not None and open_now.position == 1  # one answer given before the upgrade
        assert await store.record_answer(open_now.id, 1, "no") is True
        checks = await store.earlier_spots(7, 10**9, 5)
        assert len(checks) == 1 and checks[0].followup and len(await store.spot_checks(checks[0].spot_id)) == 2
        assert [r.due_at for r in await store.pending_reminders()] == [2_000_000_000.0]
        assert await store.unfinished_updates() == ['{"update_id": 102}', '{"update_id": 103}']
        assert await store.claim_update(103, 8, "{}", lease_s=0.0) == "claimed"  # the old claim column is used
        assert await store.journal_updates([(100, 7, "{}")]) == []  # handled before the upgrade
        assert await store.first_of_album(7, 70, "a", 1) and await store.admit_photo(7, 1, 60.0)  # the new tables
        new_id = await store.add_assessment(7, Assessment(status="not_skin", model_version="t"), 1.0)
        assert new_id > checks[0].id  # AUTOINCREMENT carried on
    finally:
        await store.close()


async def test_a_file_half_way_through_the_old_steps_is_carried_forward(tmp_path):
    first_two = "".join(step.sql for step in steps("sqlite")[:2])  # the old code's steps 1 and 2 are these files
    url = legacy_file(tmp_path / "v2.db", f"BEGIN; {first_two} COMMIT;", 2)
    store = storage_for(url)
    await store.connect()
    try:
        assert store.schema_version == latest_version("sqlite")
        assert await store.claim_update(1, 7, "{}", lease_s=60.0) == "claimed"  # step 4's column
        aid = await store.add_assessment(7, Assessment(status="ok", risk="low", model_version="t"), 1.0)
        check = await store.check(aid)  # reads step 3's columns
        assert check is not None and (check.spot_id, check.rash, check.modality) == (None, False, None)
    finally:
        await store.close()


def test_statements_are_cut_where_sqlite_says_they_end():
    script = "CREATE TABLE t (x TEXT DEFAULT ';');\n-- a comment; with a semicolon\nINSERT INTO t VALUES ('a;b');\n"
    assert list(statements(script)) == ["CREATE TABLE t (x TEXT DEFAULT ';');\n",
                                        "-- a comment; with a semicolon\nINSERT INTO t VALUES ('a;b');\n"]


@pytest.mark.parametrize("trailing", ["", "-- only a comment at the end\n"])
async def test_a_migration_file_may_end_in_a_comment(tmp_path, trailing):
    store = storage_for(f"sqlite:///{tmp_path / 't.db'}")
    await store.connect()
    try:
        async with store.db.transaction() as conn:
            await conn.script(f"CREATE TABLE extra (x INTEGER);\n{trailing}")
        assert await scalar(store, "SELECT COUNT(*) FROM extra") == 0
    finally:
        await store.close()
