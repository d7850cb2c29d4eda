"""`Storage`: what the bot asks of its database, whichever backend keeps it. Callers type against this protocol;
`bot.storage.storage_for` builds the backend `storage.url` names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.checklist import AnswerValue
from bot.messages import Language
from bot.policy import Advice
from bot.storage.records import CheckRecord, Claim, History, Reminder, ReminderOutcome, Session
from inference.assessment import Assessment, Risk


class Storage(Protocol):
    """Everything the bot remembers: users, photo checks, questionnaire progress, advice, question intents,
    reminders, spots, the update journal, albums and the photo rate limit. Every write is committed before the
    method returns; a user's concurrent updates (also on other webhook replicas) cannot interleave inside one."""

    @property
    def location(self) -> str:
        """Where the data is (the URL without its password): for logs."""

    async def connect(self) -> None:
        """Connect and migrate the schema; StorageError if the database is newer than this code."""

    async def close(self) -> None:
        """Disconnect (idempotent)."""

    async def ping(self) -> None:
        """Reach the database with a trivial query (raises whatever the backend raises when it cannot)."""

    # users

    async def language(self, user_id: int) -> Language | None:
        """The language the user chose with /language, if any."""

    async def set_language(self, user_id: int, language: Language) -> None:
        """Remember the user's language."""

    async def record_consent(self, user_id: int) -> None:
        """Note when the user first sent a photo after being told how it is handled (kept once)."""

    # assessments and sessions

    async def add_assessment(self, user_id: int, assessment: Assessment, latency_ms: float,
                             update_id: int | None = None) -> int:
        """Store one photo check (its SHA-256, never the image), with the update it came from, and return its id."""

    async def assessment_of_update(self, user_id: int, update_id: int) -> tuple[int, Assessment] | None:
        """The photo check already made for this update (a replayed update is not checked twice), if any."""

    async def open_session(self, user_id: int, chat_id: int, assessment_id: int) -> int:
        """Start a questionnaire for an assessment; any questionnaire the user left open is superseded (of two
        photos handled at once, exactly one questionnaire stays open)."""

    async def set_session_message(self, session_id: int, message_id: int) -> None:
        """Remember which message shows the session's current question (it is edited in place)."""

    async def session_of_assessment(self, assessment_id: int) -> Session | None:
        """The questionnaire opened for a photo check, if any."""

    async def undelivered_session(self, user_id: int) -> tuple[Session, int] | None:
        """The user's open questionnaire whose result message never reached them, with its assessment id."""

    async def session(self, session_id: int) -> Session | None:
        """The session with this id, with the position of its next question."""

    async def open_session_of(self, user_id: int) -> Session | None:
        """The user's open questionnaire, if any."""

    async def record_answer(self, session_id: int, position: int, value: AnswerValue) -> bool:
        """Store the answer to question `position` if that is the session's next question; False otherwise
        (a stale or repeated button press, also one arriving at the same moment)."""

    async def answers(self, session_id: int) -> dict[str, AnswerValue]:
        """The answers given so far in a session, by question key."""

    async def finish_session(self, session_id: int, user_id: int, advice: Advice) -> bool:
        """Close an open session with its advice; False if it was no longer open (already finished elsewhere)."""

    async def cancel_open_session(self, user_id: int) -> bool:
        """Cancel the user's open questionnaire; False if there was none."""

    async def last_result(self, user_id: int) -> tuple[Risk | None, str | None]:
        """The risk of the user's last usable photo and the advice given for it, if any."""

    async def history(self, user_id: int, limit: int) -> History:
        """The user's `limit` newest assessed checks (newest first), the one with the most serious advice (the newest
        of those), and the number of photos that could not be assessed."""

    # intents and reminders

    async def log_intent(self, user_id: int, intent: str, score: float) -> None:
        """Record which intent a free-text question matched (not the question's text)."""

    async def add_reminder(self, user_id: int, chat_id: int, due_at: float, language: Language | None = None
                           ) -> Reminder:
        """Store a re-check reminder (and, where `reminders_queued`, its delivery job, committed with it), with the
        language the user is talked to in now."""

    @property
    def reminders_queued(self) -> bool:
        """Whether `add_reminder` also queues the reminder's delivery, in the same transaction (PostgreSQL: a job
        `skinbot worker` runs); False where the caller schedules it (SQLite: the bot's JobQueue)."""

    async def pending_reminders(self) -> list[Reminder]:
        """Reminders neither sent nor being sent, soonest first (to re-schedule them at start-up)."""

    async def claim_reminder(self, reminder_id: int) -> Reminder | None:
        """Claim a reminder for sending: the reminder if it is still pending, None if it no longer exists (the user
        used /forget), is claimed by another sender, or is done with. Of concurrent claims exactly one gets it."""

    async def release_reminder(self, reminder_id: int) -> None:
        """Give up a claim whose send failed for a transient reason: the reminder is pending again."""

    async def finish_reminder(self, reminder_id: int, outcome: ReminderOutcome) -> bool:
        """Record how a claimed reminder ended (delivered, or refused for good by Telegram); False if it no longer
        exists or was not claimed, or its outcome is recorded already."""

    # model details, spots and follow-ups

    async def record_details(self, assessment_id: int, assessment: Assessment) -> None:
        """Store what the type head said about a check: its modality, most likely type and its probability, rash."""

    async def check(self, assessment_id: int) -> CheckRecord | None:
        """The assessed check with this id, with its advice if given."""

    async def latest_check(self, user_id: int) -> CheckRecord | None:
        """The user's newest assessed check, if any."""

    async def earlier_spots(self, user_id: int, before_id: int, limit: int) -> list[CheckRecord]:
        """The newest check of each of the user's spots checked before `before_id`, newest first; a check not yet
        linked to a spot counts as a spot of its own. Rashes are left out: follow-up is for single spots."""

    async def spot_checks(self, spot_id: int) -> list[CheckRecord]:
        """Every check of a spot, oldest first."""

    async def link_followup(self, user_id: int, assessment_id: int, earlier_id: int) -> bool:
        """Record check `assessment_id` as a follow-up of the spot of `earlier_id` (creating the spot if the earlier
        check had none). False if either check is not the user's, or the new one is already linked (a repeated tap)."""

    async def session_assessment(self, session_id: int) -> int | None:
        """The id of the check a questionnaire is about."""

    async def replace_advice(self, session_id: int, advice: Advice) -> bool:
        """Replace the advice of a finished session (a later follow-up raised it); False if it has none."""

    # photo intake across replicas

    async def first_of_album(self, user_id: int, chat_id: int, media_group_id: str, update_id: int) -> bool:
        """Whether update `update_id` answers for its album (`media_group_id` in this chat): true for the first of
        the album's updates to ask, also when it is replayed, false for the others (albums arrive as one update per
        photo, maybe at once, maybe on different replicas)."""

    async def admit_photo(self, user_id: int, limit: int, window_s: float) -> bool:
        """Whether the user may have another photo checked: fewer than `limit` admitted in the last `window_s`
        seconds. An admitted photo is counted at once; a refused one is not counted."""

    # the update journal

    async def journal_updates(self, updates: Sequence[tuple[int, int | None, str]]) -> list[int]:
        """Record received updates (update_id, user_id, JSON) before Telegram is told they arrived; returns the
        ids not handled yet (a redelivered or replayed update that was handled is left out)."""

    async def claim_update(self, update_id: int, user_id: int | None, payload: str, lease_s: float) -> Claim:
        """Claim an update for handling (webhook replicas): "done" if it was handled already, "busy" if another
        handler claimed it less than `lease_s` seconds ago (it may still be running), else "claimed" (a new
        update, or one whose handler died: its claim expired)."""

    async def finish_update(self, update_id: int) -> None:
        """Mark an update handled and drop its content (only the id stays, to recognise a replay)."""

    async def unfinished_updates(self) -> list[str]:
        """The JSON of updates received but not handled (the bot stopped first), oldest first."""

    async def prune_updates(self, older_than_s: float) -> int:
        """Forget handled update ids older than this (Telegram redelivers an update for at most a day), and albums
        and photo admissions as old; returns how many rows went."""

    # deletion

    async def forget_user(self, user_id: int) -> list[str]:
        """Delete every row about the user; return the SHA-256 of their photos that no other user sent, so kept
        photo files can be removed."""
