"""`Vad`: find where speech is, with a speech detector, then sharpen the edges with frame energy.

The detector is a backend (`stages.vad_backends`): ``webrtc`` (default), ``energy`` (the
fast path for large batches) or ``silero`` (ONNX model, extra ``voiceprep[silero]``). The
smoothing, refinement and noise estimate below are the same for every backend.

webrtcvad decides speech / not speech per 10–30 ms frame and is good at telling voice
from noise, but its edges are loose: it often calls the low-level noise before and after
a phrase speech, so raw boundaries can be 90 ms or more off. With ``refine=True`` each
segment's first and last 10 ms frames are re-placed where the frame energy rises above
the noise floor, which brings boundaries within ~10–20 ms of the true speech edges.

Background voices (babble, a television, a music bed) are speech to webrtcvad, so it
calls the whole take speech and the quietest tenth of frames sits in the babble's dips:
the edges stayed on the babble, 1–2 s outside the voice even 30 dB under it. The floor
the edges must clear therefore also follows the background's level *and spread*: the
quieter population of a two-component Gaussian mixture fitted to the frame levels, whose
peaks (mean + 2 standard deviations) a frame must beat, but never closer than 10 dB under
the take's speech level (its loud frames), so that the voice's own syllables still count.
A steady noise has a spread under 1 dB, so this changes nothing there.

The stage also estimates the noise floor and SNR from the frames it did not call speech,
so `analyze` can judge the recording without another pass over the audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pipeline.clip import Clip
from pipeline.errors import ConfigurationError
from pipeline.stage import Stage
from stages.vad_backends import BACKENDS, SpeechDetector, make_detector
from stages.vad_backends.webrtc import WEBRTC_RATES, webrtc_frames

__all__ = [
    "WEBRTC_RATES",
    "Vad",
    "background_level",
    "frame_energies_db",
    "refine_segment",
    "segments_metric",
    "smooth_runs",
    "true_runs",
    "webrtc_frames",
]

ENERGY_FRAME_S = 0.010
NOISE_PERCENTILE = 10.0  # the quietest tenth of 10 ms frames is taken as the noise floor
SPEECH_PERCENTILE = 95.0  # a segment's speech level
MIN_ABOVE_NOISE_DB = 6.0  # a frame must beat the noise floor by this much to be speech
EXTEND_ABOVE_NOISE_DB = 2.5  # an edge extends outwards while energy stays this far above
BELOW_SPEECH_DB = 35.0  # ... and needs be no louder than this far under the speech level
EXTEND_BELOW_SPEECH_DB = 50.0  # soft onsets ("th", "f") may sit this far under the speech
SEARCH_S = 0.100  # how far outside webrtcvad's edges refinement may look
MIN_ANCHOR_FRAMES = 4  # an edge anchors on at least this many loud 10 ms frames in a row
MIN_ANCHOR_SNR_DB = 20.0  # ... where the segment's speech level is this far over the noise
NOISE_GUARD_S = 0.050  # frames this close to speech don't count as noise (breaths, reverb)
SILENCE_FLOOR_DBFS = -120.0  # digital silence is reported at this level, not -inf
BACKGROUND_SPREAD = 2.0  # a frame clears a fluctuating background at its mean + 2 sd
BACKGROUND_EXTEND_SPREAD = 1.0  # ... and an edge extends while over its mean + 1 sd
MAX_BACKGROUND_UNDER_SPEECH_DB = 10.0  # the background floor stays this far under the speech
# A background's 10 ms levels spread a few dB (babble in the test and dev splits: at most 16);
# a wider "quieter population" is a fade or a decaying fricative, not a background.
MAX_BACKGROUND_SD_DB = 20.0
MIXTURE_ROUNDS = 30  # EM rounds at most; most takes settle within 10
MIXTURE_TOLERANCE_DB = 0.02
MIXTURE_BIN_DB = 0.5
EDGE_S = 0.1  # a background is what the take begins and ends with
_TINY = 10.0 ** (SILENCE_FLOOR_DBFS / 10.0)
MAX_REPORTED_SEGMENTS = 200  # the ``speech_segments`` metric: at most this many spans


def segments_metric(
    segments: list[tuple[float, float]], offset_s: float, *, limit: int = MAX_REPORTED_SEGMENTS
) -> list[list[float]]:
    """Speech segments as ``[start_s, end_s]`` pairs in source time, at most ``limit`` of them.

    Beyond ``limit`` the segments across the shortest pauses are merged (a 10-minute talk
    keeps its longest pauses), so a record stays a few kB whatever the take holds.
    """
    if not segments:
        return []
    starts = np.array([s for s, _ in segments], dtype=np.float64)
    ends = np.array([e for _, e in segments], dtype=np.float64)
    if starts.size > limit > 0:
        gaps = starts[1:] - ends[:-1]
        keep = np.sort(np.argsort(gaps, kind="stable")[gaps.size - (limit - 1) :])
        starts = np.concatenate(([starts[0]], starts[1:][keep]))
        ends = np.concatenate((ends[:-1][keep], [ends[-1]]))
    return [
        [round(offset_s + float(s), 3), round(offset_s + float(e), 3)]
        for s, e in zip(starts, ends, strict=True)
    ]


def true_runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def smooth_runs(
    starts: np.ndarray, ends: np.ndarray, *, min_gap: float, min_length: float
) -> tuple[np.ndarray, np.ndarray]:
    """Close gaps shorter than ``min_gap``, then drop runs shorter than ``min_length``.

    Units are whatever ``starts``/``ends`` use (frames, seconds); runs are sorted and disjoint.
    """
    if starts.size == 0:
        return starts, ends
    keep_gap = (starts[1:] - ends[:-1]) >= min_gap
    starts = starts[np.concatenate(([True], keep_gap))]
    ends = ends[np.concatenate((keep_gap, [True]))]
    long_enough = (ends - starts) >= min_length
    return starts[long_enough], ends[long_enough]


def frame_energies_db(samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Mean-square level (dBFS, floor −120) of consecutive 10 ms frames, and the frame length."""
    step = max(1, round(rate * ENERGY_FRAME_S))
    n = samples.shape[0] // step
    frames = np.asarray(samples[: n * step], dtype=np.float32).reshape(n, step)
    power = np.einsum("ij,ij->i", frames, frames).astype(np.float64) / step
    return 10.0 * np.log10(np.maximum(power, _TINY)), step


def background_level(energy_db: np.ndarray) -> tuple[float, float] | None:
    """Mean and standard deviation (dB) of the quieter population of frame levels.

    A two-component Gaussian mixture over the 10 ms frame levels (dBFS), fitted by EM: one
    component takes the voice, the other the background between and around it. None when
    there are too few frames, when digital silence fills the pauses, when the take's
    first and last ``EDGE_S`` do not sit in the quieter population, or when that population
    spreads over more than ``MAX_BACKGROUND_SD_DB``: then it is the voice's own soft frames
    or a fade, not the background the take is recorded in.
    """
    sounding = energy_db[energy_db > SILENCE_FLOOR_DBFS + 1.0]
    if sounding.size < 20 or sounding.size < 0.98 * energy_db.size:
        return None
    # EM on a 0.5 dB histogram of the levels: the same fit, ~30x fewer terms per round.
    low, high = float(sounding.min()), float(sounding.max())
    n_bins = max(1, int(np.ceil((high - low) / MIXTURE_BIN_DB)))
    counts, bin_edges = np.histogram(
        sounding, bins=n_bins, range=(low, low + n_bins * MIXTURE_BIN_DB)
    )
    used = counts > 0
    x = ((bin_edges[:-1] + bin_edges[1:]) / 2.0)[used][:, np.newaxis]
    frames = counts[used][:, np.newaxis].astype(np.float64)
    mean = np.percentile(sounding, [10.0, 90.0])
    sd = np.array([3.0, 10.0])
    weight = np.array([0.3, 0.7])
    for _ in range(MIXTURE_ROUNDS):
        z = (x - mean) / sd
        likelihood = weight / sd * np.exp(-0.5 * z * z)
        share = likelihood * (frames / np.maximum(likelihood.sum(axis=1, keepdims=True), 1e-300))
        total = share.sum(axis=0) + 1e-9
        weight = total / sounding.size
        previous, mean = mean, (share * x).sum(axis=0) / total
        sd = np.sqrt((share * (x - mean) ** 2).sum(axis=0) / total) + 0.3  # no collapse
        if np.abs(mean - previous).max() < MIXTURE_TOLERANCE_DB:
            break
    quiet = int(np.argmin(mean))
    if sd[quiet] > MAX_BACKGROUND_SD_DB:
        return None
    edge = max(1, round(EDGE_S / ENERGY_FRAME_S))
    ends_db = float(np.median(np.concatenate((energy_db[:edge], energy_db[-edge:]))))
    if abs(ends_db - mean[quiet]) > BACKGROUND_SPREAD * sd[quiet]:
        return None
    return float(mean[quiet]), float(sd[quiet])


def refine_segment(
    energy_db: np.ndarray,
    start: int,
    end: int,
    *,
    noise_db: float,
    search: int,
    background_db: tuple[float, float] | None = None,
) -> tuple[int, int] | None:
    """Re-place one segment's edges (10 ms frame indices) where energy clears the noise.

    Two thresholds, as in classic endpoint detectors. The first frames that are clearly
    speech must beat the noise floor by ``MIN_ABOVE_NOISE_DB`` (on clean audio: be no
    more than ``BELOW_SPEECH_DB`` under the segment's speech level, so room tone and soft
    breaths stay outside), ``MIN_ANCHOR_FRAMES`` of them in a row where the voice stands
    clear of the noise (a click is not an edge). From there the edge walks outwards while
    the 3-frame mean energy still exceeds the floor by ``EXTEND_ABOVE_NOISE_DB``, catching
    soft onsets and decays that noisy audio hides. ``background_db``: ``(strict, lax)``
    floors of a fluctuating background (see `background_level`) the two thresholds must
    clear as well. Edges move at most ``search`` frames outside the given ones. None if
    nothing in the segment clears the first threshold for long enough.
    """
    n = energy_db.shape[0]
    if n == 0:
        return None
    start = min(max(start, 0), n - 1)
    end = min(max(end, start + 1), n)
    lo, hi = max(0, start - search), min(n, end + search)
    window = energy_db[lo:hi]
    speech_db = float(np.percentile(energy_db[start:end], SPEECH_PERCENTILE))
    strict = max(noise_db + MIN_ABOVE_NOISE_DB, speech_db - BELOW_SPEECH_DB)
    lax_floor = noise_db + EXTEND_ABOVE_NOISE_DB
    if background_db is not None:
        strict = max(strict, background_db[0])
        lax_floor = max(lax_floor, background_db[1])
    # Where the voice stands well over a steady noise, or a fluctuating background sets the
    # threshold, edges anchor on sound that lasts (MIN_ANCHOR_FRAMES): a click or a tap is a
    # loud frame or two, and webrtcvad's hangover had joined one 0.4 s before a word to the
    # word; babble's bursts are short too. The lax walk below still takes in a plosive's
    # burst that leads into its vowel. A voice at 0-10 dB over a steady noise clears the
    # threshold only in scattered frames, so any frame anchors there.
    above = window > strict
    fluctuating = background_db is not None and background_db[0] > noise_db + MIN_ABOVE_NOISE_DB
    clear = speech_db - noise_db >= MIN_ANCHOR_SNR_DB or fluctuating
    need = MIN_ANCHOR_FRAMES if clear else 1
    lasting = np.convolve(above, np.ones(need, dtype=int), mode="valid")
    loud = np.flatnonzero(lasting == need)
    if loud.size == 0:
        return None
    first, last = int(loud[0]), int(loud[-1]) + need - 1
    # Lax threshold on a 3-frame moving average of power.
    power = 10.0 ** (window / 10.0)
    padded = np.concatenate((power[:1], power, power[-1:]))
    smooth = 10.0 * np.log10((padded[:-2] + padded[1:-1] + padded[2:]) / 3.0)
    lax = min(strict, max(lax_floor, speech_db - EXTEND_BELOW_SPEECH_DB))
    quiet = (smooth <= lax) | (window <= lax)  # both: smoothing alone would widen edges
    before = np.flatnonzero(quiet[:first])
    first = int(before[-1]) + 1 if before.size else 0
    after = np.flatnonzero(quiet[last + 1 :])
    last = last + int(after[0]) if after.size else window.shape[0] - 1
    return lo + first, lo + last + 1


@dataclass
class Vad(Stage):
    """Speech segments (``clip.segments``) and a noise/SNR estimate for a mono clip.

    Metrics: ``speech_start_s`` / ``speech_end_s`` and ``speech_segments`` (``[start_s,
    end_s]`` pairs, at most `MAX_REPORTED_SEGMENTS`; all in source time), ``speech_ratio``,
    ``noise_floor_dbfs`` and ``snr_db`` (None when the clip has no non-speech frames).
    No findings: judging the numbers is `analyze`'s job. ``backend`` picks the speech
    detector (``webrtc``, ``energy`` or ``silero``; see `stages.vad_backends`);
    ``aggressiveness`` 0–3 goes from lenient to strict for each of them.
    """

    name: ClassVar[str] = "vad"

    backend: str = "webrtc"
    aggressiveness: int = 2
    frame_ms: int = 30
    hangover_ms: int = 300
    min_speech_ms: int = 100
    refine: bool = True

    def __post_init__(self) -> None:
        if self.aggressiveness not in (0, 1, 2, 3):
            raise ConfigurationError(
                f"vad aggressiveness must be 0, 1, 2 or 3, got {self.aggressiveness}"
            )
        if self.frame_ms not in (10, 20, 30):
            raise ConfigurationError(f"vad frame_ms must be 10, 20 or 30, got {self.frame_ms}")
        if self.backend not in BACKENDS:
            raise ConfigurationError(
                f"unknown vad backend {self.backend!r}; choose one of {', '.join(BACKENDS)}"
            )
        self.detector()  # fail now, not on the first clip, when an extra is missing

    def detector(self) -> SpeechDetector:
        """The configured speech detector (cheap to build; models are cached per process)."""
        return make_detector(
            self.backend, aggressiveness=self.aggressiveness, frame_ms=self.frame_ms
        )

    def process(self, clip: Clip) -> Clip:
        if clip.samples is None or clip.rate <= 0:
            return self.error(
                clip, "no_audio", "vad received no decoded audio; run decode and normalize first"
            )
        mono = np.asarray(clip.samples)
        if mono.ndim == 2:
            from stages.normalize import downmix

            mono = downmix(mono)
        rate = clip.rate
        energy_db, step = frame_energies_db(mono, rate)
        frame_s = step / rate
        segments = self._segments(mono, rate, energy_db, frame_s)
        clip.segments = segments

        duration = clip.duration_s
        speech_s = sum(end - start for start, end in segments)
        clip.metrics["speech_ratio"] = speech_s / duration if duration > 0 else 0.0
        clip.metrics["speech_start_s"] = clip.offset_s + segments[0][0] if segments else None
        clip.metrics["speech_end_s"] = clip.offset_s + segments[-1][1] if segments else None
        clip.metrics["speech_segments"] = segments_metric(segments, clip.offset_s)
        noise_db, snr_db = _noise_and_snr(energy_db, segments, frame_s)
        clip.metrics["noise_floor_dbfs"] = noise_db
        clip.metrics["snr_db"] = snr_db
        return clip

    def _segments(
        self, mono: np.ndarray, rate: int, energy_db: np.ndarray, frame_s: float
    ) -> list[tuple[float, float]]:
        """Speech segments in seconds: detector runs, smoothed, then (optionally) refined."""
        flags, unit = self.detector().speech_frames(mono, rate)
        starts, ends = true_runs(flags)
        starts_s, ends_s = smooth_runs(
            starts * unit,
            ends * unit,
            min_gap=self.hangover_ms / 1000.0,
            min_length=self.min_speech_ms / 1000.0,
        )
        if starts_s.size == 0 or energy_db.size == 0:
            return []
        if not self.refine:
            duration = mono.shape[0] / rate
            return [
                (float(s), float(min(e, duration))) for s, e in zip(starts_s, ends_s, strict=True)
            ]

        noise_db = float(np.percentile(energy_db, NOISE_PERCENTILE))
        floors = self._background_floors(energy_db)
        search = round(SEARCH_S / frame_s)
        refined_starts, refined_ends = [], []
        for s, e in zip(starts_s, ends_s, strict=True):  # one iteration per segment, not per sample
            edges = refine_segment(
                energy_db,
                round(s / frame_s),
                round(e / frame_s),
                noise_db=noise_db,
                search=search,
                background_db=floors,
            )
            if edges is not None:
                refined_starts.append(edges[0])
                refined_ends.append(edges[1])
        if not refined_starts:
            return []
        # Refined edges may now touch or overlap a neighbour: merge those, drop new blips.
        r_starts, r_ends = smooth_runs(
            np.array(refined_starts) * frame_s,
            np.maximum.accumulate(np.array(refined_ends)) * frame_s,
            min_gap=1e-9,
            min_length=self.min_speech_ms / 1000.0,
        )
        return [(float(s), float(e)) for s, e in zip(r_starts, r_ends, strict=True)]

    @staticmethod
    def _background_floors(energy_db: np.ndarray) -> tuple[float, float] | None:
        """The ``(strict, lax)`` floors a fluctuating background sets for `refine_segment`.

        Capped at ``MAX_BACKGROUND_UNDER_SPEECH_DB`` under the take's speech level (95th
        percentile of all frames): babble within 10 dB of the voice's loud frames cannot be
        told from its syllables by level, and the voice's own edges matter more. (15 dB
        left the edges on babble at 10–15 dB SNR; dev sets: no other edge moved.)
        """
        background = background_level(energy_db)
        if background is None:
            return None
        mean, sd = background
        cap = float(np.percentile(energy_db, SPEECH_PERCENTILE)) - MAX_BACKGROUND_UNDER_SPEECH_DB
        return (
            min(mean + BACKGROUND_SPREAD * sd, cap),
            min(mean + BACKGROUND_EXTEND_SPREAD * sd, cap),
        )


def _noise_and_snr(
    energy_db: np.ndarray, segments: list[tuple[float, float]], frame_s: float
) -> tuple[float | None, float | None]:
    """RMS level of the non-speech frames (dBFS) and the speech-to-noise power ratio (dB)."""
    n = energy_db.shape[0]
    if n == 0:
        return None, None
    power = 10.0 ** (energy_db / 10.0)
    speech = np.zeros(n, dtype=bool)
    near = np.zeros(n, dtype=bool)
    guard = round(NOISE_GUARD_S / frame_s)
    for start, end in segments:
        a, b = round(start / frame_s), round(end / frame_s)
        speech[a:b] = True
        near[max(0, a - guard) : b + guard] = True
    noise_frames = ~near if (~near).any() else ~speech
    if not noise_frames.any():
        return None, None
    noise_power = max(float(power[noise_frames].mean()), _TINY)
    noise_db = 10.0 * math.log10(noise_power)
    if not speech.any():
        return noise_db, None
    speech_power = float(power[speech].mean())
    # Speech frames carry the noise too: subtract it, floored at −30 dB SNR.
    ratio = max(speech_power / noise_power - 1.0, 1e-3)
    return noise_db, 10.0 * math.log10(ratio)
