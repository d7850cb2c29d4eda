"""Everything the bot remembers, in one SQLite file (aiosqlite): users, photo checks, questionnaire progress,
advice, question intents and reminders.

The questionnaire state is derived from these tables (an open session plus its answers), and every write is
committed before the bot replies, so a restart in the middle of the questions resumes exactly where the user was.
Photos are never stored here: only their SHA-256. All SQL is parameterised; the schema is migrated by
`PRAGMA user_version`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import aiosqlite

from bot.checklist import QUESTION_KEYS, AnswerValue
from bot.messages import LANGUAGES, Language
from bot.policy import Advice
from inference.assessment import Assessment, Risk

# Index i migrates a database from user_version i to i + 1. Append only; never edit a released step.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        language TEXT,
        consent_at REAL,
        created_at REAL NOT NULL
    );
    CREATE TABLE assessments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        image_sha256 TEXT NOT NULL,
        status TEXT NOT NULL,
        issues TEXT NOT NULL,
        lesion_score REAL,
        malignancy REAL,
        risk TEXT,
        model_version TEXT NOT NULL,
        latency_ms REAL NOT NULL
    );
    CREATE INDEX assessments_user ON assessments(user_id, created_at);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL,
        assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled', 'superseded')),
        message_id INTEGER,
        started_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id, status);
    CREATE TABLE answers (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'unsure')),
        answered_at REAL NOT NULL,
        PRIMARY KEY (session_id, position)
    );
    CREATE TABLE advice (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id INTEGER NOT NULL UNIQUE REFERENCES sessions(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        level TEXT NOT NULL,
        score INTEGER NOT NULL,
        possible_score INTEGER NOT NULL,
        reasons TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE question_intents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        intent TEXT NOT NULL,
        score REAL NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE reminders (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL,
        due_at REAL NOT NULL,
        created_at REAL NOT NULL,
        sent_at REAL
    );
    CREATE INDEX reminders_pending ON reminders(sent_at, due_at);
    """,
    # The update journal (every update is recorded before Telegram is told it arrived, and replayed on start
    # until handled), the update each photo check came from (so a replayed photo is not checked twice), and how
    # a reminder ended ('sent', or 'undeliverable' when Telegram refused it for good).
    """
    CREATE TABLE updates (
        update_id INTEGER PRIMARY KEY,
        user_id INTEGER,
        payload TEXT,
        received_at REAL NOT NULL,
        done_at REAL
    );
    CREATE INDEX updates_pending ON updates(done_at, update_id);
    CREATE INDEX updates_user ON updates(user_id);
    ALTER TABLE assessments ADD COLUMN update_id INTEGER;
    CREATE INDEX assessments_update ON assessments(update_id);
    ALTER TABLE reminders ADD COLUMN outcome TEXT;
    """,
    # Model v2 details of each check (what the spot resembles, rash) and spots: a spot exists once the user says a
    # later photo shows the same spot as an earlier one; its checks are the assessments that point to it.
    """
    CREATE TABLE spots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        created_at REAL NOT NULL
    );
    CREATE INDEX spots_user ON spots(user_id);
    ALTER TABLE assessments ADD COLUMN modality TEXT;
    ALTER TABLE assessments ADD COLUMN lesion_type TEXT;
    ALTER TABLE assessments ADD COLUMN type_probability REAL;
    ALTER TABLE assessments ADD COLUMN rash INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE assessments ADD COLUMN spot_id INTEGER REFERENCES spots(id) ON DELETE SET NULL;
    ALTER TABLE assessments ADD COLUMN followup INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX assessments_spot ON assessments(spot_id, created_at);
    """,
    # Webhook replicas handle an update before answering Telegram; the replica handling it holds a claim, so that a
    # copy Telegram re-sends to another replica meanwhile is not handled twice (`Storage.claim_update`).
    """
    ALTER TABLE updates ADD COLUMN claimed_at REAL;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
# Every table holding rows about a user, in an order that is safe to delete from.
USER_TABLES: tuple[str, ...] = (
    "answers", "advice", "question_intents", "reminders", "sessions", "assessments", "updates", "spots", "users",
)
ReminderOutcome = Literal["sent", "undeliverable"]
Claim = Literal["claimed", "busy", "done"]


class StorageError(RuntimeError):
    """The database is newer than this code, or was used before `connect`."""


@dataclass(frozen=True)
class Session:
    """A questionnaire after an "ok" photo; `position` is the index of the next question to ask."""

    id: int
    user_id: int
    chat_id: int
    status: str
    message_id: int | None
    risk: Risk | None
    position: int


@dataclass(frozen=True)
class HistoryEntry:
    """One past photo check as /history lists it; `advice` is None while its questions are unfinished."""

    created_at: float
    status: str
    risk: Risk | None
    advice: str | None
    rash: bool = False  # the photo looked like a rash: it got rash guidance, not a risk level and questions


@dataclass(frozen=True)
class History:
    """What /history shows: the newest checks that could be assessed, the check with the most serious advice (which
    may be older than all of them), and how many photos could not be assessed."""

    entries: list[HistoryEntry]
    most_serious: HistoryEntry | None
    unassessed: int


@dataclass(frozen=True)
class Reminder:
    """A re-check reminder, due at `due_at` (Unix time)."""

    id: int
    user_id: int
    chat_id: int
    due_at: float


@dataclass(frozen=True)
class CheckRecord:
    """One assessed photo ("ok") with what follow-ups and the report need: the model's result, what the spot
    resembled, its spot (None until a later photo is said to show the same spot) and the advice, once given."""

    id: int
    user_id: int
    created_at: float
    risk: Risk | None
    malignancy: float | None
    lesion_type: str | None
    type_probability: float | None
    rash: bool
    modality: str | None
    model_version: str
    spot_id: int | None
    followup: bool  # recorded as a follow-up of an earlier check of the same spot
    session_id: int | None
    advice: str | None  # advice level, None while the questions are unfinished
    reasons: tuple[tuple[str, str], ...] = ()  # (code, feature) of the advice's reasons
    score: int = 0
    possible_score: int = 0


class Storage:
    """The bot's SQLite database. Multi-statement writes are serialised by a lock so concurrent updates
    cannot interleave inside one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        """Open the file (creating it), enable WAL and foreign keys, and migrate the schema."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path)
        await conn.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL still survives a killed process (only a power cut may lose the last commits), and it
        # saves an fsync per commit, which matters with one commit per answer.
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        version = await _scalar(conn, "PRAGMA user_version")
        if version > SCHEMA_VERSION:
            await conn.close()
            raise StorageError(f"{self.path} has schema version {version}; this code knows up to {SCHEMA_VERSION}")
        for step in range(version, SCHEMA_VERSION):
            await conn.executescript(f"BEGIN; {MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;")
        self._conn = conn

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageError("storage used before connect()")
        return self._conn

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on the shared connection: committed on success, rolled back on error
        (so concurrent handlers can never commit each other's half-done writes)."""
        async with self._lock:
            db = self.db
            try:
                yield db
            except BaseException:
                await db.rollback()
                raise
            await db.commit()

    # users

    async def language(self, user_id: int) -> Language | None:
        """The language the user chose with /language, if any."""
        value = await self._optional("SELECT language FROM users WHERE user_id = ?", (user_id,))
        return cast(Language, value) if value in LANGUAGES else None

    async def set_language(self, user_id: int, language: Language) -> None:
        """Remember the user's language."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO users (user_id, language, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET language = excluded.language",
                (user_id, language, time.time()),
            )

    async def record_consent(self, user_id: int) -> None:
        """Note when the user first sent a photo after being told how it is handled (kept once)."""
        now = time.time()
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO users (user_id, consent_at, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET consent_at = COALESCE(users.consent_at, excluded.consent_at)",
                (user_id, now, now),
            )

    # assessments and sessions

    async def add_assessment(self, user_id: int, assessment: Assessment, latency_ms: float,
                             update_id: int | None = None) -> int:
        """Store one photo check (its SHA-256, never the image), with the update it came from, and return its id."""
        async with self._transaction() as db:
            await _ensure_user(db, user_id)
            cursor = await db.execute(
                "INSERT INTO assessments (user_id, created_at, image_sha256, status, issues, lesion_score, "
                "malignancy, risk, model_version, latency_ms, update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id, time.time(), assessment.image_sha256, assessment.status,
                    json.dumps(list(assessment.issues)), assessment.lesion_score, assessment.malignancy,
                    assessment.risk, assessment.model_version, latency_ms, update_id,
                ),
            )
        return _lastrowid(cursor)

    async def assessment_of_update(self, user_id: int, update_id: int) -> tuple[int, Assessment] | None:
        """The photo check already made for this update (a replayed update is not checked twice), if any."""
        async with self.db.execute(
            "SELECT id, status, issues, lesion_score, malignancy, risk, model_version, image_sha256 "
            "FROM assessments WHERE user_id = ? AND update_id = ? ORDER BY id LIMIT 1",
            (user_id, update_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return int(row[0]), Assessment(
            status=row[1], issues=tuple(json.loads(row[2])), lesion_score=row[3], malignancy=row[4], risk=row[5],
            model_version=str(row[6]), image_sha256=str(row[7]),
        )

    async def open_session(self, user_id: int, chat_id: int, assessment_id: int) -> int:
        """Start a questionnaire for an assessment; any questionnaire the user left open is superseded."""
        now = time.time()
        async with self._transaction() as db:
            await db.execute(
                "UPDATE sessions SET status = 'superseded', updated_at = ? WHERE user_id = ? AND status = 'open'",
                (now, user_id),
            )
            cursor = await db.execute(
                "INSERT INTO sessions (user_id, chat_id, assessment_id, status, started_at, updated_at) "
                "VALUES (?, ?, ?, 'open', ?, ?)",
                (user_id, chat_id, assessment_id, now, now),
            )
        return _lastrowid(cursor)

    async def set_session_message(self, session_id: int, message_id: int) -> None:
        """Remember which message shows the session's current question (it is edited in place)."""
        async with self._transaction() as db:
            await db.execute("UPDATE sessions SET message_id = ? WHERE id = ?", (message_id, session_id))

    async def session_of_assessment(self, assessment_id: int) -> Session | None:
        """The questionnaire opened for a photo check, if any."""
        return await self._session("s.assessment_id = ?", (assessment_id,))

    async def undelivered_session(self, user_id: int) -> tuple[Session, int] | None:
        """The user's open questionnaire whose result message never reached them, with its assessment id."""
        found = await self._session("s.user_id = ? AND s.status = 'open' AND s.message_id IS NULL", (user_id,))
        if found is None:
            return None
        assessment_id = await self._optional("SELECT assessment_id FROM sessions WHERE id = ?", (found.id,))
        return found, int(assessment_id)

    async def session(self, session_id: int) -> Session | None:
        """The session with this id, with the position of its next question."""
        return await self._session("s.id = ?", (session_id,))

    async def open_session_of(self, user_id: int) -> Session | None:
        """The user's open questionnaire, if any."""
        return await self._session("s.user_id = ? AND s.status = 'open'", (user_id,))

    async def record_answer(self, session_id: int, position: int, value: AnswerValue) -> bool:
        """Store the answer to question `position` if that is the session's next question; False otherwise
        (a stale or repeated button press)."""
        async with self._transaction() as db:
            current = await self.session(session_id)
            if current is None or current.status != "open" or current.position != position:
                return False
            now = time.time()
            await db.execute(
                "INSERT INTO answers (session_id, position, question, answer, answered_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, position, QUESTION_KEYS[position], value, now),
            )
            await db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        return True

    async def answers(self, session_id: int) -> dict[str, AnswerValue]:
        """The answers given so far in a session, by question key."""
        async with self.db.execute(
            "SELECT question, answer FROM answers WHERE session_id = ? ORDER BY position", (session_id,)
        ) as cursor:
            return {str(q): cast(AnswerValue, a) for q, a in await cursor.fetchall()}

    async def finish_session(self, session_id: int, user_id: int, advice: Advice) -> bool:
        """Close an open session with its advice; False if it was no longer open (already finished elsewhere)."""
        reasons = json.dumps([[r.code, r.feature] for r in advice.reasons])
        now = time.time()
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE sessions SET status = 'done', updated_at = ? WHERE id = ? AND status = 'open'",
                (now, session_id),
            )
            if cursor.rowcount != 1:
                return False
            await db.execute(
                "INSERT INTO advice (session_id, user_id, level, score, possible_score, reasons, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, user_id, advice.level, advice.score, advice.possible_score, reasons, now),
            )
        return True

    async def cancel_open_session(self, user_id: int) -> bool:
        """Cancel the user's open questionnaire; False if there was none."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE sessions SET status = 'cancelled', updated_at = ? WHERE user_id = ? AND status = 'open'",
                (time.time(), user_id),
            )
        return cursor.rowcount > 0

    async def last_result(self, user_id: int) -> tuple[Risk | None, str | None]:
        """The risk of the user's last usable photo and the advice given for it, if any."""
        async with self.db.execute(
            "SELECT a.risk, v.level FROM assessments a LEFT JOIN sessions s ON s.assessment_id = a.id "
            "LEFT JOIN advice v ON v.session_id = s.id WHERE a.user_id = ? AND a.status = 'ok' "
            "ORDER BY a.id DESC, v.id DESC LIMIT 1",
            (user_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None, None
        return cast(Risk | None, row[0]), cast(str | None, row[1])

    async def history(self, user_id: int, limit: int) -> History:
        """The user's `limit` newest assessed checks (newest first), the one with the most serious advice (the newest
        of those), and the number of photos that could not be assessed."""
        advice = ("(SELECT v.level FROM sessions s JOIN advice v ON v.session_id = s.id WHERE s.assessment_id = a.id "
                  "ORDER BY v.id DESC LIMIT 1)")
        async with self.db.execute(
            f"SELECT a.created_at, a.status, a.risk, {advice}, a.rash FROM assessments a "
            "WHERE a.user_id = ? AND a.status = 'ok' ORDER BY a.id DESC LIMIT ?",
            (user_id, limit),
        ) as cursor:
            entries = [_history_entry(r) for r in await cursor.fetchall()]
        async with self.db.execute(
            f"SELECT * FROM (SELECT a.created_at, a.status, a.risk, {advice} AS level, a.rash, a.id AS id "
            "FROM assessments a "
            "WHERE a.user_id = ? AND a.status = 'ok') WHERE level IS NOT NULL "
            "ORDER BY CASE level WHEN 'urgent' THEN 2 WHEN 'soon' THEN 1 ELSE 0 END DESC, id DESC LIMIT 1",
            (user_id,),
        ) as cursor:
            row = await cursor.fetchone()
        unassessed = await _scalar(
            self.db, "SELECT COUNT(*) FROM assessments WHERE user_id = ? AND status != 'ok'", (user_id,)
        )
        return History(entries, None if row is None else _history_entry(row), unassessed)

    # intents and reminders

    async def log_intent(self, user_id: int, intent: str, score: float) -> None:
        """Record which intent a free-text question matched (not the question's text)."""
        async with self._transaction() as db:
            await _ensure_user(db, user_id)
            await db.execute(
                "INSERT INTO question_intents (user_id, intent, score, created_at) VALUES (?, ?, ?, ?)",
                (user_id, intent, score, time.time()),
            )

    async def add_reminder(self, user_id: int, chat_id: int, due_at: float) -> Reminder:
        """Store a re-check reminder."""
        async with self._transaction() as db:
            await _ensure_user(db, user_id)
            cursor = await db.execute(
                "INSERT INTO reminders (user_id, chat_id, due_at, created_at) VALUES (?, ?, ?, ?)",
                (user_id, chat_id, due_at, time.time()),
            )
        return Reminder(_lastrowid(cursor), user_id, chat_id, due_at)

    async def pending_reminders(self) -> list[Reminder]:
        """Reminders not sent yet, soonest first (to re-schedule them at start-up)."""
        async with self.db.execute(
            "SELECT id, user_id, chat_id, due_at FROM reminders WHERE sent_at IS NULL ORDER BY due_at"
        ) as cursor:
            return [Reminder(int(r[0]), int(r[1]), int(r[2]), float(r[3])) for r in await cursor.fetchall()]

    async def is_reminder_pending(self, reminder_id: int) -> bool:
        """Whether the reminder still exists and has not been sent."""
        found = await self._optional("SELECT 1 FROM reminders WHERE id = ? AND sent_at IS NULL", (reminder_id,))
        return found is not None

    async def mark_reminder_sent(self, reminder_id: int, outcome: ReminderOutcome = "sent") -> bool:
        """Mark a reminder as done with (delivered, or refused for good by Telegram); False if it no longer exists
        (the user used /forget) or was done with already."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE reminders SET sent_at = ?, outcome = ? WHERE id = ? AND sent_at IS NULL",
                (time.time(), outcome, reminder_id),
            )
        return cursor.rowcount == 1

    # model details, spots and follow-ups

    async def record_details(self, assessment_id: int, assessment: Assessment) -> None:
        """Store what the type head said about a check: its modality, most likely type and its probability, rash."""
        top = max(assessment.type_probs.items(), key=lambda kv: kv[1], default=(None, None))
        async with self._transaction() as db:
            await db.execute(
                "UPDATE assessments SET modality = ?, lesion_type = ?, type_probability = ?, rash = ? WHERE id = ?",
                (assessment.modality, assessment.lesion_type or top[0], top[1], int(assessment.rash), assessment_id),
            )

    async def check(self, assessment_id: int) -> CheckRecord | None:
        """The assessed check with this id, with its advice if given."""
        found = await self._checks("a.id = ?", (assessment_id,))
        return found[0] if found else None

    async def latest_check(self, user_id: int) -> CheckRecord | None:
        """The user's newest assessed check, if any."""
        found = await self._checks("a.user_id = ? ORDER BY a.id DESC LIMIT 1", (user_id,))
        return found[0] if found else None

    async def earlier_spots(self, user_id: int, before_id: int, limit: int) -> list[CheckRecord]:
        """The newest check of each of the user's spots checked before `before_id`, newest first; a check not yet
        linked to a spot counts as a spot of its own. Rashes are left out: follow-up is for single spots."""
        async with self.db.execute(
            "SELECT MAX(id) FROM assessments WHERE user_id = ? AND status = 'ok' AND rash = 0 AND id < ? "
            "GROUP BY COALESCE(spot_id, -id) ORDER BY MAX(id) DESC LIMIT ?",
            (user_id, before_id, limit),
        ) as cursor:
            ids = [int(r[0]) for r in await cursor.fetchall()]
        checks = {c.id: c for c in await self._checks(f"a.id IN ({','.join('?' * len(ids))})", ids)} if ids else {}
        return [checks[i] for i in ids if i in checks]

    async def spot_checks(self, spot_id: int) -> list[CheckRecord]:
        """Every check of a spot, oldest first."""
        return await self._checks("a.spot_id = ? ORDER BY a.id", (spot_id,))

    async def link_followup(self, user_id: int, assessment_id: int, earlier_id: int) -> bool:
        """Record check `assessment_id` as a follow-up of the spot of `earlier_id` (creating the spot if the earlier
        check had none). False if either check is not the user's, or the new one is already linked (a repeated tap)."""
        async with self._transaction() as db:
            now, earlier = await self.check(assessment_id), await self.check(earlier_id)
            if (now is None or earlier is None or now.user_id != user_id or earlier.user_id != user_id
                    or now.spot_id is not None or earlier.id >= now.id):
                return False
            spot_id = earlier.spot_id
            if spot_id is None:
                cursor = await db.execute(
                    "INSERT INTO spots (user_id, created_at) VALUES (?, ?)", (user_id, time.time())
                )
                spot_id = _lastrowid(cursor)
                await db.execute("UPDATE assessments SET spot_id = ? WHERE id = ?", (spot_id, earlier_id))
            await db.execute("UPDATE assessments SET spot_id = ?, followup = 1 WHERE id = ?", (spot_id, assessment_id))
        return True

    async def session_assessment(self, session_id: int) -> int | None:
        """The id of the check a questionnaire is about."""
        found = await self._optional("SELECT assessment_id FROM sessions WHERE id = ?", (session_id,))
        return None if found is None else int(found)

    async def replace_advice(self, session_id: int, advice: Advice) -> bool:
        """Replace the advice of a finished session (a later follow-up raised it); False if it has none."""
        reasons = json.dumps([[r.code, r.feature] for r in advice.reasons])
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE advice SET level = ?, score = ?, possible_score = ?, reasons = ? WHERE session_id = ?",
                (advice.level, advice.score, advice.possible_score, reasons, session_id),
            )
        return cursor.rowcount == 1

    async def _checks(self, where: str, params: Sequence[Any]) -> list[CheckRecord]:
        async with self.db.execute(
            "SELECT a.id, a.user_id, a.created_at, a.risk, a.malignancy, a.lesion_type, a.type_probability, a.rash, "
            "a.modality, a.model_version, a.spot_id, a.followup, s.id, v.level, v.reasons, v.score, v.possible_score "
            "FROM assessments a LEFT JOIN sessions s ON s.id = (SELECT MAX(x.id) FROM sessions x "
            "WHERE x.assessment_id = a.id) LEFT JOIN advice v ON v.session_id = s.id "
            f"WHERE a.status = 'ok' AND {where}",
            tuple(params),
        ) as cursor:
            return [_check_record(r) for r in await cursor.fetchall()]

    # the update journal

    async def journal_updates(self, updates: Sequence[tuple[int, int | None, str]]) -> list[int]:
        """Record received updates (update_id, user_id, JSON) before Telegram is told they arrived; returns the
        ids not handled yet (a redelivered or replayed update that was handled is left out)."""
        now = time.time()
        async with self._transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO updates (update_id, user_id, payload, received_at) VALUES (?, ?, ?, ?)",
                [(update_id, user_id, payload, now) for update_id, user_id, payload in updates],
            )
            handled = set()
            for update_id, _, _ in updates:
                async with db.execute(
                    "SELECT 1 FROM updates WHERE update_id = ? AND done_at IS NOT NULL", (update_id,)
                ) as cursor:
                    if await cursor.fetchone() is not None:
                        handled.add(update_id)
        return [update_id for update_id, _, _ in updates if update_id not in handled]

    async def claim_update(self, update_id: int, user_id: int | None, payload: str, lease_s: float) -> Claim:
        """Claim an update for handling (webhook replicas): "done" if it was handled already, "busy" if another
        handler claimed it less than `lease_s` seconds ago (it may still be running), else "claimed" (a new
        update, or one whose handler died: its claim expired)."""
        now = time.time()
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO updates (update_id, user_id, payload, received_at) VALUES (?, ?, ?, ?)",
                (update_id, user_id, payload, now),
            )
            cursor = await db.execute(
                "UPDATE updates SET claimed_at = ? WHERE update_id = ? AND done_at IS NULL "
                "AND (claimed_at IS NULL OR claimed_at <= ?)", (now, update_id, now - lease_s),
            )
            if cursor.rowcount:
                return "claimed"
            done = await _scalar(db, "SELECT done_at IS NOT NULL FROM updates WHERE update_id = ?", (update_id,))
        return "done" if done else "busy"

    async def finish_update(self, update_id: int) -> None:
        """Mark an update handled and drop its content (only the id stays, to recognise a replay)."""
        async with self._transaction() as db:
            await db.execute("UPDATE updates SET done_at = ?, payload = NULL WHERE update_id = ?",
                             (time.time(), update_id))

    async def unfinished_updates(self) -> list[str]:
        """The JSON of updates received but not handled (the bot stopped first), oldest first."""
        async with self.db.execute(
            "SELECT payload FROM updates WHERE done_at IS NULL AND payload IS NOT NULL ORDER BY update_id"
        ) as cursor:
            return [str(r[0]) for r in await cursor.fetchall()]

    async def prune_updates(self, older_than_s: float) -> int:
        """Forget handled update ids older than this (Telegram redelivers an update for at most a day)."""
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM updates WHERE done_at IS NOT NULL AND done_at < ?",
                                      (time.time() - older_than_s,))
        return cursor.rowcount

    # deletion

    async def forget_user(self, user_id: int) -> list[str]:
        """Delete every row about the user; return the SHA-256 of their photos that no other user sent, so kept
        photo files can be removed."""
        async with self._transaction() as db:
            async with db.execute(
                "SELECT DISTINCT image_sha256 FROM assessments WHERE user_id = ? AND image_sha256 != '' "
                "AND image_sha256 NOT IN (SELECT image_sha256 FROM assessments WHERE user_id != ?)",
                (user_id, user_id),
            ) as cursor:
                hashes = [str(r[0]) for r in await cursor.fetchall()]
            await db.execute(
                "DELETE FROM answers WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)", (user_id,)
            )
            for table in USER_TABLES[1:]:
                await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))  # names are constants
        return hashes

    async def _session(self, where: str, params: Sequence[Any]) -> Session | None:
        async with self.db.execute(
            "SELECT s.id, s.user_id, s.chat_id, s.status, s.message_id, a.risk, "
            "(SELECT COUNT(*) FROM answers x WHERE x.session_id = s.id) "
            f"FROM sessions s JOIN assessments a ON a.id = s.assessment_id WHERE {where} ORDER BY s.id DESC LIMIT 1",
            tuple(params),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return Session(
            id=int(row[0]), user_id=int(row[1]), chat_id=int(row[2]), status=str(row[3]),
            message_id=None if row[4] is None else int(row[4]), risk=cast(Risk | None, row[5]), position=int(row[6]),
        )

    async def _optional(self, sql: str, params: Sequence[Any]) -> Any:
        async with self.db.execute(sql, tuple(params)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]


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


async def _ensure_user(db: aiosqlite.Connection, user_id: int) -> None:
    await db.execute("INSERT OR IGNORE INTO users (user_id, created_at) VALUES (?, ?)", (user_id, time.time()))


async def _scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> int:
    async with conn.execute(sql, tuple(params)) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


def _lastrowid(cursor: aiosqlite.Cursor) -> int:
    if cursor.lastrowid is None:  # pragma: no cover - SQLite always sets it after an INSERT
        raise StorageError("INSERT returned no row id")
    return int(cursor.lastrowid)
