"""The bot's work in flight, by user: so that /forget can stop a user's running analysis before it deletes their
rows, and shutdown can stop whatever is still running after its time limit (unfinished updates are replayed from
the update journal on the next start, see `bot.intake`).

Each update is handled inside `Work.track(user_id)` (by `bot.app.SkinbotApplication`); side tasks an update starts
(a button's answer) are awaited before the update counts as handled, so none outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine
from typing import Any

logger = logging.getLogger(__name__)
_side_tasks: contextvars.ContextVar[list[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "skinbot_side_tasks", default=None
)


class Work:
    """The tasks handling each user's updates, and users whose data is being deleted."""

    def __init__(self) -> None:
        self._tasks: defaultdict[int | None, set[asyncio.Task[Any]]] = defaultdict(set)
        self._deleting: dict[int, asyncio.Event] = {}

    @contextlib.asynccontextmanager
    async def track(self, user_id: int | None) -> AsyncIterator[None]:
        """Run the block as work of `user_id`: after their /forget has finished, if one is running; side tasks
        started with `spawn` inside the block are awaited at its end."""
        while user_id is not None and user_id in self._deleting:
            await self._deleting[user_id].wait()
        task = asyncio.current_task()
        assert task is not None
        self._tasks[user_id].add(task)
        side: list[asyncio.Task[Any]] = []
        token = _side_tasks.set(side)
        try:
            yield
            if side:
                await asyncio.gather(*side, return_exceptions=True)
        finally:
            _side_tasks.reset(token)
            for pending in side:
                pending.cancel()
            self._tasks[user_id].discard(task)
            if not self._tasks[user_id]:
                del self._tasks[user_id]

    def others(self, user_id: int) -> int:
        """How many of the user's updates are being handled, besides the current one."""
        current = asyncio.current_task()
        return sum(1 for task in self._tasks.get(user_id, ()) if task is not current)

    @contextlib.asynccontextmanager
    async def exclusive(self, user_id: int) -> AsyncIterator[None]:
        """Cancel the user's other work and wait for it to end; the user's next updates wait until the block is
        over (for /forget: nothing of theirs runs between the cancellation and the deletion)."""
        done = asyncio.Event()
        self._deleting[user_id] = done
        try:
            current = asyncio.current_task()
            running = [task for task in self._tasks.get(user_id, ()) if task is not current]
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
                logger.info("stopped %d update(s) of a user who asked to be forgotten", len(running))
            yield
        finally:
            del self._deleting[user_id]
            done.set()

    @property
    def running(self) -> int:
        """How many updates are being handled."""
        return sum(len(tasks) for tasks in self._tasks.values())

    def cancel_all(self) -> int:
        """Cancel every update being handled (at the end of a bounded shutdown); returns how many."""
        tasks = [task for tasks in self._tasks.values() for task in tasks]
        for task in tasks:
            task.cancel()
        return len(tasks)


def spawn(coroutine: Coroutine[Any, Any, Any], name: str) -> None:
    """Run `coroutine` beside the current update's handler, which goes on without waiting for it; the update's
    `Work.track` block awaits it at the end (outside one, the task simply runs on)."""
    task = asyncio.create_task(coroutine, name=name)
    side = _side_tasks.get()
    if side is not None:
        side.append(task)
    else:
        _orphans.add(task)
        task.add_done_callback(_orphans.discard)


_orphans: set[asyncio.Task[Any]] = set()  # keeps untracked side tasks referenced until they finish
