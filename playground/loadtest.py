"""The load test: N simulated users at once, each sending photos and answering the questionnaire by buttons,
against the real bot (a child process, or several webhook replicas behind a balancer) through the emulator.

Every user action expects exactly one reply (a new message for a photo, an in-place edit for a button). A reply
that does not come within the timeout is lost; any extra reply is a duplicate. Latency is measured on the
emulator's clock, from the moment it queued the user's update to the moment the bot's reply reached it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import io
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import numpy as np
from PIL import Image

from playground.client import Chat, ChatClient, buttons, message_text
from playground.cluster.botcluster import ClusterSpec, bot_cluster
from playground.cluster.postgres import throwaway_postgres
from playground.fleet import Fleet
from playground.server import Emulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

TOKEN = "555000:LOADTEST-TOKEN"
RSS_SAMPLE_EVERY_S = 0.2
IMAGE_PATTERNS = ("benign_*.jpg", "malignant_*.jpg")  # lesion photos, so that every user gets the questionnaire
SETTLE_S = 1.0  # after the last action: how long late (duplicate) replies are still counted


@dataclass(frozen=True)
class LoadSpec:
    users: int
    photos_per_user: int
    images: tuple[Path, ...]
    reply_timeout_s: float = 30.0
    think_s: float = 3.0  # a person reads and taps: the pause between a reply and the user's next action
    ramp_s: float = 10.0  # users start one after another, evenly over this many seconds
    as_file: bool = False  # send the photos as files (uncompressed documents), not as photos
    busy_texts: frozenset[str] = frozenset()  # the bot's "busy, try again" replies, counted apart
    replicas: int = 0  # 0: one bot long-polling; N: N webhook replicas behind a round-robin balancer (or nginx)
    # the replicas as deployed: behind nginx, on a throwaway PostgreSQL, with the reminder worker (playground.cluster)
    cluster: bool = False


@dataclass
class UserTally:
    expected: int = 0
    received: int = 0
    lost: int = 0
    busy: int = 0  # replies saying the bot is busy (try again)
    photo_latencies_s: list[float] = field(default_factory=list)
    button_latencies_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class LoadReport:
    users: int
    photos_per_user: int
    think_s: float
    ramp_s: float
    expected_replies: int
    received_replies: int
    lost_replies: int
    duplicated_replies: int
    busy_replies: int
    photo_p50_ms: float
    photo_p95_ms: float
    button_p50_ms: float
    button_p95_ms: float
    duration_s: float
    replies_per_s: float
    bot_peak_rss_mb: float  # all the bot processes together
    replicas: int = 0
    cluster: bool = False
    peak_rss_mb_by_process: dict[str, float] = field(default_factory=dict)  # each bot process's own peak

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """The report as a few human-readable lines."""
        intake = f", {self.replicas} webhook replica(s)" if self.replicas else ""
        intake += " behind nginx on PostgreSQL" if self.cluster else ""
        each = ", ".join(f"{name} {mb:.0f} MB" for name, mb in self.peak_rss_mb_by_process.items())
        return "\n".join([
            f"users {self.users} x {self.photos_per_user} photo(s) + questionnaire, think time {self.think_s:g} s, "
            f"ramp-up {self.ramp_s:g} s{intake}",
            f"replies: {self.received_replies} received / {self.expected_replies} expected "
            f"({self.lost_replies} lost, {self.duplicated_replies} duplicated, {self.busy_replies} 'busy, try again')",
            f"photo -> reply latency: p50 {self.photo_p50_ms:.0f} ms, p95 {self.photo_p95_ms:.0f} ms",
            f"button -> reply latency: p50 {self.button_p50_ms:.0f} ms, p95 {self.button_p95_ms:.0f} ms",
            f"throughput: {self.replies_per_s:.1f} replies/s over {self.duration_s:.1f} s",
            f"bot peak RSS: {self.bot_peak_rss_mb:.0f} MB" + (f" (each process's peak: {each})" if each else ""),
        ])

    def targets_met(self, p95_target_ms: float) -> bool:
        """No reply lost or duplicated, and photo replies fast enough at the 95th percentile."""
        return self.lost_replies == 0 and self.duplicated_replies == 0 and self.photo_p95_ms <= p95_target_ms


@functools.cache
def lesion_photos(folder: Path) -> tuple[Path, ...]:
    """The lesion photos in `folder` (IMAGE_PATTERNS), sorted; a file given instead of a folder is used as is."""
    if folder.is_file():
        return (folder,)
    return tuple(sorted(p for pattern in IMAGE_PATTERNS for p in folder.glob(pattern)))


def busy_texts() -> frozenset[str]:
    """The bot's "busy, try again" replies in every language, which simulated users count apart."""
    from bot.messages import LANGUAGES, load_catalog

    catalog = load_catalog()
    return frozenset(catalog.text(lang, "busy") for lang in LANGUAGES)


def load_test(spec: LoadSpec, config_path: Path | None, big_photo_mb: float,
              announce: Callable[[str], None]) -> LoadReport:
    """Run `run_load`; with `big_photo_mb`, every user sends one camera-sized JPEG of that size as a file instead
    (made from the first of `spec.images`), for memory measurements."""
    with tempfile.TemporaryDirectory(prefix="skinbot-bigphoto-") as scratch:
        if big_photo_mb > 0:
            big = Path(scratch) / "big_photo.jpg"
            big.write_bytes(big_photo(spec.images[0], int(big_photo_mb * 1_000_000)))
            announce(f"skinbot loadtest: each user sends {big.stat().st_size / 1e6:.2f} MB as a file")
            spec = dataclasses.replace(spec, images=(big,), as_file=True)
        announce(f"skinbot loadtest: {spec.users} users x {spec.photos_per_user} photo(s) + questionnaire…")
        if not spec.cluster:
            return asyncio.run(run_load(spec, config_path=config_path))
        with throwaway_postgres() as postgres:
            return asyncio.run(run_load(spec, config_path=config_path, db_url=postgres.new_database()))


def _read(path: Path) -> bytes:
    """A photo's bytes, read once for all users (a big test photo is then held once, not once per user)."""
    return path.read_bytes()


def big_photo(source: Path, target_bytes: int, side: int = 6000, quality: int = 95) -> bytes:
    """A large camera-like JPEG of `source` (upscaled to `side` px wide, 4:3, with grain), as close to
    `target_bytes` as a search on the grain finds without going over: reproducible, for memory measurements."""
    with Image.open(source) as opened:
        upscaled = np.asarray(opened.convert("RGB").resize((side, side * 3 // 4), Image.Resampling.BICUBIC),
                              dtype=np.int16)
    grain = np.random.default_rng(0).integers(-64, 65, upscaled.shape, dtype=np.int16)  # amplitude / 256

    def encode(amplitude: int) -> bytes:
        pixels = np.clip(upscaled + grain * amplitude // 256, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
        return buffer.getvalue()

    low, high = 0, 256  # grain amplitude: more grain, a bigger file
    best = encode(low)
    while low < high:
        middle = (low + high + 1) // 2
        candidate = encode(middle)
        if len(candidate) <= target_bytes:
            low, best = middle, candidate
        else:
            high = middle - 1
    return best


def percentile_ms(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) in milliseconds, nearest-rank on sorted values; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))  # 1-based nearest rank
    return ordered[min(rank, len(ordered)) - 1] * 1000.0


async def _act(chat: Chat, tally: UserTally, latencies: list[float], spec: LoadSpec) -> dict[str, Any] | None:
    """Wait for the one reply to the action just taken; its message, or None if it was lost."""
    tally.expected += 1
    replies = await chat.bot_replies(timeout=spec.reply_timeout_s, count=1)
    if not replies:
        tally.lost += 1
        return None
    latencies.append(replies[0]["at"] - chat.last_queued_at)
    tally.received += len(replies)
    message: dict[str, Any] = replies[-1]["message"]
    if message_text(message) in spec.busy_texts:
        tally.busy += 1
    return message


async def simulate_user(client: ChatClient, index: int, spec: LoadSpec) -> tuple[Chat, UserTally]:
    """One user: for each photo, send it, then answer every question ("not sure" to each) until the advice.

    Users start evenly spread over the ramp-up time (as people arrive), not all in the same instant.
    """
    chat = await client.new_chat(f"load-{index}", "ko" if index % 2 else "en")
    tally = UserTally()
    await asyncio.sleep(spec.ramp_s * index / spec.users)
    for photo in range(spec.photos_per_user):
        image = spec.images[(index + photo) % len(spec.images)]
        await chat.send_photo(_read(image), filename=image.name, as_document=spec.as_file)
        message = await _act(chat, tally, tally.photo_latencies_s, spec)
        prefix = "q:start"
        while message is not None:
            choice = [b["callback_data"] for b in buttons(message) if b["callback_data"].startswith(prefix)]
            if not choice:
                break
            await asyncio.sleep(spec.think_s)
            await chat.press(message["message_id"], choice[-1])
            message = await _act(chat, tally, tally.button_latencies_s, spec)
            prefix = "q:ans"
        await asyncio.sleep(spec.think_s)
    return chat, tally


@dataclass
class RssPeaks:
    """The highest resident memory seen, of all the bot processes together and of each one."""

    total: int = 0
    by_process: dict[str, int] = field(default_factory=dict)

    def add(self, sample: dict[str, int]) -> None:
        """Take one sample (bytes by process name) into the peaks."""
        self.total = max(self.total, sum(sample.values()))
        for name, rss in sample.items():
            self.by_process[name] = max(self.by_process.get(name, 0), rss)


async def _sample_rss(measure: Callable[[], dict[str, int]], peaks: RssPeaks, stop: asyncio.Event) -> None:
    while not stop.is_set():
        peaks.add(measure())
        try:
            await asyncio.wait_for(stop.wait(), RSS_SAMPLE_EVERY_S)
        except TimeoutError:
            continue


@contextlib.asynccontextmanager
async def _bots(spec: LoadSpec, emulator: Emulator, scratch: Path, config_path: Path | None, cwd: Path | None,
                db_url: str | None) -> AsyncIterator[Callable[[], dict[str, int]]]:
    """The bot processes `spec` asks for, serving `emulator`, running while inside; yields what measures their
    resident memory (bytes by process)."""
    if spec.cluster:
        if db_url is None:
            raise ValueError("a cluster load test needs a PostgreSQL database URL")
        cluster_spec = ClusterSpec(replicas=max(spec.replicas, 1), db_url=db_url, worker=True,
                                   read_timeout_s=spec.reply_timeout_s)
        async with bot_cluster(emulator, cluster_spec, config_path, scratch) as cluster:
            yield cluster.bot_rss_bytes
        return
    fleet = Fleet(emulator, scratch, config_path, cwd, replicas=spec.replicas)
    try:
        await fleet.start()
        yield fleet.rss_by_process
    finally:
        await fleet.stop()


async def run_load(spec: LoadSpec, config_path: Path | None, cwd: Path | None = None,
                   db_url: str | None = None) -> LoadReport:
    """Start the emulator and the bot or its replicas (fresh database: a SQLite file, or `db_url` for a cluster),
    run every user at once, stop them all, and report."""
    emulator = Emulator(token=TOKEN)
    await emulator.start()
    peaks = RssPeaks()
    stop_sampling = asyncio.Event()
    try:
        with tempfile.TemporaryDirectory(prefix="skinbot-loadtest-") as scratch:
            async with _bots(spec, emulator, Path(scratch), config_path, cwd, db_url) as measure:
                sampler = asyncio.create_task(_sample_rss(measure, peaks, stop_sampling))
                connector = aiohttp.TCPConnector(limit=0)
                async with aiohttp.ClientSession(connector=connector) as session:
                    client = ChatClient(emulator.url, session)
                    started = time.monotonic()
                    results = await asyncio.gather(*(simulate_user(client, i, spec) for i in range(spec.users)))
                    duration = time.monotonic() - started
                    await asyncio.sleep(SETTLE_S)
                    late = [len(await chat.bot_replies(timeout=0.0)) for chat, _ in results]
                stop_sampling.set()
                await sampler
    finally:
        await emulator.stop()
    tallies = [tally for _, tally in results]
    expected = sum(t.expected for t in tallies)
    received = sum(t.received for t in tallies) + sum(late)
    answered = expected - sum(t.lost for t in tallies)
    photo = [x for t in tallies for x in t.photo_latencies_s]
    button = [x for t in tallies for x in t.button_latencies_s]
    return LoadReport(
        users=spec.users, photos_per_user=spec.photos_per_user, think_s=spec.think_s, ramp_s=spec.ramp_s,
        expected_replies=expected,
        received_replies=received, lost_replies=expected - answered, duplicated_replies=received - answered,
        busy_replies=sum(t.busy for t in tallies),
        photo_p50_ms=percentile_ms(photo, 50), photo_p95_ms=percentile_ms(photo, 95),
        button_p50_ms=percentile_ms(button, 50), button_p95_ms=percentile_ms(button, 95),
        duration_s=duration, replies_per_s=received / duration if duration > 0 else 0.0,
        bot_peak_rss_mb=peaks.total / 1e6, replicas=spec.replicas, cluster=spec.cluster,
        peak_rss_mb_by_process={name: rss / 1e6 for name, rss in peaks.by_process.items()},
    )


