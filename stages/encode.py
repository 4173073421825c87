"""`Encode`: write the vendor-ready file atomically, then read it back and check it.

The file is written under a temporary name in the output folder
(`pipeline.tempnames.temporary_path`, which the runner sweeps away after a killed run) and
renamed over the final name: no
partial file ever carries the final name. The written file is then checked with the same
rules `validate` predicted with (`stages.validate.verify_file`).

When that check finds an error the file is kept for inspection but moved out of the clip's
``outputs["audio"]`` into ``outputs["rejected"]``, so results report no output for the clip and
nothing downstream uploads it.

A lossy codec (GSM 6.10, MP3, G.711) or a change of rate moves the level `normalize` set:
GSM's decoded peaks reach full scale, MP3's pass the ceiling, and a click that held the gain
back at 24 kHz is gone at 8 kHz. Those encodes are decoded in memory and measured; when the
decoded file misses the target (or passes the ceiling), the gain is corrected and the file
encoded again, at most `MAX_EXTRA_PASSES` times (`level_passes`). GSM's decoded peak jumps
with any change and MP3's passes the ceiling, so such a file still short of both is limited
codec frame by codec frame (`limited_passes`): cut only where it decodes over the ceiling.
16-bit PCM at the clip's own rate is what `normalize` measured, and is written without that
round trip.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pipeline.clip import Clip, Severity
from pipeline.formats import OutputFormat, output_format
from pipeline.profiles import Profile
from pipeline.stage import Stage
from pipeline.tempnames import temporary_path
from stages.loudness import integrated_loudness, peak_dbfs
from stages.normalize import AIM_LU, TARGET_TOLERANCE_LU, mono
from stages.validate import encoding_rate, verify_file

__all__ = ["Encode", "output_stem", "safe_stem", "tagged_stem"]

FALLBACK_STEM = "clip"
# Room for the extension and the temporary-name decoration within a 255-byte file name.
MAX_STEM_BYTES = 200
# Never in a stem, whatever the profile allows: separators, what Windows forbids (and, below,
# whitespace and control/format characters).
_ALWAYS_FORBIDDEN = frozenset('/\\<>:"|?*\x00')
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_TRIM_START = "._-"
_TRIM_END = "._"
# The largest float that converts to a 16-bit code without wrapping: [-1, 1) in the codec.
_MAX_SAMPLE = np.float32(32767 / 32768)
MAX_EXTRA_PASSES = 2  # encodes after the first, to correct the level the codec moved
PEAK_AIM_DB = 0.04  # a correction puts the decoded peak this far under the ceiling ...
CEILING_WINDOW_DB = 0.08  # ... and a decoded peak this close under it sits at the ceiling
_MIN_STEP_DB = 0.01  # a correction smaller than this is not worth another encode
# The codec-aware limiter (`limited_passes`), for codecs whose decoded peak the whole-file
# gain cannot place (GSM's jumps by up to ±0.5 dB between gains 0.1 dB apart, and any change
# to a frame redraws every later one; MP3's passes the ceiling): the span, in samples, each
# cut covers: GSM's frame (20 ms at 8 kHz), an MP3 granule.
_LIMITED_FRAMES = {"gsm": 160, "mp3": 576}
LIMIT_OVER_DB = 0.6  # the whole-file gain aims the decoded peaks this far over the ceiling ...
LIMIT_MARGIN_DB = 0.1  # ... and a frame decoded over it is cut by its overshoot plus this, times
# the passes so far (a frame that keeps coming back over is cut deeper each time)
MAX_LIMIT_PASSES = 16  # encodes of the limiter, at most (~50 ms each per 20 s of audio)
LIMIT_RAMP_S = 0.005  # a cut fades in and out over this long


def safe_stem(source: str, profile: Profile) -> str:
    """An output file stem derived from ``source`` that satisfies ``profile``'s filename rule.

    Takes the last path component (of a path or URL) without its extension, normalises
    Unicode (NFKC), replaces characters the rule forbids with ``_`` — or drops them when
    ``_`` is forbidden too — collapses repeats, strips leading dots and dashes, and truncates
    to the rule's length. Never empty (falls back to ``"clip"``), never a path.

    >>> from pipeline.profiles import load_profile
    >>> safe_stem("../in/Hello world (take 2).wav", load_profile("aliyun-voice"))
    'Hello_world_take_2'
    """
    base = source
    if "://" in base:
        base = re.split(r"[?#]", base, maxsplit=1)[0]
    base = re.split(r"[/\\]", base)[-1]
    base = _EXTENSION.sub("", base)
    return sanitize_stem(base, profile)


def sanitize_stem(stem: str, profile: Profile) -> str:
    """``stem`` made safe for ``profile`` (see `safe_stem`); a safe stem is returned unchanged."""
    rule = profile.rules.get("filename")
    pattern = re.compile(rule.pattern) if rule is not None and rule.pattern else None
    underscore_ok = pattern is None or pattern.fullmatch("_") is not None

    def allowed(ch: str) -> bool:
        if ch in _ALWAYS_FORBIDDEN or unicodedata.category(ch)[0] in "CZ" or ch.isspace():
            return False
        return pattern is None or pattern.fullmatch(ch) is not None

    text = unicodedata.normalize("NFKC", stem)
    # Per character: stems are short, and the rule is a character class, not a sample loop.
    chars = [ch if allowed(ch) else ("_" if underscore_ok else "") for ch in text]
    text = "".join(chars)
    text = re.sub(r"_{2,}", "_", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = text.lstrip(_TRIM_START)
    limit = int(rule.maximum) if rule is not None and rule.maximum is not None else len(text)
    text = _truncate_bytes(text[:limit], MAX_STEM_BYTES).rstrip(_TRIM_END)
    if not text or text in {".", ".."} or not profile.filename_ok(text):
        return FALLBACK_STEM
    return text


def tagged_stem(stem: str, source: str, profile: Profile) -> str:
    """``stem`` with a short hash of ``source`` appended, kept whole within the length limits.

    For two inputs whose safe stems clash: the stem is shortened (by characters and by bytes)
    to make room, so the tag that tells them apart is never cut.
    """
    tag = hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=3).hexdigest()
    rule = profile.rules.get("filename")
    max_chars = int(rule.maximum) if rule is not None and rule.maximum is not None else None
    room = len(tag) + 1
    base = stem if max_chars is None else stem[: max(0, max_chars - room)]
    base = _truncate_bytes(base, MAX_STEM_BYTES - room).rstrip(_TRIM_END)
    return sanitize_stem(f"{base}_{tag}" if base else tag, profile)


def _truncate_bytes(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def output_stem(clip: Clip, profile: Profile) -> str:
    """The stem `encode` writes ``clip`` under: its planned ``name``, else one from its source."""
    if clip.name:
        return sanitize_stem(clip.name, profile)
    return safe_stem(clip.source, profile)


@dataclass
class Encode(Stage):
    """Write the clip in the profile's output format (or ``format``) into ``out_dir``.

    G.711 and GSM are resampled to 8 kHz first (finding ``resampled``, info). Samples are
    clipped to [-1, 1) so nothing wraps. Outputs: ``outputs["audio"]``. Metrics:
    ``output_bytes``, ``output_rate``, ``output_duration_s``. Findings: ``encode_failed``
    (error) when writing fails, and whatever the read-back check finds (codes of
    `stages.validate.check_properties`, ``wav_header``, ``unreadable_output``).

    Lossy or resampled encodes are levelled on what they decode to (`level_passes`), for
    ``target_lufs`` under ``ceiling_dbfs`` (``None``: the profile's): metrics ``lufs`` and
    ``peak_dbfs`` then describe the decoded file, ``encode_gain_db`` the correction (and
    ``encode_limiting_db``, ≤ 0, the deepest cut of `limited_passes`, when it cut); findings
    ``level_corrected`` (info), ``output_over_ceiling`` (warning, when no pass got under the
    ceiling), and ``loudness_ceiling`` as the decoded file has it (added or dropped).
    """

    name: ClassVar[str] = "encode"

    out_dir: str
    profile: Profile
    format: str | None = None
    target_lufs: float | None = None
    ceiling_dbfs: float | None = None

    def __post_init__(self) -> None:
        self._fmt: OutputFormat = output_format(self.format or self.profile.output.name)

    @property
    def levels(self) -> tuple[float, float]:
        """``(target_lufs, ceiling_dbfs)`` the decoded output is levelled for."""
        loudness = self.profile.loudness
        target = loudness.target_lufs if self.target_lufs is None else self.target_lufs
        ceiling = loudness.ceiling_dbfs if self.ceiling_dbfs is None else self.ceiling_dbfs
        return target, ceiling

    def process(self, clip: Clip) -> Clip:
        if clip.samples is None or clip.samples.size == 0 or clip.rate <= 0:
            return self.error(
                clip, "encode_failed", "there is no audio to write; run decode and trim first"
            )
        fmt = self._fmt
        samples = mono(clip.samples)
        rate = encoding_rate(fmt, clip.rate)
        if rate != clip.rate:
            import soxr

            samples = soxr.resample(samples, clip.rate, rate, quality="HQ")
            self.info(
                clip,
                "resampled",
                f"{fmt.name} is {rate} Hz only; resampled from {clip.rate} Hz before encoding",
            )
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0).astype(np.float32)
        np.clip(samples, -1.0, _MAX_SAMPLE, out=samples)

        stem = output_stem(clip, self.profile)
        checked = fmt.codec != "pcm_16" or rate != clip.rate  # lossy, or not what was measured
        if "://" in self.out_dir:
            # An fsspec URL: write and check a local file, then upload it (see pipeline.remote).
            with tempfile.TemporaryDirectory(prefix="voiceprep-out-") as folder:
                return self._encode(
                    clip, samples, rate, folder, stem, checked=checked, upload_to=self.out_dir
                )
        return self._encode(clip, samples, rate, self.out_dir, stem, checked=checked)

    def _encode(
        self,
        clip: Clip,
        samples: np.ndarray,
        rate: int,
        folder: str,
        stem: str,
        *,
        checked: bool,
        upload_to: str | None = None,
    ) -> Clip:
        fmt = self._fmt
        path = os.path.join(folder, stem + fmt.extension)
        passes: list[LevelPass] = []
        written: LevelPass | None = None
        try:
            # Not only `write_bytes_atomically`'s: the folder is made even when encoding fails.
            os.makedirs(folder, exist_ok=True)
            if checked:
                passes = level_passes(samples, rate, fmt, *self.levels)
                written = best_pass(passes, *self.levels)
                data = written.data
            else:
                data = encoded_bytes(samples, rate, fmt)
            write_bytes_atomically(path, data)
        except IsADirectoryError:
            return self.error(
                clip,
                "encode_failed",
                f"could not write {path}: a folder of that name is in the way; move or rename "
                "it, then run again",
            )
        except Exception as exc:
            return self.error(
                clip,
                "encode_failed",
                f"could not write {path} ({type(exc).__name__}: {exc}); check free disk space "
                f"and write permission on {self.out_dir}, then run again",
            )
        clip.outputs["audio"] = path
        clip.metrics["output_bytes"] = os.path.getsize(path)
        clip.metrics["output_rate"] = rate
        clip.metrics["output_duration_s"] = samples.shape[0] / rate
        if written is not None:
            self._report_level(clip, passes, written, rate)

        findings = verify_file(path, self.profile, stage=self.name, chosen_format=self.format)
        if upload_to is not None:
            from pipeline.remote import upload

            url = upload_to.rstrip("/") + "/" + os.path.basename(path)
            try:
                upload(path, url)
            except Exception as exc:
                del clip.outputs["audio"]
                return self.error(
                    clip,
                    "encode_failed",
                    f"wrote the output but could not upload it to {url} ({type(exc).__name__}: "
                    f"{exc}); check the URL, the credentials and the network, then run again",
                )
            clip.outputs["audio"] = url
        clip.findings.extend(findings)
        if any(f.severity is Severity.ERROR for f in findings):
            clip.outputs["rejected"] = clip.outputs.pop("audio")
            self.error(
                clip,
                "output_rejected",
                f"{path} was written but breaks the profile (see the findings above); it is kept "
                "for inspection only — do not upload it",
            )
        return clip

    def _report_level(
        self, clip: Clip, passes: list[LevelPass], best: LevelPass, rate: int
    ) -> None:
        """Metrics and findings of ``best``, the pass written: the level of the file decoded."""
        target, ceiling = self.levels
        first = passes[0]
        clip.metrics["lufs"] = best.lufs
        clip.metrics["peak_dbfs"] = best.peak_dbfs
        clip.metrics["encode_gain_db"] = best.gain_db
        if best.limiting_db < 0.0:
            clip.metrics["encode_limiting_db"] = best.limiting_db
        what = self._fmt.name if rate == clip.rate else f"{self._fmt.name} at {rate} Hz"
        if best.gain_db != 0.0 or best.limiting_db < 0.0:
            limited = (
                f" and cut up to {-best.limiting_db:.2f} dB where it decoded over the ceiling"
                if best.limiting_db < 0.0
                else ""
            )
            self.info(
                clip,
                "level_corrected",
                f"decoded, the {what} file read {first.lufs:.1f} LUFS with peaks at "
                f"{first.peak_dbfs:.2f} dBFS; encoded again {best.gain_db:+.2f} dB{limited}, it "
                f"reads {best.lufs:.1f} LUFS, peak {best.peak_dbfs:.2f} dBFS (target {target:g} "
                f"LUFS, ceiling {ceiling:g} dBFS); nothing to do",
            )
        if best.peak_dbfs > ceiling:
            self.warn(
                clip,
                "output_over_ceiling",
                f"decoded, the {what} file peaks at {best.peak_dbfs:.2f} dBFS, over the "
                f"{ceiling:g} dBFS ceiling, after {len(passes)} encodes; lower --ceiling-dbfs by "
                f"{best.peak_dbfs - ceiling + 0.5:.1f} dB, or choose --format wav-pcm16",
            )
        short = target - best.lufs if math.isfinite(best.lufs) else 0.0
        held = [f for f in clip.findings if f.code == "loudness_ceiling"]
        if short <= TARGET_TOLERANCE_LU and held:
            clip.findings = [f for f in clip.findings if f.code != "loudness_ceiling"]
        elif short > TARGET_TOLERANCE_LU and not held:
            self.warn(
                clip,
                "loudness_ceiling",
                f"the {what} file reads {best.lufs:.1f} LUFS, {short:.1f} dB under the "
                f"{target:g} LUFS target, because its decoded peaks touch the {ceiling:g} dBFS "
                "ceiling; lower --target-lufs, or choose --format wav-pcm16",
            )


@dataclass(frozen=True)
class LevelPass:
    """One encode of `level_passes`: the gain it was made with, its bytes, how it decodes."""

    gain_db: float
    data: bytes
    lufs: float
    peak_dbfs: float
    limiting_db: float = 0.0  # the deepest local cut of `limited_passes` (≤ 0 dB)


def level_passes(
    samples: np.ndarray, rate: int, fmt: OutputFormat, target_lufs: float, ceiling_dbfs: float
) -> list[LevelPass]:
    """Encode, decode and measure ``samples``; correct the gain and again, while it misses.

    Each correction is the smaller of "to the target" and "peak `PEAK_AIM_DB` under the
    ceiling", measured on the decoded file, so a codec that overshoots its peaks gets that
    much headroom. A codec's decoded peak jitters with the gain (GSM's by up to ±0.5 dB
    between gains 0.1 dB apart), so the peak is predicted from the mean overshoot of every
    pass so far. Stops at a pass within `AIM_LU` (normalize's) of the target or at the
    ceiling (and not over it), or after `MAX_EXTRA_PASSES` corrections. For a codec in
    `_LIMITED_FRAMES` (GSM, MP3) whose best pass still misses, the `limited_passes` follow. Choose
    with `best_pass`.
    """
    passes: list[LevelPass] = []
    gain_db = 0.0
    while True:
        scaled = samples
        if gain_db != 0.0:
            scaled = samples * np.float32(10.0 ** (gain_db / 20.0))
            np.clip(scaled, -1.0, _MAX_SAMPLE, out=scaled)
        passes.append(_encode_pass(scaled, rate, fmt, gain_db)[0])
        step = _correction_db(passes, target_lufs, ceiling_dbfs)
        if step is None or len(passes) > MAX_EXTRA_PASSES:
            break
        gain_db += step
    frame = _LIMITED_FRAMES.get(fmt.name)
    best = best_pass(passes, target_lufs, ceiling_dbfs)
    if frame is not None and _needs_limiting(best, target_lufs, ceiling_dbfs):
        passes += limited_passes(samples, rate, fmt, target_lufs, ceiling_dbfs, passes, frame)
    return passes


def _encode_pass(
    scaled: np.ndarray, rate: int, fmt: OutputFormat, gain_db: float, limiting_db: float = 0.0
) -> tuple[LevelPass, np.ndarray]:
    """Encode ``scaled`` (made with ``gain_db``), decode it, and measure what it decodes to:
    the pass and the decoded samples."""
    data = encoded_bytes(scaled, rate, fmt)
    decoded = decoded_samples(data, rate, fmt)
    level = LevelPass(
        gain_db, data, integrated_loudness(decoded, rate), peak_dbfs(decoded), limiting_db
    )
    return level, decoded


def _mean_overshoot(passes: list[LevelPass]) -> float:
    """The codec's typical overshoot: decoded peak minus gain, averaged over ``passes``
    (each with a finite peak)."""
    return sum(p.peak_dbfs - p.gain_db for p in passes) / len(passes)


def _needs_limiting(best: LevelPass, target_lufs: float, ceiling_dbfs: float) -> bool:
    """Whether ``best`` is over the ceiling, or short of the target and under the ceiling."""
    if not math.isfinite(best.lufs) or not math.isfinite(best.peak_dbfs):
        return best.peak_dbfs > ceiling_dbfs
    return best.peak_dbfs > ceiling_dbfs or _misses(best, target_lufs, ceiling_dbfs) > 0.0


def limited_passes(
    samples: np.ndarray,
    rate: int,
    fmt: OutputFormat,
    target_lufs: float,
    ceiling_dbfs: float,
    passes: list[LevelPass],
    frame: int,
) -> list[LevelPass]:
    """Encodes that reach the ceiling by cutting only the codec frames that decode over it.

    For a codec whose decoded peak jumps with the gain (GSM) or passes the ceiling (MP3), no
    whole-file gain puts it at the ceiling. The gain is set so the decoded peaks sit
    `LIMIT_OVER_DB` over the ceiling (or to the target, if lower, from the mean overshoot
    and loudness of ``passes``). Then,
    per ``frame`` of the input, a cut is kept (faded in and out over `LIMIT_RAMP_S` outside
    the frame): a frame decoded over the ceiling is cut by its overshoot plus
    `LIMIT_MARGIN_DB` times the passes so far, and when nothing decodes over, the whole gain is
    raised (cuts kept) to put the highest peak back just over. Each change redraws every later
    frame, so it repeats until the decoded peak sits under the ceiling by at most
    `CEILING_WINDOW_DB` (or the target is met), or after `MAX_LIMIT_PASSES` encodes. Choose
    with `best_pass`; a pass's ``limiting_db`` is its deepest cut.
    """
    finite = [p for p in passes if math.isfinite(p.peak_dbfs) and math.isfinite(p.lufs)]
    if not finite:
        return []
    overshoot = _mean_overshoot(finite)
    loudness = sum(p.lufs - p.gain_db for p in finite) / len(finite)
    most_db = target_lufs - loudness  # the gain that reaches the target
    gain_db = min(ceiling_dbfs + LIMIT_OVER_DB - overshoot, most_db)
    base = samples * np.float32(10.0 ** (gain_db / 20.0))
    n = samples.shape[0]
    cuts_db = np.zeros(-(-n // frame), dtype=np.float64)  # ≤ 0 dB per frame
    out: list[LevelPass] = []
    for _ in range(MAX_LIMIT_PASSES):
        scaled = base * _smooth_gain(cuts_db, frame, n, max(1, round(LIMIT_RAMP_S * rate)))
        np.clip(scaled, -1.0, _MAX_SAMPLE, out=scaled)
        cut_db = float(cuts_db.min()) if cuts_db.size else 0.0
        done, decoded = _encode_pass(scaled, rate, fmt, gain_db, cut_db)
        out.append(done)
        if done.peak_dbfs <= ceiling_dbfs and (
            ceiling_dbfs - done.peak_dbfs <= CEILING_WINDOW_DB
            or _misses(done, target_lufs, ceiling_dbfs) == 0.0
        ):
            break
        if done.peak_dbfs <= ceiling_dbfs:  # all under, too far: raise the whole, cuts kept
            raise_db = min(ceiling_dbfs + LIMIT_MARGIN_DB - done.peak_dbfs, most_db - gain_db)
            if raise_db < _MIN_STEP_DB:
                break
            gain_db += raise_db
            base = samples * np.float32(10.0 ** (gain_db / 20.0))
            continue
        peaks = _frame_peaks_db(decoded, frame, cuts_db.shape[0])
        over = peaks > ceiling_dbfs
        cuts_db[over] -= peaks[over] - ceiling_dbfs + LIMIT_MARGIN_DB * len(out)
    return out


def _frame_peaks_db(decoded: np.ndarray, frame: int, count: int) -> np.ndarray:
    """The decoded peak (dBFS) of each of ``count`` frames of ``frame`` samples (the decoded
    samples cut or padded with silence to fit)."""
    n = min(decoded.shape[0], count * frame)
    padded = np.zeros(count * frame, dtype=np.float64)
    padded[:n] = np.abs(decoded[:n])
    peaks = padded.reshape(-1, frame).max(axis=1)
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(peaks)


def _smooth_gain(cuts_db: np.ndarray, frame: int, n: int, ramp: int) -> np.ndarray:
    """Per-sample gain of per-frame ``cuts_db``: each frame's cut whole over the frame, faded
    in and out over ``ramp`` samples outside it (a running minimum, then a running mean)."""
    steps = np.repeat(10.0 ** (cuts_db / 20.0), frame)[:n]
    edged = np.pad(steps, ramp, mode="edge")
    lowest = np.lib.stride_tricks.sliding_window_view(edged, 2 * ramp + 1).min(axis=1)
    sums = np.concatenate(([0.0], np.cumsum(np.pad(lowest, ramp, mode="edge"))))
    width = 2 * ramp + 1
    return ((sums[width:] - sums[:-width]) / width).astype(np.float32)


def _correction_db(
    passes: list[LevelPass], target_lufs: float, ceiling_dbfs: float
) -> float | None:
    """The gain change the last pass needs, or ``None`` when it is as good as another gets."""
    done = passes[-1]
    over = done.peak_dbfs > ceiling_dbfs
    if not math.isfinite(done.peak_dbfs):
        return None
    finite = [p for p in passes if math.isfinite(p.peak_dbfs)]
    to_ceiling = ceiling_dbfs - PEAK_AIM_DB - _mean_overshoot(finite) - done.gain_db
    if not math.isfinite(done.lufs):  # silence under the gate: only keep its peak down
        return to_ceiling if over else None
    if _misses(done, target_lufs, ceiling_dbfs) == 0.0 and not over:
        return None
    step = min(target_lufs - done.lufs, to_ceiling)
    return step if abs(step) >= _MIN_STEP_DB else None


def _misses(done: LevelPass, target_lufs: float, ceiling_dbfs: float) -> float:
    """How far (dB) ``done`` is from its aim: the target, or a peak at the ceiling (0: there)."""
    if not math.isfinite(done.lufs) or abs(done.lufs - target_lufs) <= AIM_LU:
        return 0.0
    under_ceiling = ceiling_dbfs - done.peak_dbfs
    if done.lufs < target_lufs and 0.0 <= under_ceiling <= CEILING_WINDOW_DB:
        return 0.0
    return min(abs(done.lufs - target_lufs) - AIM_LU, abs(under_ceiling))


def best_pass(passes: list[LevelPass], target_lufs: float, ceiling_dbfs: float) -> LevelPass:
    """The pass to write: none over the ceiling if one is under, then the closest."""

    def rank(i: int) -> tuple[float, float, int]:
        over = max(0.0, passes[i].peak_dbfs - ceiling_dbfs)
        return over, _misses(passes[i], target_lufs, ceiling_dbfs), i

    return passes[min(range(len(passes)), key=rank)]


def encoded_bytes(samples: np.ndarray, rate: int, fmt: OutputFormat) -> bytes:
    """The whole file ``fmt`` makes of ``samples`` (float in [-1, 1)), in memory."""
    if fmt.name == "wav-pcm16" and samples.ndim == 1:
        return wav_pcm16_bytes(samples, rate)
    if fmt.name in _G711_FORMATS and samples.ndim == 1:
        return wav_g711_bytes(samples, rate, codec=fmt.sf_subtype)
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt.sf_format, subtype=fmt.sf_subtype)
    return buffer.getvalue()


def decoded_samples(data: bytes, rate: int, fmt: OutputFormat) -> np.ndarray:
    """Mono float32 samples of a file `encoded_bytes` made, decoded as any reader would.

    Raw GSM has no header: it is read as 8 kHz mono GSM 6.10 (``rate``), as players do.
    """
    import soundfile as sf

    raw: dict[str, object] = {}
    if fmt.sf_format == "RAW":
        raw = {"format": "RAW", "subtype": fmt.sf_subtype, "samplerate": rate, "channels": 1}
    decoded, _ = sf.read(io.BytesIO(data), dtype="float32", **raw)
    return mono(decoded)


def write_atomically(path: str, samples: np.ndarray, rate: int, fmt: OutputFormat) -> None:
    """Write ``samples`` to ``path`` in ``fmt`` (see `write_bytes_atomically`)."""
    write_bytes_atomically(path, encoded_bytes(samples, rate, fmt))


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old, or complete.

    Writes a temporary file beside it and renames it; the temporary file is removed when
    anything fails (including KeyboardInterrupt), so no reader ever sees a half-written
    output. Neither the file nor the folder is fsynced (that was ~15–20 % of a run's wall
    time): an output lost or cut short by a power failure is caught on resume, where the
    journal redoes any finished clip whose output is missing or has the wrong size.
    """
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_G711_FORMATS = frozenset({"wav-alaw", "wav-ulaw"})


def wav_g711_bytes(samples: np.ndarray, rate: int, *, codec: str) -> bytes:
    """A mono G.711 WAV file (``codec`` "ALAW" or "ULAW") laid out like Huawei's own sample.

    Huawei's request sample is RIFF/WAVE with an 18-byte ``fmt `` chunk (cbSize 0) followed
    directly by ``data``; libsndfile adds a ``fact`` chunk in between, which a strict parser
    on the vendor side may not expect. The samples are still companded by libsndfile.
    """
    import soundfile as sf

    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples of shape (frames,), got {x.shape}")
    tag = {"ALAW": 6, "ULAW": 7}[codec]  # WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW
    buffer = io.BytesIO()
    sf.write(buffer, x, rate, format="RAW", subtype=codec)
    data = buffer.getvalue()
    fmt_chunk = struct.pack("<HHIIHHH", tag, 1, rate, rate, 1, 8, 0)  # mono, 8-bit, cbSize 0
    return _riff_wave(fmt_chunk, data)


def _riff_wave(fmt_chunk: bytes, data: bytes) -> bytes:
    """RIFF/WAVE bytes of one ``fmt `` chunk and one ``data`` chunk (padded to even)."""
    pad = b"\0" * (len(data) & 1)
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", 4 + 8 + len(fmt_chunk) + 8 + len(data) + len(pad)),
            b"WAVEfmt ",
            struct.pack("<I", len(fmt_chunk)),
            fmt_chunk,
            b"data",
            struct.pack("<I", len(data)),
            data,
            pad,
        )
    )


def wav_pcm16_bytes(samples: np.ndarray, rate: int) -> bytes:
    """A mono 16-bit PCM WAV file of ``samples`` (float in [-1, 1)), byte for byte as libsndfile.

    The most common output, written without libsndfile: its float-to-int16 loop and its
    8 KB writes, followed by the ``fsync`` its ``sf_close`` always does, cost ~2 ms of CPU
    per 20 s file; this is one vectorised conversion and one write. Same header (44 bytes,
    ``WAVE_FORMAT_PCM``) and same rounding (libsndfile 1.2's); a test
    compares the bytes with ``soundfile.write``'s.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples of shape (frames,), got {x.shape}")
    # libsndfile's route: round to 32 bits, then an arithmetic shift by 16 (a floor). In
    # float32 this is exact: scaling by powers of two only moves the exponent.
    scaled = np.multiply(x, np.float32(2.0**31))
    np.rint(scaled, out=scaled)
    scaled *= np.float32(2.0**-16)
    np.floor(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    data = scaled.astype("<i2").tobytes()
    fmt_chunk = struct.pack("<HHIIHH", 1, 1, rate, 2 * rate, 2, 16)  # PCM, mono, 16-bit
    return _riff_wave(fmt_chunk, data)
