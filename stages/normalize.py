"""`Normalize`: measure the source, then make it mono, DC-free, at the target rate and loudness.

Measure first, change second (as ffmpeg-normalize does): DC offset, clipping and peak are
read from the decoded source before anything touches it, so `analyze` can report on the
recording rather than on our processing. Then one linear gain sets the loudness, held
back if needed so the sample peak never passes the ceiling, or, with ``limiter=True``, kept
and followed by a look-ahead peak limiter (`stages.limiter`) so the target is reached.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pipeline.clip import Clip, Severity
from pipeline.stage import Stage
from stages.filters import remove_rumble
from stages.loudness import BLOCK_ROWS, ROW_VALUES, channel_reduce, integrated_loudness, peak_dbfs

__all__ = [
    "GainRule",
    "Level",
    "Normalize",
    "SourceScan",
    "dc_offset",
    "downmix",
    "mono",
    "scan_source",
]

MIN_SOUND_DBFS = -120.0  # a peak under this is digital silence (24-bit dither sits ~-140)
MIN_QUIET_RANGE_DB = 20.0  # a voice's 10 ms levels span this much (pauses); steady hiss ~2
MIN_ANTI_PHASE = 0.5  # two channels this anti-correlated (or more) are in opposite polarity
_CEILING_MARGIN = 1e-6  # relative: keeps float32 rounding from nudging a peak over the ceiling
TARGET_TOLERANCE_LU = 0.5  # with the limiter: a loudness this close to the target reaches it
AIM_LU = 0.2  # a gain search (the limiter's, encode's passes) stops this close to the target
_MAX_STEPS = 4  # gain corrections after the first limiting pass (1-2 suffice for speech)


def dc_offset(samples: np.ndarray) -> float:
    """Largest absolute per-channel mean (0.0 for no samples)."""
    frames = samples.shape[0]
    if frames == 0:
        return 0.0
    # One contiguous pass for all channels (see `channel_reduce`), folded in float64.
    return float(np.abs(channel_reduce(samples, np.add, dtype=np.float64)).max()) / frames


@dataclass(frozen=True)
class SourceScan:
    """What `scan_source` reads off the source: per-channel ``(ch,)`` extremes and sums."""

    highs: np.ndarray
    lows: np.ndarray
    sums: np.ndarray  # float64
    mono: np.ndarray  # `downmix` of the source

    @property
    def peak_dbfs(self) -> float:
        """`peak_dbfs` of the source (``-inf`` for silence or no samples)."""
        return _peak_db(self.highs, self.lows)

    def dc_offset(self, frames: int) -> float:
        """`dc_offset` of the source."""
        return float(np.abs(self.sums).max()) / frames if frames and self.sums.size else 0.0


def scan_source(samples: np.ndarray) -> SourceScan:
    """Extremes, sums and the downmix of ``(frames, ch)`` float32 audio in one memory pass.

    Separately, these are six passes over a source that no longer fits in the CPU's caches
    (a 20 s 48 kHz stereo take is 8 MB), and in a busy worker each pass is a fresh fetch
    from memory. Here a cache-sized block of rows of whole frames (see `channel_reduce`) is
    fetched once and every measurement runs on it. Results equal the separate functions'
    (the sums up to float rounding; the downmix bit for bit).
    """
    x = np.asarray(samples)
    if x.ndim != 2 or x.dtype != np.float32 or not x.flags.c_contiguous or x.shape[1] < 2:
        from stages.analysis.clipping import channel_extremes

        highs, lows = channel_extremes(x)
        sums = channel_reduce(x, np.add, dtype=np.float64) if x.size else np.zeros(highs.size)
        return SourceScan(highs, lows, sums, downmix(x))
    frames, n_ch = x.shape
    per_row = max(1, ROW_VALUES // n_ch)
    width = per_row * n_ch
    n_rows = frames // per_row
    rows = x[: n_rows * per_row].reshape(n_rows, width)
    run_hi = np.full(width, -np.inf, dtype=np.float32)
    run_lo = np.full(width, np.inf, dtype=np.float32)
    run_sum = np.zeros(width, dtype=np.float64)
    mono = np.empty(frames, dtype=np.float32)
    scale = np.float32(1.0 / n_ch)
    step = BLOCK_ROWS * per_row  # frames per block
    for first in range(0, frames, step):
        chunk = x[first : first + step]
        block = rows[first // per_row : (first + step) // per_row]
        if block.size:
            np.fmax(run_hi, np.fmax.reduce(block, axis=0), out=run_hi)
            np.fmin(run_lo, np.fmin.reduce(block, axis=0), out=run_lo)
            run_sum += np.add.reduce(block, axis=0)
        out = mono[first : first + step]
        np.add(chunk[:, 0], chunk[:, 1], out=out)  # what `downmix` computes, in the same order
        for c in range(2, n_ch):
            out += chunk[:, c]
        out *= scale
    tail = x[n_rows * per_row :]  # under one row of frames
    highs = np.fmax.reduce(np.vstack((run_hi.reshape(per_row, n_ch), tail)), axis=0)
    lows = np.fmin.reduce(np.vstack((run_lo.reshape(per_row, n_ch), tail)), axis=0)
    sums = run_sum.reshape(per_row, n_ch).sum(axis=0) + tail.sum(axis=0, dtype=np.float64)
    return SourceScan(highs, lows, sums, mono)


def _peak_db(highs: np.ndarray, lows: np.ndarray) -> float:
    """`peak_dbfs` from per-channel maxima and minima (``-inf`` for silence or no channels)."""
    if highs.size == 0:
        return float("-inf")
    peak = float(max(highs.max(), -lows.min()))
    return 20.0 * math.log10(peak) if peak > 0 else float("-inf")


def mono(samples: np.ndarray) -> np.ndarray:
    """Mono float32 of ``(frames,)`` or ``(frames, ch)`` audio, for measuring rather than editing.

    Audio that is already mono comes back as itself (no copy when it is float32); several
    channels go through `downmix`.
    """
    x = np.asarray(samples)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim == 1:
        return np.asarray(x, dtype=np.float32)
    return downmix(x)


def downmix(samples: np.ndarray) -> np.ndarray:
    """Mono float32: the channels summed and divided by their count (adding columns, fast)."""
    if samples.ndim == 1:
        return np.array(samples, dtype=np.float32)  # a copy: the source stays untouched
    n_ch = samples.shape[1]
    if n_ch == 1:
        return np.array(samples[:, 0], dtype=np.float32)
    if samples.dtype == np.float32:  # what decode gives: one pass fewer than copy-then-add
        mono = np.add(samples[:, 0], samples[:, 1])
        first = 2
    else:
        mono = samples[:, 0].astype(np.float32)  # a fresh contiguous copy
        first = 1
    for c in range(first, n_ch):
        mono += samples[:, c]
    mono *= np.float32(1.0 / n_ch)
    return mono


@dataclass(frozen=True)
class Level:
    """What `GainRule.apply` made of a clip: the audio, and what to report about it."""

    samples: np.ndarray
    gain_db: float  # the linear gain applied
    lufs: float  # integrated loudness reached (``-inf`` for silence)
    peak_dbfs: float
    limiting_db: float | None  # deepest limiter reduction (>= 0); None with the limiter off
    shortfall: str | None  # the `loudness_ceiling` message, or None when the target was met


@dataclass(frozen=True)
class GainRule:
    """One linear gain to ``target_lufs``, held back so the sample peak stays under
    ``ceiling_dbfs`` or, with ``limiter``, kept and followed by at most ``max_limiting_db`` of
    look-ahead limiting. `Normalize` applies it to the whole take, `Trim` again to what it keeps.
    """

    target_lufs: float = -16.0
    ceiling_dbfs: float = -1.0
    limiter: bool = False
    max_limiting_db: float = 6.0

    def __post_init__(self) -> None:
        from pipeline.errors import ConfigurationError

        if not -70.0 <= self.target_lufs <= 0.0:
            raise ConfigurationError(
                f"target loudness must lie in -70 ... 0 LUFS (speech prompts: -23 ... -14), "
                f"got {self.target_lufs:g}"
            )
        if not self.ceiling_dbfs <= 0.0:
            raise ConfigurationError(
                f"the peak ceiling must be at most 0 dBFS (full scale; -1 leaves room for the "
                f"codec), got {self.ceiling_dbfs:g}"
            )
        if self.max_limiting_db < 0.0:
            raise ConfigurationError(f"max_limiting_db must be >= 0, got {self.max_limiting_db:g}")

    def apply(
        self,
        mono: np.ndarray,
        rate: int,
        *,
        measured: float | None = None,
        limited_db: float = 0.0,
    ) -> Level:
        """Level ``mono`` (float32, changed in place where it can be) by this rule.

        ``measured``: its loudness when the caller measured it already (`Normalize` raises
        very quiet takes past the silence gate); else measured here. ``limited_db``: limiting
        the audio went through already, taken off ``max_limiting_db``.
        """
        if measured is None:
            measured = integrated_loudness(mono, rate) if mono.size else -math.inf
        peak_before = peak_dbfs(mono)
        gain_db = 0.0 if not math.isfinite(measured) else self.target_lufs - measured
        reached = measured + gain_db if math.isfinite(measured) else -math.inf
        depth_db: float | None = 0.0 if self.limiter else None
        shortfall = None
        if math.isfinite(peak_before) and peak_before + gain_db > self.ceiling_dbfs:
            if self.limiter:
                budget_db = max(0.0, self.max_limiting_db - limited_db)
                mono, gain_db, reached, depth_db = self._limit_to_target(
                    mono, rate, gain_db, peak_before, budget_db
                )
                if reached < self.target_lufs - TARGET_TOLERANCE_LU:
                    shortfall = (
                        f"reached {reached:.1f} LUFS, {self.target_lufs - reached:.1f} dB "
                        f"under the {self.target_lufs:g} LUFS target, because the peaks touch "
                        f"the {self.ceiling_dbfs:g} dBFS ceiling even with at most "
                        f"{self.max_limiting_db:g} dB of limiting; raise `max_limiting_db` under "
                        "[loudness] in the profile (deeper limiting may be audible on the "
                        "loudest syllables), or lower --target-lufs"
                    )
            else:
                gain_db = self.ceiling_dbfs - peak_before
                mono = self._scale_under_ceiling(mono, gain_db)
                reached = measured + gain_db
                short = self.target_lufs - reached
                shortfall = (
                    f"reached {reached:.1f} LUFS, {short:.1f} dB under the "
                    f"{self.target_lufs:g} LUFS target, because the peaks already touch the "
                    f"{self.ceiling_dbfs:g} dBFS ceiling; it will play {short:.1f} dB quieter "
                    "than the target — pass --limiter (or set `limiter = true` under "
                    "[loudness] in the profile) to reach it, or lower --target-lufs"
                )
        elif gain_db != 0.0:
            mono *= np.float32(10.0 ** (gain_db / 20.0))
        return Level(mono, gain_db, reached, peak_dbfs(mono), depth_db, shortfall)

    def level_clip(
        self, clip: Clip, mono: np.ndarray, *, measured: float | None = None, again: bool = False
    ) -> None:
        """`apply` to ``mono`` and store it as ``clip.samples``, with metrics ``gain_db``,
        ``lufs``, ``peak_dbfs`` (and ``limiter_gain_db`` with the limiter) and the
        ``loudness_ceiling`` warning (stage ``normalize``) when the target was not met.

        ``again``: ``mono`` was levelled before (and then cut): ``gain_db`` and
        ``limiter_gain_db`` add up to the whole way from the source, and an earlier
        ``loudness_ceiling`` gives way to one about this audio.
        """
        m = clip.metrics
        before_db = float(m.get("gain_db", 0.0)) if again else 0.0
        limited_db = -float(m.get("limiter_gain_db", 0.0)) if again else 0.0
        level = self.apply(mono, clip.rate, measured=measured, limited_db=limited_db)
        clip.samples = level.samples
        m["gain_db"] = before_db + level.gain_db
        m["lufs"] = level.lufs
        m["peak_dbfs"] = level.peak_dbfs
        if level.limiting_db is not None:
            depth_db = limited_db + level.limiting_db
            m["limiter_gain_db"] = -depth_db if depth_db > 0 else 0.0
        if again:
            clip.findings[:] = [f for f in clip.findings if f.code != "loudness_ceiling"]
        if level.shortfall is not None:
            clip.report("loudness_ceiling", Severity.WARNING, "normalize", level.shortfall)

    def _limit_to_target(
        self, mono: np.ndarray, rate: int, gain_db: float, peak_db: float, budget_db: float
    ) -> tuple[np.ndarray, float, float, float]:
        """Gain then limit ``mono`` towards the target: ``(audio, gain_db, lufs, depth_db)``.

        Limiting takes some loudness off, so the loudness is measured after each pass and the
        gain corrected by the shortfall (2-3 passes land within ±0.2 LU for speech). The gain
        never goes past the one that puts the peak ``budget_db`` over the ceiling: that bounds
        the deepest reduction, ``depth_db``.
        """
        from stages.limiter import limiter_gain

        max_gain_db = self.ceiling_dbfs - peak_db + budget_db
        gain_db = min(gain_db, max_gain_db)
        tried: list[tuple[float, float]] = []  # (gain_db, loudness reached)
        while True:
            scaled = mono * np.float32(10.0 ** (gain_db / 20.0))
            gain = limiter_gain(scaled, rate, ceiling_dbfs=self.ceiling_dbfs)
            limited = np.multiply(scaled, gain, out=scaled)
            reached = integrated_loudness(limited, rate)
            tried.append((gain_db, reached))
            short_lu = self.target_lufs - reached
            done = abs(short_lu) <= AIM_LU or (short_lu > 0 and gain_db >= max_gain_db)
            if done or len(tried) > _MAX_STEPS:
                break
            # Loudness grows with the gain, but less than 1 LU per dB once peaks are limited:
            # step by the secant slope of the last two passes (the first step guesses 0.75,
            # typical of speech under ~3-6 dB of limiting).
            slope = 0.75
            if len(tried) > 1:
                (g0, l0), (g1, l1) = tried[-2], tried[-1]
                if g1 != g0:
                    slope = min(1.0, max(0.1, (l1 - l0) / (g1 - g0)))
            gain_db = min(gain_db + short_lu / slope, max_gain_db)
        depth_db = -20.0 * math.log10(float(gain.min()))
        return limited, gain_db, reached, depth_db

    def _scale_under_ceiling(self, mono: np.ndarray, gain_db: float) -> np.ndarray:
        """Apply ``gain_db`` (peak onto the ceiling), a hair less so rounding can't pass it."""
        ceiling = 10.0 ** (self.ceiling_dbfs / 20.0)
        gain = 10.0 ** (gain_db / 20.0) * (1.0 - _CEILING_MARGIN)
        scaled = mono * np.float32(gain)
        while float(np.max(np.abs(scaled))) > ceiling:  # at most a step or two in practice
            gain *= 1.0 - _CEILING_MARGIN
            scaled = mono * np.float32(gain)
        return scaled


@functools.lru_cache(maxsize=16, typed=True)
def _gain_rule(
    target_lufs: float, ceiling_dbfs: float, limiter: bool, max_limiting_db: float
) -> GainRule:
    """One `GainRule` per configuration (``typed``: ``-16`` and ``-16.0`` keep their reprs).

    Cached here rather than on `Normalize`, so the stage's pickle and repr stay its fields.
    """
    return GainRule(target_lufs, ceiling_dbfs, limiter, max_limiting_db)


@dataclass
class Normalize(Stage):
    """Mono, DC and sub-20 Hz rumble removed, resampled to ``sample_rate``, gain set for
    ``target_lufs``.

    Metrics measured on the source: ``dc_offset``, ``clipping_ratio``, ``source_peak_dbfs``,
    ``bandwidth_hz`` and ``hf_tilt_db`` (`stages.analysis.bandwidth`);
    for two channels ``channel_talkers`` (2 when each holds its own talker, as in a dual-channel
    call recording; `stages.analysis.channels`) and then ``channel_second_voice_s`` and
    ``channel_talk_s``.
    Metrics after: ``gain_db``, ``lufs`` (loudness reached; ``-inf`` for silence),
    ``peak_dbfs``. Findings: ``loudness_ceiling`` (warning) when the peak ceiling holds the
    loudness below the target; ``low_level`` (warning) when the take is under BS.1770's silence
    gate yet holds a sound that comes and goes (measured scaled up, and raised);
    ``phase_inverted`` (warning) when the two channels of a stereo source are in opposite
    polarity (the mono is then their difference, not their sum).

    With ``limiter=True``, a clip whose peaks would pass the ceiling at the target gain gets
    that gain anyway, then `limit_peaks` turns the peaks down; the gain is re-measured and
    corrected until the loudness is within ±0.5 LU of the target (it aims for ±0.2), using at
    most ``max_limiting_db`` of gain reduction on the loudest peak. Past that, the limiting
    stops at ``max_limiting_db`` and ``loudness_ceiling`` reports the loudness reached. Metric
    ``limiter_gain_db``: the deepest gain reduction applied (≤ 0 dB; 0.0 when the limiter had
    nothing to do); absent when the limiter is off.
    """

    name: ClassVar[str] = "normalize"

    sample_rate: int = 16000
    target_lufs: float = -16.0
    ceiling_dbfs: float = -1.0
    remove_dc: bool = True
    limiter: bool = False  # off by default: voice cloning wants the natural dynamics
    max_limiting_db: float = 6.0

    def __post_init__(self) -> None:
        from pipeline.errors import ConfigurationError

        _ = self.gain_rule  # its own checks: target, ceiling, max_limiting_db
        if self.sample_rate <= 0:
            raise ConfigurationError(
                f"normalize needs a positive sample_rate, got {self.sample_rate}"
            )

    def process(self, clip: Clip) -> Clip:
        if clip.samples is None or clip.rate <= 0:
            return self.error(
                clip,
                "no_audio",
                "normalize received no decoded audio; run decode first or check the input file",
            )
        source = np.asarray(clip.samples)
        from stages.analysis.bandwidth import detect_bandwidth
        from stages.analysis.channels import (
            detect_channel_talkers,
            lagged_correlation,
            stereo_frames,
        )
        from stages.analysis.clipping import detect_clipping

        scan = scan_source(source)  # extremes, sums and downmix: one pass over the source
        clip.metrics["source_peak_dbfs"] = scan.peak_dbfs
        clip.metrics["dc_offset"] = scan.dc_offset(source.shape[0])
        # Flat tops at full scale *or* at the source's own extremes (clipped, then turned down).
        clipped = detect_clipping(source, extremes=(scan.highs, scan.lows))
        clip.metrics["clipping_ratio"] = clipped.ratio
        clip.metrics["clipping_level"] = clipped.level
        mono = scan.mono
        stereo = stereo_frames(source, clip.rate)
        polarity = stereo.correlation if stereo is not None else None
        if (
            polarity is not None
            and polarity <= -MIN_ANTI_PHASE
            and lagged_correlation(source, clip.rate) < -polarity
        ):
            # Channels in opposite polarity (a miswired balanced cable, a phase switch left
            # on): their sum cancels the voice, their difference is it. (Shifted a few ms,
            # two microphones of one voice agree better than unshifted: a spaced pair.)
            mono = np.subtract(source[:, 0], source[:, 1], dtype=np.float32)
            mono *= np.float32(0.5)
            self.warn(
                clip,
                "phase_inverted",
                f"the two channels are in opposite polarity (correlation {polarity:.2f}, "
                f"opposite from -{MIN_ANTI_PHASE:g}): adding them cancels the voice, so "
                "voiceprep used left minus right; check the microphone cable's wiring or the "
                "interface's phase (Ø) switch",
            )
        talkers = detect_channel_talkers(stereo) if stereo is not None else None
        if talkers is not None:  # `analyze` judges it with the speaker check
            clip.metrics["channel_talkers"] = talkers.talkers
            if talkers.talkers > 1:
                clip.metrics["channel_second_voice_s"] = [list(s) for s in talkers.second_voice_s]
                clip.metrics["channel_talk_s"] = [round(s, 2) for s in talkers.talk_s]
        # Bandwidth only means something at the source rate, before resampling narrows it;
        # measured on the downmix (what the detector would compute itself) to do it once.
        bandwidth = detect_bandwidth(mono, clip.rate)
        clip.metrics["bandwidth_hz"] = bandwidth.bandwidth_hz
        clip.metrics["hf_tilt_db"] = bandwidth.tilt_db
        clip.samples = None  # the stereo source is no longer needed: free it early
        del source
        if self.remove_dc and mono.size:
            mono -= np.float32(float(mono.sum()) / mono.size)
        if clip.rate != self.sample_rate and mono.size:
            import soxr

            mono = soxr.resample(mono, clip.rate, self.sample_rate, quality="HQ")
            mono = np.asarray(mono, dtype=np.float32)
        clip.rate = self.sample_rate
        if self.remove_dc:  # the mean went above; a bias that comes and goes goes here
            mono = remove_rumble(mono, self.sample_rate)

        measured = integrated_loudness(mono, self.sample_rate) if mono.size else -math.inf
        peak_before = peak_dbfs(mono)
        if not math.isfinite(measured) and peak_before > MIN_SOUND_DBFS:
            measured = self._measure_very_quiet(clip, mono, peak_before)
        self.gain_rule.level_clip(clip, mono, measured=measured)
        return clip

    @property
    def gain_rule(self) -> GainRule:
        """The loudness rule this stage applies (and `Trim` applies again to what it keeps)."""
        return _gain_rule(self.target_lufs, self.ceiling_dbfs, self.limiter, self.max_limiting_db)

    def _measure_very_quiet(self, clip: Clip, mono: np.ndarray, peak_db: float) -> float:
        """Loudness of a take quieter than BS.1770's −70 LKFS silence gate, measured scaled up.

        A voice peaking at −60 dBFS (an old recording, a forgotten input gain) is still a voice
        (a 24-bit file keeps 80 dB under it), but the gate calls all of it silence, so it got
        no gain and the VAD found nothing. Scaled so its peak sits at −20 dBFS it is measured
        like any take; the warning says why the noise floor came up with it.
        """
        from stages.vad import frame_energies_db

        energy_db, _ = frame_energies_db(mono, self.sample_rate)  # 10 ms frames
        if energy_db.size < 10:
            return -math.inf
        quiet, loud = np.percentile(energy_db, [10.0, 95.0])
        if loud - quiet < MIN_QUIET_RANGE_DB:
            return -math.inf  # a steady hiss (an empty take): nothing worth raising
        probe_db = -20.0 - peak_db
        scaled = mono * np.float32(10.0 ** (probe_db / 20.0))
        measured = integrated_loudness(scaled, self.sample_rate)
        if not math.isfinite(measured):
            return measured  # a click or two in silence: nothing to measure
        measured -= probe_db
        self.warn(
            clip,
            "low_level",
            f"the source is so quiet ({measured:.0f} LUFS, peak {peak_db:.0f} dBFS) that it "
            "is far below -70 LUFS, where loudness meters stop counting sound; voiceprep "
            f"measured it scaled up and raised it {self.target_lufs - measured:.0f} dB, noise "
            "floor included — record with more input gain",
        )
        return measured
