"""`Analyze`: measure the clip that will be written and judge it against the profile's thresholds.

Runs on the trimmed, normalised samples. Levels (``peak_dbfs``, ``rms_dbfs``, ``lufs``),
``duration_s`` and ``speech_ratio`` are measured here, on what will be encoded; ``snr_db``,
``clipping_ratio`` and ``dc_offset`` describe the *source*, so values that earlier stages
measured are kept (and computed here only when no earlier stage did).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from pipeline.profiles import AnalysisThresholds
from pipeline.stage import Stage
from stages.normalize import dc_offset, mono
from stages.vad import true_runs

__all__ = ["NO_SPEECH_RATIO", "Analyze", "speech_ratio"]

# What the speech check made of the sound; "doubtful": steady like music, paced like a voice;
# "music_like": the voice cues find speech, the learned speech/music check finds music.
Sound = Literal["speech", "doubtful", "music_like", "not_speech"]

# Below this share of speech a clip holds no usable speech at all.
NO_SPEECH_RATIO = 0.02
# With no pause to measure the noise in, minimum statistics read a clean take's quiet
# stretches as noise: clean takes cut tight to their speech read down to 10.7 dB (390 takes
# of synthetic voices) and 12.2 dB (95 clean clips of the test and dev splits). Only an
# estimate under this is an error there.
UNPAUSED_TRUSTED_SNR_DB = 8.0
# Content that stops at or under this is what telephone audio (8 kHz sampling) holds.
TELEPHONE_TOP_HZ = 4200.0
# A clip without speech whose loudest sample is under this is called silent.
SILENT_PEAK_DBFS = -60.0
# Fallback speech detection when no `vad` ran: 30 ms frames this far above the quiet floor.
_FRAME_S = 0.03
_SPEECH_ABOVE_FLOOR_DB = 12.0
_SPEECH_MIN_DBFS = -50.0


def _spans_text(spans: list[tuple[float, float]], *, about: bool = False, most: int = 4) -> str:
    """ "about 4.8–10.6 s and 12.0–13.1 s": the first ``most`` spans, "and later" after them."""
    shown = [f"{a:.1f}–{b:.1f} s" for a, b in spans[:most]]
    text = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    if len(spans) > most:
        text = f"{', '.join(shown)} and later"
    return f"about {text}" if about else text


def _second_channel(spans: list[tuple[float, float]], talk: list[float]) -> int | None:
    """Which channel (0 left, 1 right) holds the second talker's ``spans``, None when unsure.

    The spans cover every moment that channel dominates, so they last at least as long as
    its ``talk`` time; when only one channel's time fits under them, it is that one.
    """
    if len(talk) != 2 or not spans:
        return None
    covered = sum(b - a for a, b in spans) + 0.05
    fits = [i for i in (0, 1) if talk[i] <= covered]
    return fits[0] if len(fits) == 1 else None


def speech_ratio(segments: list[tuple[float, float]], duration_s: float) -> float:
    """Share of ``duration_s`` covered by speech ``segments`` (clamped to the clip), 0..1."""
    if duration_s <= 0 or not segments:
        return 0.0
    bounds = np.clip(np.asarray(segments, dtype=np.float64).reshape(-1, 2), 0.0, duration_s)
    return float(np.clip((bounds[:, 1] - bounds[:, 0]).clip(min=0).sum() / duration_s, 0.0, 1.0))


def _energy_segments(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """Crude speech segments from frame energy, for clips that no `vad` stage has seen."""
    x = mono(samples).astype(np.float64)
    step = max(1, round(_FRAME_S * rate))
    n = x.shape[0] // step
    if n == 0:
        return []
    frames = x[: n * step].reshape(n, step)
    # Digital silence at -200 dB, not -inf: a percentile over -inf frames is NaN, and every
    # comparison with NaN said "no speech".
    energy_db = 10.0 * np.log10(np.maximum((frames * frames).mean(axis=1), 1e-20))
    floor = float(np.percentile(energy_db, 10))
    starts, ends = true_runs(energy_db > max(floor + _SPEECH_ABOVE_FLOOR_DB, _SPEECH_MIN_DBFS))
    frame_s = step / rate
    return [(float(s * frame_s), float(e * frame_s)) for s, e in zip(starts, ends, strict=True)]


@dataclass
class Analyze(Stage):
    """Measure levels and speech, and report quality problems by ``thresholds``.

    Metrics: ``duration_s``, ``peak_dbfs``, ``rms_dbfs``, ``lufs``, ``speech_ratio`` (of the
    current samples), and ``snr_db``, ``clipping_ratio``, ``dc_offset`` (kept from earlier
    stages when present). Findings: ``no_speech`` (error; a warning when the sound is steady
    like music but stops and starts like a voice), ``low_snr`` and ``clipping``
    (severity ``thresholds.quality_severity``; clipping beyond 10× the limit is always an
    error), ``dc_offset`` and ``low_speech_ratio`` (warnings). ``profile`` only names the
    target in messages.
    """

    name: ClassVar[str] = "analyze"
    # A take trim found too short (or too long to cut at a pause) is still analysed: music, a
    # tone or noise should say "no speech", not only "too short" or "too long".
    runs_after: ClassVar[frozenset[str]] = frozenset({"too_short", "too_long"})

    thresholds: AnalysisThresholds = field(default_factory=AnalysisThresholds)
    profile: str | None = None
    # "dnsmos": also score DNSMOS P.835 (extra voiceprep[dnsmos]; metrics dnsmos_sig/bak/ovrl,
    # finding low_quality under thresholds.min_dnsmos_ovrl; with the speaker check on, also
    # the personalised model: dnsmos_interference). None: skip (~45× real time, ~22× with
    # the personalised model).
    quality: str | None = None
    # Speaker check: "default" (cepstral statistics, numpy), "neural" (resemblyzer, extra
    # voiceprep[neural]) or None (skip). Metrics speaker_count/speaker_change_s/speaker_score.
    speakers: str | None = "default"

    def __post_init__(self) -> None:
        if self.speakers not in (None, "default", "neural"):
            raise ConfigurationError(
                f"speakers must be 'default', 'neural' or None, got {self.speakers!r}"
            )
        if self.speakers == "neural":
            from stages.analysis.neural import encoder

            encoder()  # say what to install now, not on the first clip
        if self.quality not in (None, "dnsmos"):
            raise ConfigurationError(
                f"analysis quality must be None or 'dnsmos', got {self.quality!r}"
            )
        if self.quality == "dnsmos":
            from stages.analysis.quality import require_dnsmos

            require_dnsmos()  # say what to install now, not on the first clip
        try:
            Severity(self.thresholds.quality_severity)
            Severity(self.thresholds.speaker_severity)
        except ValueError:
            raise ConfigurationError(
                "analysis quality_severity and speaker_severity must be 'error', 'warning' or "
                f"'info', got {self.thresholds.quality_severity!r} and "
                f"{self.thresholds.speaker_severity!r}; fix the profile's [analysis] table"
            ) from None

    @property
    def _target(self) -> str:
        """The words " for <profile>" that end a threshold in a message ("" without one)."""
        return f" for {self.profile}" if self.profile else ""

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
        after_error = clip.failed  # here by `runs_after`: trim found the take too short or long
        vad_ran = "speech_ratio" in m or "snr_db" in m
        if not clip.segments and not vad_ran:
            clip.segments = _energy_segments(samples, rate)

        duration = clip.duration_s
        m["duration_s"] = duration
        m["peak_dbfs"] = peak_dbfs(samples)
        m["rms_dbfs"] = rms_dbfs(samples)
        m["lufs"] = integrated_loudness(samples, rate)
        m["speech_ratio"] = speech_ratio(clip.segments, duration)
        sound, why, silent = self._measure_noise_and_signal(clip)
        if "clipping_ratio" not in m:
            from stages.analysis.clipping import detect_clipping

            m["clipping_ratio"] = detect_clipping(samples).ratio
        dc_removed = "dc_offset" in m  # measured on the source by normalize, which removed it
        if not dc_removed:
            m["dc_offset"] = dc_offset(np.asarray(samples))

        if after_error:  # a take trim refused: only say whether it holds speech at all
            self._judge_signal(clip, sound=sound, why=why, sound_only=True)
            return clip
        self._judge(clip, dc_removed=dc_removed, silent=silent)
        self._judge_signal(clip, sound=sound, why=why)
        if self.quality == "dnsmos":
            self._judge_quality(clip)
        if self.speakers is not None and sound != "not_speech":
            self._judge_speakers(clip)
        return clip

    def _judge_speakers(self, clip: Clip) -> None:
        """Speaker metrics, and ``multiple_speakers`` when a second voice holds enough speech."""
        from stages.analysis.speakers import NEURAL_SURE, detect_speakers

        assert clip.samples is not None and self.speakers is not None
        t, m = self.thresholds, clip.metrics
        r = detect_speakers(
            clip.samples,
            clip.rate,
            clip.segments,
            method=self.speakers,
            min_voice_s=t.min_second_voice_s,
        )
        off = clip.offset_s
        m["speaker_count"] = r.speaker_count
        m["speaker_change_s"] = [round(off + c, 2) for c in r.change_s]
        m["speaker_score"] = round(r.score, 4)
        m["speaker_pitch_gap_st"] = r.pitch.gap_st
        target = self._target
        if m.get("channel_talkers") == 2:  # seen on the stereo source: no guess involved
            from stages.analysis.channels import DOMINANT_DB, MIN_TALK_S

            spans = [(float(a), float(b)) for a, b in m.get("channel_second_voice_s") or []]
            talk = [float(x) for x in m.get("channel_talk_s") or []]
            m["speaker_count"] = 2
            m["speaker_change_s"] = [round(a, 2) for a, _ in spans]
            where = _spans_text(spans) if spans else "times not found"
            second = _second_channel(spans, talk)
            if second is not None:
                first = 1 - second
                sides = ("left", "right")
                who = (
                    f"the {sides[first]} channel holds one talker ({talk[first]:.1f} s of speech) "
                    f"and the {sides[second]} another ({talk[second]:.1f} s, at {where})"
                )
            else:
                alone = " and ".join(f"{x:.1f} s" for x in talk) or "over a second each"
                who = (
                    f"the left and right channels hold two different talkers ({alone} of "
                    f"speech; the second at {where})"
                )
            clip.report(
                "multiple_speakers",
                Severity(t.speaker_severity),
                self.name,
                f"{who}: a two-party call recording, or two people on their own microphones? "
                "Use a recording of the one voice, or export only its channel (a channel counts "
                f"as a talker when it stands {DOMINANT_DB:g} dB over the other for "
                f"{MIN_TALK_S:g} s or more{target})",
            )
            return
        if r.speaker_count < 2:
            self._judge_interference(clip)
            return
        guess = r.method == "default"  # the cepstral check's times can be off by a second
        spans = [(off + a, off + b) for a, b in r.second_voice_s]
        where = _spans_text(spans, about=guess)
        listen = "listen to those seconds: if it is another person, remove it or re-record alone"
        if r.by_pitch:
            from stages.analysis.pitch_split import PITCH_GAP_ST

            self.warn(  # pitch alone is never sure: an expressive talker can swing as far
                clip,
                "multiple_speakers",
                f"a second voice at another pitch at {where}: the speech falls into two "
                f"groups {r.pitch.gap_st:.1f} semitones apart (about {r.pitch.low_hz:.0f} and "
                f"{r.pitch.high_hz:.0f} Hz; one talker stays within {PITCH_GAP_ST:g} "
                f"semitones{target}); {listen}",
            )
            return
        severity, advice = Severity(t.speaker_severity), "remove it or re-record alone"
        if not guess and r.score < NEURAL_SURE and severity is Severity.ERROR:
            severity = Severity.WARNING  # one person's isolated words can score this far
            advice = (
                f"one person spelling or reading isolated words can score this much (a firmer "
                f"verdict from {NEURAL_SURE:.2f}), so {listen}"
            )
        elif guess:
            # The cepstral check ranks clips well but is never sure: single voices of some
            # people reach its two-voice scores (benchmarks/false_alarms.py: 25 of 300 clean
            # takes of unseen voices). It warns; only the neural check fails a take.
            if severity is Severity.ERROR:
                severity = Severity.WARNING
            advice = (
                f"the default check can be wrong, so {listen} (install voiceprep[neural] and "
                "pass --speakers neural for a firmer verdict)"
            )
        clip.report(
            "multiple_speakers",
            severity,
            self.name,
            f"a second voice at {where} (how unlike the rest this stretch sounds: "
            f"{r.score:.2f}; one voice stays under {r.threshold:.2f}{target}); {advice}",
        )

    def _judge_interference(self, clip: Clip) -> None:
        """``multiple_speakers`` (warning) from DNSMOS's interfering-talker gap, when scored.

        The speaker checks need each voice alone for a while; a voice *under* the main one
        (an overlap, a colleague talking in the background) gives them no turn to find. The
        personalised DNSMOS model hears it as background. Clipping distortion lowers that
        model's BAK too, so a clipped take is not judged this way.
        """
        from stages.analysis.quality import INTERFERENCE_LIMIT, locate_interference

        assert clip.samples is not None
        m = clip.metrics
        gap = m.get("dnsmos_interference")
        if gap is None or gap < INTERFERENCE_LIMIT or (m.get("clipping_ratio") or 0.0) > 0.0:
            return
        m["speaker_count"] = 2
        start, end = locate_interference(clip.samples, clip.rate)
        off = clip.offset_s
        target = self._target
        self.warn(  # DNSMOS does not separate voices: it cannot be sure, and cannot say when
            clip,
            "multiple_speakers",
            f"another voice seems to speak under the main one, most clearly at "
            f"{off + start:.1f}–{off + end:.1f} s (DNSMOS hears an interfering talker: the "
            f"personalised model's background score is {gap:.2f} lower than the standard "
            f"one's, one voice stays under {INTERFERENCE_LIMIT:g}{target}); listen there, and "
            "re-record alone if someone else is talking",
        )

    def _judge_quality(self, clip: Clip) -> None:
        """DNSMOS P.835 metrics, and ``low_quality`` (warning) under the profile's OVRL limit."""
        from stages.analysis.quality import detect_quality

        assert clip.samples is not None
        q = detect_quality(clip.samples, clip.rate, interference=self.speakers is not None)
        m, limit = clip.metrics, self.thresholds.min_dnsmos_ovrl
        m["dnsmos_sig"], m["dnsmos_bak"], m["dnsmos_ovrl"] = q.sig, q.bak, q.ovrl
        if q.interference is not None:
            m["dnsmos_interference"] = round(q.interference, 3)
        if limit is None or q.ovrl >= limit or "no_speech" in clip.codes():
            return
        weakest = "background noise" if q.bak <= q.sig else "the voice itself (distortion)"
        target = self._target
        self.warn(
            clip,
            "low_quality",
            f"DNSMOS overall quality {q.ovrl:.2f} is below {limit:g}{target} (signal "
            f"{q.sig:.2f}, background {q.bak:.2f}; 1–5 scale), mostly from {weakest}; "
            "re-record in a quieter room with the microphone close and the gain moderate",
        )

    def _measure_noise_and_signal(self, clip: Clip) -> tuple[Sound, str, bool]:
        """Noise, hum, bandwidth and speech-likeness metrics, a verdict on the sound, why, and
        whether the speech check found the clip silent.

        The verdict is ``"speech"``, ``"not_speech"`` (tones, music, steady noise) or
        ``"doubtful"``: steady spectral lines like music, but it stops and starts like one
        voice (slow, high or level-tone voices do this, and so does gated music).

        ``snr_db`` / ``noise_floor_dbfs`` are re-estimated per frequency band here (a VAD split
        alone fails at low SNR and on hum); ``bandwidth_hz`` and ``hf_tilt_db`` are kept from
        `normalize`, which measured them at the source rate (None when no earlier stage did:
        at the current rate they would say nothing about the source).
        """
        from stages.analysis._spectra import power_spectrogram
        from stages.analysis.hum import detect_hum
        from stages.analysis.music import MUSIC_THRESHOLD
        from stages.analysis.noise import detect_noise
        from stages.analysis.speech import detect_speech

        assert clip.samples is not None
        x, rate, m = mono(clip.samples), clip.rate, clip.metrics
        spec = power_spectrogram(x, rate)
        noise = detect_noise(x, rate, clip.segments, spectrogram=spec)
        # A VAD-split estimate (it comes with a noise floor) is replaced; an SNR handed in
        # without one (by a caller or another tool) is kept.
        if "snr_db" not in m or "noise_floor_dbfs" in m:
            m["snr_db"] = noise.snr_db
            m["noise_floor_dbfs"] = noise.noise_floor_dbfs
            m["snr_from_pauses"] = noise.from_pauses
        m["speech_level_dbfs"] = noise.speech_level_dbfs
        m["snr_wada_db"] = noise.wada_snr_db
        hum = detect_hum(x, rate, clip.segments)
        m["hum_hz"] = hum.hum_hz
        m["hum_dbfs"] = hum.level_dbfs
        if "bandwidth_hz" not in m:  # no source-rate measurement: this one is only informative
            m["bandwidth_hz"] = None
        m.setdefault("hf_tilt_db", None)
        speech = detect_speech(x, rate, clip.segments, spectrogram=spec)
        m["speech_persistence"] = speech.persistence
        m["speech_modulation_db"] = speech.modulation_db
        m["speech_bass_db"] = speech.bass_db
        m["speech_voiced_share"] = speech.voiced_share
        m["music_probability"] = speech.music_probability
        if speech.music_like and speech.music_probability is not None:
            learned = (
                f"scores {speech.music_probability:.3f} as music on a learned speech/music "
                f"check (music from {MUSIC_THRESHOLD:.3f})"
            )
            if speech.voice_like:  # two checks hear music: the voice-like doubt is settled
                return "not_speech", f"{speech.why}; it stops like a voice, but {learned}", False
            return "music_like", learned, False
        silent = speech.reason == "silent"
        if speech.is_speech or silent:  # silence: the VAD ratio judges
            return "speech", speech.why, silent
        return ("doubtful" if speech.voice_like else "not_speech"), speech.why, False

    def _judge_signal(
        self, clip: Clip, *, sound: Sound, why: str, sound_only: bool = False
    ) -> None:
        """Findings ``no_speech`` (a warning when doubtful), ``hum`` and ``band_limited``.

        ``sound_only``: ``no_speech`` alone, as a warning (a take trim already failed: a tight
        cut of a few seconds has no pause to judge noise or hum against, and the error is
        already there).
        """
        from stages.analysis.speech import MAX_PERSISTENCE, MIN_MODULATION_S

        t, m = self.thresholds, clip.metrics
        quality = Severity(t.quality_severity)
        target = self._target
        if sound == "doubtful" and "no_speech" not in clip.codes():
            steady = (
                "the detected sound holds steady notes like music (steadiness "
                f"{m['speech_persistence']:.2f}; speech usually stays under {MAX_PERSISTENCE:.2f})"
            )
            if m.get("speech_modulation_db") is None:  # too little sound to hear a rhythm
                doubt = (
                    f"{steady}, but with under {MIN_MODULATION_S:g} s of sound it is too short "
                    "to tell a held vowel from a note; listen to it: a one-word prompt sounds "
                    "like this"
                )
            else:
                doubt = (
                    f"{steady}, yet it stops between syllables like one voice; listen to it: "
                    "slow, high or level-tone voices (Mandarin, Cantonese) sound like this"
                )
            self.warn(
                clip,
                "no_speech",
                f"{doubt} — if it is the right spoken take, ignore this warning",
            )
        if sound == "music_like" and "no_speech" not in clip.codes():
            self.warn(
                clip,
                "no_speech",
                f"the voice checks find speech, but the sound {why}; listen to it: music or "
                "a jingle will not pass as a voice take — if it is the right spoken take, "
                "ignore this warning",
            )
        if sound == "not_speech":
            if "no_speech" not in clip.codes():
                clip.report(
                    "no_speech",
                    # The take has failed already; a few seconds say less than a whole take.
                    Severity.WARNING if sound_only else Severity.ERROR,
                    self.name,
                    f"the detected sound {why}; check the file is the right take and holds speech",
                )
            m["speech_ratio"] = 0.0
        if sound_only:
            return

        hum_dbfs, speech_dbfs = m.get("hum_dbfs"), m.get("speech_level_dbfs")
        if m.get("hum_hz") is not None and hum_dbfs is not None:
            relative = hum_dbfs - speech_dbfs if speech_dbfs is not None else math.inf
            if relative > t.max_hum_db:
                clip.report(
                    "hum",
                    quality,
                    self.name,
                    f"{m['hum_hz']:g} Hz mains hum at {relative:.1f} dB relative to the speech "
                    f"(limit {t.max_hum_db:g} dB{target}); move away from power cables and "
                    "transformers, use a balanced cable or a ground-lift, or re-record",
                )

        bandwidth = m.get("bandwidth_hz")
        limit = min(t.min_bandwidth_hz, 0.8 * clip.rate / 2.0)
        if bandwidth is not None and bandwidth < limit:
            source_rate = clip.info.sample_rate if clip.info is not None else None
            if source_rate is not None and source_rate / 2.0 < limit:
                cause = (
                    f"the source is sampled at {source_rate} Hz, which holds nothing above "
                    f"{source_rate / 2000:g} kHz; use the original wideband recording, not a "
                    "phone-call or 8 kHz copy"
                )
            elif bandwidth <= TELEPHONE_TOP_HZ:
                cause = (
                    "it looks upsampled from telephone audio; use the original wideband "
                    "recording, not a phone-call or 8 kHz copy"
                )
            else:
                cause = (
                    "the audio was low-pass filtered or compressed at some point; use the "
                    "original recording"
                )
            needs = self.profile or "this profile"
            clip.report(
                "band_limited",
                quality,
                self.name,
                f"audio content ends at {bandwidth / 1000:.1f} kHz; {needs} needs content up "
                f"to at least {limit / 1000:.1f} kHz: {cause}",
            )
        elif limit > 4000.0:  # the output carries more than telephone audio does
            self._judge_tilt(clip, m.get("hf_tilt_db"), quality, target)

    def _judge_tilt(self, clip: Clip, tilt: float | None, quality: Severity, target: str) -> None:
        """``band_limited`` from the 5-7 kHz tilt: a low-pass filter leaves no edge to find."""
        from stages.analysis.bandwidth import (
            FILTERED_TILT_DB,
            MUFFLED_TILT_DB,
            VOICE_DARKEST_TILT_DB,
        )

        if tilt is None or tilt >= MUFFLED_TILT_DB:
            return
        measured = (
            f"5-7 kHz lies {-tilt:.0f} dB under 2-3.5 kHz (voices measured: at most "
            f"{-VOICE_DARKEST_TILT_DB:g} dB under)"
        )
        if tilt < FILTERED_TILT_DB:
            clip.report(
                "band_limited",
                quality,
                self.name,
                f"{measured}: the audio was low-pass filtered or passed a narrow channel"
                f"{target}; use the original wideband recording",
            )
        else:
            self.warn(
                clip,
                "band_limited",
                f"{measured}: it sounds muffled, as if low-pass filtered or recorded through "
                "a dull microphone; listen to it, and use the original wideband recording "
                "if there is one",
            )

    @staticmethod
    def _unpaused(clip: Clip) -> str:
        """Why an SNR measured without a pause may read low, and what to do about it."""
        m, segments, duration = clip.metrics, clip.segments, clip.duration_s
        before = segments[0][0] if segments else 0.0
        after = max(0.0, duration - segments[-1][1]) if segments else 0.0
        room = (
            f"only {before:.1f} s on each side of the speech"
            if abs(before - after) < 0.05
            else f"only {before:.1f} s before and {after:.1f} s after the speech"
        )
        trimmed = (m.get("trimmed_start_s") or 0.0) + (m.get("trimmed_end_s") or 0.0) > 0.05
        if trimmed:
            return (
                f"(measured without a pause: the take as trimmed keeps {room}, so the estimate "
                "may read low — clean takes this tight read as low as 11 dB); listen, and "
                "re-record in a quieter room if the noise is audible"
            )
        return (
            f"(measured without a pause: the recording has {room} and no pause in it, so the "
            "estimate may read low — clean takes this tight read as low as 11 dB); listen, "
            "and re-record in a quieter room if the noise is audible, keeping about half a "
            "second of room tone before and after the speech"
        )

    def _judge(self, clip: Clip, *, dc_removed: bool, silent: bool = False) -> None:
        t, m = self.thresholds, clip.metrics
        quality = Severity(t.quality_severity)
        target = self._target

        ratio = m["speech_ratio"]
        if not clip.segments or ratio < NO_SPEECH_RATIO:
            peak = m.get("source_peak_dbfs", m.get("peak_dbfs"))
            audible = peak is not None and math.isfinite(peak) and peak >= SILENT_PEAK_DBFS
            if silent and audible:  # sound, but too little of it to judge as speech
                length = clip.duration_s
                held = f"{length * 1000:.0f} ms" if length < 0.1 else f"{length:.2f} s"
                found = f"the clip holds only {held} of sound, too little to hold a word"
            elif silent or (not clip.segments and (peak is None or peak < SILENT_PEAK_DBFS)):
                loudest = (
                    ""
                    if peak is None
                    else " (every sample is zero)"
                    if not math.isfinite(peak)
                    else f" (its loudest sample is {peak:.0f} dBFS)"
                )
                found = f"the clip is silent{loudest}, so no speech was found"
            else:
                found = (
                    f"no speech found (speech in {ratio:.1%} of the clip, need at least "
                    f"{NO_SPEECH_RATIO:.1%}); it may hold music, tones or noise"
                )
            clip.report(
                "no_speech",
                Severity.ERROR,
                self.name,
                f"{found}; check the file is the right take",
            )
        elif ratio < t.min_speech_ratio:
            self.warn(
                clip,
                "low_speech_ratio",
                f"speech fills {ratio:.1%} of the clip, below {t.min_speech_ratio:.1%}{target}; "
                "remove long pauses or background sections, or record a denser take",
            )

        snr = m.get("snr_db")
        if snr is not None and math.isfinite(snr) and snr < t.min_snr_db:
            measured = f"SNR {snr:.1f} dB is below {t.min_snr_db:g} dB{target}"
            if m.get("snr_from_pauses", True) or snr < UNPAUSED_TRUSTED_SNR_DB:
                clip.report(
                    "low_snr",
                    quality,
                    self.name,
                    f"{measured}; re-record in a quieter room or closer to the microphone",
                )
            else:
                self.warn(clip, "low_snr", f"{measured} {self._unpaused(clip)}")

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
                f"{t.max_dc_offset:.3f}); "
                + ("normalize removed it, but " if dc_removed else "")
                + "it hints at a faulty audio interface or cable — check the recording chain",
            )
