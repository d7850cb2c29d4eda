"""Every query, written once for both backends (`bot.storage.database`): `?` placeholders, `INSERT ... ON CONFLICT
DO NOTHING` and `RETURNING`, which SQLite and PostgreSQL both accept.

The questionnaire state is derived from these tables (an open session plus its answers), and every write is
committed before the bot replies, so a restart in the middle of the questions resumes exactly where the user was.
Photos are never stored here: only their SHA-256. All SQL is parameterised.

Concurrent updates of one user (two photos at once, a double press, webhook replicas) are safe: a transaction that
reads and then writes a user's rows takes that user's lock (`Database.transaction(user_id)`), and a session read to
be changed is read `FOR UPDATE` (`Database.for_update`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from bot.checklist import QUESTION_KEYS, AnswerValue
from bot.messages import LANGUAGES, Language
from bot.policy import Advice
from bot.storage import schema
from bot.storage.database import Connection, Database, Result
from bot.storage.records import CheckRecord, Claim, History, HistoryEntry, Reminder, ReminderOutcome, Session
from inference.assessment import Assessment, Risk

# Every table holding rows about a user, in an order that is safe to delete from (answers first: they are found
# through the user's sessions).
USER_TABLES: tuple[str, ...] = (
    "answers", "advice", "question_intents", "reminders", "sessions", "assessments", "updates", "albums",
    "photo_admissions", "spots", "users",
)


class SqlStorage:
    """The `bot.storage.Storage` of a SQL database: each method does what the protocol documents, on `db`."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock  # Unix time: replicas compare times they each wrote
        self.schema_version = 0  # known after connect()

    @property
    def location(self) -> str:
        return self.db.location

    async def connect(self) -> None:
        await self.db.connect()
        try:
            self.schema_version = await schema.migrate(self.db, self._clock)
        except BaseException:
            await self.db.close()
            raise

    async def close(self) -> None:
        await self.db.close()

    async def ping(self) -> None:
        await self._read("SELECT 1")

    # users

    async def language(self, user_id: int) -> Language | None:
        value = (await self._read("SELECT language FROM users WHERE user_id = ?", (user_id,))).value()
        return cast(Language, value) if value in LANGUAGES else None

    async def set_language(self, user_id: int, language: Language) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (user_id, language, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET language = excluded.language",
                (user_id, language, self._clock()),
            )

    async def record_consent(self, user_id: int) -> None:
        now = self._clock()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (user_id, consent_at, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET consent_at = COALESCE(users.consent_at, excluded.consent_at)",
                (user_id, now, now),
            )

    # assessments and sessions

    async def add_assessment(self, user_id: int, assessment: Assessment, latency_ms: float,
                             update_id: int | None = None) -> int:
        async with self.db.transaction() as conn:
            await self._ensure_user(conn, user_id)
            inserted = await conn.execute(
                "INSERT INTO assessments (user_id, created_at, image_sha256, status, issues, lesion_score, "
                "malignancy, risk, model_version, latency_ms, update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    user_id, self._clock(), assessment.image_sha256, assessment.status,
                    json.dumps(list(assessment.issues)), assessment.lesion_score, assessment.malignancy,
                    assessment.risk, assessment.model_version, latency_ms, update_id,
                ),
            )
        return int(inserted.value())

    async def assessment_of_update(self, user_id: int, update_id: int) -> tuple[int, Assessment] | None:
        row = (await self._read(
            "SELECT id, status, issues, lesion_score, malignancy, risk, model_version, image_sha256 "
            "FROM assessments WHERE user_id = ? AND update_id = ? ORDER BY id LIMIT 1",
            (user_id, update_id),
        )).first()
        if row is None:
            return None
        return int(row[0]), Assessment(
            status=row[1], issues=tuple(json.loads(row[2])), lesion_score=row[3], malignancy=row[4], risk=row[5],
            model_version=str(row[6]), image_sha256=str(row[7]),
        )

    async def open_session(self, user_id: int, chat_id: int, assessment_id: int) -> int:
        """Under the user's lock: two photos at once must not both see no open questionnaire and open one each."""
        now = self._clock()
        async with self.db.transaction(user_id) as conn:
            await conn.execute(
                "UPDATE sessions SET status = 'superseded', updated_at = ? WHERE user_id = ? AND status = 'open'",
                (now, user_id),
            )
            opened = await conn.execute(
                "INSERT INTO sessions (user_id, chat_id, assessment_id, status, started_at, updated_at) "
                "VALUES (?, ?, ?, 'open', ?, ?) RETURNING id",
                (user_id, chat_id, assessment_id, now, now),
            )
        return int(opened.value())

    async def set_session_message(self, session_id: int, message_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE sessions SET message_id = ? WHERE id = ?", (message_id, session_id))

    async def session_of_assessment(self, assessment_id: int) -> Session | None:
        async with self.db.reading() as conn:
            return await self._session(conn, "s.assessment_id = ?", (assessment_id,))

    async def undelivered_session(self, user_id: int) -> tuple[Session, int] | None:
        async with self.db.reading() as conn:
            found = await self._session(conn, "s.user_id = ? AND s.status = 'open' AND s.message_id IS NULL",
                                        (user_id,))
            if found is None:
                return None
            assessment_id = (await conn.execute("SELECT assessment_id FROM sessions WHERE id = ?",
                                                (found.id,))).value()
        return found, int(assessment_id)

    async def session(self, session_id: int) -> Session | None:
        async with self.db.reading() as conn:
            return await self._session(conn, "s.id = ?", (session_id,))

    async def open_session_of(self, user_id: int) -> Session | None:
        async with self.db.reading() as conn:
            return await self._session(conn, "s.user_id = ? AND s.status = 'open'", (user_id,))

    async def record_answer(self, session_id: int, position: int, value: AnswerValue) -> bool:
        """The session row is locked before its position is read, so a double press waits for the first one and
        then sees the question answered (instead of both inserting the same answer)."""
        async with self.db.transaction() as conn:
            await conn.execute(f"SELECT id FROM sessions WHERE id = ?{self.db.for_update}", (session_id,))
            current = await self._session(conn, "s.id = ?", (session_id,))
            if current is None or current.status != "open" or current.position != position:
                return False
            now = self._clock()
            await conn.execute(
                "INSERT INTO answers (session_id, position, question, answer, answered_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, position, QUESTION_KEYS[position], value, now),
            )
            await conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        return True

    async def answers(self, session_id: int) -> dict[str, AnswerValue]:
        rows = (await self._read("SELECT question, answer FROM answers WHERE session_id = ? ORDER BY position",
                                 (session_id,))).rows
        return {str(q): cast(AnswerValue, a) for q, a in rows}

    async def finish_session(self, session_id: int, user_id: int, advice: Advice) -> bool:
        """Only the press that moves the session from open to done stores the advice; a second one waits for the
        user's lock and then finds it done."""
        reasons = json.dumps([[r.code, r.feature] for r in advice.reasons])
        now = self._clock()
        async with self.db.transaction(user_id) as conn:
            closed = await conn.execute(
                "UPDATE sessions SET status = 'done', updated_at = ? WHERE id = ? AND status = 'open'",
                (now, session_id),
            )
            if closed.rowcount != 1:
                return False
            await conn.execute(
                "INSERT INTO advice (session_id, user_id, level, score, possible_score, reasons, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, user_id, advice.level, advice.score, advice.possible_score, reasons, now),
            )
        return True

    async def cancel_open_session(self, user_id: int) -> bool:
        async with self.db.transaction(user_id) as conn:
            cancelled = await conn.execute(
                "UPDATE sessions SET status = 'cancelled', updated_at = ? WHERE user_id = ? AND status = 'open'",
                (self._clock(), user_id),
            )
        return cancelled.rowcount > 0

    async def last_result(self, user_id: int) -> tuple[Risk | None, str | None]:
        row = (await self._read(
            "SELECT a.risk, v.level FROM assessments a LEFT JOIN sessions s ON s.assessment_id = a.id "
            "LEFT JOIN advice v ON v.session_id = s.id WHERE a.user_id = ? AND a.status = 'ok' "
            "ORDER BY a.id DESC, v.id DESC LIMIT 1",
            (user_id,),
        )).first()
        if row is None:
            return None, None
        return cast(Risk | None, row[0]), cast(str | None, row[1])

    async def history(self, user_id: int, limit: int) -> History:
        advice = ("(SELECT v.level FROM sessions s JOIN advice v ON v.session_id = s.id WHERE s.assessment_id = a.id "
                  "ORDER BY v.id DESC LIMIT 1)")
        async with self.db.reading() as conn:
            listed = await conn.execute(
                f"SELECT a.created_at, a.status, a.risk, {advice}, a.rash FROM assessments a "
                "WHERE a.user_id = ? AND a.status = 'ok' ORDER BY a.id DESC LIMIT ?",
                (user_id, limit),
            )
            serious = await conn.execute(
                f"SELECT * FROM (SELECT a.created_at, a.status, a.risk, {advice} AS level, a.rash, a.id AS id "
                "FROM assessments a WHERE a.user_id = ? AND a.status = 'ok') AS checks WHERE level IS NOT NULL "
                "ORDER BY CASE level WHEN 'urgent' THEN 2 WHEN 'soon' THEN 1 ELSE 0 END DESC, id DESC LIMIT 1",
                (user_id,),
            )
            unassessed = await conn.execute(
                "SELECT COUNT(*) FROM assessments WHERE user_id = ? AND status != 'ok'", (user_id,)
            )
        row = serious.first()
        return History([_history_entry(r) for r in listed.rows], None if row is None else _history_entry(row),
                       int(unassessed.value()))

    # intents and reminders

    async def log_intent(self, user_id: int, intent: str, score: float) -> None:
        async with self.db.transaction() as conn:
            await self._ensure_user(conn, user_id)
            await conn.execute(
                "INSERT INTO question_intents (user_id, intent, score, created_at) VALUES (?, ?, ?, ?)",
                (user_id, intent, score, self._clock()),
            )

    async def add_reminder(self, user_id: int, chat_id: int, due_at: float, language: Language | None = None
                           ) -> Reminder:
        """The backend queues the reminder's delivery in the same transaction (PostgreSQL), or the caller schedules
        it (SQLite: `reminders_queued` is False)."""
        async with self.db.transaction() as conn:
            await self._ensure_user(conn, user_id)
            added = await conn.execute(
                "INSERT INTO reminders (user_id, chat_id, due_at, created_at, language) VALUES (?, ?, ?, ?, ?) "
                "RETURNING id", (user_id, chat_id, due_at, self._clock(), language),
            )
            reminder = Reminder(int(added.value()), user_id, chat_id, due_at, language)
            await self.db.reminder_added(conn, reminder)
        return reminder

    @property
    def reminders_queued(self) -> bool:
        return self.db.queues_reminders

    async def pending_reminders(self) -> list[Reminder]:
        rows = (await self._read(
            "SELECT id, user_id, chat_id, due_at, language FROM reminders WHERE sent_at IS NULL ORDER BY due_at, id"
        )).rows
        return [_reminder(r) for r in rows]

    async def claim_reminder(self, reminder_id: int) -> Reminder | None:
        """A claimed reminder has `sent_at` set and no outcome yet; one UPDATE, so of two claims one wins."""
        async with self.db.transaction() as conn:
            claimed = await conn.execute(
                "UPDATE reminders SET sent_at = ? WHERE id = ? AND sent_at IS NULL "
                "RETURNING id, user_id, chat_id, due_at, language",
                (self._clock(), reminder_id),
            )
        row = claimed.first()
        return None if row is None else _reminder(row)

    async def release_reminder(self, reminder_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE reminders SET sent_at = NULL WHERE id = ? AND outcome IS NULL", (reminder_id,))

    async def finish_reminder(self, reminder_id: int, outcome: ReminderOutcome) -> bool:
        async with self.db.transaction() as conn:
            finished = await conn.execute(
                "UPDATE reminders SET sent_at = ?, outcome = ? "
                "WHERE id = ? AND sent_at IS NOT NULL AND outcome IS NULL",
                (self._clock(), outcome, reminder_id),
            )
        return finished.rowcount == 1

    # model details, spots and follow-ups

    async def record_details(self, assessment_id: int, assessment: Assessment) -> None:
        top = max(assessment.type_probs.items(), key=lambda kv: kv[1], default=(None, None))
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE assessments SET modality = ?, lesion_type = ?, type_probability = ?, rash = ? WHERE id = ?",
                (assessment.modality, assessment.lesion_type or top[0], top[1], int(assessment.rash), assessment_id),
            )

    async def check(self, assessment_id: int) -> CheckRecord | None:
        async with self.db.reading() as conn:
            found = await self._checks(conn, "a.id = ?", (assessment_id,))
        return found[0] if found else None

    async def latest_check(self, user_id: int) -> CheckRecord | None:
        async with self.db.reading() as conn:
            found = await self._checks(conn, "a.user_id = ? ORDER BY a.id DESC LIMIT 1", (user_id,))
        return found[0] if found else None

    async def earlier_spots(self, user_id: int, before_id: int, limit: int) -> list[CheckRecord]:
        async with self.db.reading() as conn:
            newest = await conn.execute(
                "SELECT MAX(id) FROM assessments WHERE user_id = ? AND status = 'ok' AND rash = 0 AND id < ? "
                "GROUP BY COALESCE(spot_id, -id) ORDER BY MAX(id) DESC LIMIT ?",
                (user_id, before_id, limit),
            )
            ids = [int(r[0]) for r in newest.rows]
            found = await self._checks(conn, f"a.id IN ({','.join('?' * len(ids))})", ids) if ids else []
        checks = {c.id: c for c in found}
        return [checks[i] for i in ids if i in checks]

    async def spot_checks(self, spot_id: int) -> list[CheckRecord]:
        async with self.db.reading() as conn:
            return await self._checks(conn, "a.spot_id = ? ORDER BY a.id", (spot_id,))

    async def link_followup(self, user_id: int, assessment_id: int, earlier_id: int) -> bool:
        """Under the user's lock: a double tap must not make two spots."""
        async with self.db.transaction(user_id) as conn:
            now, earlier = (await self._checks(conn, "a.id = ?", (assessment_id,)),
                            await self._checks(conn, "a.id = ?", (earlier_id,)))
            if (not now or not earlier or now[0].user_id != user_id or earlier[0].user_id != user_id
                    or now[0].spot_id is not None or earlier[0].id >= now[0].id):
                return False
            spot_id = earlier[0].spot_id
            if spot_id is None:
                created = await conn.execute("INSERT INTO spots (user_id, created_at) VALUES (?, ?) RETURNING id",
                                             (user_id, self._clock()))
                spot_id = int(created.value())
                await conn.execute("UPDATE assessments SET spot_id = ? WHERE id = ?", (spot_id, earlier_id))
            await conn.execute("UPDATE assessments SET spot_id = ?, followup = 1 WHERE id = ?",
                               (spot_id, assessment_id))
        return True

    async def session_assessment(self, session_id: int) -> int | None:
        found = (await self._read("SELECT assessment_id FROM sessions WHERE id = ?", (session_id,))).value()
        return None if found is None else int(found)

    async def replace_advice(self, session_id: int, advice: Advice) -> bool:
        reasons = json.dumps([[r.code, r.feature] for r in advice.reasons])
        async with self.db.transaction() as conn:
            replaced = await conn.execute(
                "UPDATE advice SET level = ?, score = ?, possible_score = ?, reasons = ? WHERE session_id = ?",
                (advice.level, advice.score, advice.possible_score, reasons, session_id),
            )
        return replaced.rowcount == 1

    # photo intake across replicas: albums and the rate limit

    async def first_of_album(self, user_id: int, chat_id: int, media_group_id: str, update_id: int) -> bool:
        """The first update to insert the album's row owns it; the others' inserts do nothing."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO albums (chat_id, media_group_id, user_id, update_id, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (chat_id, media_group_id, user_id, update_id, self._clock()),
            )
            owner = await conn.execute("SELECT update_id FROM albums WHERE chat_id = ? AND media_group_id = ?",
                                       (chat_id, media_group_id))
        return int(owner.value()) == update_id

    async def admit_photo(self, user_id: int, limit: int, window_s: float) -> bool:
        """Count and record under the user's lock, so photos arriving at once on several replicas are counted
        one after another; the user's admissions that left the window are deleted on the way."""
        now = self._clock()
        async with self.db.transaction(user_id) as conn:
            await conn.execute("DELETE FROM photo_admissions WHERE user_id = ? AND admitted_at <= ?",
                               (user_id, now - window_s))
            admitted = await conn.execute("SELECT COUNT(*) FROM photo_admissions WHERE user_id = ?", (user_id,))
            if int(admitted.value()) >= limit:
                return False
            await conn.execute("INSERT INTO photo_admissions (user_id, admitted_at) VALUES (?, ?)", (user_id, now))
        return True

    # the update journal

    async def journal_updates(self, updates: Sequence[tuple[int, int | None, str]]) -> list[int]:
        now = self._clock()
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO updates (update_id, user_id, payload, received_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(update_id, user_id, payload, now) for update_id, user_id, payload in updates],
            )
            handled = set()
            for update_id, _, _ in updates:
                done = await conn.execute("SELECT 1 FROM updates WHERE update_id = ? AND done_at IS NOT NULL",
                                          (update_id,))
                if done.first() is not None:
                    handled.add(update_id)
        return [update_id for update_id, _, _ in updates if update_id not in handled]

    async def claim_update(self, update_id: int, user_id: int | None, payload: str, lease_s: float) -> Claim:
        """The claim is one conditional UPDATE: of two replicas claiming at once, the second waits for the first's
        row and then finds it claimed."""
        now = self._clock()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO updates (update_id, user_id, payload, received_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (update_id, user_id, payload, now),
            )
            claimed = await conn.execute(
                "UPDATE updates SET claimed_at = ? WHERE update_id = ? AND done_at IS NULL "
                "AND (claimed_at IS NULL OR claimed_at <= ?)", (now, update_id, now - lease_s),
            )
            if claimed.rowcount:
                return "claimed"
            done = await conn.execute("SELECT done_at IS NOT NULL FROM updates WHERE update_id = ?", (update_id,))
        return "done" if done.value() else "busy"

    async def finish_update(self, update_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE updates SET done_at = ?, payload = NULL WHERE update_id = ?",
                               (self._clock(), update_id))

    async def unfinished_updates(self) -> list[str]:
        rows = (await self._read(
            "SELECT payload FROM updates WHERE done_at IS NULL AND payload IS NOT NULL ORDER BY update_id"
        )).rows
        return [str(r[0]) for r in rows]

    async def prune_updates(self, older_than_s: float) -> int:
        before = self._clock() - older_than_s
        async with self.db.transaction() as conn:
            pruned = await conn.execute("DELETE FROM updates WHERE done_at IS NOT NULL AND done_at < ?", (before,))
            albums = await conn.execute("DELETE FROM albums WHERE created_at < ?", (before,))
            # A user's admissions are trimmed at each photo; these are those of users who sent none since.
            admissions = await conn.execute("DELETE FROM photo_admissions WHERE admitted_at < ?", (before,))
        return pruned.rowcount + albums.rowcount + admissions.rowcount

    # deletion

    async def forget_user(self, user_id: int) -> list[str]:
        async with self.db.transaction(user_id) as conn:
            photos = await conn.execute(
                "SELECT DISTINCT image_sha256 FROM assessments WHERE user_id = ? AND image_sha256 != '' "
                "AND image_sha256 NOT IN (SELECT image_sha256 FROM assessments WHERE user_id != ?)",
                (user_id, user_id),
            )
            await conn.execute(
                "DELETE FROM answers WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)", (user_id,)
            )
            for table in USER_TABLES[1:]:
                await conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))  # names are constants
        return sorted(str(r[0]) for r in photos.rows)

    # helpers

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> Result:
        async with self.db.reading() as conn:
            return await conn.execute(sql, params)

    async def _ensure_user(self, conn: Connection, user_id: int) -> None:
        await conn.execute("INSERT INTO users (user_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           (user_id, self._clock()))

    async def _session(self, conn: Connection, where: str, params: Sequence[Any]) -> Session | None:
        row = (await conn.execute(
            "SELECT s.id, s.user_id, s.chat_id, s.status, s.message_id, a.risk, "
            "(SELECT COUNT(*) FROM answers x WHERE x.session_id = s.id) "
            f"FROM sessions s JOIN assessments a ON a.id = s.assessment_id WHERE {where} ORDER BY s.id DESC LIMIT 1",
            params,
        )).first()
        if row is None:
            return None
        return Session(
            id=int(row[0]), user_id=int(row[1]), chat_id=int(row[2]), status=str(row[3]),
            message_id=None if row[4] is None else int(row[4]), risk=cast(Risk | None, row[5]), position=int(row[6]),
        )

    async def _checks(self, conn: Connection, where: str, params: Sequence[Any]) -> list[CheckRecord]:
        found = await conn.execute(
            "SELECT a.id, a.user_id, a.created_at, a.risk, a.malignancy, a.lesion_type, a.type_probability, a.rash, "
            "a.modality, a.model_version, a.spot_id, a.followup, s.id, v.level, v.reasons, v.score, v.possible_score "
            "FROM assessments a LEFT JOIN sessions s ON s.id = (SELECT MAX(x.id) FROM sessions x "
            "WHERE x.assessment_id = a.id) LEFT JOIN advice v ON v.session_id = s.id "
            f"WHERE a.status = 'ok' AND {where}",
            params,
        )
        return [_check_record(r) for r in found.rows]


def _reminder(row: Sequence[Any]) -> Reminder:
    return Reminder(int(row[0]), int(row[1]), int(row[2]), float(row[3]), None if row[4] is None else str(row[4]))


def _history_entry(row: Sequence[Any]) -> HistoryEntry:
    return HistoryEntry(float(row[0]), str(row[1]), cast(Risk | None, row[2]), row[3], bool(row[4]))


def _check_record(row: Sequence[Any]) -> CheckRecord:
    reasons = tuple((str(c), str(f)) for c, f in json.loads(row[14])) if row[14] else ()
    return CheckRecord(
        id=int(row[0]), user_id=int(row[1]), created_at=float(row[2]), risk=cast(Risk | None, row[3]),
        malignancy=None if row[4] is None else float(row[4]), lesion_type=row[5],
        type_probability=None if row[6] is None else float(row[6]), rash=bool(row[7]), modality=row[8],
        model_version=str(row[9]), spot_id=None if row[10] is None else int(row[10]), followup=bool(row[11]),
        session_id=None if row[12] is None else int(row[12]), advice=row[13], reasons=reasons,
        score=int(row[15] or 0), possible_score=int(row[16] or 0),
    )
