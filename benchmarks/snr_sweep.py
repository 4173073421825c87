"""SNR accuracy per noise type and level, on dev-split voices only (issue 3's noise bar).

    python benchmarks/make_eval_set.py --split dev   # once: the dev voices' prompt banks
    python benchmarks/snr_sweep.py                   # ~400 clips, per-cell error table (~2 min)
    python benchmarks/snr_sweep.py --per-cell 4 --noises babble,white --snrs 0,5 --json /tmp/s.json

Why a sweep: the evaluation splits hold 2–4 noisy clips per (noise type × SNR) cell, too few
to see a per-condition bias, and the test split must never be tuned on. This builds many
clips per cell from the **dev split's voices** (KLettres volunteers, flite, festival and
espeak-ng voices: no person of the test split) and scores the real analysis chain on them.

Each clip: one voice's monologue (prompts with 0.3–1.2 s pauses, as `make_eval_set`), a lead
and a tail of 0.1–2 s, at an active level of −34…−18 dBFS, plus one noise at an exact SNR:

- ``white``, ``pink`` (1/f, flat below 20 Hz, as `make_eval_set`), ``brown`` (1/f², none
  below 50 Hz: see `brown`) Gaussian noise;
- ``babble``: 4–8 other voices of the dev split at equal level; ``babble3``: 2–3 of them
  (sparse babble that pauses, the hardest case for a floor estimate);
- ``hum``: 50 or 60 Hz with harmonics plus a white floor 55 dB under the speech (as
  `make_eval_set`'s hum clips).

SNR is labelled exactly as `make_eval_set` labels it: the P.56 active level of the clean
speech track over the mean power of the added noise track, both measured at the clip's own
rate. Clips are written at 8, 16 or 24 kHz (speech resampled from 16 kHz; the noise made at
that rate, so white noise at 24 kHz fills the whole band) and analysed at that rate, as the
IVR (8 kHz) and voice-cloning (24 kHz) profiles do: ``Decode → Normalize(rate) → Vad →
Analyze`` (thresholds of ``--profile``, speaker check off: it does not touch the SNR).

Output: per cell (noise × nominal SNR) the count, median error (estimated − true, dB), the
90th percentile of |error|, the worst |error| and how many clips got ``low_snr`` or
``multiple_speakers`` at any severity (``--speakers default`` runs the speaker check too; it
is off by default); then per noise and per rate. ``--json`` saves every clip's label and
metrics.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import make_eval_set as mes  # noqa: E402

WORK = os.path.join(HERE, "_work", "snr_sweep")
SEED = 29
NOISES = ("white", "pink", "brown", "babble", "babble3", "hum")
SNRS = (0.0, 5.0, 10.0, 15.0, 20.0, 30.0)
RATES = (8_000, 16_000, 24_000)
LEAD_S = (0.1, 2.0)  # lead and tail silence (before the noise is added), each drawn here
SPEECH_S = (4.0, 14.0)  # monologue length
LEVEL_DBFS = (-34.0, -18.0)  # active speech level, as make_eval_set's noisy clips
BABBLE_TALKERS = {"babble": (4, 8), "babble3": (2, 3)}
HUM_FLOOR_DB = 55.0  # the hum clips' white floor, this far under the speech
BROWN_LOW_HZ = 50.0  # brown noise starts here (see `brown`)


@dataclass(frozen=True)
class Voice:
    """One person's prompts (cut to their speech, float32 at `make_eval_set.RATE`)."""

    id: str
    family: str  # voices of one family are one person: never babble behind each other
    prompts: tuple[np.ndarray, ...]


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    return x if rate == mes.RATE else mes.resample(x, mes.RATE, rate)


def brown(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """1/f² (red) Gaussian noise of unit power above `BROWN_LOW_HZ`, nothing below.

    Shaped 1/f² down to 20 Hz and flat under it, as `make_eval_set.pink` is, half of its
    power would lie under 20 Hz and half of the rest in 20–40 Hz, where `normalize`'s rumble
    high-pass (20 Hz) removes or dents it by design: the label would count power nobody
    hears and the analysis never sees (+1 to +3 dB of "error"). Rumble as a microphone with
    an ordinary low cut records it looks like this.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum *= np.where(freqs >= BROWN_LOW_HZ, 1.0 / np.maximum(freqs, BROWN_LOW_HZ), 0.0)
    y = np.fft.irfft(spectrum, n)
    return (y / (math.sqrt(float(np.mean(y * y))) + 1e-20)).astype(np.float32)


def babble(
    rng: np.random.Generator, others: Sequence[Voice], n: int, rate: int, talkers: int
) -> np.ndarray:
    """``talkers`` voices of ``others``, each a monologue at equal power, summed; unit power."""
    if not others:
        raise ValueError("babble needs voices other than the speaker's own; add more voices")
    picked = rng.choice(len(others), size=min(talkers, len(others)), replace=False)
    n16 = math.ceil(n * mes.RATE / rate)
    mix = np.zeros(n16, np.float32)
    for index in picked:
        voice = others[int(index)]
        track = mes.monologue(rng, list(voice.prompts), voice.id, n16 / mes.RATE + 8.0).audio
        while track.size < n16 + mes.RATE:
            track = np.concatenate([track, track])
        offset = int(rng.integers(0, track.size - n16))
        mix += mes.scale_to_db(track[offset : offset + n16], 0.0)
    y = _resample(mix, rate)
    y = y[:n] if y.size >= n else np.pad(y, (0, n - y.size))
    return mes.scale_to_db(y, 0.0)


def make_noise(
    rng: np.random.Generator, kind: str, n: int, rate: int, others: Sequence[Voice]
) -> np.ndarray:
    """Unit-power noise of ``kind`` (one of `NOISES` but hum) made at ``rate``."""
    if kind == "white":
        return mes.white(rng, n)
    if kind == "pink":
        return mes.pink(rng, n, rate)
    if kind == "brown":
        return brown(rng, n, rate)
    if kind in BABBLE_TALKERS:
        lo, hi = BABBLE_TALKERS[kind]
        return babble(rng, others, n, rate, int(rng.integers(lo, hi + 1)))
    raise ValueError(f"unknown noise {kind!r}; choose from {', '.join(NOISES)}")


def build_clip(
    rng: np.random.Generator,
    voice: Voice,
    others: Sequence[Voice],
    *,
    noise: str,
    snr_db: float,
    rate: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One noisy clip at ``rate`` and its label (``snr_db`` as `make_eval_set` defines it).

    ``others`` are the voices babble may use (``voice``'s own family is left out here).
    """
    pool = [v for v in others if v.family != voice.family]
    track = mes.monologue(rng, list(voice.prompts), voice.id, rng.uniform(*SPEECH_S))
    lead_s, tail_s = rng.uniform(*LEAD_S), rng.uniform(*LEAD_S)
    audio16, start, end = mes.place(track, lead_s, tail_s)
    speech = _resample(audio16, rate)
    level = mes.active_level_db(speech, rate)
    assert level is not None, "a monologue without speech"
    target = rng.uniform(*LEVEL_DBFS)
    speech = (speech * np.float32(10 ** ((target - level) / 20))).astype(np.float32)
    level = target
    n = speech.size
    hum_hz = None
    if noise == "hum":
        hum_hz = float(rng.choice([50.0, 60.0]))
        added = mes.scale_to_db(mes.mains_hum(rng, n, hum_hz, rate), level - snr_db)
        added = added + mes.scale_to_db(mes.white(rng, n), level - HUM_FLOOR_DB)
    else:
        added = mes.scale_to_db(make_noise(rng, noise, n, rate, pool), level - snr_db)
    mixed = speech + added
    peak = float(np.max(np.abs(mixed)))
    if peak > 0.9:  # keep off full scale: both tracks scale alike, the SNR holds
        gain = 0.9 / peak
        mixed, speech, added = (
            (y * np.float32(gain)).astype(np.float32) for y in (mixed, speech, added)
        )
        level += 20 * math.log10(gain)
    noise_dbfs = mes._db(mes.power(added))
    return mixed.astype(np.float32), {
        "kind": "noisy",
        "voice": voice.id,
        "noise_type": noise,
        "nominal_snr_db": snr_db,
        "snr_db": round(level - noise_dbfs, 3) + 0.0,
        "speech_level_dbfs": round(level, 2),
        "noise_level_dbfs": round(noise_dbfs, 2),
        "rate": rate,
        "hum_hz": hum_hz,
        "speech_start_s": round(start, 4),
        "speech_end_s": round(end, 4),
        "duration_s": round(n / rate, 4),
    }


def dev_voices() -> list[Voice]:
    """Every wide-band dev-split voice (KLettres, flite, festival, espeak-ng; no GSM talents)."""
    banks = mes.load_dev_banks(mes.DEV_SEED)
    gen = mes.DevGenerator(banks, mes.DEV_SEED)
    voices = []
    for speaker in (*gen.klettres, *gen.wide):
        prompts = tuple(mes.speaker_bank(banks, speaker))
        if prompts:
            voices.append(Voice(speaker.id, gen.family(speaker), prompts))
    return voices


def plan(
    noises: Sequence[str], snrs: Sequence[float], per_cell: int
) -> list[tuple[str, float, int]]:
    """(noise, nominal SNR, rate) of every clip: ``per_cell`` per cell, rates in rotation."""
    return [
        (noise, snr, RATES[k % len(RATES)])
        for noise in noises
        for snr in snrs
        for k in range(per_cell)
    ]


def build(
    voices: Sequence[Voice], items: Sequence[tuple[str, float, int]], out_dir: str, seed: int
) -> list[dict[str, Any]]:
    """Write every clip of ``items`` as 16-bit WAV into ``out_dir``; return their labels."""
    import soundfile as sf

    os.makedirs(out_dir, exist_ok=True)
    labels = []
    for number, (noise, snr, rate) in enumerate(items):
        rng = np.random.default_rng([seed, number])
        voice = voices[int(rng.integers(len(voices)))]
        audio, label = build_clip(rng, voice, voices, noise=noise, snr_db=snr, rate=rate)
        label["path"] = f"{number:04d}_{noise}_{snr:g}dB_{rate // 1000}k.wav"
        sf.write(os.path.join(out_dir, label["path"]), audio, rate, subtype="PCM_16")
        labels.append(label)
    return labels


def analyse(
    labels: list[dict[str, Any]], folder: str, profile: str, speakers: str | None = None
) -> list[dict[str, Any]]:
    """Run the analysis chain at each clip's own rate; return labels with ``metrics``.

    ``speakers``: the speaker method of `Analyze` (None: off, as it does not touch the SNR).
    """
    import accuracy

    from pipeline.profiles import load_profile
    from stages.analyze import Analyze
    from stages.decode import Decode
    from stages.normalize import Normalize

    thresholds = load_profile(profile).analysis
    chains: dict[int, list[Any]] = {}
    out = []
    for label in labels:
        rate = int(label["rate"])
        if rate not in chains:
            chains[rate] = [
                Decode(),
                Normalize(sample_rate=rate),
                accuracy.make_vad(None),
                Analyze(thresholds=thresholds, speakers=speakers),
            ]
        clip, _ = accuracy.run_chain(chains[rate], os.path.join(folder, label["path"]))
        keep = ("snr_db", "snr_wada_db", "noise_floor_dbfs", "speech_level_dbfs", "speech_ratio")
        metrics = {k: clip.metrics.get(k) for k in keep}
        out.append({**label, "metrics": metrics, "codes": [f.code for f in clip.findings]})
    return out


FLAGS = {"low_snr", "multiple_speakers"}  # findings that tell a person the take is not clean


def _stats(errors: Sequence[float]) -> str:
    e = np.asarray(errors, dtype=np.float64)
    if e.size == 0:
        return "  n/a"
    return (
        f"{e.size:3d}  median {np.median(e):+6.2f}  p90|e| {np.percentile(np.abs(e), 90):5.2f}"
        f"  max|e| {np.max(np.abs(e)):5.2f}"
    )


def table(results: Sequence[dict[str, Any]]) -> str:
    """Per-cell, per-noise and per-rate error lines (estimated − true SNR, dB)."""
    cells: dict[tuple[str, float], list[float]] = defaultdict(list)
    flagged: dict[tuple[str, float], int] = defaultdict(int)
    by_noise: dict[str, list[float]] = defaultdict(list)
    by_rate: dict[int, list[float]] = defaultdict(list)
    missing = 0
    everything: list[float] = []
    for r in results:
        est = r["metrics"].get("snr_db")
        if est is None or not math.isfinite(est):
            missing += 1
            continue
        err = float(est) - float(r["snr_db"])
        cell = (r["noise_type"], float(r["nominal_snr_db"]))
        cells[cell].append(err)
        flagged[cell] += bool(FLAGS & set(r.get("codes", ())))
        by_noise[r["noise_type"]].append(err)
        by_rate[int(r["rate"])].append(err)
        if r["nominal_snr_db"] <= 30:
            everything.append(err)
    lines = ["cell (noise, SNR)      n  error = estimated − true (dB)             flagged"]
    for noise, snr in sorted(cells, key=lambda k: (NOISES.index(k[0]), k[1])):
        cell = (noise, snr)
        share = f"{flagged[cell]:3d}/{len(cells[cell])}"
        lines.append(f"{noise:8s} {snr:4.0f} dB   {_stats(cells[cell])}  {share}")
    lines.append("")
    lines += [f"{noise:16s} {_stats(by_noise[noise])}" for noise in NOISES if noise in by_noise]
    lines += [
        f"{rate // 1000:2d} kHz           {_stats(by_rate[rate])}" for rate in sorted(by_rate)
    ]
    e = np.abs(np.asarray(everything))
    if e.size:
        lines.append(
            f"all 0–30 dB: n {e.size}, median |e| {np.median(e):.2f}, p90 |e| "
            f"{np.percentile(e, 90):.2f}, cells with |median| > 3 dB: "
            f"{sum(abs(float(np.median(v))) > 3 for v in cells.values())} of {len(cells)}"
        )
    if missing:
        lines.append(f"{missing} clip(s) without an SNR estimate")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-cell", type=int, default=12, help="clips per noise × SNR cell")
    parser.add_argument("--noises", default=",".join(NOISES))
    parser.add_argument("--snrs", default=",".join(f"{s:g}" for s in SNRS))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--profile", default="tencent-vod-voice")
    parser.add_argument("--out", default=WORK, help="folder for the clips (rebuilt each run)")
    parser.add_argument("--json", help="save every clip's label and metrics here")
    parser.add_argument(
        "--speakers",
        choices=("default", "neural"),
        help="run this speaker check too, so `flagged` counts multiple_speakers (default: off)",
    )
    args = parser.parse_args(argv)
    noises = [n.strip() for n in args.noises.split(",") if n.strip()]
    unknown = sorted(set(noises) - set(NOISES))
    if unknown:
        parser.error(f"unknown noise(s) {', '.join(unknown)}; choose from {', '.join(NOISES)}")
    snrs = [float(s) for s in args.snrs.split(",") if s.strip()]
    import accuracy

    accuracy.pin_to_one_core()
    voices = dev_voices()
    labels = build(voices, plan(noises, snrs, args.per_cell), args.out, args.seed)
    results = analyse(labels, args.out, args.profile, args.speakers)
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
