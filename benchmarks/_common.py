"""Shared helpers of the benchmarks: a speech-like test batch with known answers, and timing.

The batch imitates a real recording session: 44.1/48 kHz stereo WAV (16- and 24-bit), some
FLAC and MP3, 3–40 s each, silence at both ends, a little noise and a few very quiet takes.
Speech comes from espeak-ng when it is installed and from a formant synthesiser otherwise, so
webrtcvad finds speech either way. A ``manifest.json`` next to the files records, for each file,
where the speech starts and ends, which is what trimming should find.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

WORK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_work")
ESPEAK = "/usr/bin/espeak-ng"
SPEECH_RATE_HZ = 22_050  # espeak-ng's output rate; the synthetic fallback uses it too

_SENTENCES = (
    "Thank you for calling. Please hold while we connect you to the next available agent.",
    "For sales, press one. For support, press two. To hear these options again, press nine.",
    "Our office is closed right now. Our opening hours are nine to five, Monday to Friday.",
    "Please leave a message after the tone, and we will call you back as soon as we can.",
    "Your call is important to us. You are number three in the queue.",
    "To speak to an operator, stay on the line.",
    "The person you are calling is not available. Please try again later.",
    "Welcome to the conference service. Please enter your meeting number followed by hash.",
    "All of our lines are busy at the moment. Thank you for your patience.",
    "If you know the extension of the person you want to reach, you may dial it at any time.",
    "Goodbye.",
    "Please say your account number, or enter it on the keypad.",
)
_VOICES = ("en-us", "en-gb", "en-us+f3", "en+m3", "en-us+f2", "en+m5")

# Session mix: (container, subtype, share). The rest of each file's parameters are drawn per file.
_MIX = (
    ("wav", "PCM_16", 0.40),
    ("wav", "PCM_24", 0.30),
    ("flac", "PCM_16", 0.08),
    ("flac", "PCM_24", 0.07),
    ("mp3", "MPEG_LAYER_III", 0.15),
)


@dataclass(frozen=True)
class BatchFile:
    """One generated recording and the answers a correct pipeline should find in it."""

    path: str
    container: str
    subtype: str
    rate: int
    channels: int
    duration_s: float
    speech_start_s: float
    speech_end_s: float
    speech_rms_dbfs: float  # level of the speech while it is active, per channel
    quiet: bool  # a deliberately quiet take (speech below −40 dBFS)

    @property
    def speech_s(self) -> float:
        return self.speech_end_s - self.speech_start_s


def speech_source() -> str:
    """Which speech generator this machine will use: "espeak-ng" or "synthetic"."""
    return "espeak-ng" if os.access(ESPEAK, os.X_OK) else "synthetic"


def make_batch(
    folder: str, *, files: int, seed: int = 0, min_s: float = 3.0, max_s: float = 40.0
) -> list[BatchFile]:
    """Generate ``files`` recordings in ``folder`` (reused when a matching manifest exists)."""
    import soundfile as sf
    import soxr

    manifest_path = os.path.join(folder, "manifest.json")
    key = {
        "version": 2,
        "files": files,
        "seed": seed,
        "min_s": min_s,
        "max_s": max_s,
        "src": speech_source(),
    }
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as fh:
            saved = json.load(fh)
        batch = [BatchFile(**item) for item in saved["files"]]
        if saved["key"] == key and all(os.path.exists(b.path) for b in batch):
            return batch
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    bank = _utterance_bank(os.path.join(WORK_DIR, "speech"), seed)
    rng = np.random.default_rng(seed)
    shares = np.array([m[2] for m in _MIX])
    batch = []
    for index in range(files):
        container, subtype, _ = _MIX[rng.choice(len(_MIX), p=shares / shares.sum())]
        rate = int(rng.choice([44_100, 48_000]))
        lead_s, tail_s = rng.uniform(0.3, 1.5), rng.uniform(0.3, 2.0)
        speech = _speech_of_length(bank, rng, max(1.0, rng.uniform(min_s, max_s) - lead_s - tail_s))
        speech = soxr.resample(speech, SPEECH_RATE_HZ, rate).astype(np.float32)
        quiet = bool(rng.random() < 0.1)
        level_dbfs = rng.uniform(-50.0, -44.0) if quiet else rng.uniform(-30.0, -16.0)
        gain = 10 ** (level_dbfs / 20) / _active_rms(speech)
        gain = min(gain, 10 ** (-1.0 / 20) / float(np.max(np.abs(speech))))  # never clip
        level_dbfs = 20 * np.log10(gain * _active_rms(speech))
        speech *= np.float32(gain)
        lead, tail = round(lead_s * rate), round(tail_s * rate)
        mono = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(tail, np.float32)])
        # Stereo from a near-coincident pair: a gain difference and a delay of 0–3 samples
        # (a longer one would comb-filter the downmix in the speech band).
        delay = int(rng.integers(0, 4))
        right = np.concatenate([np.zeros(delay, np.float32), mono[: len(mono) - delay]])
        stereo = np.stack([mono, right * np.float32(rng.uniform(0.7, 1.0))], axis=1)
        noise = rng.standard_normal(stereo.shape).astype(np.float32) * np.float32(10 ** (-72 / 20))
        stereo += noise
        np.clip(stereo, -1.0, 1.0, out=stereo)
        ext = {"wav": "wav", "flac": "flac", "mp3": "mp3"}[container]
        path = os.path.join(folder, f"take_{index:04d}_{rate // 1000}k_{subtype.lower()}.{ext}")
        sf.write(path, stereo, rate, subtype=subtype, format=container.upper())
        batch.append(
            BatchFile(
                path=path,
                container=container,
                subtype=subtype,
                rate=rate,
                channels=2,
                duration_s=round(len(stereo) / rate, 4),
                speech_start_s=round(lead / rate, 4),
                speech_end_s=round((lead + len(speech)) / rate, 4),
                speech_rms_dbfs=round(float(level_dbfs), 2),
                quiet=quiet,
            )
        )
    with open(manifest_path, "w", encoding="utf-8") as fh:
        json.dump({"key": key, "files": [asdict(b) for b in batch]}, fh, indent=1)
    return batch


def link_copies(batch: Sequence[BatchFile], folder: str, copies: int) -> list[str]:
    """``copies`` hard links (symlinks if that fails) of every batch file, for bigger batches."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    paths = []
    for copy in range(copies):
        for item in batch:
            path = os.path.join(folder, f"c{copy}_{os.path.basename(item.path)}")
            try:
                os.link(item.path, path)
            except OSError:
                os.symlink(item.path, path)
            paths.append(path)
    return paths


def _utterance_bank(folder: str, seed: int) -> list[np.ndarray]:
    """Spoken sentences at `SPEECH_RATE_HZ`, cached on disk between runs."""
    import soundfile as sf

    os.makedirs(folder, exist_ok=True)
    if speech_source() == "synthetic":
        rng = np.random.default_rng(seed + 1)
        return [synthetic_speech(rng, rng.uniform(1.5, 5.0)) for _ in range(12)]
    bank = []
    for index, sentence in enumerate(_SENTENCES):
        voice = _VOICES[index % len(_VOICES)]
        speed = 140 + (index * 7) % 50
        path = os.path.join(folder, f"utt_{index:02d}_{voice.replace('+', '_')}_{speed}.wav")
        if not os.path.exists(path):
            subprocess.run(
                [ESPEAK, "-v", voice, "-s", str(speed), "-w", path, sentence],
                check=True,
                capture_output=True,
            )
        data, rate = sf.read(path, dtype="float32")
        if rate != SPEECH_RATE_HZ:
            import soxr

            data = soxr.resample(data, rate, SPEECH_RATE_HZ)
        bank.append(_strip_silence(data))
    return bank


def _strip_silence(x: np.ndarray) -> np.ndarray:
    """Cut espeak-ng's own leading/trailing silence so the manifest's speech bounds are exact."""
    loud = np.flatnonzero(np.abs(x) > 10 ** (-50 / 20))
    return x[loud[0] : loud[-1] + 1] if loud.size else x


def _speech_of_length(
    bank: list[np.ndarray], rng: np.random.Generator, seconds: float
) -> np.ndarray:
    """Utterances separated by short pauses until at least ``seconds`` of speech have passed."""
    parts: list[np.ndarray] = []
    total = 0
    while total < seconds * SPEECH_RATE_HZ:
        if parts:
            parts.append(np.zeros(int(rng.uniform(0.25, 0.7) * SPEECH_RATE_HZ), np.float32))
        parts.append(bank[int(rng.integers(len(bank)))])
        total = sum(len(p) for p in parts)
    return np.concatenate(parts).astype(np.float32)


def _active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames that carry sound, so pauses do not dilute the level."""
    frame = SPEECH_RATE_HZ // 50
    usable = len(x) // frame * frame
    power = np.square(x[:usable].reshape(-1, frame), dtype=np.float64).mean(axis=1)
    active = power[power > power.max() * 1e-4]
    return float(np.sqrt(active.mean())) if active.size else 1.0


def synthetic_speech(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A speech-like signal: a glottal pulse train through vowel formants, in syllables and words.

    Voiced syllables of 120–260 ms at 3–6 per second, a wandering 90–230 Hz pitch, five vowel
    formant sets cross-faded per syllable, a few noisy fricatives, and pauses between words.
    """
    from scipy.signal import lfilter

    rate = SPEECH_RATE_HZ
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = rng.uniform(100, 200) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t))
    phase = np.cumsum(f0 / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    excitation = lfilter([1.0], [1.0, -0.95], pulses)  # glottal roll-off

    # Syllable boundaries, each with a vowel, a raised-cosine envelope and sometimes a pause.
    lengths = rng.uniform(0.12, 0.26, size=int(seconds / 0.12) + 2)
    starts = np.concatenate([[0.0], np.cumsum(lengths)])[:-1]
    syllable = np.searchsorted(starts, t, side="right") - 1
    within = (t - starts[syllable]) / lengths[syllable]
    envelope = np.sin(np.pi * np.clip(within, 0, 1)) ** 0.7
    silent = rng.random(len(lengths)) < 0.18  # word gaps
    envelope[silent[syllable]] = 0.0
    vowel = rng.integers(0, 5, size=len(lengths))[syllable]

    formants = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480),
                (570, 840, 2410))  # fmt: skip
    voiced = np.zeros(n)
    for index, freqs in enumerate(formants):
        y = excitation
        for freq in freqs:
            r = np.exp(-np.pi * 80 / rate)
            y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * freq / rate), r * r], y)
        voiced += np.where(vowel == index, y, 0.0)
    fricative = lfilter([1, -1], [1], rng.standard_normal(n)) * 0.05
    fric_on = (rng.random(len(lengths)) < 0.25)[syllable] & (within < 0.3)
    signal = voiced * envelope + fricative * fric_on * envelope
    signal /= np.max(np.abs(signal)) + 1e-12
    return signal.astype(np.float32)


# --- timing -------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> float:
    """Wall seconds ``fn()`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def fresh_dir(prefix: str) -> str:
    """A new empty folder under the scratch area (a pipeline's journal must never be reused)."""
    os.makedirs(WORK_DIR, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=WORK_DIR)


def voiceprep_script() -> str:
    """The ``voiceprep`` console script of this interpreter's environment.

    Preferred to a PATH lookup: version managers put a shell shim first on PATH (pyenv's
    adds ~50–100 ms to every start), and that is not voiceprep's start-up.
    """
    beside = os.path.join(os.path.dirname(sys.executable), "voiceprep")
    return beside if os.access(beside, os.X_OK) else "voiceprep"


def command_seconds(argv: Sequence[str], *, repeat: int = 5) -> tuple[float, int]:
    """Median wall seconds of running ``argv`` as a subprocess, and its last exit code."""
    times, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(list(argv), capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        code = done.returncode
    return median(times), code
