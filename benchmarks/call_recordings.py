"""Dual-channel call recordings built the ways contact centres make them, through the real chain.

    bash benchmarks/install_eval_deps.sh       # once: the KLettres volunteers
    python benchmarks/call_recordings.py       # 11 kinds x 8 calls + 6 x 8 controls, ~1 min

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
the left channel, the right one left to its room tone, under the same treatments.
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
from collections.abc import Sequence
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
SEED = 7
KINDS = (
    "clean", "caller_12dB_down", "bleed_25dB", "bleed_15dB", "bleed_10dB", "caller_phone",
    "mp3_128", "mp3_64", "mp3_48", "rate8k", "rate48k", "short_caller",
)  # fmt: skip
CONTROL_KINDS = ("clean", "caller_12dB_down", "bleed_25dB", "bleed_15dB", "mp3_48", "rate8k")
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


def score(
    pipeline: Any, voices: Sequence[Any], prompts: Any, kind: str, *, control: bool
) -> Counter[str]:
    """Build and analyse `PER_KIND` takes of ``kind``; count them by `COLUMNS`."""
    counts: Counter[str] = Counter()
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
        name = f"{'control_' if control else ''}{kind}_{i}.{codec or 'wav'}"
        path = os.path.join(WORK, name)
        fa.write_take(path, take, rate, codec=codec, kbps=kbps)
        clip = pipeline.process(path)
        counts["n"] += 1
        counts["channels"] += clip.metrics.get("channel_talkers") == 2
        said = [f for f in clip.findings if f.code == "multiple_speakers"]
        counts["flagged"] += bool(said)
        counts["errors"] += any(f.severity.value == "error" for f in said)
    return counts


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
    for title, kinds, control in (
        ("calls (two people)", KINDS, False),
        ("controls (one person)", CONTROL_KINDS, True),
    ):
        print(
            ("\n" if control else "")
            + f"{title:22s} {'channels':>8s} {'flagged':>8s} {'errors':>8s}"
        )
        for kind in kinds:
            c = score(pipeline, voices, prompts, kind, control=control)
            print(f"{kind:22s}" + "".join(f" {c[k]:4d}/{c['n']:<3d}" for k in COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
