"""The kill test: many users each send a photo and answer the whole questionnaire while the bot is SIGKILLed at a
random moment and restarted at once; then the database is checked.

A user whose action got no reply within the timeout acts again on what their chat shows (taps the current
question again, or sends /start when the result of their photo never came): that is a "recovered" conversation.
A user told the bot is busy sends the photo again a little later, as the message asks.
Every user must end with the advice, directly or recovered, and the database must be consistent: one check per
photo, contiguous answers, one advice per finished questionnaire, no open questionnaire left, nothing unfinished
in the update journal.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

from playground.botprocess import BotProcess
from playground.client import Chat, ChatClient, buttons, message_text
from playground.server import Emulator

TOKEN = "555111:KILLTEST-TOKEN"
QUESTION_COUNT = 8
Outcome = Literal["direct", "recovered", "failed"]
Rows = Callable[[str], list[Any]]  # runs a query, returns its rows


@dataclass(frozen=True)
class KillSpec:
    users: int
    rounds: int
    images: tuple[Path, ...]
    seed: int = 11
    kill_window_s: tuple[float, float] = (0.5, 8.0)  # the kill falls uniformly in this span after the users start
    reply_timeout_s: float = 20.0  # how long a user waits for a reply before acting again
    max_nudges: int = 4
    think_s: float = 0.3
    busy_texts: frozenset[str] = frozenset()  # the bot's "busy, try again" replies
    busy_retry_s: float = 3.0  # how long a user told "busy" waits before sending the photo again
    # with a reminder: the callback data of the one chosen after the advice (e.g. "remind:1"), and how the bot's
    # confirmation ("OK, I'll remind you on ...") begins in each language, which ends the conversation
    remind_choice: str = ""
    reminder_set_prefixes: tuple[str, ...] = ()


@dataclass
class RoundReport:
    round: int
    kill_at_s: float
    outcomes: dict[str, int]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcomes.get("failed", 0) == 0 and not self.problems


def _state(transcript: list[dict[str, Any]], spec: KillSpec) -> tuple[str, dict[str, Any] | None]:
    """What the chat shows: ("reminded" | "advice" | "question" | "offer" | "busy" | "nothing", the message that
    shows it)."""
    for message in reversed(transcript):
        if not message["from"]["is_bot"]:
            continue
        text = message_text(message)
        if text in spec.busy_texts:
            return "busy", message
        if spec.reminder_set_prefixes and text.startswith(spec.reminder_set_prefixes):
            return "reminded", message
        data = [b.get("callback_data", "") for b in buttons(message)]
        if any(d.startswith("remind:") for d in data):
            return "advice", message
        if any(d.startswith("q:ans:") for d in data):
            return "question", message
        if any(d.startswith("q:start:") for d in data):
            return "offer", message
    return "nothing", None


async def _act(chat: Chat, state: str, message: dict[str, Any] | None, photo: tuple[bytes, str],
               spec: KillSpec) -> None:
    """Do what the chat asks for: tap the offer, the current question or the chosen reminder, send the photo again
    after "busy", or send /start when nothing came (the bot then sends a result it could not deliver)."""
    if state == "busy":
        await chat.send_photo(photo[0], filename=photo[1])
        return
    if state == "nothing":
        await chat.send_text("/start")
        return
    assert message is not None
    prefix = {"offer": "q:start:", "question": "q:ans:", "advice": spec.remind_choice}[state]
    data = next(b["callback_data"] for b in buttons(message) if b["callback_data"].startswith(prefix))
    await chat.press(message["message_id"], data)


def _fingerprint(message: dict[str, Any] | None) -> tuple[Any, ...]:
    return () if message is None else (message["message_id"], message.get("text"), str(message.get("reply_markup")))


async def converse(client: ChatClient, index: int, spec: KillSpec) -> Outcome:
    """One user: a photo, then every question until the advice (and, with `spec.remind_choice`, the reminder
    chosen and confirmed), acting again whenever a reply does not come."""
    chat = await client.new_chat(f"kill-{index}", "ko" if index % 2 else "en")
    image = spec.images[index % len(spec.images)]
    photo = (image.read_bytes(), image.name)
    await chat.send_photo(photo[0], filename=photo[1])
    nudges = 0
    seen: tuple[Any, ...] = ()
    waited_since = time.monotonic()
    for _ in range(400):
        state, message = _state(await client.transcript(chat.user_id), spec)
        if state == "reminded" or (state == "advice" and not spec.remind_choice):
            return "recovered" if nudges else "direct"
        if state != "nothing" and _fingerprint(message) != seen:
            seen = _fingerprint(message)  # a reply came: act on it
            await asyncio.sleep(spec.busy_retry_s if state == "busy" else spec.think_s)
            await _act(chat, state, message, photo, spec)
            waited_since = time.monotonic()
        elif time.monotonic() - waited_since > spec.reply_timeout_s:
            if nudges >= spec.max_nudges:
                return "failed"
            nudges += 1
            await _act(chat, state, message, photo, spec)
            waited_since = time.monotonic()
        await chat.next_events(timeout=1.0)
    return "failed"


def check_database(db_path: Path, users: int) -> list[str]:
    """Consistency problems in a stopped bot's SQLite database (empty when all is well)."""
    problems: list[str] = []
    with sqlite3.connect(db_path) as db:
        if db.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            problems.append("integrity_check failed")
        if db.execute("PRAGMA foreign_key_check").fetchall():
            problems.append("foreign keys broken")
        problems += check_rows(lambda sql: db.execute(sql).fetchall(), users)
    return problems


def check_rows(rows: Rows, users: int) -> list[str]:
    """Consistency problems in a bot's database of any backend, read through `rows` (SQL every backend accepts):
    one check per user and per update, contiguous answers, one advice per finished questionnaire, none left open,
    nothing unfinished in the update journal."""
    problems: list[str] = []
    per_user = rows("SELECT user_id, COUNT(*) FROM assessments GROUP BY user_id")
    if len(per_user) != users or any(count != 1 for _, count in per_user):
        problems.append(f"photo checks per user: {sorted(count for _, count in per_user)} (want {users} x 1)")
    twice = rows("SELECT update_id, COUNT(*) FROM assessments WHERE update_id IS NOT NULL GROUP BY update_id "
                 "HAVING COUNT(*) > 1")
    problems += [f"update {update_id} checked {count} times" for update_id, count in twice]
    positions: dict[int, list[int]] = defaultdict(list)
    for session_id, position in rows("SELECT session_id, position FROM answers ORDER BY session_id, position"):
        positions[session_id].append(position)
    advice = dict(rows("SELECT session_id, COUNT(*) FROM advice GROUP BY session_id"))
    for session_id, status in rows("SELECT id, status FROM sessions ORDER BY id"):
        answered = positions.get(session_id, [])
        if answered != list(range(len(answered))):
            problems.append(f"session {session_id}: answers at positions {answered}")
        if status == "done" and (advice.get(session_id, 0) != 1 or len(answered) != QUESTION_COUNT):
            problems.append(f"session {session_id}: done with {len(answered)} answers and "
                            f"{advice.get(session_id, 0)} advice")
        if status == "open":
            problems.append(f"session {session_id} is still open")
    ((done,),) = rows("SELECT COUNT(DISTINCT user_id) FROM sessions WHERE status = 'done'")
    if done != users:
        problems.append(f"{done} of {users} users have a finished questionnaire")
    ((unfinished,),) = rows("SELECT COUNT(*) FROM updates WHERE done_at IS NULL")
    if unfinished:
        problems.append(f"{unfinished} update(s) left unfinished in the journal")
    return problems


async def _kill_and_restart(bot: BotProcess, delay: float) -> None:
    await asyncio.sleep(delay)
    await bot.kill()
    await bot.start()


async def run_round(spec: KillSpec, round_index: int, config_path: Path | None, cwd: Path | None) -> RoundReport:
    """One round: a fresh bot and database, every user at once, one SIGKILL + restart at a random moment."""
    rng = random.Random(spec.seed * 1000 + round_index)
    kill_at = rng.uniform(*spec.kill_window_s)
    emulator = Emulator(token=TOKEN)
    await emulator.start()
    with tempfile.TemporaryDirectory(prefix="skinbot-killtest-") as scratch:
        db_path = Path(scratch) / "kill.db"
        bot = BotProcess(emulator, db_path, Path(scratch) / "bot.log", config_path, cwd)
        try:
            await bot.start()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                client = ChatClient(emulator.url, session)
                killer = asyncio.create_task(_kill_and_restart(bot, kill_at))
                outcomes = await asyncio.gather(*(converse(client, i, spec) for i in range(spec.users)))
                await killer
            code = await bot.stop()
        finally:
            await bot.kill()
            await emulator.stop()
        problems = [] if code == 0 else [f"the bot exited with {code} on SIGTERM"]
        problems += check_database(db_path, spec.users)
        if problems:
            problems.append(bot.log_tail(20))
    counts = {kind: outcomes.count(kind) for kind in ("direct", "recovered", "failed")}
    return RoundReport(round_index, kill_at, counts, problems)
