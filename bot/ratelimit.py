"""A per-user sliding-window rate limit (photos per minute), kept in memory: it protects the CPU, not data."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """Allows at most `limit` events per `window_s` seconds for each key."""

    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[int, deque[float]] = {}

    @property
    def active_keys(self) -> int:
        """How many keys currently have events in their window."""
        return len(self._events)

    def allow(self, key: int) -> bool:
        """Record an event for `key` and say whether it is within the limit (refused events are not counted)."""
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        # Drop keys whose whole window has passed, so memory stays bounded by the active users.
        idle = [k for k, v in self._events.items() if not v or now - v[-1] >= self.window_s]
        for key in idle:
            del self._events[key]
