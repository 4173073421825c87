"""`Encode`: write the vendor-ready file atomically, then read it back and check it.

The file is written under a temporary name in the output folder
(`pipeline.tempnames.temporary_path`, which the runner sweeps away after a killed run) and
renamed over the final name: no
partial file ever carries the final name. The written file is then checked with the same
rules `validate` predicted with (`stages.validate.verify_file`).

When that check finds an error the file is kept for inspection but moved out of the clip's
``outputs["audio"]`` into ``outputs["rejected"]``, so results report no output for the clip and
nothing downstream uploads it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
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
from stages.normalize import mono
from stages.validate import encoding_rate, verify_file

__all__ = ["Encode", "output_stem", "safe_stem", "tagged_stem", "wav_pcm16_bytes"]

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
    """

    name: ClassVar[str] = "encode"

    out_dir: str
    profile: Profile
    format: str | None = None

    def __post_init__(self) -> None:
        self._fmt: OutputFormat = output_format(self.format or self.profile.output.name)

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
        if "://" in self.out_dir:
            # An fsspec URL: write and check a local file, then upload it (see pipeline.remote).
            with tempfile.TemporaryDirectory(prefix="voiceprep-out-") as folder:
                return self._encode(clip, samples, rate, folder, stem, upload_to=self.out_dir)
        return self._encode(clip, samples, rate, self.out_dir, stem)

    def _encode(
        self,
        clip: Clip,
        samples: np.ndarray,
        rate: int,
        folder: str,
        stem: str,
        upload_to: str | None = None,
    ) -> Clip:
        fmt = self._fmt
        path = os.path.join(folder, stem + fmt.extension)
        try:
            write_atomically(path, samples, rate, fmt)
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


def write_atomically(path: str, samples: np.ndarray, rate: int, fmt: OutputFormat) -> None:
    """Write ``samples`` to ``path`` so that ``path`` is either absent, old, or complete.

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
        if fmt.name == "wav-pcm16" and samples.ndim == 1:
            with open(tmp, "wb") as fh:
                fh.write(wav_pcm16_bytes(samples, rate))
        elif fmt.name in _G711_FORMATS and samples.ndim == 1:
            with open(tmp, "wb") as fh:
                fh.write(wav_g711_bytes(samples, rate, codec=fmt.sf_subtype))
        else:
            import soundfile as sf

            # A path, not a Python file object: libsndfile then writes directly, without a
            # callback per block.
            sf.write(tmp, samples, rate, format=fmt.sf_format, subtype=fmt.sf_subtype)
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
