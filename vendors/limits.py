"""Rate limits shared by every worker of a run, and CCC's daily file quota.

`RateLimiter` is a cross-process GCRA ("virtual scheduling") limiter: each `reserve`
atomically books the next free send slot for its key in a small SQLite file, so N
processes together never exceed the vendor's rate, and the booked slot times can be
checked without a stopwatch. `DailyQuota` counts files per vendor and day in the run
journal's SQLite, so a quota used up by one run is still used up for the next one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Final

from pipeline.errors import ConfigurationError
from vendors.errors import VendorQuotaExceeded

__all__ = ["LIMITS_NAME", "VENDOR_RATES", "DailyQuota", "RateLimiter", "rate_limiter"]

LIMITS_NAME: Final = "ratelimit.sqlite"
"""The limiter's state file inside a run's state directory."""

VENDOR_RATES: Final[dict[str, float]] = {
    "tencent-ccc.UploadIvrAudio": 1.0,
    "tencent-ccc.DescribeIvrAudioList": 20.0,
    "tencent-vod": 20.0,
    "aliyun": 100.0,
    "huawei": 10.0,
}
"""Documented requests per second, by ``vendor[.action]`` key (VENDORS.md)."""

_BUSY_TIMEOUT_S = 30.0
_memory_lock = threading.Lock()
_memory_tat: dict[str, float] = {}


@dataclass
class RateLimiter:
    """At most ``rate_per_s`` sends a second for ``key``, in bursts of at most ``burst``.

    With ``state_path`` the schedule lives in that SQLite file and is shared by every
    process using the same path and key; without it, by every limiter of this process.
    """

    key: str
    rate_per_s: float
    burst: int = 1
    state_path: str | None = None
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ConfigurationError(
                f"rate limit for {self.key!r} needs rate_per_s > 0 and burst >= 1"
            )

    @property
    def interval_s(self) -> float:
        return 1.0 / self.rate_per_s

    def _book(self, tat: float | None, now: float) -> tuple[float, float]:
        """(slot, new theoretical arrival time) for a send requested at ``now``."""
        tat = now if tat is None else max(tat, now)
        slot = max(now, tat - (self.burst - 1) * self.interval_s)
        return slot, max(tat, slot) + self.interval_s

    def reserve(self) -> float:
        """Book the next free send slot and return it (epoch seconds, maybe in the future)."""
        now = self.clock()
        if self.state_path is None:
            with _memory_lock:
                slot, _memory_tat[self.key] = self._book(_memory_tat.get(self.key), now)
            return slot
        with closing(_connect(self.state_path)) as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT tat FROM rate WHERE key = ?", (self.key,)).fetchone()
            slot, tat = self._book(None if row is None else float(row[0]), now)
            db.execute("INSERT OR REPLACE INTO rate VALUES (?, ?)", (self.key, tat))
            db.execute("COMMIT")
        return slot

    def acquire(self, *, sleep: Callable[[float], object] = time.sleep) -> float:
        """Wait until this caller may send; returns the booked slot."""
        slot = self.reserve()
        wait_s = slot - self.clock()
        if wait_s > 0:
            sleep(wait_s)
        return slot

    async def acquire_async(self) -> float:
        """`acquire` for async code: waits with ``asyncio.sleep``."""
        slot = self.reserve()
        wait_s = slot - self.clock()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        return slot


def rate_limiter(
    key: str, *, state_dir: str | None, clock: Callable[[], float] = time.time
) -> RateLimiter | None:
    """The limiter for a ``vendor[.action]`` key at its documented rate, or None if unlimited."""
    rate = VENDOR_RATES.get(key)
    if rate is None:
        return None
    path = None if state_dir is None else os.path.join(state_dir, LIMITS_NAME)
    return RateLimiter(key=key, rate_per_s=rate, state_path=path, clock=clock)


def _connect(path: str) -> sqlite3.Connection:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    db.execute("CREATE TABLE IF NOT EXISTS rate (key TEXT PRIMARY KEY, tat REAL NOT NULL)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS quota (vendor TEXT NOT NULL, day TEXT NOT NULL, "
        "used INTEGER NOT NULL, PRIMARY KEY (vendor, day))"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS quota_items (vendor TEXT NOT NULL, day TEXT NOT NULL, "
        "item TEXT NOT NULL, PRIMARY KEY (vendor, day, item))"
    )
    return db


@dataclass
class DailyQuota:
    """A per-day count of files sent to ``vendor``, persisted in ``db_path`` (the run journal).

    Days are counted in UTC+8 (Beijing), where the vendor most plausibly resets; the
    vendor does not document it. `reserve` before sending, `release` when the vendor
    did not take the file, `exhaust` when the vendor says the quota is gone. With a
    ``key`` (the item's name) a file holds its reservation while its fate is unknown:
    reserving it again that day, e.g. when a run resumes an item that may already have
    been sent, counts nothing; `release` gives it back, `consume` ends the hold once the
    vendor took the file.
    """

    vendor: str
    limit_per_day: int
    db_path: str | None = None
    utc_offset_h: float = 8.0
    clock: Callable[[], float] = field(default=time.time, repr=False)
    scope: str | None = None
    """What the count is kept for besides ``vendor`` (the client's target: endpoint and
    SdkAppId), so files sent to a sandbox do not count against the real cloud."""
    _memory: dict[str, int] = field(default_factory=dict, repr=False)
    _held: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def day(self) -> str:
        """The quota day (``YYYY-MM-DD``) at the current time."""
        tz = dt.timezone(dt.timedelta(hours=self.utc_offset_h))
        return dt.datetime.fromtimestamp(self.clock(), tz).strftime("%Y-%m-%d")

    def _update(
        self, change: Callable[[int, bool], tuple[int, bool]], key: str | None = None
    ) -> tuple[int, int, bool]:
        """Atomically map (today's count, whether ``key`` holds a reservation today) to new
        values; returns (count before, count after, held before)."""
        day = self.day()
        if self.db_path is None:
            with _memory_lock:
                before = self._memory.get(day, 0)
                held = key is not None and (day, key) in self._held
                after, hold = change(before, held)
                self._memory[day] = after
                if key is not None:
                    (self._held.add if hold else self._held.discard)((day, key))
            return before, after, held
        with closing(_connect(self.db_path)) as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT used FROM quota WHERE vendor = ? AND day = ?", (self._key, day)
            ).fetchone()
            before = 0 if row is None else int(row[0])
            ids = (self._key, day, key)
            held = key is not None and (
                db.execute(
                    "SELECT 1 FROM quota_items WHERE vendor = ? AND day = ? AND item = ?", ids
                ).fetchone()
                is not None
            )
            after, hold = change(before, held)
            db.execute("INSERT OR REPLACE INTO quota VALUES (?, ?, ?)", (self._key, day, after))
            if key is not None and hold != held:
                sql = (
                    "INSERT INTO quota_items VALUES (?, ?, ?)"
                    if hold
                    else ("DELETE FROM quota_items WHERE vendor = ? AND day = ? AND item = ?")
                )
                db.execute(sql, ids)
            db.execute("COMMIT")
        return before, after, held

    @property
    def _key(self) -> str:
        """The ``vendor`` column of the quota tables: the vendor, and the scope if any."""
        return self.vendor if not self.scope else f"{self.vendor} {self.scope}"

    def used(self) -> int:
        """Files counted today."""
        return self._update(lambda n, held: (n, held))[0]

    def remaining(self) -> int:
        """Files that may still be sent today."""
        return max(0, self.limit_per_day - self.used())

    def reserve(self, n: int = 1, *, key: str | None = None) -> None:
        """Count ``n`` files against today, or raise `VendorQuotaExceeded` and count none.

        With ``key``, one file that keeps its reservation until `release`; a second
        `reserve` of the same key on the same day counts nothing.
        """
        if key is not None:
            n = 1

        def change(used: int, held: bool) -> tuple[int, bool]:
            if held:
                return used, True
            if used + n > self.limit_per_day:
                return used, False
            return used + n, key is not None

        before, after, held = self._update(change, key)
        if after == before and not held:
            raise VendorQuotaExceeded(
                self.vendor,
                "DailyQuotaExhausted",
                f"{before} of {self.limit_per_day} files already uploaded on {self.day()} "
                f"(UTC{self.utc_offset_h:+.0f} day); nothing was sent. Run the same upload "
                "again after midnight Beijing time: files already uploaded are skipped",
            )

    def release(self, n: int = 1, *, key: str | None = None) -> None:
        """Give back ``n`` reserved files the vendor did not take (with ``key``: that file's
        reservation of today, if it holds one)."""

        def change(used: int, held: bool) -> tuple[int, bool]:
            if key is None:
                return max(0, used - n), held
            return (max(0, used - 1), False) if held else (used, False)

        self._update(change, key)

    def consume(self, *, key: str) -> None:
        """The vendor took ``key``'s file: its count stays, its hold ends (a later upload of
        the same name is a new file and counts again)."""
        self._update(lambda used, held: (used, False), key)

    def exhaust(self) -> None:
        """Mark today as used up (the vendor said so, whatever our count was)."""
        self._update(lambda used, held: (max(used, self.limit_per_day), held))
