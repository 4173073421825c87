"""benchmarks/call_recordings.py: its calls keep each person on their own channel."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from tests.benchmarks._scripts import load_script


@pytest.fixture(scope="module")
def calls() -> ModuleType:
    return load_script("call_recordings")


def phrases(f0: float) -> list[np.ndarray]:
    t = np.arange(8000) / 16000
    return [(0.3 * np.sin(2 * np.pi * f0 * k * t)).astype(np.float32) for k in (1, 2)]


def test_a_call_never_has_both_people_on_one_channel(calls: ModuleType) -> None:
    left, right = calls.call(np.random.default_rng(1), phrases(120.0), phrases(220.0))
    assert left.shape == right.shape
    assert np.any(left) and np.any(right)
    assert not np.any((left != 0) & (right != 0))
    first = int(np.flatnonzero(left)[0])
    assert first < int(np.flatnonzero(right)[0])  # the agent speaks first


def test_short_caller_turns_are_under_a_second_each(calls: ModuleType) -> None:
    rng = np.random.default_rng(2)
    _, right = calls.call(rng, phrases(120.0), phrases(220.0), short_caller=True)
    talking = np.flatnonzero(right)
    runs = np.split(talking, np.flatnonzero(np.diff(talking) > 1600) + 1)  # > 0.1 s apart
    assert all(run.size < 1.0 * calls.RATE for run in runs)


@pytest.mark.parametrize(
    ("kind", "rate", "codec"),
    [
        ("clean", 16000, None),
        ("rate8k", 8000, None),
        ("rate48k", 48000, None),
        ("mp3_64", 16000, "mp3"),
    ],
)
def test_each_treatment_gives_a_two_channel_take_at_its_rate(
    calls: ModuleType, kind: str, rate: int, codec: str | None
) -> None:
    rng = np.random.default_rng(3)
    left, right = calls.call(rng, phrases(120.0), phrases(220.0))
    take, got_rate, got_codec, _ = calls.treat(rng, kind, left, right)
    assert take.ndim == 2 and take.shape[1] == 2
    assert (got_rate, got_codec) == (rate, codec)
    assert np.max(np.abs(take)) == pytest.approx(10 ** (-3 / 20), rel=1e-4)


def test_bleed_puts_each_side_into_the_other_that_far_down(calls: ModuleType) -> None:
    rng = np.random.default_rng(4)
    left, right = calls.call(rng, phrases(120.0), phrases(220.0))
    take, *_ = calls.treat(rng, "bleed_25dB", left, right)
    agent_only = (left != 0)[: take.shape[0]]
    ratio_db = 10 * np.log10(np.mean(take[agent_only, 1] ** 2) / np.mean(take[agent_only, 0] ** 2))
    assert ratio_db == pytest.approx(-25.0, abs=0.5)


@pytest.mark.parametrize("kind", ["xy_fixed", "xy_sway", "xy_walk", "spaced_room", "wide_reverb"])
def test_one_talker_takes_are_two_channels_of_one_voice(calls: ModuleType, kind: str) -> None:
    x = np.concatenate(phrases(150.0) * 3)
    take = calls.one_talker(np.random.default_rng(5), x, kind)
    assert take.shape == (x.size, 2)
    assert np.all(np.isfinite(take)) and np.any(take[:, 0]) and np.any(take[:, 1])


def test_a_walking_talker_is_louder_on_one_side_first_and_the_other_last(calls: ModuleType) -> None:
    x = np.concatenate(phrases(150.0) * 4)
    take = calls.one_talker(np.random.default_rng(6), x, "xy_walk")
    quarter = x.size // 4

    def lead_db(part: np.ndarray) -> float:
        return float(10 * np.log10(np.mean(part[:, 0] ** 2) / np.mean(part[:, 1] ** 2)))

    first, last = lead_db(take[:quarter]), lead_db(take[-quarter:])
    assert min(abs(first), abs(last)) > 0.5 and first * last < 0  # each room blurs it
