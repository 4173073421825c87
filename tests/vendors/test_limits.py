"""Shared rate limiter (cross-process GCRA) and CCC's daily quota in the run journal."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.journal import JOURNAL_NAME, Journal
from tests.vendors.fakes import FakeClock
from vendors.errors import VendorQuotaExceeded
from vendors.limits import DailyQuota, RateLimiter, rate_limiter

_KEYS = itertools.count()


def test_slots_are_spaced_by_the_interval_when_requested_at_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(key="k-spacing", rate_per_s=4.0, clock=clock)
    slots = [limiter.reserve() for _ in range(5)]
    assert [s - clock.now for s in slots] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_idle_time_is_not_banked_beyond_the_burst(tmp_path: Path) -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        key="k", rate_per_s=1.0, burst=2, state_path=str(tmp_path / "r.sqlite"), clock=clock
    )
    limiter.reserve()
    clock.now += 100.0
    slots = [limiter.reserve() - clock.now for _ in range(4)]
    assert slots == pytest.approx([0.0, 0.0, 1.0, 2.0])


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=30),
    rate=st.sampled_from([1.0, 20.0, 100.0]),
    burst=st.integers(min_value=1, max_value=3),
)
def test_no_window_holds_more_than_burst_plus_rate_times_length(
    gaps: list[float], rate: float, burst: int
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(key=f"prop-{next(_KEYS)}", rate_per_s=rate, burst=burst, clock=clock)
    slots = []
    for gap in gaps:
        clock.now += gap
        slots.append(limiter.reserve())
        assert slots[-1] >= clock.now
    slots.sort()
    interval = 1.0 / rate
    for i in range(len(slots)):
        for j in range(i + burst, len(slots)):
            # j - i + 1 sends inside [slots[i], slots[j]]: at most burst + length * rate
            assert slots[j] - slots[i] >= (j - i - burst + 1) * interval - 1e-6


def test_acquire_sleeps_until_the_booked_slot() -> None:
    clock = FakeClock()
    limiter = RateLimiter(key="k-acquire", rate_per_s=2.0, clock=clock)
    limiter.acquire(sleep=clock.sleep)
    limiter.acquire(sleep=clock.sleep)
    assert clock.slept == pytest.approx([0.5])


def _book(path: str, n: int, queue: Any) -> None:
    limiter = RateLimiter(key="tencent-vod", rate_per_s=50.0, state_path=path)
    queue.put([limiter.reserve() for _ in range(n)])


def test_two_processes_share_one_schedule(tmp_path: Path) -> None:
    path = str(tmp_path / "ratelimit.sqlite")
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_book, args=(path, 25, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    slots = sorted(queue.get(timeout=60) + queue.get(timeout=60))
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert len(slots) == 50
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    # Booked slots, not measured times: every pair is at least one interval apart.
    assert min(gaps) >= 1 / 50.0 - 1e-6


def test_unlimited_vendors_get_no_limiter(tmp_path: Path) -> None:
    assert rate_limiter("yeastar", state_dir=str(tmp_path)) is None
    ccc = rate_limiter("tencent-ccc.UploadIvrAudio", state_dir=str(tmp_path))
    assert ccc is not None and ccc.rate_per_s == 1.0
    assert ccc.state_path is not None and ccc.state_path.startswith(str(tmp_path))


# --- daily quota ----------------------------------------------------------------------------


def test_quota_refuses_the_file_over_the_limit_without_counting_it(tmp_path: Path) -> None:
    quota = DailyQuota("tencent-ccc", limit_per_day=3, db_path=str(tmp_path / "j.sqlite"))
    for _ in range(3):
        quota.reserve()
    with pytest.raises(VendorQuotaExceeded, match="3 of 3 files") as err:
        quota.reserve()
    assert not err.value.retryable
    assert quota.used() == 3


def test_quota_persists_across_runs_in_the_journal(tmp_path: Path) -> None:
    Journal(str(tmp_path)).close()  # the journal exists first, as after `voiceprep run`
    db = os.path.join(tmp_path, JOURNAL_NAME)
    clock = FakeClock()
    DailyQuota("tencent-ccc", limit_per_day=50, db_path=db, clock=clock).reserve(50)
    later_run = DailyQuota("tencent-ccc", limit_per_day=50, db_path=db, clock=clock)
    assert later_run.remaining() == 0
    with pytest.raises(VendorQuotaExceeded):
        later_run.reserve()
    clock.now += 86_400
    assert later_run.remaining() == 50
    journal = Journal(str(tmp_path))  # the journal still opens with the extra table
    journal.close()


def test_quota_day_turns_at_beijing_midnight() -> None:
    clock = FakeClock(now=1_699_977_599.0)  # 2023-11-14 23:59:59 UTC+8
    quota = DailyQuota("tencent-ccc", limit_per_day=1, clock=clock)
    assert quota.day() == "2023-11-14"
    quota.reserve()
    clock.now += 1
    assert quota.day() == "2023-11-15"
    quota.reserve()


def test_release_and_exhaust(tmp_path: Path) -> None:
    quota = DailyQuota("tencent-ccc", limit_per_day=5, db_path=str(tmp_path / "q.sqlite"))
    quota.reserve(2)
    quota.release()
    assert quota.used() == 1
    quota.exhaust()
    assert quota.remaining() == 0


@pytest.mark.parametrize("persisted", [True, False])
def test_a_keyed_file_holds_one_reservation_until_released_or_consumed(
    tmp_path: Path, persisted: bool
) -> None:
    db = str(tmp_path / "q.sqlite") if persisted else None
    quota = DailyQuota("tencent-ccc", limit_per_day=5, db_path=db)
    quota.reserve(key="hello")
    again = DailyQuota("tencent-ccc", limit_per_day=5, db_path=db) if persisted else quota
    again.reserve(key="hello")  # a resumed attempt: still the same one file
    assert again.used() == 1
    again.release(key="hello")
    again.release(key="hello")  # only what it holds
    assert again.used() == 0
    again.reserve(key="hello")
    again.consume(key="hello")  # taken: counted, no longer held
    again.reserve(key="hello")  # a second upload of that name is a second file
    assert again.used() == 2
