"""Photos kept on disk, only when `storage.keep_photos` is set: the one module that writes and deletes them.

Each photo is stored under its SHA-256 (the same hash the database keeps), so `/forget` can delete a user's photos
from the hashes of their rows. Blocking file I/O: callers run these in a worker thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from bot.settings import StorageConfig


def keep(config: StorageConfig, sha256: str, data: bytes) -> None:
    """Store the photo's bytes under its hash (callers check `config.keep_photos` first, sparing a thread)."""
    config.photos_dir.mkdir(parents=True, exist_ok=True)
    (config.photos_dir / sha256).write_bytes(data)


def remove(config: StorageConfig, hashes: Iterable[str]) -> None:
    """Delete the kept photos with these hashes; photos already gone (or never kept) are not an error. Runs even when
    photos are no longer kept, so that photos kept under an earlier setting are deleted too."""
    for digest in hashes:
        with contextlib.suppress(OSError):
            (config.photos_dir / digest).unlink(missing_ok=True)
