"""Fit the learned speech/music check of `stages.analysis.music` (issue 3's no-speech bar).

    python benchmarks/train_music_check.py             # features (cached), fit, print weights
    python benchmarks/train_music_check.py --score benchmarks/_work/nospeech-heldout/clips

Every clip goes through the real chain (`Pipeline.for_profile` under ``PROFILES``:
``tencent-vod-voice`` and ``aliyun-voice``, analysis at 24 and 8 kHz; check only) with
`stages.analysis.speech.detect_speech` wrapped, so the features are those of the audio and
VAD segments the detector sees. On the "speech" outcome they are the ones `detect_speech`
hands to `music_features`; on any other outcome the wrapper rebuilds them the same way (so
music the hand-set cues catch still teaches the model).

Training data (never the test split, never the held-out no-speech set):

- positives: the old no-speech set (``_work/nospeech/clips``, 190 clips of game music and
  generated tones) and ``GENERATED`` clips this script writes to ``_work/music_check/gen``:
  chord progressions of harmonic tones, arpeggios of decaying notes, a tune over a drone, a
  drum loop with a bass line, a vibrato lead over a pad, at 8–48 kHz, some under a white
  noise floor;
- negatives: every clip of the dev split (``_work/eval-dev``: clean, noisy, hum,
  two-speaker, clipped, band-limited voices), the false-alarm set's 300 takes
  (``_work/fa/takes``) and the SNR sweep (``_work/snr_sweep``: dev voices in white, pink,
  brown, babble and hum at 0–30 dB).

The model is an L2-regularised logistic regression (numpy, Newton steps) on standardised
features, positives weighted to balance the classes. The threshold is put
``MARGIN_LOGIT`` above the highest-scoring negative of the training data. ``L2`` and the
margin were chosen by cross-validation on the training clips alone (five folds, and leaving
out one source of music at a time). The script prints the constants to paste into
`stages/analysis/music.py`. ``--score DIR`` runs a directory's clips and prints which ones
the hand-set cues call speech and which of those the check would flag.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from multiprocessing import Pool  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
WORK = os.path.join(HERE, "_work")
OUT = os.path.join(WORK, "music_check")
GEN_DIR = os.path.join(OUT, "gen")
PROFILES = ("tencent-vod-voice", "aliyun-voice")  # 24 and 8 kHz analysis
GENERATED = 160
SEED = 41
L2 = 1.0
MARGIN_LOGIT = 0.5  # the threshold sits this far (logit) above the top training negative


# --- generated music ---------------------------------------------------------------------------


def _tone(t: np.ndarray, hz: float, harmonics: int, tilt: float) -> np.ndarray:
    """A harmonic tone, partials under 0.45 of the rate (``t`` holds 1/rate steps)."""
    k = np.arange(1, harmonics + 1)
    rate = 1.0 / (t[1] - t[0]) if t.size > 1 else 8000.0
    k = k[k * hz < 0.45 * rate]
    return np.sin(2 * np.pi * hz * np.outer(t, k)) @ (tilt ** (k - 1.0))


def _note_hz(midi: float) -> float:
    return float(440.0 * 2 ** ((midi - 69) / 12))


def generate(rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
    """One clip of generated music: (samples, rate, kind)."""
    rate = int(rng.choice([8000, 16000, 24000, 44100, 48000]))
    seconds = float(rng.uniform(6, 15))
    n = int(seconds * rate)
    t = np.arange(n) / rate
    y = np.zeros(n)
    kind = str(rng.choice(["chords", "arpeggio", "drone", "groove", "lead"]))
    root = int(rng.integers(45, 60))
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16])
    tilt = float(rng.uniform(0.4, 0.8))
    if kind in ("chords", "groove", "lead"):
        step = float(rng.uniform(0.6, 2.5))
        for start in np.arange(0, seconds, step):
            a, b = int(start * rate), min(n, int((start + step) * rate))
            base = root + int(rng.choice([0, 5, 7, 9, -3]))
            env = np.minimum(1.0, np.arange(b - a) / (0.02 * rate))
            for iv in (0, 4 if rng.random() < 0.5 else 3, 7):
                y[a:b] += 0.3 * env * _tone(t[a:b], _note_hz(base + iv), 8, tilt)
    if kind in ("arpeggio", "drone", "groove"):
        note_s = float(rng.uniform(0.12, 0.5))
        decay = float(rng.uniform(0.1, 0.8))
        for start in np.arange(0, seconds, note_s):
            a = int(start * rate)
            b = min(n, a + int(4 * decay * rate))
            hz = _note_hz(root + 12 + int(rng.choice(scale)))
            env = np.exp(-(t[a:b] - t[a]) / decay)
            y[a:b] += 0.5 * env * _tone(t[a:b], hz, 6, tilt)
    if kind == "drone":
        y += 0.4 * _tone(t, _note_hz(root - 12), 10, tilt)
    if kind == "groove":
        beat = float(rng.uniform(0.3, 0.6))
        for start in np.arange(0, seconds, beat):
            a = int(start * rate)
            b = min(n, a + int(0.08 * rate))
            y[a:b] += 0.8 * rng.standard_normal(b - a) * np.exp(-np.arange(b - a) / (0.02 * rate))
    if kind == "lead":
        note_s = float(rng.uniform(0.25, 0.8))
        notes = root + 12 + rng.choice(scale, size=int(seconds / note_s) + 1)
        hz = np.array([_note_hz(m) for m in notes])[(t / note_s).astype(int)]
        hz = hz * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t))
        phase = 2 * np.pi * np.cumsum(hz) / rate
        k = np.arange(1, 7)
        y += 0.8 * (np.sin(np.outer(phase, k)) @ (tilt ** (k - 1.0)))
    y /= max(float(np.abs(y).max()), 1e-9)
    y *= 10 ** (rng.uniform(-20, -3) / 20)
    if rng.random() < 0.5:
        y += 10 ** (rng.uniform(-75, -45) / 20) * rng.standard_normal(n)
    return y.astype(np.float32), rate, kind


def build_generated(count: int = GENERATED, seed: int = SEED) -> list[str]:
    """Write (once) the generated music clips; their paths."""
    import soundfile as sf

    os.makedirs(GEN_DIR, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        y, rate, kind = generate(rng)
        path = os.path.join(GEN_DIR, f"g{i:03d}_{kind}.wav")
        if not os.path.exists(path):
            sf.write(path, y, rate, subtype="PCM_16")
        paths.append(path)
    return paths


# --- features through the real chain -----------------------------------------------------------


def _rebuilt_features(x: np.ndarray, rate: int, segments: Any, spec: Any, result: Any) -> Any:
    """`music_features` for a clip the detector did not call speech, built as it would."""
    from stages.analysis import music, speech

    power = spec.power
    n = power.shape[0]
    if n <= 1:
        return None
    inside = np.ones(n, dtype=bool)
    if segments:
        t = np.arange(n) * spec.frame_s
        inside[:] = False
        for start, end in segments:
            inside |= (t >= start) & (t < end)
    judged = spec.energy[inside]
    if judged.size == 0 or float(judged.max()) <= 0:
        return None
    bands = speech.modulation_bands(spec)
    top = float(judged.max()) * 10 ** (-speech.LOUD_BELOW_TOP_DB / 10)
    loud = inside & (spec.energy >= np.median(judged)) & (spec.energy >= top)
    return music.music_features(
        spec, bands.power, inside, loud, modulation_db=result.modulation_db,
        persistence=result.persistence, dip_db=speech.syllabic_dip_db(bands, inside),
        beat=speech.beat_strength(bands, inside), lines=speech.spectral_lines(
            power, loud, spec.bin_hz), peak_spread_db=speech.peak_spread_db(bands, inside),
    )  # fmt: skip


def _extract(job: tuple[str, list[str]]) -> list[dict[str, Any]]:
    """Run ``paths`` through ``profile``'s chain; one row (features, verdict) per clip."""
    profile, paths = job
    from pipeline.runner import Pipeline
    from stages.analysis import music, speech

    real_detect, real_features = speech.detect_speech, speech.music_features
    seen: dict[str, Any] = {}

    def features(*args: Any, **kwargs: Any) -> Any:
        seen["features"] = real_features(*args, **kwargs)
        return seen["features"]

    def detect(x: np.ndarray, rate: int, segments: Any = None, **kwargs: Any) -> Any:
        seen.pop("features", None)
        result = real_detect(x, rate, segments, **kwargs)
        spec = kwargs.get("spectrogram")
        if spec is None:
            from stages.analysis._spectra import power_spectrogram

            spec = power_spectrogram(x, rate)
        if "features" not in seen:
            seen["features"] = _rebuilt_features(x, rate, segments, spec, result)
        seen["result"] = result
        return result

    speech.detect_speech, speech.music_features = detect, features  # type: ignore[assignment]
    pipeline = Pipeline.for_profile(profile)
    rows = []
    for path in paths:
        seen.clear()
        clip = pipeline.process(path)
        result = seen.get("result")
        feats = seen.get("features")
        codes = sorted({f"{f.code}:{f.severity.value}" for f in clip.findings})
        rows.append({
            "path": path,
            "profile": profile,
            "features": None if feats is None else [float(v) for v in feats],
            "reason": None if result is None else result.reason,
            "probability": None if feats is None else music.music_probability(feats),
            "codes": codes,
        })  # fmt: skip
    return rows


def extract(paths: list[str], jobs: int = 2) -> list[dict[str, Any]]:
    """`_extract` under every profile of ``PROFILES``, over ``jobs`` processes."""
    chunks = [(profile, paths[i::jobs]) for profile in PROFILES for i in range(jobs)]
    with Pool(jobs) as pool:
        parts = pool.map(_extract, chunks)
    return [row for part in parts for row in part]


def training_paths() -> tuple[list[str], list[str]]:
    """(positives, negatives): the clips listed in the module docstring."""
    with open(os.path.join(WORK, "nospeech", "labels.json")) as fh:
        nospeech = json.load(fh)["labels"]
    positives = [os.path.join(WORK, "nospeech", "clips", r["file"]) for r in nospeech]
    positives += build_generated()
    negatives = sorted(glob.glob(os.path.join(WORK, "eval-dev", "*.wav")))
    with open(os.path.join(WORK, "fa", "takes", "labels.jsonl")) as fh:
        fa = [json.loads(line) for line in fh if line.strip()]
    negatives += [os.path.join(WORK, "fa", "takes", r["file"]) for r in fa if "file" in r]
    negatives += sorted(glob.glob(os.path.join(WORK, "snr_sweep", "*.wav")))
    return positives, negatives


def cached_rows(name: str, paths: list[str]) -> list[dict[str, Any]]:
    """Rows of ``paths``, cached in ``_work/music_check/NAME.json``."""
    path = os.path.join(OUT, f"{name}.json")
    if os.path.exists(path):
        with open(path) as fh:
            rows: list[dict[str, Any]] = json.load(fh)
        if sorted(r["path"] for r in rows) == sorted(paths * len(PROFILES)):
            return rows
    rows = extract(paths)
    os.makedirs(OUT, exist_ok=True)
    with open(path, "w") as fh:
        json.dump(rows, fh)
    return rows


# --- the fit -----------------------------------------------------------------------------------


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression by Newton steps; (weights, bias)."""
    n, d = x.shape
    w = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1)) * n
    a = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a @ theta)))
        grad = a.T @ (w * (p - y)) + penalty * theta
        hess = (a * (w * p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        delta = np.linalg.solve(hess, grad)
        theta -= delta
        if np.abs(delta).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--score", help="a directory of clips to score with the shipped model")
    parser.add_argument("--json", help="write the scored rows here")
    args = parser.parse_args(argv)
    from stages.analysis import music

    if args.score:
        paths = sorted(glob.glob(os.path.join(args.score, "*.wav")))
        labels = os.path.join(os.path.dirname(os.path.normpath(args.score)), "labels.json")
        if os.path.exists(labels):  # a no-speech set: its clips include MP3 and Ogg ones
            with open(labels) as fh:
                listed = json.load(fh)["labels"]
            paths = [os.path.join(args.score, r["file"]) for r in listed]
        rows = extract(paths)
        missed = [r for r in rows if not any(c.startswith("no_speech") for c in r["codes"])]
        for profile in PROFILES:
            mine = [r for r in rows if r["profile"] == profile]
            missed = [r for r in mine if not any(c.startswith("no_speech") for c in r["codes"])]
            flag = [r for r in mine if r["reason"] == "speech" and r["probability"] is not None
                    and r["probability"] >= music.MUSIC_THRESHOLD]  # fmt: skip
            caught = [r for r in flag if r in missed]
            print(f"{profile}: {len(mine)} clips, {len(missed)} without no_speech, ")
            print(f"  {len(flag)} flagged by the music check, {len(caught)} of them without")
            for r in sorted(missed, key=lambda r: -(r["probability"] or 0)):
                print(f"  {os.path.basename(r['path'])}: {r['reason']} p={r['probability']}")
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(rows, fh)
        return 0
    positives, negatives = training_paths()
    pos = [r for r in cached_rows("positives", positives) if r["features"] is not None]
    neg = [r for r in cached_rows("negatives", negatives) if r["features"] is not None]
    x = np.array([r["features"] for r in pos + neg])
    y = np.array([1.0] * len(pos) + [0.0] * len(neg))
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.clip((x - mean) / scale, -8.0, 8.0)
    weights, bias = fit(z, y)
    logit = z @ weights + bias
    top_neg = float(logit[y == 0].max())
    threshold_logit = top_neg + MARGIN_LOGIT
    threshold = 1.0 / (1.0 + np.exp(-threshold_logit))
    print(f"positives {len(pos)}, negatives {len(neg)}; features {len(music.FEATURES)}")
    print(
        f"top negative logit {top_neg:.3f}; "
        f"threshold logit {threshold_logit:.3f} (p {threshold:.4f})"
    )
    order = np.argsort(-logit[y == 0])[:5]
    for i in order:
        print(f"  negative {os.path.basename(neg[i]['path'])}: logit {logit[y == 0][i]:.2f}")
    caught = logit[y == 1] >= threshold_logit
    print(f"positives over the threshold: {int(caught.sum())}/{len(pos)}")
    speechy = np.array([r["reason"] == "speech" for r in pos])
    print(
        f"positives the cues call speech: {int(speechy.sum())}, "
        f"flagged {int((caught & speechy).sum())}"
    )
    for name, w in sorted(zip(music.FEATURES, weights, strict=True), key=lambda p: -abs(p[1])):
        print(f"  {name:14s} {w:+.3f}")
    fmt = lambda v: "np.array([" + ", ".join(f"{float(a):.6g}" for a in v) + "])"  # noqa: E731
    print(f"MEAN = {fmt(mean)}\nSCALE = {fmt(scale)}\nWEIGHTS = {fmt(weights)}")
    print(f"BIAS = {bias:.6g}\nMUSIC_THRESHOLD = {threshold:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
