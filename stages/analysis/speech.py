"""Is what the VAD called speech really speech? Tones, music and noise fool webrtcvad.

Two independent properties of speech are checked; a clip must show both.

*Syllabic modulation.* Speech switches on and off with its syllables and words, 2–8 times a
second, in every band of its spectrum. The detector takes the amplitude envelope of eight
bands between 300 and 3400 Hz (from the shared spectrogram, frames inside the VAD
segments), and compares its modulation power density at 2–8 Hz with that at 10–20 Hz
(``modulation_db``, best band). Stationary noise (white, pink, hum, a room) has a flat
envelope spectrum, ≈ 0–2 dB on long clips, up to ≈ 4 dB on a few seconds (the estimate is
noisier); steady and slowly keyed tones (dial, busy, fax) likewise; real voices measured
≥ 8 dB even at 0 dB SNR, because in some band the voice dominates. Below
``MIN_MODULATION_DB`` the clip is not speech; under ``MIN_MODULATION_S`` of audio this check
is skipped (a false "no speech" is worse than a miss).

Speech changes its spectrum every few tens of milliseconds: the pitch glides, so each
harmonic moves, and phonemes replace each other. Tones, chords and most music hold
their spectral lines for hundreds of milliseconds. The detector measures that
*harmonic persistence* — the second check: the spectral fine structure (log spectrum minus its own
frequency-smoothed envelope, peaks only, below 4 kHz) of each loud frame, correlated with
the frame ``LAG_S`` later. Noise has no persistent fine structure, speech little (≈0.35–0.5
on real voices in quiet and in noise), sustained tones ≈1 and music mostly 0.55–0.9. The
median over the loud frames is the clip's ``persistence``; above ``MAX_PERSISTENCE`` the
clip is not speech. Tones keyed faster than ``LAG_S`` (DTMF: 100 ms on, 100 ms off) leave too
few frame pairs; then persistence is measured at ``SHORT_LAG_S`` against
``MAX_SHORT_PERSISTENCE`` (speech measured ≤ 0.76 there, DTMF ≈ 0.9).

*Syllabic dips* — the third check, which only ever softens the second one's verdict.
Persistence depends on the voice: a high or child-like voice resolves few, widely spaced
harmonics, and a slow speaker or a level-tone language (Mandarin, Cantonese) holds them
for a whole syllable, so clean takes of such voices reach 0.70–0.81, where music lies.
What music rarely does is fall silent: accompaniment, sustain and reverberation fill the
gaps between notes, while one voice stops between syllables and at every stop consonant.
``dip_db`` is the median, over the eight modulation bands and over half-second windows of
the speech, of how far each band's level falls below its peak within the window (the
classic "share of low-energy frames" cue of speech/music discrimination, made per band).
Clean voices measured ≥ 22 dB (those that persistence condemned ≥ 30 dB), real and
synthetic music ≤ 19 dB. Keyed tones dip as deeply (busy, DTMF, fax beeps), but each
burst is one or two spectral lines, where a voice shows a harmonic series: ``lines``, the
median count of spectral peaks within 30 dB of a frame's strongest below 4 kHz, must reach
``MIN_VOICE_LINES`` (tones 1–2, voices ≥ 4 when they are this steady, music ≥ 7). A tonal
clip with a syllable rhythm, dips of at least ``MIN_DIP_DB`` and a harmonic series is
``voice_like``, unless its dips are notes ringing out: a voice's level falls about as
steeply as it rises (a stop closes the tract in a few tens of milliseconds), a piano, guitar
or marimba note rises at once and decays over hundreds of milliseconds, so
``fall_over_rise`` (steepest falls over steepest rises, per band) must reach
``MIN_FALL_OVER_RISE`` (voices measured 0.6–1.4, struck notes 0.2–0.3, other music
0.46–1.03 but with shallow dips). Noise fills dips too, so a steady voice in noise is not
rescued by this check (its persistence is lower there, which is why most such takes do not
need it).

A ``voice_like`` clip stays "not speech" (``is_speech`` False, reason ``"tonal"``): the
caller should *doubt* rather than condemn it. Measured on ``benchmarks/false_alarms.py``
(300 clean takes of 47 voices neither evaluation split uses), every clean take that
persistence condemned (25 at 24 kHz, 30 at 8 kHz: child-like, high and slow Mandarin and
Cantonese voices, a child, a real Italian volunteer) is voice-like; but so are two excerpts
of one gated electronic hold-music track of the test split (persistence 0.72 and 0.82), so
clearing such clips outright would let music through. `stages.analyze` reports them as a
``no_speech`` warning instead of an error.

*Lines and beat* — two cues that condemn clips the first two let through, found on game
music and tones neither evaluation split holds (``benchmarks/no_speech_recall.py``: the
chain caught 0.56 of them before). Tones keyed faster than the lag (DTMF strings at 60 ms
a digit, cadenced ring-back) have too few frame pairs for persistence, but every loud frame
is one or two spectral lines where a voice is a harmonic series (``lines`` ≤
``MAX_TONE_LINES``; voices measured ≥ 4 on 700 clean and noisy takes): reason ``"lines"``.
A clean word on a close vowel ("see", "minuto") may show just its first two harmonics
(twelfth session: 2 of 3,268 installed IVR prompts and letters); two lines that sit on one
voice pitch (`harmonic_pairs`) are not a tone.
Tracker and hold music with a drum often stays under the persistence limit (fast notes,
percussion), but its onsets fall on a regular grid and it never falls silent: a
``beat_strength`` of at least ``MIN_BEAT`` with dips under ``MAX_BEAT_DIP_DB`` and
persistence of at least ``MIN_BEAT_PERSISTENCE`` is reason ``"beat"``; an exact grid
(``MIN_STRONG_BEAT``) may dip up to ``MAX_STRONG_BEAT_DIP_DB`` (tracker music dips ≤ 27.6 dB
between notes; the one voice with a strong beat, espeak Hakka, ≥ 33 dB).

*Music beds and noise floors* (fourth session). Dense tracker music without a beat or a
silence still passed. A mixed and mastered music bed holds every band's loudest moment at
one level from half-second to half-second, where a voice's peaks follow the vowel and stress
of each moment: ``peak_spread_db`` under ``MAX_BED_SPREAD_DB``, with shallow dips and some
persistence, is reason ``"bed"``. Noise, in turn, fills a steady voice's gaps and makes its
dips as shallow as music's (espeak's high Mandarin voice in 15 dB white noise got a false
"tonal" error), but what it leaves there is a *noise floor*: the quietest frames hold no
persistent lines and every half-second's minimum sits at one level (`noise_floor`). Music
never falls to one: its quietest frames are still notes. So a tonal, rhythmic clip whose
dips reach a noise floor may be ``voice_like`` (a warning, not an error), and neither a bed
nor a strong beat is called over a noise floor.

*Tuned notes* (fifth session). Tracker and game music with neither a beat nor a steady bed
still passed: its persistence stays voice-like (fast notes) and its dips are shallow, like
a voice in noise. But its notes sit on a scale: `stages.analysis.tuning` measures how
closely the strongest partials share one grid of semitones (cents modulo 100), where a
voice's pitch glides. A clip that never dips ``MAX_TUNING_DIP_DB``, holds some persistence,
reaches ``MIN_TUNING`` and has no noise floor is reason ``"tuned"``; a near-exact grid
(``MIN_STRONG_TUNING``) may dip up to ``MAX_STRONG_TUNING_DIP_DB`` (notes that ring out).
Synthetic voices with quantised intonation come near the grid too, but they stop between
syllables, and in noise their gaps fall to a noise floor; the dip limits and the floor are
the margin (see the constants). ``SpeechResult.why`` words each verdict with its
measurements for the finding's message.

*A bass line* (tenth session). Full-mix game music with a voice-like rhythm, fast notes, no
silence, no beat grid and no exact tuning still passed every cue above (held-out recall
0.944). It has a bass line and a kick under 75 Hz, where a voice, whose lowest component
is its fundamental, has almost nothing: `stages.analysis.bass` measures that share of the
loud moments' power (over the band's own floor, mains lines left out); from
``bass.MIN_BASS_DB`` a clip with a syllable rhythm is reason ``"bass"``.

*No vowels* (twelfth session). Hiss that swells at a syllable pace, footsteps, a hi-hat
pattern or gusts of wind pass every level cue above: they rise and fall like speech and hold
no steady lines. A voice has vowels, whose waveform repeats at the pitch period;
`stages.analysis.voicing` measures the share of the loud moments that do. Under
``voicing.MIN_VOICED_SHARE`` a clip with a syllable rhythm is reason ``"unvoiced"`` (a
whisper too: it has no vowels either).

*A learned second opinion* (fourth session). On the "speech" outcome, a small logistic
speech/music discriminator (`stages.analysis.music`) scores the clip from the cues above
and a few classic features; ``music_like`` (probability ≥ ``music.MUSIC_THRESHOLD``) is
meant for a ``no_speech`` *warning*, never an error: it never changes ``is_speech``. On a
``voice_like`` "tonal" clip (fifth session) it is the tie-breaker: the steady voices that
earn ``voice_like`` score ≤ 0.07 (the false-alarm set's Mandarin, Cantonese, child and slow
voices), gated and plucked music ≥ 0.96, so ``music_like`` there makes the "tonal" verdict
an error again instead of a doubt.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from stages.analysis._spectra import Spectrogram, evenly, power_spectrogram
from stages.analysis.bass import BASS_HZ, MIN_BASS_DB, bass_share_db
from stages.analysis.music import MUSIC_THRESHOLD, music_features, music_probability
from stages.analysis.tuning import tuning_strength
from stages.analysis.voicing import MIN_VOICED_SHARE, PITCH_HZ, voiced_pitches, voiced_share

__all__ = [
    "Bands",
    "SpeechResult",
    "beat_strength",
    "detect_speech",
    "fall_over_rise",
    "modulation_bands",
    "noise_floor",
    "peak_spread_db",
    "spectral_lines",
    "syllabic_dip_db",
    "syllabic_modulation_db",
]

LAG_S = 0.096
MAX_PERSISTENCE = 0.65  # real and synthetic voices measured ≤ 0.6
SHORT_LAG_S = 0.048
MIN_TONE_PERSISTENCE = 0.95  # generated tones ~1; held vowels of one-word takes measured ≤ 0.92
MAX_SHORT_PERSISTENCE = 0.82  # voices measured ≤ 0.76 at the short lag
# With a clear syllable rhythm, long steady vowels (tonal languages, slow or synthetic voices)
# reach 0.66; rhythmic music and keyed tones of the evaluation set sit at ≥ 0.70 (all but one
# excerpt). A false "no speech" stops a good take, so rhythm buys a little more room.
MAX_RHYTHMIC_PERSISTENCE = 0.70
RHYTHMIC_MODULATION_DB = 8.0
MIN_MODULATION_DB = 4.0  # voices ≥ 8 dB at 0 dB SNR (real, 16 kHz), noise and tones ≤ 2–4 dB
MODULATION_EDGES_HZ = (300.0, 3400.0)
MODULATION_BANDS = 8
SYLLABIC_HZ = (2.0, 8.0)
REFERENCE_HZ = (10.0, 20.0)
MIN_MODULATION_S = 2.0  # judge modulation on at least this much audio (noise varies more)
TOP_HZ = 4000.0
SMOOTH_BINS = 9
LOUD_BELOW_TOP_DB = 40.0  # frames within this of the loudest count (and above the median)
MIN_FRAMES = 10
DIP_WINDOW_S = 0.5  # syllables come 2–8 a second: each window holds one or more of their gaps
MIN_DIP_DB = 25.0  # clean voices dip ≥ 22 dB (the steadiest ≥ 30), music ≤ 19 dB
MIN_VOICE_LINES = 3  # a voice is a harmonic series; signalling tones are one or two lines
LINE_WITHIN_DB = 30.0  # spectral peaks this close to the frame's strongest count as lines
LINE_OVER_ENVELOPE_DB = 3.0  # ... and stand this far over the smoothed spectrum (low voices:
# harmonics 3–4 bins apart rise only a few dB over a 9-bin average)
EDGE_PERCENTILE = 97.0  # the steepest rises and falls of each band's level
MIN_FALL_OVER_RISE = 0.5  # voices stop about as fast as they start; struck notes ring out
MAX_LINE_FRAMES = 200  # an evenly spread subset of the loud frames is plenty for a median
MAX_TONE_LINES = 2  # signalling tones show one or two lines; voices measured ≥ 4 (703 clips)
# ... but a clean word on a close vowel may show two: harmonics on one pitch (`harmonic_pairs`)
HARMONIC_PAIRS = ((2, 1), (3, 1), (3, 2))  # (upper, lower) harmonic numbers
PAIR_TOLERANCE = 0.06
MAX_PAIR_LOW_HZ = 600.0
MIN_VOICE_PAIRS = 0.5  # of the two-line frames
BASS_LOUD_DB = 20.0  # the bass cue reads frames this close to the loudest (music: all of them)
MIN_DEEP_VOICED = 0.5  # share of the loud frames voiced for `deep_voice_hz` to judge a pitch
DEEP_GUARD_HZ = 6.0
BEAT_LAGS_S = (0.25, 2.0)  # beat periods: 30–240 beats a minute
MIN_BEAT_SPAN_S = 4.0  # two periods of the slowest beat: a shorter span shows no repetition
# Music with a beat: median 0.71 at 24 kHz, lower at 8 kHz (0.55 there would lose a quarter of
# what this cue catches); voices ≤ 0.44 (dev, 300 clean and 180 noisy takes), except a
# metronomic synthetic voice (espeak Hakka: 0.7–0.77 clean, 0.46–0.61 in noise).
MIN_BEAT = 0.45
MAX_BEAT_DIP_DB = 25.0  # ... and music that never stops dips ≤ 17 dB (75 %), clean voices ≥ 22
# ... and notes hold their harmonics: such music ≥ 0.48; metronomic synthetic voices in noise
# (which fills their dips) 0.41–0.47. A thin margin: see `beat_strength`.
MIN_BEAT_PERSISTENCE = 0.5
# An exact metrical grid (tracker music: beat 0.81–0.99) may dip deeper between its notes,
# up to 27.6 dB measured; the one voice with a strong beat (espeak Hakka, ≤ 0.77) dips ≥ 33 dB.
MIN_STRONG_BEAT = 0.8
MAX_STRONG_BEAT_DIP_DB = 30.0
# A music bed: each band's loudest moment per half-second holds its level. Dense tracker music
# 1.9–3.5 dB; voices ≥ 4.1 dB (monotone diphone voices of the false-alarm set), real and noisy
# dev voices ≥ 4.8 dB. Judged on at least MIN_BED_S of audio (the spread of fewer windows is
# noisy), with dips under MAX_BEAT_DIP_DB, some persistence and no noise floor.
MAX_BED_SPREAD_DB = 3.0
MIN_BED_S = 6.0
MIN_BED_PERSISTENCE = 0.45  # noisy voices reach 0.47 with shallow dips; their peaks vary ≥ 4.8 dB
# Tuned music (`stages.analysis.tuning`): partials on one grid of semitones. Game music the
# other cues missed: 0.49–0.88 where this catches it; voices median 0.12, synthetic voices
# with quantised intonation up to 0.62 but dipping ≥ 22 dB clean. Such a voice (espeak
# Mandarin child) in 5 dB white noise, whose floor the noise check misses, reaches 0.56 with
# dips of 17.3–19.4 dB; music that never falls silent dips ≤ 14 dB here, and noisy voices
# this shallow without a noise floor measure ≤ 0.21.
MIN_TUNING = 0.45
MAX_TUNING_DIP_DB = 16.0
# A near-exact grid may dip deeper between its notes (arpeggios, plucked and struck tunes that
# ring out: 19.7–28 dB on generated ones, 0.82–0.99). Every voice measured ≤ 0.63, clean or
# in noise (1,900 takes of the false-alarm set, the dev split and its voices in noise).
MIN_STRONG_TUNING = 0.8
MAX_STRONG_TUNING_DIP_DB = 30.0
# A stationary noise floor: the quietest QUIET_PERCENTILE % of the frames hold no persistent
# lines (white/pink noise under steady voices 0.39–0.47; the quietest frames of music ≥ 0.50:
# still notes) and each half-second's minimum holds its level (noise: spread ≤ 2.5 dB).
QUIET_PERCENTILE = 20.0
MAX_FLOOR_PERSISTENCE = 0.48
MAX_FLOOR_SPREAD_DB = 3.0


@dataclass(frozen=True)
class SpeechResult:
    """``is_speech`` is False when the audio is silent, tonal/musical or unmodulated noise.

    ``persistence`` 0..1 (None: too few loud frames); ``modulation_db`` is the syllabic
    modulation contrast (None: under ``MIN_MODULATION_S`` of audio); ``reason`` is
    ``"speech"``, ``"silent"``, ``"tonal"`` (steady spectral lines) or ``"unmodulated"`` (no
    2–8 Hz syllable rhythm: steady noise, hum or tones). ``dip_db`` and ``lines`` are
    measured only when persistence calls a rhythmic clip tonal (None otherwise);
    ``voice_like`` is True when they say it stops and starts like one steady voice (a
    doubtful "tonal": a slow or high voice, or gated music). The cues that condemn what the
    first two let through give reasons ``"lines"``, ``"beat"``, ``"bed"``, ``"tuned"``
    (``tuning``: `stages.analysis.tuning.tuning_strength`), ``"bass"`` (``bass_db``:
    `stages.analysis.bass.bass_share_db`, also kept on the "speech" outcome when measured)
    and ``"unvoiced"`` (``voiced_share``: `stages.analysis.voicing.voiced_share`, kept on the
    "speech" outcome too: noise whose level rises and falls like syllables).
    On the ``"speech"`` outcome and on a ``voice_like`` one, ``music_probability`` is the
    learned second opinion of `stages.analysis.music` and ``music_like`` is True when it
    reaches ``music.MUSIC_THRESHOLD``: on "speech" a doubt (a ``no_speech`` warning), never a
    verdict; on ``voice_like`` it settles the doubt (two independent checks hear music).
    """

    is_speech: bool
    persistence: float | None
    frames: int
    modulation_db: float | None = None
    reason: str = "speech"
    dip_db: float | None = None
    lines: float | None = None
    voice_like: bool = False
    beat: float | None = None
    peak_spread_db: float | None = None
    tuning: float | None = None
    bass_db: float | None = None
    voiced_share: float | None = None
    music_probability: float | None = None
    music_like: bool = False

    @property
    def why(self) -> str:
        """What was measured against which threshold, for a "not speech" message."""
        if self.reason == "lines":
            return (
                f"is one or two steady pitches, like a signalling tone ({self.lines:g} steady "
                f"tone lines; a voice shows a series of at least {MAX_TONE_LINES + 2} harmonics)"
            )
        if self.reason == "beat":
            strong = self.beat is not None and self.beat >= MIN_STRONG_BEAT
            limit = MAX_STRONG_BEAT_DIP_DB if strong else MAX_BEAT_DIP_DB
            return (
                f"has the regular beat of music (beat strength {self.beat:.2f}; speech stays "
                f"under {MIN_BEAT:.2f}) and " + _never_silent(self.dip_db, limit)
            )
        if self.reason == "bed":
            return (
                "holds the level of its loudest moments like a music bed (they vary "
                f"{self.peak_spread_db:.1f} dB from one half-second to the next; a voice's by "
                f"at least {MAX_BED_SPREAD_DB:g} dB) and "
                + _never_silent(self.dip_db, MAX_BEAT_DIP_DB)
            )
        if self.reason == "tuned":
            strong = self.tuning is not None and self.tuning >= MIN_STRONG_TUNING
            limit = MAX_STRONG_TUNING_DIP_DB if strong else MAX_TUNING_DIP_DB
            return (
                "holds notes that sit on a musical scale, like tuned instruments (how well they "
                f"fit a scale: {self.tuning:.2f}; a voice's gliding pitch stays under "
                f"{MIN_TUNING:.2f}) and " + _never_silent(self.dip_db, limit)
            )
        if self.reason == "bass":
            return (
                f"has a bass line: {self.bass_db:.1f} dB of its loud moments' power lies under "
                "75 Hz, where a voice has almost none (voices measured -11 dB at most; music "
                f"from {MIN_BASS_DB:g} dB): music, or a voice under loud music or rumble "
                "(wind, traffic)"
            )
        if self.reason == "unvoiced" and self.voiced_share is not None:
            return (
                "has no voiced sound: almost none of its loud moments repeats at a voice's "
                f"pitch as vowels do ({self.voiced_share:.0%} of them; voices measured 8% and "
                f"up even in noise as loud as themselves, limit {MIN_VOICED_SHARE:.0%}): noise "
                "that rises and falls "
                "(wind, footsteps, hiss), percussion alone, or a whisper"
            )
        if self.reason == "unmodulated" and self.modulation_db is not None:
            return (
                "lacks the rise and fall of syllables, 2–8 a second, that speech has: steady "
                f"noise, hum or a tone (its level swings {self.modulation_db:.1f} dB at that "
                f"pace; speech swings at least {MIN_MODULATION_DB:g} dB)"
            )
        if self.reason == "tonal" and self.persistence is not None:
            return (
                f"holds steady musical notes or tones (steadiness {self.persistence:.2f}; "
                f"speech stays under {MAX_PERSISTENCE:.2f})"
            )
        return "is silent" if self.reason == "silent" else "sounds like speech"


def _never_silent(dip_db: float | None, limit_db: float) -> str:
    """The words for a sound whose level never dips as far as a voice's between syllables."""
    dip = f"its level dips only {dip_db:.0f} dB" if dip_db is not None else "it never dips"
    return f"never falls silent ({dip}; a voice drops at least {limit_db:g} dB between syllables)"


def _fine_structure(power: np.ndarray, bin_hz: float) -> np.ndarray:
    """Log spectrum minus its moving average over ``SMOOTH_BINS`` bins, peaks only, < 4 kHz.

    The log spectrum is written into the middle of one edge-padded buffer; the moving sum
    is built from shifted copies by doubling (1, 2, 4, 8 bins, then the ninth), four adds
    instead of a cumulative sum along each row.
    """
    top = min(max(SMOOTH_BINS + 1, round(TOP_HZ / bin_hz)), power.shape[1])
    half = SMOOTH_BINS // 2
    padded = np.empty((power.shape[0], top + SMOOTH_BINS - 1), dtype=np.float64)
    log_power = padded[:, half : half + top]
    np.add(power[:, :top], 1e-12, out=log_power)
    np.log10(log_power, out=log_power)
    log_power *= 10.0
    padded[:, :half] = log_power[:, :1]
    padded[:, half + top :] = log_power[:, -1:]
    total, width = padded, 1
    while 2 * width <= SMOOTH_BINS:  # sums over 2, 4, 8 neighbouring bins
        total = total[:, :-width] + total[:, width:]
        width *= 2
    if width < SMOOTH_BINS:  # the remaining bins (SMOOTH_BINS - width), summed the same way
        total = total[:, :top] + _moving_sum(padded[:, width:], SMOOTH_BINS - width, top)
    total /= SMOOTH_BINS
    np.subtract(log_power, total, out=total)
    return np.maximum(total, 0.0, out=total)


def _moving_sum(rows: np.ndarray, width: int, count: int) -> np.ndarray:
    """Sums of ``width`` neighbouring columns of ``rows``, the first ``count`` of them."""
    total = rows[:, :count].copy()
    for shift in range(1, width):  # width - 1 shifted adds (one for the default 9 bins)
        total += rows[:, shift : shift + count]
    return total


def syllabic_modulation_db(bands: Bands, inside: np.ndarray) -> float | None:
    """Best band's envelope modulation density at 2–8 Hz over that at 10–20 Hz, in dB.

    None when fewer than ``MIN_MODULATION_S`` of frames are ``inside`` and the whole clip is
    shorter than that too (then all frames are used when the inside is too short).
    """
    frames_needed = MIN_MODULATION_S / bands.frame_s
    if inside.sum() < frames_needed:
        if inside.size < frames_needed:
            return None
        inside = np.ones_like(inside)
    envelope = np.sqrt(bands.power[inside])
    mean = envelope.mean(axis=0)
    envelope = envelope / np.where(mean > 0, mean, 1.0) - (mean > 0)
    density = np.abs(np.fft.rfft(envelope, axis=0)) ** 2
    hz = np.fft.rfftfreq(envelope.shape[0], bands.frame_s)
    syllabic = density[(hz >= SYLLABIC_HZ[0]) & (hz <= SYLLABIC_HZ[1])].mean(axis=0)
    reference = density[(hz >= REFERENCE_HZ[0]) & (hz <= REFERENCE_HZ[1])].mean(axis=0)
    contrast = 10.0 * np.log10((syllabic + 1e-20) / (reference + 1e-20))
    return float(contrast.max())


class Bands(NamedTuple):
    """Power of every frame (rows, ``frame_s`` apart) in the modulation bands (columns)."""

    power: np.ndarray
    frame_s: float


def modulation_bands(spec: Spectrogram) -> Bands:
    """``MODULATION_BANDS`` log-spaced bands over 300–3400 Hz: what every level cue reads.

    Computed once per clip by `detect_speech` and handed to each cue.
    """
    lo, hi = MODULATION_EDGES_HZ
    hi = min(hi, 0.95 * spec.rate / 2)
    bins = np.round(np.geomspace(lo, hi, MODULATION_BANDS + 1) / spec.bin_hz)
    edges = np.unique(bins.astype(np.intp))
    power = np.add.reduceat(spec.power, edges[:-1], axis=1)[:, : edges.size - 1]
    return Bands(power, spec.frame_s)


def syllabic_dip_db(bands: Bands, inside: np.ndarray) -> float | None:
    """Median depth (dB) of the band levels' dips within half-second windows of ``inside``.

    Per window of ``DIP_WINDOW_S`` (the inside frames joined, pauses left out) and band:
    loudest frame over quietest, in dB. The median over windows, then over bands. None with
    fewer than two windows.
    """
    level = _window_levels(bands, inside)
    if level is None:
        return None
    depth = level.max(axis=1) - level.min(axis=1)
    return float(np.median(np.median(depth, axis=0)))


def _window_levels(bands: Bands, inside: np.ndarray) -> np.ndarray | None:
    """Band levels (dB) of the ``inside`` frames, ``DIP_WINDOW_S`` windows of them.

    Shape (windows, frames, bands); None with fewer than two windows.
    """
    rows = np.flatnonzero(inside)
    width = max(3, round(DIP_WINDOW_S / bands.frame_s))
    windows = rows.size // width
    if windows < 2:
        return None
    power = bands.power[rows[: windows * width]]
    floor = max(float(power.max()), 1e-30) * 1e-10  # digital silence: a 100 dB dip at most
    return 10.0 * np.log10(np.maximum(power, floor)).reshape(windows, width, -1)


def _spread(values: np.ndarray) -> np.ndarray:
    """Interquartile range along axis 0 (per band)."""
    high, low = np.percentile(values, [75.0, 25.0], axis=0)
    return np.asarray(high - low)


def peak_spread_db(bands: Bands, inside: np.ndarray) -> float | None:
    """How much each band's loudest moment varies between half-second windows (dB).

    Per band, the interquartile range over ``DIP_WINDOW_S`` windows of the window's loudest
    level; the 75th percentile over bands (the bands a voice dominates, when noise fills the
    others). A voice's peaks follow the vowel and stress of each moment: ≥ 4.8 dB on real
    and noisy voices of the dev split, ≥ 4.1 dB on monotone diphone voices; a mixed music bed
    holds every band's peaks within a few dB (dense tracker music 1.9–3.5 dB). None with
    less than ``MIN_BED_S`` of ``inside`` audio (a spread of a few windows says little).
    """
    if inside.sum() * bands.frame_s < MIN_BED_S:
        return None
    level = _window_levels(bands, inside)
    if level is None:
        return None
    return float(np.percentile(_spread(level.max(axis=1)), 75.0))


def noise_floor(
    power: np.ndarray, bands: Bands, inside: np.ndarray, energy: np.ndarray, lag: int, bin_hz: float
) -> bool:
    """Whether the sound falls, between its loud moments, to a stationary noise floor.

    Noise fills a steady voice's syllable gaps, so its dips look as shallow as music's; but
    the floor it leaves is noise: the quietest ``QUIET_PERCENTILE`` % of the ``inside``
    frames hold no persistent spectral lines (persistence under ``MAX_FLOOR_PERSISTENCE``;
    music's quietest frames are still notes), and each half-second's minimum sits at the same
    level (median spread over bands under ``MAX_FLOOR_SPREAD_DB``).
    """
    judged = energy[inside]
    if judged.size == 0:
        return False
    quiet = inside & (energy <= np.percentile(judged, QUIET_PERCENTILE))
    floor_persistence, _ = _persistence(power, quiet, lag, bin_hz)
    if floor_persistence is None or floor_persistence >= MAX_FLOOR_PERSISTENCE:
        return False
    level = _window_levels(bands, inside)
    if level is None:
        return False
    return float(np.median(_spread(level.min(axis=1)))) < MAX_FLOOR_SPREAD_DB


def fall_over_rise(bands: Bands, inside: np.ndarray) -> float | None:
    """How fast the band levels fall compared with how fast they rise (median over bands).

    Per band, the ``EDGE_PERCENTILE``-th percentile of the level's frame-to-frame rises and
    of its falls (dB per frame, between consecutive ``inside`` frames); the ratio falls /
    rises. A voice stops about as abruptly as it starts (≈ 0.6–1.4); a struck or plucked
    note starts at once and rings out (≈ 0.2–0.3). None with fewer than ``MIN_FRAMES`` steps.
    """
    steps = inside[1:] & inside[:-1]
    if int(steps.sum()) < MIN_FRAMES:
        return None
    floor = max(float(bands.power.max()), 1e-30) * 1e-10
    level = 10.0 * np.log10(np.maximum(bands.power, floor))
    change = (level[1:] - level[:-1])[steps]
    rise = np.percentile(change, EDGE_PERCENTILE, axis=0)
    fall = -np.percentile(change, 100.0 - EDGE_PERCENTILE, axis=0)
    return float(np.median(fall / np.maximum(rise, 1e-6)))


def beat_strength(bands: Bands, inside: np.ndarray) -> float | None:
    """How regularly the sound's onsets repeat at a beat period of 0.25–2 s (0..1).

    The onset signal is the spectral flux of the eight modulation bands (the sum of each
    band's level rises, dB per frame) from the first to the last ``inside`` frame; its
    autocorrelation, normalised at lag 0 and for the shrinking overlap, peaks at the beat
    period of music (median 0.71 on game music that persistence missed; DTMF strings
    0.3–0.6). A voice's syllables come irregularly: real and synthetic voices measured
    0.06–0.44, except a metronomic synthetic voice (espeak Hakka, 0.77), which is why the
    caller also asks for shallow dips (a voice stops between syllables) and some persistence
    (notes hold their harmonics): that voice in noise at 0–10 dB SNR has dips under 25 dB
    and a beat up to 0.61, but persistence 0.40–0.48 (a thin margin under
    ``MIN_BEAT_PERSISTENCE``). None when the inside frames span under ``MIN_BEAT_SPAN_S``.
    """
    rows = np.flatnonzero(inside)
    frame_s = bands.frame_s
    if rows.size == 0 or (rows[-1] - rows[0] + 1) * frame_s < MIN_BEAT_SPAN_S:
        return None
    power = bands.power[rows[0] : rows[-1] + 1]
    floor = max(float(power.max()), 1e-30) * 1e-8
    level = 10.0 * np.log10(np.maximum(power, floor))
    onset = np.maximum(level[1:] - level[:-1], 0.0).sum(axis=1)
    onset -= onset.mean()
    n = onset.size
    spectrum = np.fft.rfft(onset, 2 * n)
    corr = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, 2 * n)[:n]
    if corr[0] <= 0:
        return None
    corr *= n / (corr[0] * (n - np.arange(n)))
    lo, hi = round(BEAT_LAGS_S[0] / frame_s), min(round(BEAT_LAGS_S[1] / frame_s), n // 2)
    return float(corr[lo:hi].max()) if hi > lo else None


def _line_frames(loud: np.ndarray) -> np.ndarray:
    """The loud frames whose lines are counted: at most ``MAX_LINE_FRAMES``, spread evenly."""
    return evenly(np.flatnonzero(loud), MAX_LINE_FRAMES)


def _lines(power: np.ndarray, loud: np.ndarray, bin_hz: float) -> np.ndarray | None:
    """Which bins of the loud frames (an evenly spread subset) are spectral lines below 4 kHz.

    Shape (frames, bins); a bin is a line when it is a local peak within ``LINE_WITHIN_DB`` of
    the frame's strongest bin and stands ``LINE_OVER_ENVELOPE_DB`` above the smoothed
    spectrum. None without loud frames.
    """
    idx = _line_frames(loud)
    if idx.size == 0:
        return None
    top = min(max(SMOOTH_BINS + 1, round(TOP_HZ / bin_hz)), power.shape[1])
    rows = power[idx, :top]
    fine = _fine_structure(rows, bin_hz)
    level = 10.0 * np.log10(rows + 1e-12)
    middle = level[:, 1:-1]
    lines = np.zeros(rows.shape, dtype=bool)
    lines[:, 1:-1] = (middle > level[:, :-2]) & (middle >= level[:, 2:])
    lines[:, 1:-1] &= middle >= level.max(axis=1, keepdims=True) - LINE_WITHIN_DB
    lines[:, 1:-1] &= fine[:, 1:-1] >= LINE_OVER_ENVELOPE_DB
    return lines


def spectral_lines(power: np.ndarray, loud: np.ndarray, bin_hz: float) -> float | None:
    """Median count, over loud frames, of spectral peaks below 4 kHz that look like lines.

    A keyed tone shows one or two, a voiced frame its harmonics (see `_lines`). None without
    loud frames.
    """
    lines = _lines(power, loud, bin_hz)
    return None if lines is None else float(np.median(np.count_nonzero(lines, axis=1)))


def deep_voice_hz(
    samples: np.ndarray, spec: Spectrogram, loud: np.ndarray
) -> tuple[float, float] | None:
    """The part of the bass band where a deep voice's own fundamental may lie.

    A voice has nothing under its lowest pitch. When most loud frames are voiced
    (``MIN_DEEP_VOICED``) and their median pitch lies within ``DEEP_GUARD_HZ`` of the top of
    ``bass.BASS_HZ`` or under it, the band from the 10th percentile of the pitch (less
    ``DEEP_GUARD_HZ``) to its top may hold the voice's fundamental, not a bass line. Else
    None. (A bass note with its harmonics is periodic too: music whose loud moments repeat
    mostly at its bass note is judged as a deep voice would be.)
    """
    pitches, judged = voiced_pitches(samples, spec, loud)
    if judged == 0 or pitches.size < MIN_DEEP_VOICED * judged:
        return None
    lowest, middle = np.percentile(pitches, [10.0, 50.0])
    if middle >= BASS_HZ[1] + DEEP_GUARD_HZ:  # a voice above the band, maybe over a bass line
        return None
    return float(lowest) - DEEP_GUARD_HZ, BASS_HZ[1]


def harmonic_pairs(power: np.ndarray, loud: np.ndarray, bin_hz: float) -> float | None:
    """Share of the loud frames with exactly two lines in which the two are one voice's.

    A close vowel (/i/, /u/) puts nearly all its power in its first harmonics, so a clean
    word may show only two lines, as a signalling tone does. A voice's two sit on one
    pitch: the second is twice, three times or one and a half times the first (harmonics 1
    and 2, 1 and 3, 2 and 3) within ``PAIR_TOLERANCE``, the pitch is a voice's and the
    lower line under ``MAX_PAIR_LOW_HZ``. Signalling tones are pairs by design that no
    harmonic series makes (DTMF's low group starts at 697 Hz; dial, ring-back and busy
    tones are 1.06–1.29 apart). Frequencies are refined by a parabola through the log
    spectrum. None without frames of two lines.
    """
    lines = _lines(power, loud, bin_hz)
    if lines is None:
        return None
    two = np.count_nonzero(lines, axis=1) == 2
    if not two.any():
        return None
    idx = _line_frames(loud)
    rows, bins = np.nonzero(lines[two])
    level = 10.0 * np.log10(power[idx[two]][:, : lines.shape[1]] + 1e-12)
    left, centre, right = (level[rows, bins + k] for k in (-1, 0, 1))
    curve = left - 2 * centre + right
    offset = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1.0), 0.0)
    hz = ((bins + offset) * bin_hz).reshape(-1, 2)
    low, high = hz[:, 0], hz[:, 1]
    voice = np.zeros(low.size, dtype=bool)
    for upper, lower in HARMONIC_PAIRS:
        ratio = high / np.maximum(low, 1e-9) * lower / upper
        pitch = low / lower
        voice |= (
            (np.abs(ratio - 1.0) <= PAIR_TOLERANCE)
            & (pitch >= PITCH_HZ[0])
            & (pitch <= PITCH_HZ[1])
        )
    voice &= low <= MAX_PAIR_LOW_HZ
    return float(np.mean(voice))


def _persistence(
    power: np.ndarray, loud: np.ndarray, lag: int, bin_hz: float
) -> tuple[float | None, int]:
    """Median fine-structure correlation of loud frame pairs ``lag`` apart, and the pair count.

    Each frame's fine structure and its norm are computed once, however many pairs it is in.
    """
    pair = loud[:-lag] & loud[lag:]
    count = int(pair.sum())
    if count < MIN_FRAMES:
        return None, count
    needed = np.zeros(loud.shape[0], dtype=bool)
    needed[:-lag] = pair
    needed[lag:] |= pair
    row = np.cumsum(needed) - 1  # frame index -> row of `fine` (valid where needed)
    top = max(SMOOTH_BINS + 1, round(TOP_HZ / bin_hz))  # gather only the bins it reads
    fine = _fine_structure(power[needed, :top], bin_hz)
    norm = np.einsum("ij,ij->i", fine, fine)
    idx = np.flatnonzero(pair)
    first, second = row[idx], row[idx + lag]
    dot = np.einsum("ij,ij->i", fine[first], fine[second])
    cos = dot / np.sqrt(norm[first] * norm[second] + 1e-12)
    return float(np.median(cos)), count


def detect_speech(
    samples: np.ndarray,
    rate: int,
    segments: list[tuple[float, float]] | None = None,
    *,
    spectrogram: Spectrogram | None = None,
    max_persistence: float = MAX_PERSISTENCE,
    min_modulation_db: float = MIN_MODULATION_DB,
) -> SpeechResult:
    """Judge whether ``samples`` (within ``segments`` if given) hold speech."""
    spec = spectrogram if spectrogram is not None else power_spectrogram(samples, rate)
    power = spec.power
    n = power.shape[0]
    lag = max(1, round(LAG_S / spec.frame_s))
    if n <= lag:
        return SpeechResult(False, None, 0, None, "silent")
    inside = np.ones(n, dtype=bool)
    if segments:
        t = np.arange(n) * spec.frame_s
        inside[:] = False
        for start, end in segments:  # one step per segment
            inside |= (t >= start) & (t < end)
    energy = spec.energy
    judged = energy[inside]
    if judged.size == 0 or float(judged.max()) <= 0:
        return SpeechResult(False, None, 0, None, "silent")
    bands = modulation_bands(spec)
    modulation = syllabic_modulation_db(bands, inside)
    top = float(judged.max()) * 10 ** (-LOUD_BELOW_TOP_DB / 10)
    loud = inside & (energy >= np.median(judged)) & (energy >= top)
    persistence, pairs = _persistence(power, loud, lag, spec.bin_hz)
    if modulation is not None and modulation >= RHYTHMIC_MODULATION_DB:
        max_persistence += MAX_RHYTHMIC_PERSISTENCE - MAX_PERSISTENCE
    tonal = persistence is not None and persistence > max_persistence
    short_persistence = None
    if persistence is None:  # keyed tones shorter than the lag: look closer
        short = max(1, round(SHORT_LAG_S / spec.frame_s))
        short_persistence, _ = _persistence(power, loud, short, spec.bin_hz)
        limit = max_persistence + (MAX_SHORT_PERSISTENCE - MAX_PERSISTENCE)
        tonal = short_persistence is not None and short_persistence > limit
        persistence = short_persistence if tonal else None
    rhythmic = modulation is not None and modulation >= RHYTHMIC_MODULATION_DB

    # Cue values that several checks below and the learned check read: each computed once,
    # and only when something asks for it.
    dip_of = functools.cache(lambda: syllabic_dip_db(bands, inside))
    beat_of = functools.cache(lambda: beat_strength(bands, inside))
    spread_of = functools.cache(lambda: peak_spread_db(bands, inside))
    over_floor = functools.cache(
        lambda: noise_floor(power, bands, inside, energy, lag, spec.bin_hz)
    )

    def learned(lines: float | None) -> float:
        """The learned speech/music check's probability of music (`stages.analysis.music`)."""
        features = music_features(
            spec, bands.power, inside, loud, modulation_db=modulation,
            persistence=persistence, dip_db=dip_of(), beat=beat_of(), lines=lines,
            peak_spread_db=spread_of(),
        )  # fmt: skip
        return music_probability(features)

    if tonal and rhythmic:
        # Steady harmonics with a syllable rhythm: maybe a steady voice, if it stops between
        # syllables (deep dips) like a harmonic series, not a keyed tone or a ringing note.
        # Then the learned check settles the doubt when it is sure of music.
        dip = dip_of()
        deep = dip is not None and (dip >= MIN_DIP_DB or over_floor())
        lines = spectral_lines(power, loud, spec.bin_hz) if deep else None
        voiced = deep and lines is not None and lines >= MIN_VOICE_LINES
        stops = fall_over_rise(bands, inside) if voiced else None
        voice_like = voiced and stops is not None and stops >= MIN_FALL_OVER_RISE
        probability = learned(lines) if voice_like else None
        return SpeechResult(
            False, persistence, pairs, modulation, "tonal", dip, lines, voice_like,
            music_probability=probability,
            music_like=probability is not None and probability >= MUSIC_THRESHOLD,
        )  # fmt: skip
    if tonal and modulation is None:
        # Under MIN_MODULATION_S of sound (a one-word prompt) there is no rhythm to measure,
        # and a held vowel is nearly as steady as a note. Only what is steadier than any voice
        # (a generated tone, a synthesiser note) or a single line is an error; the rest is a
        # doubt. (The learned check was fitted on whole takes: on 0.3-1 s words it is no guide.)
        lines = spectral_lines(power, loud, spec.bin_hz)
        steady = persistence is not None and persistence >= MIN_TONE_PERSISTENCE
        voice_like = not steady and lines is not None and lines > 1
        return SpeechResult(
            False, persistence, pairs, modulation, "tonal", lines=lines, voice_like=voice_like
        )
    if tonal:
        return SpeechResult(False, persistence, pairs, modulation, "tonal")
    if modulation is not None and modulation < min_modulation_db:
        return SpeechResult(False, persistence, pairs, modulation, "unmodulated")
    # A bass line: whatever its rhythm and notes, a voice has almost no power that low.
    # Music's bass line plays under its loudest moments; a voice's low rumble between words
    # (handling noise, a breath on the microphone) does not.
    loud_bass = loud & (energy >= float(judged.max()) * 10 ** (-BASS_LOUD_DB / 10))
    bass = bass_share_db(samples, spec, inside, loud_bass) if modulation is not None else None
    if bass is not None and bass >= MIN_BASS_DB:
        # A deep voice's own fundamental lies in the band: leave its pitch range out.
        fundamental = deep_voice_hz(samples, spec, loud)
        if fundamental is not None:
            bass = bass_share_db(samples, spec, inside, loud_bass, without_hz=fundamental)
    if bass is not None and bass >= MIN_BASS_DB:
        return SpeechResult(False, persistence, pairs, modulation, "bass", bass_db=bass)
    # Two cues independent of persistence. Tones keyed faster than the lag (DTMF strings,
    # cadenced ring-back) are one or two lines where a voice is a harmonic series.
    steadiness = persistence if persistence is not None else short_persistence

    def speech(lines: float | None = None) -> SpeechResult:
        """The "speech" outcome, with the learned music check's second opinion.

        Last, what passed every cue must have vowels: a voice's loud moments repeat at its
        pitch period, where swelling noise, footsteps or a hi-hat never do.
        """
        voiced = voiced_share(samples, spec, loud) if modulation is not None else None
        if voiced is not None and voiced < MIN_VOICED_SHARE:
            return SpeechResult(
                False, persistence, pairs, modulation, "unvoiced", lines=lines, bass_db=bass,
                voiced_share=voiced,
            )  # fmt: skip
        probability = learned(lines)
        return SpeechResult(
            True, persistence, pairs, modulation, "speech", lines=lines, bass_db=bass,
            voiced_share=voiced, music_probability=probability,
            music_like=probability >= MUSIC_THRESHOLD,
        )  # fmt: skip

    # Sparse beeps leave too few frame pairs to measure steadiness, but a frame is enough to
    # count its lines; with so little to go on, only a single line (a beep) is a verdict: a
    # short word's vowel may show two.
    enough = steadiness is not None or np.count_nonzero(loud) >= MIN_FRAMES
    lines = spectral_lines(power, loud, spec.bin_hz) if enough else None
    tone_lines = MAX_TONE_LINES if steadiness is not None else 1
    if lines is not None and lines <= tone_lines:
        # Two lines on one pitch (a close vowel's first harmonics) are a voice, not a tone.
        voice_pairs = harmonic_pairs(power, loud, spec.bin_hz) if lines > 1 else None
        if voice_pairs is None or voice_pairs < MIN_VOICE_PAIRS:
            return SpeechResult(False, steadiness, pairs, modulation, "lines", lines=lines)
    if steadiness is None:  # too few loud frame pairs to judge more (the learned check
        return speech()  # was fitted without a line count for such clips)
    if persistence is None:
        return speech(lines)
    # The music cues below: no silence between notes (dips shallower than a voice's), and
    # no noise floor under them (a steady voice in noise dips shallowly too).
    dip = dip_of()
    if dip is None:
        return speech(lines)
    # Music with a beat: onsets on a regular grid. An exact grid may dip deeper.
    beat = beat_of()
    if beat is not None and beat >= MIN_BEAT and persistence >= MIN_BEAT_PERSISTENCE:
        strong = beat >= MIN_STRONG_BEAT
        if dip < MAX_BEAT_DIP_DB or (strong and dip < MAX_STRONG_BEAT_DIP_DB and not over_floor()):
            return SpeechResult(
                False, persistence, pairs, modulation, "beat", dip, lines, beat=beat
            )
    # A music bed: every band's peaks hold their level.
    if persistence >= MIN_BED_PERSISTENCE and dip < MAX_BEAT_DIP_DB:
        spread = spread_of()
        if spread is not None and spread < MAX_BED_SPREAD_DB and not over_floor():
            return SpeechResult(
                False, persistence, pairs, modulation, "bed", dip, lines, peak_spread_db=spread
            )
    # Tuned music: partials on one grid of semitones (a synthetic voice with quantised
    # intonation reaches the lower grid, so it needs shallower dips).
    if persistence >= MIN_BED_PERSISTENCE and dip < MAX_STRONG_TUNING_DIP_DB:
        centers = np.flatnonzero(loud) * spec.hop + spec.n_fft // 2
        tuning = tuning_strength(samples, spec.rate, centers)
        tuned = tuning is not None and (
            tuning >= MIN_STRONG_TUNING or (tuning >= MIN_TUNING and dip < MAX_TUNING_DIP_DB)
        )
        if tuned and not over_floor():
            return SpeechResult(
                False, persistence, pairs, modulation, "tuned", dip, lines, tuning=tuning
            )
    return speech(lines)
