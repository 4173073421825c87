"""No-speech recall on music and tones unlike the evaluation sets (issue 3's no-speech bar).

    bash benchmarks/install_eval_deps.sh        # once: pingus-data, freedroid-data, ... music
    python benchmarks/no_speech_recall.py       # builds benchmarks/_work/nospeech/, then scores
    python benchmarks/no_speech_recall.py --json /tmp/ns.json --profile aliyun-voice

Issue 3 asks that music, tones and silence be caught as ``no_speech`` at ≥ 0.95 on recordings
we do not have. The test split holds only 15 music clips (10 synthetic, 5 excerpts of one
Asterisk hold-music package), so this script builds non-speech clips unlike them and runs
each through the real chain (`Pipeline.for_profile`, profiles ``tencent-vod-voice`` and
``aliyun-voice``, no output written). It prints the recall of ``no_speech`` at any severity
and as an *error*, per source and per kind, per sample rate and per codec.

Clips (``kind``):

- ``music``: 5–20 s excerpts of the game music that Debian packages ship as tracker modules
  (.it/.s3m/.mod, decoded by ffmpeg's libopenmpt) or Ogg: ``pingus-data``,
  ``freedroid-data``, ``tecnoballz-data``, ``tomatoes-data``. The games' sound effects are
  left out (pingus' holds spoken words).
- generated tones, none of them in the evaluation sets: ``ringback`` (UK, Japan, France,
  Germany, Australia, India cadences), ``siren`` (wail, yelp, European two-tone hi-lo with
  harmonics), ``sweep`` (linear and logarithmic, up and down, repeated), ``chime`` (struck
  bells with inharmonic partials, ding-dong door chimes, a music box melody), ``dtmf``
  (random digit strings at 60–150 ms per digit, with pauses between groups).

Each clip is written at 8, 16, 24, 44.1 or 48 kHz, a quarter of them go through an MP3 or
Ogg Vorbis round trip, and about half get a weak white or pink noise floor 35–60 dB under
the clip's level. Everything is seeded and cached under ``_work/nospeech`` (decoded tracks
in ``tracks/``, clips in ``clips/``; rebuilt when the seed or the count change).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (HERE, ROOT):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import false_alarms as fa  # noqa: E402
import make_eval_set as mes  # noqa: E402

WORK = os.path.join(HERE, "_work", "nospeech")
TRACK_DIR = os.path.join(WORK, "tracks")
CLIP_DIR = os.path.join(WORK, "clips")
VERSION = 2  # the clips' recipe: bump when it changes, so the cache is rebuilt
SEED = 31
MUSIC_CLIPS = 120
TONE_CLIPS = 80
DECODE_RATE = 48000
MAX_TRACK_S = 150.0
RATES = (8000, 16000, 24000, 44100, 48000)
PROFILES = ("tencent-vod-voice", "aliyun-voice")
TONE_KINDS = ("ringback", "siren", "sweep", "chime", "dtmf")

# Debian packages and where their music lies (sound effects are left out).
MUSIC_GLOBS: dict[str, tuple[str, ...]] = {
    "pingus": (
        "/usr/share/games/pingus/data/music/*.it",
        "/usr/share/games/pingus/data/music/*.s3m",
    ),
    "freedroid": (
        "/usr/share/games/freedroid/sound/*.mod",
        "/usr/share/games/freedroid/sound/*.ogg",
    ),
    "tecnoballz": ("/usr/share/games/tecnoballz/musics/*.mod",),
    "tomatoes": ("/usr/share/tomatoes/music/*.it",),
}


# --- music ------------------------------------------------------------------------------------


def music_tracks() -> list[tuple[str, str]]:
    """(package, path) of every installed music file, sorted."""
    found = []
    for package, patterns in MUSIC_GLOBS.items():
        for pattern in patterns:
            found += [(package, p) for p in sorted(glob.glob(pattern))]
    return found


def decode_track(path: str) -> np.ndarray | None:
    """The first ``MAX_TRACK_S`` of ``path`` as mono float32 at ``DECODE_RATE`` (cached)."""
    os.makedirs(TRACK_DIR, exist_ok=True)
    cache = os.path.join(TRACK_DIR, os.path.basename(path) + ".npy")
    if os.path.exists(cache):
        return np.load(cache)
    cmd = [
        "ffmpeg", "-nostdin", "-v", "error", "-t", str(MAX_TRACK_S), "-i", path,
        "-ac", "1", "-ar", str(DECODE_RATE), "-f", "f32le", "-",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0 or len(done.stdout) < 4 * DECODE_RATE * 5:
        return None
    x = np.frombuffer(done.stdout, dtype=np.float32).copy()
    np.save(cache, x)
    return x


def excerpt(x: np.ndarray, rng: np.random.Generator, seconds: float) -> np.ndarray | None:
    """A ``seconds`` long excerpt of ``x`` (at ``DECODE_RATE``) that is not mostly silent."""
    n = round(seconds * DECODE_RATE)
    if x.size < n:
        return None
    for _ in range(8):
        start = int(rng.integers(0, x.size - n + 1))
        part = x[start : start + n]
        frames = part[: part.size // 4800 * 4800].reshape(-1, 4800)
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
        if rms.max() > 1e-3 and np.mean(rms > rms.max() * 0.03) > 0.7:
            return part.copy()
    return None


# --- tones ------------------------------------------------------------------------------------


def _cadence(t: np.ndarray, pattern: Sequence[float]) -> np.ndarray:
    """1 where ``t`` falls in an "on" part of the repeating on/off ``pattern`` (seconds)."""
    edges = np.cumsum(pattern)
    phase = t % edges[-1]
    index = np.searchsorted(edges, phase, side="right")
    return (index % 2 == 0).astype(np.float64)


def ringback(rng: np.random.Generator, t: np.ndarray) -> tuple[np.ndarray, str]:
    """A national ring-back tone: its frequencies, cadence and (some) modulation."""
    country = str(rng.choice(["uk", "japan", "france", "germany", "australia", "india"]))
    if country == "uk":
        y = np.sin(2 * np.pi * 400 * t) + np.sin(2 * np.pi * 450 * t)
        gate = _cadence(t, (0.4, 0.2, 0.4, 2.0))
    elif country == "japan":  # 400 Hz modulated by 16 Hz, 1 s on 2 s off
        y = np.sin(2 * np.pi * 400 * t) * (1 + 0.9 * np.sin(2 * np.pi * 16 * t))
        gate = _cadence(t, (1.0, 2.0))
    elif country == "france":
        y, gate = np.sin(2 * np.pi * 440 * t), _cadence(t, (1.5, 3.5))
    elif country == "germany":
        y, gate = np.sin(2 * np.pi * 425 * t), _cadence(t, (1.0, 4.0))
    elif country == "australia":  # 400 Hz modulated by 17 Hz (and 425 Hz), double ring
        y = (np.sin(2 * np.pi * 400 * t) + np.sin(2 * np.pi * 425 * t)) * (
            1 + 0.8 * np.sin(2 * np.pi * 17 * t)
        )
        gate = _cadence(t, (0.4, 0.2, 0.4, 2.0))
    else:  # India: 400 Hz modulated by 25 Hz
        y = np.sin(2 * np.pi * 400 * t) * (1 + 0.9 * np.sin(2 * np.pi * 25 * t))
        gate = _cadence(t, (0.4, 0.2, 0.4, 2.0))
    return y * gate, f"ringback-{country}"


def siren(rng: np.random.Generator, t: np.ndarray) -> tuple[np.ndarray, str]:
    """A wail, a yelp or a European two-tone siren, with a few harmonics (a horn)."""
    style = str(rng.choice(["wail", "yelp", "hilo"]))
    if style == "wail":
        period = rng.uniform(3.0, 6.0)
        freq = 700 + 500 * (0.5 - 0.5 * np.cos(2 * np.pi * t / period))
    elif style == "yelp":
        period = rng.uniform(0.2, 0.4)
        freq = 700 + 700 * ((t / period) % 1.0)
    else:
        low = rng.uniform(420, 460)
        freq = np.where(_cadence(t, (0.55, 0.55)) > 0, low, low * 4 / 3)
    phase = 2 * np.pi * np.cumsum(freq) * (t[1] - t[0])
    y = sum(np.sin(k * phase) / k for k in (1, 2, 3, 4, 5))
    return np.asarray(y, dtype=np.float64), f"siren-{style}"


def sweep(rng: np.random.Generator, t: np.ndarray) -> tuple[np.ndarray, str]:
    """Repeated linear or logarithmic sweeps, up or down, between 100 Hz and 4 kHz."""
    style = str(rng.choice(["linear", "log"]))
    period = rng.uniform(0.5, 4.0)
    lo, hi = rng.uniform(100, 300), rng.uniform(2000, 4000)
    u = (t / period) % 1.0
    if rng.random() < 0.5:
        u = 1.0 - u
    freq = lo + (hi - lo) * u if style == "linear" else lo * (hi / lo) ** u
    phase = 2 * np.pi * np.cumsum(freq) * (t[1] - t[0])
    return np.sin(phase), f"sweep-{style}"


def chime(rng: np.random.Generator, t: np.ndarray) -> tuple[np.ndarray, str]:
    """Struck bells (inharmonic partials), ding-dong door chimes or a music-box melody."""
    style = str(rng.choice(["bells", "dingdong", "musicbox"]))
    y = np.zeros_like(t)
    rate = 1.0 / (t[1] - t[0])
    ratios: tuple[float, ...]
    if style == "bells":
        ratios, decay_s, step = (0.5, 1.0, 1.19, 1.56, 2.0, 2.51, 2.66), 1.2, rng.uniform(0.4, 1.0)
    elif style == "dingdong":
        ratios, decay_s, step = (1.0, 2.76, 5.4), 1.5, rng.uniform(0.6, 1.2)
    else:
        ratios, decay_s, step = (1.0, 3.9, 9.1), 0.5, rng.uniform(0.15, 0.35)
    scale = 440.0 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12)
    onset = 0.0
    while onset < t[-1]:
        f0 = float(rng.choice(scale)) * (0.5 if style == "bells" else 1.0)
        start = round(onset * rate)
        tt = t[: t.size - start]
        env = np.exp(-tt / decay_s)
        note = sum(np.sin(2 * np.pi * f0 * r * tt) / (1 + i) for i, r in enumerate(ratios))
        y[start:] += env * note
        onset += step * (2.0 if style == "dingdong" and rng.random() < 0.3 else 1.0)
    return y, f"chime-{style}"


def dtmf(rng: np.random.Generator, t: np.ndarray) -> tuple[np.ndarray, str]:
    """Random DTMF digit strings: 40–90 ms tones, 40–90 ms gaps, pauses between groups."""
    rows, cols = (697, 770, 852, 941), (1209, 1336, 1477, 1633)
    rate = 1.0 / (t[1] - t[0])
    y = np.zeros_like(t)
    at, on_s, off_s = 0.2, rng.uniform(0.04, 0.09), rng.uniform(0.04, 0.09)
    while at < t[-1]:
        for _ in range(int(rng.integers(3, 11))):
            start, stop = round(at * rate), min(t.size, round((at + on_s) * rate))
            r, c = rows[int(rng.integers(4))], cols[int(rng.integers(4))]
            tt = t[start:stop]
            y[start:stop] = np.sin(2 * np.pi * r * tt) + 0.8 * np.sin(2 * np.pi * c * tt)
            at += on_s + off_s
        at += rng.uniform(0.5, 1.5)
    return y, "dtmf"


TONES: dict[str, Callable[[np.random.Generator, np.ndarray], tuple[np.ndarray, str]]] = {
    "ringback": ringback,
    "siren": siren,
    "sweep": sweep,
    "chime": chime,
    "dtmf": dtmf,
}


def make_tone(
    kind: str, rng: np.random.Generator, seconds: float, rate: int
) -> tuple[np.ndarray, str]:
    """A ``kind`` tone of ``seconds`` at ``rate``, peak 1, and its detailed name."""
    t = np.arange(round(seconds * rate)) / rate
    y, detail = TONES[kind](rng, t)
    peak = float(np.max(np.abs(y)))
    return (y / peak if peak > 0 else y).astype(np.float32), detail


# --- clips ------------------------------------------------------------------------------------


def finish(
    x: np.ndarray, rng: np.random.Generator, rate: int, path_stem: str
) -> tuple[str, dict[str, Any]]:
    """Level, optional noise floor, and WAV / MP3 / Ogg: writes the clip, returns file and label."""

    label: dict[str, Any] = {"rate": rate}
    level_db = rng.uniform(-32, -12)
    x = x * np.float32(10 ** (level_db / 20) / max(float(np.sqrt(np.mean(x**2))), 1e-9))
    if rng.random() < 0.5:
        floor_db = level_db - rng.uniform(35, 60)
        colour = "pink" if rng.random() < 0.5 else "white"
        noise = mes.pink(rng, x.size, rate) if colour == "pink" else rng.standard_normal(x.size)
        noise = noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12) * 10 ** (floor_db / 20)
        x = x + noise.astype(np.float32)
        label["floor"] = f"{colour}{floor_db - level_db:.0f}"
    peak = float(np.max(np.abs(x)))
    if peak > 0.9:
        x = x * np.float32(0.9 / peak)
    roll = rng.random()
    codec = "mp3" if roll < 0.125 else "ogg" if roll < 0.25 else None
    if codec == "mp3" and rate not in (8000, 16000, 24000, 44100, 48000):
        codec = None
    ext = {"mp3": ".mp3", "ogg": ".ogg", None: ".wav"}[codec]
    name = path_stem + ext
    fa.write_take(os.path.join(CLIP_DIR, name), x.astype(np.float32), rate, codec=codec,
                  kbps=float(rng.uniform(64, 128)))  # fmt: skip
    label["codec"] = codec or "wav"
    return name, label


def build(
    seed: int = SEED, music: int = MUSIC_CLIPS, tones: int = TONE_CLIPS
) -> list[dict[str, Any]]:
    """Build (or load from the cache) the clips; one label dict per clip."""
    manifest = os.path.join(WORK, "labels.json")
    found = music_tracks()
    key = {"version": VERSION, "seed": seed, "music": music, "tones": tones,
           "tracks": [p for _, p in found]}  # fmt: skip
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as fh:
            cached = json.load(fh)
        if cached.get("key") == key:
            return list(cached["labels"])
    shutil.rmtree(CLIP_DIR, ignore_errors=True)
    os.makedirs(CLIP_DIR)
    rng = np.random.default_rng(seed)
    labels: list[dict[str, Any]] = []
    decoded = [(pkg, p, decode_track(p)) for pkg, p in found]
    tracks = [(pkg, p, x) for pkg, p, x in decoded if x is not None]
    if not tracks:
        print("note: no game music installed (run install_eval_deps.sh)", file=sys.stderr)
    for i in range(music if tracks else 0):
        pkg, path, x = tracks[i % len(tracks)]
        part = excerpt(x, rng, float(rng.uniform(5.0, 20.0)))
        if part is None:
            continue
        rate = int(rng.choice(RATES))
        name, label = finish(mes.resample(part, DECODE_RATE, rate), rng, rate, f"m{i:03d}")
        seconds = round(part.size / DECODE_RATE, 2)
        labels.append({"file": name, "kind": "music", "source": pkg,
                       "detail": os.path.basename(path), "seconds": seconds, **label})  # fmt: skip
    for i in range(tones):
        kind = TONE_KINDS[i % len(TONE_KINDS)]
        rate = int(rng.choice(RATES))
        seconds = float(rng.uniform(5.0, 20.0))
        y, detail = make_tone(kind, rng, seconds, rate)
        name, label = finish(y, rng, rate, f"t{i:03d}")
        labels.append({"file": name, "kind": kind, "source": "generated", "detail": detail,
                       "seconds": round(seconds, 2), **label})  # fmt: skip
    with open(manifest, "w", encoding="utf-8") as fh:
        json.dump({"key": key, "labels": labels}, fh, indent=1)
    return labels


# --- scoring ----------------------------------------------------------------------------------


def score(labels: list[dict[str, Any]], profiles: Sequence[str]) -> list[dict[str, Any]]:
    """Run every clip through each profile's chain (check only); one row per clip and profile."""
    from pipeline.runner import Pipeline

    rows = []
    for profile in profiles:
        pipeline = Pipeline.for_profile(profile)
        for label in labels:
            clip = pipeline.process(os.path.join(CLIP_DIR, label["file"]))
            severities = [str(f.severity.value) for f in clip.findings if f.code == "no_speech"]
            m = clip.metrics
            caught = "error" if "error" in severities else severities[0] if severities else None
            keys = ("speech_persistence", "speech_modulation_db", "speech_ratio", "snr_db")
            rows.append({"profile": profile, **label, "no_speech": caught,
                         "codes": sorted({f.code for f in clip.findings}),
                         "errors": sorted({f.code for f in clip.findings
                                           if str(f.severity.value) == "error"}),
                         "metrics": {k: m.get(k) for k in keys}})  # fmt: skip
    return rows


def recall_table(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> list[str]:
    """One line per group: caught (any severity), caught as an error, and missed but rejected.

    ``other`` counts the misses that another error rejected anyway (``too_short`` after the
    trim kept only the few seconds the VAD took for speech): the take does not pass, but
    the user is told the wrong reason.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    lines = []
    for name, mine in sorted(groups.items()):
        n = len(mine)
        found = sum(r["no_speech"] is not None for r in mine)
        errors = sum(r["no_speech"] == "error" for r in mine)
        other = sum(r["no_speech"] is None and bool(r["errors"]) for r in mine)
        lines.append(
            f"  {name:<22} {found / n:5.3f} any  {errors / n:5.3f} error  "
            f"{other / n:5.3f} other error  (n={n})"
        )
    return lines


def report(rows: list[dict[str, Any]]) -> str:
    """Per profile: overall recall, then per kind, source, rate and codec; the misses."""
    out = []
    for profile in dict.fromkeys(r["profile"] for r in rows):
        mine = [r for r in rows if r["profile"] == profile]
        out.append(f"== {profile}: {len(mine)} non-speech clips ==")
        out += recall_table(mine, lambda r: "ALL")
        for title, key in (
            ("kind", lambda r: str(r["kind"])),
            ("source", lambda r: str(r["source"])),
            ("rate", lambda r: str(r["rate"])),
            ("codec", lambda r: str(r["codec"])),
            ("floor", lambda r: "floor" if r.get("floor") else "clean"),
        ):
            out.append(f" per {title}:")
            out += recall_table(mine, key)
        for r in mine:
            if r["no_speech"] != "error":
                m = r["metrics"]
                tag = "WARN" if r["no_speech"] else "MISS" if not r["errors"] else "OTHER"
                out.append(
                    f"  {tag} {r['file']} {r['detail']} "
                    f"{r['rate']} {r['codec']} {r.get('floor', '')}: persistence "
                    f"{fa.number(m['speech_persistence'])} modulation "
                    f"{fa.number(m['speech_modulation_db'])} "
                    f"ratio {fa.number(m['speech_ratio'])}"
                )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--music", type=int, default=MUSIC_CLIPS)
    parser.add_argument("--tones", type=int, default=TONE_CLIPS)
    parser.add_argument("--profile", action="append", help="profile(s) to run (default: both)")
    parser.add_argument("--json", help="write per-clip rows (finding, metrics) here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    labels = build(args.seed, args.music, args.tones)
    built = time.perf_counter()
    print(f"{len(labels)} clips built in {built - started:.0f} s")
    cpu = time.process_time()
    rows = score(labels, args.profile or PROFILES)
    print(report(rows))
    print(
        f"scored in {time.perf_counter() - built:.0f} s "
        f"({(time.process_time() - cpu) / max(1, len(rows)) * 1000:.0f} ms CPU per clip)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
