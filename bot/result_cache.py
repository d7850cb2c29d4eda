"""The photos behind recent results, in memory only, for "Where did you look?".

The bot keeps no photo on disk (unless `storage.keep_photos`), so the heatmap button can only work while the photo
is still in memory: each result's photo (already cut down to the square the model saw, see `bot.heatmap.prepare`)
and its class-activation map are kept for at most `bot.result_cache_ttl_s` seconds and for the newest
`bot.result_cache_size` results; older ones are dropped and the button then asks for the photo again. Nothing here
survives a restart, and /forget drops a user's entries at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedResult:
    """One result's photo (JPEG of the model's square) and its class-activation map."""

    user_id: int
    square_jpeg: bytes
    cam: tuple[tuple[float, ...], ...]
    stored_at: float


class ResultCache:
    """A bounded LRU with a time limit, keyed by assessment id; safe to use from worker threads."""

    def __init__(self, max_items: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_items = max_items
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[int, CachedResult] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, assessment_id: int, user_id: int, square_jpeg: bytes, cam: tuple[tuple[float, ...], ...]) -> None:
        """Remember a result's photo and map (evicting the oldest beyond `max_items`); a size of 0 keeps nothing."""
        if self.max_items <= 0:
            return
        with self._lock:
            self._items[assessment_id] = CachedResult(user_id, square_jpeg, cam, self._clock())
            self._items.move_to_end(assessment_id)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def get(self, assessment_id: int, user_id: int) -> CachedResult | None:
        """The entry if it is the user's and still fresh (an expired one is dropped)."""
        with self._lock:
            entry = self._items.get(assessment_id)
            if entry is None:
                return None
            if self._clock() - entry.stored_at > self.ttl_s:
                del self._items[assessment_id]
                return None
            if entry.user_id != user_id:
                return None
            self._items.move_to_end(assessment_id)
            return entry

    def forget_user(self, user_id: int) -> int:
        """Drop every entry of a user (/forget); returns how many."""
        with self._lock:
            mine = [key for key, entry in self._items.items() if entry.user_id == user_id]
            for key in mine:
                del self._items[key]
            return len(mine)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
