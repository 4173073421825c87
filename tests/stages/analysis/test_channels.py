"""Two talkers on two channels: dual-channel call recordings, caught on the stereo source."""

from __future__ import annotations

import numpy as np
import pytest

from stages.analysis.channels import (
    ChannelTalkers,
    detect_channel_talkers,
    lagged_correlation,
    stereo_frames,
)
from tests.stages.analysis._signals import RATE, voice, white


def talkers(stereo: np.ndarray) -> ChannelTalkers | None:
    frames = stereo_frames(stereo, RATE)
    assert frames is not None
    return detect_channel_talkers(frames)


def call(turns: list[tuple[float, float, int]], seconds: float = 8.0) -> np.ndarray:
    """Stereo: each ``(start, end, channel)`` turn holds a voice on that channel only."""
    x = np.zeros((round(seconds * RATE), 2), dtype=np.float32)
    for k, (start, end, channel) in enumerate(turns):
        a, b = round(start * RATE), round(end * RATE)
        x[a:b, channel] = voice((b - a) / RATE, seed=k)
    return x + np.float32(1e-4) * white(x.size, seed=9).reshape(x.shape).astype(np.float32)


def test_an_agent_and_a_caller_on_their_own_channels_are_two_talkers() -> None:
    turns = [(0.5, 2.5, 0), (3.0, 4.5, 1), (5.0, 6.0, 0), (6.3, 7.8, 1)]
    result = talkers(call(turns))
    assert result is not None and result.talkers == 2
    assert min(result.talk_s) >= 1.0
    # The second talker's spans lie in the right channel's turns (the voice pauses in them).
    right = [(a, b) for a, b, channel in turns if channel == 1]
    assert result.second_voice_s
    for start, end in result.second_voice_s:
        assert any(a - 0.1 <= start and end <= b + 0.1 for a, b in right), (start, end)


@pytest.mark.parametrize("right_gain", [1.0, 0.5, 0.1])
def test_one_talker_in_both_channels_is_one(right_gain: float) -> None:
    left = voice(6.0, seed=2)
    stereo = np.stack([left, right_gain * left], axis=1).astype(np.float32)
    result = talkers(stereo)
    assert result is not None and result.talkers == 1


def test_a_steady_noise_on_the_other_channel_is_not_a_talker() -> None:
    # In the voice's pauses the noisy channel is the louder one, but it never pauses itself.
    left = voice(6.0, seed=2)
    stereo = np.stack([left, 0.02 * white(left.size)], axis=1).astype(np.float32)
    result = talkers(stereo)
    assert result is not None and result.talkers == 1


def test_a_gated_microphone_beside_one_that_hears_the_voice_too_is_one_talker() -> None:
    # A noise gate zeroes the left channel in the pauses, where the right microphone (hearing
    # the same voice 20 dB down) is left with its room tone: louder, but not talking.
    left = voice(8.0, seed=3)
    frame = RATE // 50
    loud = np.repeat(np.abs(left[: left.size // frame * frame]).reshape(-1, frame).max(1), frame)
    gated = left.copy()
    gated[: loud.size][loud < 0.02 * np.abs(left).max()] = 0.0
    room = np.float32(1e-3) * white(left.size, seed=4).astype(np.float32)
    stereo = np.stack([gated, 0.1 * left + room], axis=1).astype(np.float32)
    result = talkers(stereo)
    assert result is not None and result.talkers == 1, result
    assert result.talk_s[0] >= 1.0  # the gated channel does dominate while the voice sounds


def test_two_people_on_their_own_microphones_in_one_room_are_two_talkers() -> None:
    # Each microphone also hears the other person 10 dB down: no call recorder, one room.
    turns = [(0.5, 2.5, 0), (3.0, 4.5, 1), (5.0, 6.0, 0), (6.3, 7.8, 1)]
    x = call(turns)
    bleed = np.float32(10 ** (-10 / 20))
    stereo = np.stack([x[:, 0] + bleed * x[:, 1], x[:, 1] + bleed * x[:, 0]], axis=1)
    result = talkers(stereo)
    assert result is not None and result.talkers == 2, result


def test_one_talker_walking_across_a_coincident_pair_in_a_room_is_one() -> None:
    # An XY pair of cardioids, 90 degrees apart; the talker walks from -70 to +70 degrees, so
    # first the left and then the right capsule faces them, with each capsule's own room.
    x = voice(8.0, seed=6)
    walk = np.radians(np.linspace(-70.0, 70.0, x.size))
    rng = np.random.default_rng(7)
    decay = np.exp(-6.9 * np.arange(RATE // 2) / (0.5 * RATE))
    rooms = [np.convolve(x, 0.1 * rng.standard_normal(decay.size) * decay)[: x.size] for _ in "lr"]
    capsules = [0.5 * (1 + np.cos(walk + side * np.pi / 4)) for side in (-1.0, 1.0)]
    stereo = np.stack([g * x + room for g, room in zip(capsules, rooms, strict=True)], axis=1)
    result = talkers(stereo.astype(np.float32))
    assert result is not None and result.talkers == 1, result


def test_only_two_channels_of_a_second_or_more_are_judged() -> None:
    assert stereo_frames(voice(3.0), RATE) is None
    assert stereo_frames(np.zeros((RATE * 3, 3), dtype=np.float32), RATE) is None
    assert talkers(np.zeros((RATE // 2, 2), dtype=np.float32)) is None


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize(("right_of", "expected"), [("same", 1.0), ("inverted", -1.0)])
def test_correlation_of_the_channels(rate: int, right_of: str, expected: float) -> None:
    left = (voice(3.0, rate, seed=5) + np.float32(0.01)).astype(np.float32)  # with a DC
    right = left if right_of == "same" else -left
    frames = stereo_frames(np.stack([left, right], axis=1), rate)
    assert frames is not None and frames.correlation == pytest.approx(expected, abs=1e-3)


def test_unrelated_channels_hardly_correlate_and_a_silent_one_not_at_all() -> None:
    a, b = white(RATE * 3, seed=1), white(RATE * 3, seed=2)
    frames = stereo_frames(np.stack([a, b], axis=1).astype(np.float32), RATE)
    assert frames is not None and frames.correlation is not None
    assert abs(frames.correlation) < 0.05
    silent = stereo_frames(np.stack([a, 0 * a], axis=1).astype(np.float32), RATE)
    assert silent is not None and silent.correlation is None


@pytest.mark.parametrize("delay_ms", [0.5, 2.0, 9.5])
def test_lagged_correlation_finds_a_delayed_copy_not_an_inverted_one(delay_ms: float) -> None:
    v = voice(5.0, seed=7)
    delay = round(delay_ms * RATE / 1000)
    late = 0.4 * np.concatenate((np.zeros(delay, np.float32), v[:-delay]))
    assert lagged_correlation(np.stack([v, late], axis=1), RATE) > 0.99
    assert lagged_correlation(np.stack([v, -v], axis=1), RATE) < 0.6
    assert lagged_correlation(np.stack([v, np.zeros_like(v)], axis=1), RATE) == 0.0
