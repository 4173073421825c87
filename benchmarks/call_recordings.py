"""Dual-channel call recordings built the ways contact centres make them, through the real chain.

    bash benchmarks/install_eval_deps.sh       # once: the KLettres volunteers
    python benchmarks/call_recordings.py       # 12 x 8 calls, 6 x 8 + 5 x 20 controls, ~1 min

A call recorder puts the agent on the left channel and the caller on the right. Offered as a
voice sample, such a file holds two people; `stages.analysis.channels` is meant to catch it
on the stereo source, before the downmix hides who spoke where. Its unit tests build calls one
way; this script builds them the ways they reach us, each from two KLettres volunteers taking
four turns of 1.5–3.5 s (0.2–0.8 s apart), and counts how many `Pipeline.for_profile` flags:

- ``clean``; ``caller_12dB_down`` (the caller's side quieter); ``bleed_25dB`` / ``bleed_15dB``
  / ``bleed_10dB`` (each side hears the other that far down: headset echo, a shared desk;
  at 10 dB it is two microphones in one room rather than a call);
- ``caller_phone`` (the caller's side through an 8 kHz path); ``mp3_128`` / ``mp3_64`` /
  ``mp3_48`` (joint-stereo MP3); ``rate8k`` / ``rate48k`` (the whole file at that rate);
- ``short_caller``: the caller only answers, two turns of 0.5–0.9 s.

Controls (must *not* count two talkers on the channels): one person's four turns, all on
the left channel, the right one left to its room tone, under the same treatments; and one
talker on two microphones that both hear them (``ONE_TALKER_KINDS``): a coincident XY
cardioid pair with the talker at a fixed angle, swaying ±10–40°, or *walking* from −70° to
+70° across it (each capsule faces them in turn); a spaced pair in a room; a dry voice in a
wide decorrelated reverb. Each microphone has its own room (RT60 0.3–0.8 s).
``channels`` counts takes with ``channel_talkers`` = 2; ``flagged`` counts any
``multiple_speakers`` finding and ``errors`` those at error severity (on a control they come
from the mono speaker check, which gives a warning by default: KLettres volunteers spelling
letters reach its two-voice scores).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import constructions as cons  # noqa: E402
import false_alarms as fa  # noqa: E402
import make_eval_set as mes  # noqa: E402

WORK = os.path.join(HERE, "_work", "calls")
RATE = 16_000
PER_KIND = 8
ONE_TALKER_PER_KIND = 20  # the likeliest false alarms: more of them
SEED = 7
KINDS = (
    "clean", "caller_12dB_down", "bleed_25dB", "bleed_15dB", "bleed_10dB", "caller_phone",
    "mp3_128", "mp3_64", "mp3_48", "rate8k", "rate48k", "short_caller",
)  # fmt: skip
CONTROL_KINDS = ("clean", "caller_12dB_down", "bleed_25dB", "bleed_15dB", "mp3_48", "rate8k")
ONE_TALKER_KINDS = ("xy_fixed", "xy_sway", "xy_walk", "spaced_room", "wide_reverb")
COLUMNS = ("channels", "flagged", "errors")
TURN_RMS = 0.05
ROOM_UNDER_DB = (55.0, 60.0)  # each side's pink room tone under TURN_RMS: left, right


def turn(rng: np.random.Generator, prompts: Sequence[np.ndarray], seconds: float) -> np.ndarray:
    """One person's turn: their phrases, 0.1–0.3 s apart, until ``seconds`` of speech."""
    parts: list[np.ndarray] = []
    total = 0
    while total < seconds * RATE:
        phrase = prompts[int(rng.integers(len(prompts)))]
        parts += [phrase, np.zeros(round(rng.uniform(0.1, 0.3) * RATE), np.float32)]
        total += phrase.size
    return np.concatenate(parts)


def call(
    rng: np.random.Generator,
    agent: Sequence[np.ndarray],
    caller: Sequence[np.ndarray],
    *,
    short_caller: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Left (agent) and right (caller) tracks of four alternating turns, the agent first."""
    lead = np.zeros(round(rng.uniform(0.3, 1.0) * RATE), np.float32)
    left, right = [lead], [lead]
    for k in range(4):
        agent_turn = k % 2 == 0
        seconds = (
            rng.uniform(0.5, 0.9) if short_caller and not agent_turn else rng.uniform(1.5, 3.5)
        )
        speech = turn(rng, agent if agent_turn else caller, seconds)
        speech = speech * np.float32(TURN_RMS / max(float(np.sqrt(np.mean(speech**2))), 1e-9))
        silent = np.zeros_like(speech)
        gap = np.zeros(round(rng.uniform(0.2, 0.8) * RATE), np.float32)
        left += [speech if agent_turn else silent, gap]
        right += [silent if agent_turn else speech, gap]
    return np.concatenate(left), np.concatenate(right)


def treat(
    rng: np.random.Generator, kind: str, left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, int, str | None, float]:
    """The ``(frames, 2)`` take of one `KINDS` treatment, its rate, codec and bit rate."""
    rate, codec, kbps = RATE, None, 96.0
    if kind == "caller_12dB_down":
        right = right * np.float32(10 ** (-12 / 20))
    elif kind.startswith("bleed_"):
        bleed = np.float32(10 ** (-float(kind[6:8]) / 20))
        left, right = left + right * bleed, right + left * bleed
    elif kind == "caller_phone":
        right = mes.resample(mes.resample(right, RATE, 8_000), 8_000, RATE)
    elif kind.startswith("mp3_"):
        codec, kbps = "mp3", float(kind[4:])
    elif kind in ("rate8k", "rate48k"):
        rate = 8_000 if kind == "rate8k" else 48_000
        left, right = mes.resample(left, RATE, rate), mes.resample(right, RATE, rate)
    n = min(left.size, right.size)
    rooms = [
        mes.pink(rng, n, rate) * np.float32(TURN_RMS * 10 ** (-under / 20))
        for under in ROOM_UNDER_DB
    ]
    take = np.stack([left[:n] + rooms[0], right[:n] + rooms[1]], axis=1)
    return fa.peak_to(take.astype(np.float32), -3.0), rate, codec, kbps


def tally(pipeline: Any, paths: Iterable[str]) -> Counter[str]:
    """Analyse each take of ``paths``; count them (``n``) and by `COLUMNS`."""
    counts: Counter[str] = Counter()
    for path in paths:
        clip = pipeline.process(path)
        said = [f for f in clip.findings if f.code == "multiple_speakers"]
        counts["n"] += 1
        counts["channels"] += clip.metrics.get("channel_talkers") == 2
        counts["flagged"] += bool(said)
        counts["errors"] += any(f.severity.value == "error" for f in said)
    return counts


def call_takes(voices: Sequence[Any], prompts: Any, kind: str, *, control: bool) -> Iterator[str]:
    """Write `PER_KIND` calls (or one-person controls) of ``kind``; yield each one's path."""
    os.makedirs(WORK, exist_ok=True)
    for i in range(PER_KIND):
        rng = np.random.default_rng([SEED, int(control), KINDS.index(kind), i])
        a, b = (voices[int(k)] for k in rng.choice(len(voices), 2, replace=False))
        if control:
            b = a
        left, right = call(rng, prompts(a), prompts(b), short_caller=kind == "short_caller")
        if control:  # one person, all their turns on one channel; the other only room tone
            left, right = left + right, np.zeros_like(right)
        take, rate, codec, kbps = treat(rng, kind, left, right)
        path = os.path.join(WORK, f"{'control_' if control else ''}{kind}_{i}.{codec or 'wav'}")
        fa.write_take(path, take, rate, codec=codec, kbps=kbps)
        yield path


def room_tail(rng: np.random.Generator, rt60_s: float) -> np.ndarray:
    """A room's late reverberation: decaying noise, unit energy (each microphone its own)."""
    t = np.arange(round(0.8 * RATE)) / RATE
    tail = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60_s)
    tail[0] = 0.0
    return (tail / np.sqrt(np.sum(tail**2))).astype(np.float32)


def one_talker(rng: np.random.Generator, x: np.ndarray, kind: str) -> np.ndarray:
    """One voice ``x`` on two microphones, the `ONE_TALKER_KINDS` way; ``(frames, 2)``."""
    rt60, direct = rng.uniform(0.3, 0.8), 10 ** (rng.uniform(-6.0, 6.0) / 20)
    rooms = [np.convolve(x, room_tail(rng, rt60))[: x.size] / np.float32(direct) for _ in "lr"]
    if kind == "spaced_room":  # omnis 0.2-1 m apart: later and quieter in one
        lag = round(rng.uniform(0.5, 3.0) * RATE / 1000)
        far = fa.delayed(x, lag) * np.float32(10 ** (-rng.uniform(0.0, 6.0) / 20))
        return np.stack([x + rooms[0], far + rooms[1]], axis=1)
    if kind == "wide_reverb":  # a dry voice in the middle of a wide stereo reverb
        return np.stack([x + rooms[0], x + rooms[1]], axis=1)
    # A coincident XY pair of cardioids 90 degrees apart; the talker's angle in radians.
    angle = np.full(x.size, np.radians(rng.uniform(-60.0, 60.0)))
    if kind == "xy_sway":
        t = np.arange(x.size) / RATE
        angle += np.radians(rng.uniform(10.0, 40.0)) * np.sin(
            2 * np.pi * rng.uniform(0.05, 0.2) * t
        )
    elif kind == "xy_walk":  # across the whole pair, so each capsule faces the talker in turn
        angle = np.radians(np.linspace(-70.0, 70.0, x.size))
    gains = [0.5 * (1 + np.cos(angle + side * np.pi / 4)) for side in (-1.0, 1.0)]
    return np.stack([g * x + 0.5 * room for g, room in zip(gains, rooms, strict=True)], axis=1)


def one_talker_takes(voices: Sequence[Any], prompts: Any, kind: str) -> Iterator[str]:
    """Write `ONE_TALKER_PER_KIND` one-talker stereo takes of ``kind``; yield their paths."""
    os.makedirs(WORK, exist_ok=True)
    for i in range(ONE_TALKER_PER_KIND):
        rng = np.random.default_rng([SEED, 2, ONE_TALKER_KINDS.index(kind), i])
        voice = voices[int(rng.integers(len(voices)))]
        x = cons.voice_take(prompts(voice), RATE, rng)
        take = fa.peak_to(one_talker(rng, x, kind).astype(np.float32), -3.0)
        path = os.path.join(WORK, f"one_{kind}_{i}.wav")
        fa.write_take(path, take, RATE, codec=None)
        yield path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="tencent-vod-voice")
    args = parser.parse_args(argv)
    from pipeline.runner import Pipeline

    voices = cons.klettres_voices()
    banks: dict[str, list[np.ndarray]] = {}

    def prompts(voice: Any) -> list[np.ndarray]:
        if voice.id not in banks:
            phrases, rate = fa.voice_prompts(voice)
            banks[voice.id] = [mes.resample(np.asarray(p, np.float32), rate, RATE) for p in phrases]
        return banks[voice.id]

    pipeline = Pipeline.for_profile(args.profile)

    def calls(kind: str) -> Iterator[str]:
        return call_takes(voices, prompts, kind, control=False)

    def controls(kind: str) -> Iterator[str]:
        return call_takes(voices, prompts, kind, control=True)

    def one_talkers(kind: str) -> Iterator[str]:
        return one_talker_takes(voices, prompts, kind)

    tables = (
        ("calls (two people)", KINDS, calls),
        ("controls (one person)", CONTROL_KINDS, controls),
        ("one talker, two mics", ONE_TALKER_KINDS, one_talkers),
    )
    header = "".join(f" {k:>8s}" for k in COLUMNS)
    for number, (title, kinds, run) in enumerate(tables):
        print(("\n" if number else "") + f"{title:22s}{header}")
        for kind in kinds:
            c = tally(pipeline, run(kind))
            print(f"{kind:22s}" + "".join(f" {c[k]:4d}/{c['n']:<3d}" for k in COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
