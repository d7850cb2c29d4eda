"""The settings the bot reads (`bot:`, `policy:`, `storage:` and `report:` in config.yaml), owned here.
Imports only the shared vocabulary; `skinbot.config` loads these with the other sections."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from skinbot.vocabulary import Language


@dataclass(frozen=True)
class PolicyConfig:
    urgent_checklist_score: int = 3
    soon_checklist_score: int = 1
    red_flags: tuple[str, ...] = ("bleeding", "size_change")
    # A follow-up photo of the same spot whose malignancy score is at least this much higher than last time (or
    # whose risk level went up) is a clear rise: the advice goes one level sooner (bot/policy.py).
    followup_rise: float = 0.15


@dataclass(frozen=True)
class BotConfig:
    default_language: Language = "en"
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # A webhook replica holds each update it handles this long (`Storage.claim_update`): a copy Telegram re-sends
    # meanwhile is refused (503) by every replica; after it, a replica that died mid-update is taken over. Longer
    # than the slowest handling: a photo's wait for a slot (photo_wait_s), its download, analysis and replies.
    webhook_claim_s: float = 120.0
    photo_rate_limit_per_minute: int = 6
    max_photo_bytes: int = 20_000_000
    reminder_months: tuple[int, ...] = (1, 3)
    # A reminder "month" in seconds (30 days): the delays above are counted in these, so a test can make one short.
    reminder_month_s: float = 30 * 86400.0
    # A reminder whose send failed for a transient reason (network, 5xx after `network_retries`) is tried again
    # this much later; one Telegram refused for good (400, 403) is not.
    reminder_retry_s: float = 600.0
    # `skinbot worker` (PostgreSQL mode) looks for reminders fallen due this often (procrastinate's
    # fetch_job_polling_interval): a reminder goes out at most this late.
    reminder_poll_s: float = 5.0
    concurrent_updates: int = 64
    send_max_retries: int = 3
    network_retries: int = 3
    network_retry_backoff_s: float = 0.5
    max_sends_per_second: float = 30.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    write_timeout_s: float = 30.0
    polling_timeout_s: int = 30
    history_limit: int = 10
    photo_slots: int = 3
    photo_queue_limit: int = 32
    photo_wait_s: float = 30.0
    shutdown_timeout_s: float = 5.0
    # "Where did you look?": the photo (downscaled to what the model saw) and its map are kept in memory only, for at
    # most this many results and this long, so the button under a result works while the result is fresh.
    result_cache_size: int = 32
    result_cache_ttl_s: float = 3600.0
    followup_choices: int = 4  # earlier spots offered when asking "is this the same spot?"

    @property
    def resolved_file_base_url(self) -> str:
        """The file download base URL: set on its own, or derived from the API base URL as Telegram lays it out."""
        if self.file_base_url:
            return self.file_base_url
        base = self.api_base_url.rstrip("/")
        head, sep, tail = base.rpartition("/")
        return f"{head}/file/{tail}" if sep else f"{base}/file"


SQLITE_URL_PREFIX = "sqlite:///"


@dataclass(frozen=True)
class StorageConfig:
    # sqlite:///skinbot.db (relative: under the skinbot home) or sqlite:////absolute/path.db for one process;
    # postgresql://user@host/db (the `scale` extra) when several webhook replicas share the state.
    url: str = f"{SQLITE_URL_PREFIX}skinbot.db"
    keep_photos: bool = False
    photos_dir: Path = Path("photos")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file `url` names; None when it names another backend."""
        return sqlite_path(self.url)

    def anchored_url(self, base: Path) -> StorageConfig:
        """This config with a relative SQLite file taken from `base` (other URLs are left as they are)."""
        path = self.sqlite_path
        if path is None or path.is_absolute():
            return self
        return dataclasses.replace(self, url=f"{SQLITE_URL_PREFIX}{base / path}")


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///path` URL (three slashes, then a relative path or a fourth slash and an absolute
    one); None for any other URL, or for one without a path."""
    if not url.startswith(SQLITE_URL_PREFIX) or len(url) == len(SQLITE_URL_PREFIX):
        return None
    return Path(url[len(SQLITE_URL_PREFIX):])


@dataclass(frozen=True)
class ReportConfig:
    """`/report`: the PDF summary for the doctor. The fonts must be TrueType (.ttf) with Hangul, as reportlab can
    embed only those; Debian's fonts-nanum (installed by scripts/test.sh) provides these."""

    font_path: Path = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
    bold_font_path: Path = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
