"""`Analyze`: measure the clip that will be written and judge it against the profile's thresholds.

Runs on the trimmed, normalised samples. Levels (``peak_dbfs``, ``rms_dbfs``, ``lufs``),
``duration_s`` and ``speech_ratio`` are measured here, on what will be encoded; ``snr_db``,
``clipping_ratio`` and ``dc_offset`` describe the *source*, so values that earlier stages
measured are kept (and computed here only when no earlier stage did).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from pipeline.profiles import AnalysisThresholds
from pipeline.stage import Stage

__all__ = ["NO_SPEECH_RATIO", "Analyze", "estimate_snr_db", "speech_ratio"]

# Below this share of speech a clip holds no usable speech at all.
NO_SPEECH_RATIO = 0.02
# Fallback speech detection when no `vad` ran: 30 ms frames this far above the quiet floor.
_FRAME_S = 0.03
_SPEECH_ABOVE_FLOOR_DB = 12.0
_SPEECH_MIN_DBFS = -50.0


def speech_ratio(segments: list[tuple[float, float]], duration_s: float) -> float:
    """Share of ``duration_s`` covered by speech ``segments`` (clamped to the clip), 0..1."""
    if duration_s <= 0 or not segments:
        return 0.0
    bounds = np.clip(np.asarray(segments, dtype=np.float64).reshape(-1, 2), 0.0, duration_s)
    return float(np.clip((bounds[:, 1] - bounds[:, 0]).clip(min=0).sum() / duration_s, 0.0, 1.0))


def estimate_snr_db(
    samples: np.ndarray, rate: int, segments: list[tuple[float, float]], *, min_noise_s: float = 0.1
) -> float | None:
    """SNR in dB from the power inside ``segments`` against the power outside them.

    None when there is no speech or less than ``min_noise_s`` of non-speech to measure noise on.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(samples.shape[0], -1).mean(axis=1)
    mask = np.zeros(x.shape[0], dtype=bool)
    for start_s, end_s in segments:  # one step per segment
        mask[max(0, round(start_s * rate)) : max(0, round(end_s * rate))] = True
    n_speech, n_noise = int(mask.sum()), int((~mask).sum())
    if n_speech == 0 or n_noise < min_noise_s * rate:
        return None
    power = x * x
    speech = float(power[mask].mean())
    noise = float(power[~mask].mean())
    if noise <= 0:
        return math.inf
    return 10.0 * math.log10(max(speech - noise, 1e-20) / noise)


def _energy_segments(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """Crude speech segments from frame energy, for clips that no `vad` stage has seen."""
    x = np.asarray(samples, dtype=np.float64).reshape(samples.shape[0], -1).mean(axis=1)
    step = max(1, round(_FRAME_S * rate))
    n = x.shape[0] // step
    if n == 0:
        return []
    frames = x[: n * step].reshape(n, step)
    with np.errstate(divide="ignore"):
        energy_db = 10.0 * np.log10((frames * frames).mean(axis=1))
    floor = float(np.percentile(energy_db, 10))
    speech = (energy_db > max(floor + _SPEECH_ABOVE_FLOOR_DB, _SPEECH_MIN_DBFS)).astype(np.int8)
    edges = np.diff(np.concatenate(([0], speech, [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    frame_s = step / rate
    return [(float(s * frame_s), float(e * frame_s)) for s, e in zip(starts, ends, strict=True)]


@dataclass
class Analyze(Stage):
    """Measure levels and speech, and report quality problems by ``thresholds``.

    Metrics: ``duration_s``, ``peak_dbfs``, ``rms_dbfs``, ``lufs``, ``speech_ratio`` (of the
    current samples), and ``snr_db``, ``clipping_ratio``, ``dc_offset`` (kept from earlier
    stages when present). Findings: ``no_speech`` (error), ``low_snr`` and ``clipping``
    (severity ``thresholds.quality_severity``; clipping beyond 10× the limit is always an
    error), ``dc_offset`` and ``low_speech_ratio`` (warnings). ``profile`` only names the
    target in messages.
    """

    name: ClassVar[str] = "analyze"

    thresholds: AnalysisThresholds = field(default_factory=AnalysisThresholds)
    profile: str | None = None

    def __post_init__(self) -> None:
        try:
            Severity(self.thresholds.quality_severity)
        except ValueError:
            raise ConfigurationError(
                f"analysis quality_severity must be 'error', 'warning' or 'info', "
                f"got {self.thresholds.quality_severity!r}; fix the profile's [analysis] table"
            ) from None

    def process(self, clip: Clip) -> Clip:
        from stages.loudness import integrated_loudness, peak_dbfs, rms_dbfs

        if clip.samples is None or clip.rate <= 0 or clip.samples.shape[0] == 0:
            return self.error(
                clip,
                "no_speech",
                "there is no audio left to analyse (empty or fully trimmed); check the file is "
                "the right take",
            )
        samples, rate, m = clip.samples, clip.rate, clip.metrics
        vad_ran = "speech_ratio" in m or "snr_db" in m
        if not clip.segments and not vad_ran:
            clip.segments = _energy_segments(samples, rate)

        duration = clip.duration_s
        m["duration_s"] = duration
        m["peak_dbfs"] = peak_dbfs(samples)
        m["rms_dbfs"] = rms_dbfs(samples)
        m["lufs"] = integrated_loudness(samples, rate)
        m["speech_ratio"] = speech_ratio(clip.segments, duration)
        if "snr_db" not in m:
            m["snr_db"] = estimate_snr_db(samples, rate, clip.segments)
        if "clipping_ratio" not in m:
            from stages.normalize import clipping_ratio

            m["clipping_ratio"] = clipping_ratio(samples)
        dc_removed = "dc_offset" in m  # measured on the source by normalize, which removed it
        if not dc_removed:
            m["dc_offset"] = float(np.abs(np.asarray(samples, dtype=np.float64).mean(axis=0)).max())

        self._judge(clip, dc_removed=dc_removed)
        return clip

    def _judge(self, clip: Clip, *, dc_removed: bool) -> None:
        t, m = self.thresholds, clip.metrics
        quality = Severity(t.quality_severity)
        target = f" for {self.profile}" if self.profile else ""

        ratio = m["speech_ratio"]
        if not clip.segments or ratio < NO_SPEECH_RATIO:
            clip.report(
                "no_speech",
                Severity.ERROR,
                self.name,
                f"no speech found (speech in {ratio:.1%} of the clip, need at least "
                f"{NO_SPEECH_RATIO:.0%}): silence, music or tones? check the file is the "
                "right take",
            )
        elif ratio < t.min_speech_ratio:
            self.warn(
                clip,
                "low_speech_ratio",
                f"speech fills {ratio:.0%} of the clip, below {t.min_speech_ratio:.0%}{target}; "
                "remove long pauses or background sections, or record a denser take",
            )

        snr = m.get("snr_db")
        if snr is not None and math.isfinite(snr) and snr < t.min_snr_db:
            clip.report(
                "low_snr",
                quality,
                self.name,
                f"SNR {snr:.1f} dB is below {t.min_snr_db:g} dB{target}; re-record in a quieter "
                "room or closer to the microphone",
            )

        clipped = m.get("clipping_ratio")
        if clipped is not None and clipped > t.max_clipping_ratio:
            severe = clipped > 10 * t.max_clipping_ratio
            clip.report(
                "clipping",
                Severity.ERROR if severe else quality,
                self.name,
                f"{clipped:.3%} of the source samples are clipped (limit "
                f"{t.max_clipping_ratio:.3%}{target}); re-record with lower input gain",
            )

        dc = m.get("dc_offset")
        if dc is not None and abs(dc) > t.max_dc_offset:
            self.warn(
                clip,
                "dc_offset",
                f"the source has a DC offset of {abs(dc):.3f} of full scale (limit "
                f"{t.max_dc_offset:g}); "
                + ("normalize removed it, but " if dc_removed else "")
                + "it hints at a faulty audio interface or cable — check the recording chain",
            )
