"""Decode: read any supported recording into float32 samples and learn what the source was.

The format is sniffed from the first bytes of the file, never taken from its extension.
WAV, FLAC, Ogg (Vorbis/Opus), MP3, AIFF and friends go through libsndfile (the soundfile
wheel); MP4/M4A/MOV/3GP, ADTS AAC, WebM/Matroska, AMR, WMA/ASF and WavPack go through the
ffmpeg binary of ``imageio-ffmpeg``, piping f32le PCM out (no temporary files), as does a WAV,
MP3 or Ogg file that libsndfile cannot read (G.722 in WAV). Every problem with an input
becomes a finding on the clip: ``missing_input``, ``empty_input``, ``unsupported_format``,
``corrupt_input``, ``input_too_long``, ``input_too_large``, ``truncated_input`` (errors; a
truncated file is accepted with a warning when ``allow_truncated`` is set) and
``extension_mismatch``, ``nonfinite_samples`` (warnings). Memory is bounded by frames ×
channels (`stages.decode_memory`): past the budget, the mono downmix is kept.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
import stat
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import IO, ClassVar

import numpy as np

from pipeline.clip import Clip, SourceInfo
from pipeline.errors import ConfigurationError, InputError
from pipeline.inputs import EXTENSION_CONTAINERS
from pipeline.stage import Stage
from stages.decode_headers import (
    Mp3Start,
    asf_declared_size,
    holds_only_id3,
    mp3_cut_mid_frame,
    ogg_cut,
    read_mp3_start,
    xing_size_off,
)
from stages.decode_memory import BLOCK_FRAMES, SampleSink, kept_channels, kept_values_budget

READABLE = "WAV, FLAC, Ogg/Opus, MP3, M4A/MP4/MOV/3GP, WebM, AMR, WMA, AIFF or CAF files"
SNIFF_BYTES = 64
MAX_CHANNELS = 64
MAX_RATE_HZ = 768_000
UNKNOWN_FRAMES = 2**63 - 1  # libsndfile's frame count for a stream that does not say (FLAC)
# A compressed stream may decode this much short of the length its header gives (encoder
# delay and padding, WMA's preroll rounding) and still be whole: 0.25 s plus 2 %.
SHORT_TOLERANCE_S = 0.25
SHORT_TOLERANCE = 0.02
# An Ogg stream's length (its last page's position) may exceed what decodes by one packet:
# Opus's longest is 120 ms at the rate libsndfile decodes it at (8 to 48 kHz); Vorbis's is
# 4,096 frames at most, and other Ogg streams keep 5,760 frames (120 ms at 48 kHz).
OPUS_SLACK_S = 0.120
OGG_SLACK_FRAMES = 5760
# How a truncated_input message ends; `Decode.process` swaps it for what applies.
_CONTINUING = " Continuing with the part that decoded."
_NOTHING_DECODED = " Nothing of it decoded, so there is no part to use."

_CONTAINER_TITLES = {
    "wav": "WAV",
    "rf64": "RF64 (64-bit WAV)",
    "w64": "Wave64",
    "flac": "FLAC",
    "ogg": "Ogg",
    "mp3": "MP3",
    "mp4": "MP4/M4A",
    "aac": "ADTS AAC",
    "aiff": "AIFF",
    "au": "Sun AU",
    "caf": "CAF",
    "nist": "NIST SPHERE",
    "voc": "Creative VOC",
    "webm": "WebM/Matroska",
    "amr": "AMR",
    "asf": "WMA/ASF",
    "wavpack": "WavPack",
    "raw": "raw GSM 06.10",
}

_FFMPEG_CONTAINERS = frozenset({"mp4", "aac", "webm", "amr", "asf", "wavpack"})
# libsndfile sometimes rejects valid-but-unusual streams of these; ffmpeg is the second try
# (a WAV may hold a codec libsndfile lacks: MP3 or G.722 in WAV, from old IVR systems).
_FFMPEG_FALLBACK = frozenset({"mp3", "ogg", "wav"})
_UNIMPLEMENTED = "File contains data in an unimplemented format."  # libsndfile's words

# Subtypes that libsndfile widens to int16 exactly (see `_read_float32`).
_READ_AS_INT16 = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "ALAW", "ULAW"})
_BIT_DEPTH = {
    "pcm_s8": 8,
    "pcm_u8": 8,
    "pcm_16": 16,
    "pcm_24": 24,
    "pcm_32": 32,
    "float": 32,
    "double": 64,
    "alaw": 8,
    "ulaw": 8,
    "alac_16": 16,
    "alac_20": 20,
    "alac_24": 24,
    "alac_32": 32,
    "dpcm_8": 8,
    "dpcm_16": 16,
    "dwvw_12": 12,
    "dwvw_16": 16,
    "dwvw_24": 24,
}

# Magic bytes of common non-audio files, to name them in the error message.
_NOT_AUDIO = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x7fELF", "a program (ELF executable)"),
)


@dataclass
class Decode(Stage):
    """Read ``clip.source`` into float32 samples, keeping every channel that fits in memory.

    Fills ``samples`` (``(frames,)`` mono or ``(frames, channels)``), ``rate``, ``info`` and
    ``metrics["source_duration_s"]``. Inputs longer than ``max_duration_s`` are refused from
    their header before the audio is decoded, so a hostile header cannot eat memory; so are
    inputs whose samples would not fit the memory budget even as a mono mix, and a source
    whose channels pass it is kept as normalize's mono downmix (``(frames,)``). A file
    that ends before its header says (an interrupted copy; for Ogg, inside a page; for an
    MP3 without a Xing header, inside a frame) is an error unless ``allow_truncated`` is
    set, when the part that decodes is used with a warning.
    """

    name: ClassVar[str] = "decode"
    max_duration_s: float = 600.0
    allow_truncated: bool = False

    def __post_init__(self) -> None:
        if not self.max_duration_s > 0:
            raise ConfigurationError(
                f"the longest input accepted must be over 0 s, got {self.max_duration_s:g}"
            )

    def process(self, clip: Clip) -> Clip:
        try:
            if "://" in clip.source:
                decoded = _decode_url(clip.source, max_duration_s=self.max_duration_s)
            else:
                decoded = _decode(clip.source, max_duration_s=self.max_duration_s)
        except InputError as exc:
            return self.error(clip, exc.code, str(exc))
        except (OSError, ValueError, RuntimeError, EOFError, MemoryError) as exc:
            # A decoder failing in a way not foreseen above is still this file's problem.
            return self.error(
                clip,
                "corrupt_input",
                f"{_name(clip.source)} could not be decoded ({type(exc).__name__}: {exc}); "
                "re-export it from the original recording.",
            )
        for code, message in decoded.warnings:
            if code == "truncated_input" and not self.allow_truncated:
                nothing = decoded.samples.shape[0] < 0.005 * max(decoded.info.sample_rate, 1)
                self.error(
                    clip,
                    code,
                    message.replace(
                        _CONTINUING,
                        _NOTHING_DECODED
                        if nothing
                        else " Pass --allow-truncated to use the part that decoded.",
                    ),
                )
            else:
                self.warn(clip, code, message)
        clip.info = decoded.info
        clip.metrics["source_duration_s"] = decoded.info.duration_s
        if clip.failed:
            return clip
        clip.samples = decoded.samples
        clip.rate = decoded.info.sample_rate
        clip.info = decoded.info
        clip.metrics["source_duration_s"] = decoded.info.duration_s
        return clip


@dataclass
class Decoded:
    """What `decode_file` returns: the samples, what the source was, and any warnings."""

    samples: np.ndarray
    info: SourceInfo
    warnings: list[tuple[str, str]]


def decode_file(path: str, *, max_duration_s: float = 600.0) -> Decoded:
    """Decode one file outside a pipeline; raises `InputError` (with ``.code``) if it can't."""
    return _decode(path, max_duration_s=max_duration_s)


def sniff_container(head: bytes) -> str | None:
    """The container named by a file's first bytes (``"wav"``, ``"mp3"``, ...), or None."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        return "wav"
    if len(head) >= 12 and head[:4] in (b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "rf64"
    if head[:4] == b"riff" and head[24:28] == b"wave":
        return "w64"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head[:4] == b".snd":
        return "au"
    if head[:4] == b"caff":
        return "caf"
    if head[:7] == b"NIST_1A":
        return "nist"
    if head[:19] == b"Creative Voice File":
        return "voc"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:5] == b"#!AMR":  # narrow-band "#!AMR\n" and wide-band "#!AMR-WB\n" voice memos
        return "amr"
    if head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11":  # the ASF header object's GUID
        return "asf"
    if head[:4] == b"wvpk":
        return "wavpack"
    if len(head) >= 4 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0x3
        if layer == 0 and head[1] & 0xF0 == 0xF0:
            return "aac"  # ADTS: frame sync with layer bits 00
        bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x3
        if layer != 0 and bitrate not in (0, 15) and rate != 3:
            return "mp3"
    return None


def _decode_url(url: str, *, max_duration_s: float) -> Decoded:
    """Decode an fsspec URL (``s3://…``) from a local copy with the same file name."""
    from pipeline.remote import fetch, is_url

    if not is_url(url):
        return _decode(url.removeprefix("file://"), max_duration_s=max_duration_s)
    with contextlib.ExitStack() as stack:
        try:
            local = stack.enter_context(fetch(url))
        except ConfigurationError as exc:
            raise InputError("unsupported_format", str(exc)) from None
        except FileNotFoundError:
            raise InputError(
                "missing_input", f"{url} does not exist; check the URL and try again."
            ) from None
        except OSError as exc:
            raise InputError(
                "missing_input",
                f"{url} could not be downloaded ({type(exc).__name__}: {exc}); check the URL, "
                "the credentials and the network, then run again.",
            ) from None
        return _decode(local, max_duration_s=max_duration_s)


@dataclass
class _FileFacts:
    size: int
    head: bytes
    container: str | None


def _decode(path: str, *, max_duration_s: float) -> Decoded:
    facts = _open_facts(path)
    warnings: list[tuple[str, str]] = []
    container = facts.container or _raw_gsm(path, facts)
    if container is None:
        raise InputError(
            "unsupported_format",
            f"{_name(path)} is not audio voiceprep can read: it looks like "
            f"{_describe_non_audio(facts.head)}. Pass {READABLE}.",
        )
    mismatch = _extension_mismatch(path, container)
    if mismatch:
        warnings.append(("extension_mismatch", mismatch))
    if container == "mp3" and holds_only_id3(path, facts.size, facts.head):
        raise InputError(
            "empty_input",
            f"{_name(path)} holds only an ID3 tag (title, artist...) and no MP3 audio frames; "
            "re-export the recording.",
        )
    mp3 = read_mp3_start(path, facts.head) if container == "mp3" else None
    if container in _FFMPEG_CONTAINERS or (mp3 is not None and _mp3_needs_ffmpeg(path, facts, mp3)):
        samples, info = _decode_ffmpeg(path, container, facts, max_duration_s, warnings)
    else:
        try:
            samples, info = _decode_soundfile(path, container, facts, max_duration_s, warnings)
        except _UnknownLength:
            samples, info = _decode_ffmpeg(path, container, facts, max_duration_s, warnings)
        except InputError as exc:
            if exc.code != "corrupt_input" or container not in _FFMPEG_FALLBACK:
                raise
            try:
                samples, info = _decode_ffmpeg(path, container, facts, max_duration_s, warnings)
            except InputError:
                raise _undecodable(path, container, facts, mp3, exc) from None
            if samples.shape[0] == 0:
                raise _undecodable(path, container, facts, mp3, exc) from None
    got_s = samples.shape[0] / max(info.sample_rate, 1)
    cut = _cut_short(path, container, facts, mp3, got_s)
    if samples.shape[0] == 0:
        if cut is not None:
            raise InputError(cut[0], cut[1].replace(_CONTINUING, _NOTHING_DECODED))
        raise InputError(
            "empty_input",
            f"{_name(path)} is a valid {_CONTAINER_TITLES[container]} file but holds no audio "
            "frames; re-export the recording.",
        )
    if cut is not None and all(code != "truncated_input" for code, _ in warnings):
        warnings.append(cut)
    if info.codec in ("float", "double") or container in _FFMPEG_CONTAINERS:
        _scrub_nonfinite(samples, path, warnings)
    return Decoded(samples, info, warnings)


class _UnknownLength(Exception):
    """libsndfile opened a stream that does not say its length (a FLAC written to a pipe).

    soundfile seeks after every read, and libsndfile cannot seek in such a stream, so it
    would stop after the first block; ffmpeg reads it to the end (or to the limit).
    """


def _mp3_needs_ffmpeg(path: str, facts: _FileFacts, start: Mp3Start) -> bool:
    """True for MP3s libsndfile reads badly; ffmpeg reads them to the end, quietly.

    Without a Xing/Info/VBRI header libsndfile estimates the length from the first frame's
    bitrate and stops there, cutting VBR files short. With one whose byte count is off (a
    cut copy, data appended) its decoder prints a warning on the user's terminal.
    """
    return not start.has_toc or xing_size_off(path, facts.size, start)


def _undecodable(
    path: str, container: str, facts: _FileFacts, mp3: Mp3Start | None, failure: InputError
) -> InputError:
    """Why no decoder read the file: its cut, when its bytes show one (an Ogg file cut in
    its header pages), else libsndfile's ``failure``, the reason to read."""
    cut = _cut_short(path, container, facts, mp3, 0.0)
    if cut is not None:
        return InputError(cut[0], cut[1].replace(_CONTINUING, _NOTHING_DECODED))
    well_formed = container == "wav" and _wav_claim(path) is not None  # fmt and data chunks
    if well_formed and _UNIMPLEMENTED in str(failure):  # an encoding nothing here reads
        title = _CONTAINER_TITLES[container]
        return InputError(
            "unsupported_format",
            f"{_name(path)} is a {title} file in an encoding neither libsndfile nor ffmpeg "
            "decodes (libsndfile: unimplemented format); export it as 16- or 24-bit PCM.",
        )
    return failure


def _cut_short(
    path: str, container: str, facts: _FileFacts, mp3: Mp3Start | None, got_s: float
) -> tuple[str, str] | None:
    """The ``truncated_input`` warning when the file's own bytes say it was cut, else None.

    For the formats whose decoded length cannot tell: Ogg (no length up front; every page header
    gives the page's length, so a cut stops inside a page), an MP3 without a Xing/Info/VBRI
    header (ffmpeg estimates its length from the bytes there are; every frame header gives its
    frame's length instead) and ASF/WMA (ffmpeg's length is the packets there are; the header
    gives the size of the whole file).
    """
    end = ogg_cut(path, facts.size) if container == "ogg" else None
    if end is not None:
        when = f"after {got_s:.2f} s" if got_s > 0 else "before any of its audio"
        what = (
            f"it stops partway through an Ogg page, {when}"
            if not end.whole
            else f"its last Ogg page ({when}) lacks the end-of-stream mark and {end.trailing:,} "
            "bytes that are no Ogg page follow it (the unwritten rest of a copy)"
        )
        return _truncation(path, got_s, what=what)
    if mp3 is not None and not mp3.has_toc and mp3_cut_mid_frame(path, mp3):
        return _truncation(
            path,
            got_s,
            what=f"it stops in the middle of an MPEG audio frame, after {got_s:.2f} s",
            advice="it was probably cut off while being copied or recorded — copy it again "
            "from the original, or record it again if the original ends the same way",
        )
    declared = asf_declared_size(path) if container == "asf" else None
    if declared is not None and facts.size < declared:
        return _truncation(
            path,
            got_s,
            what=f"its header gives the file's size as {declared:,} bytes but it holds only "
            f"{facts.size:,} ({got_s:.2f} s decoded)",
        )
    return None


def _truncation(
    path: str,
    got_s: float,
    expected_s: float = 0.0,
    *,
    what: str | None = None,
    advice: str = "the copy is probably incomplete — re-copy or re-export it",
) -> tuple[str, str]:
    """The ``truncated_input`` warning (`Decode.process` makes it an error unless allowed).

    ``what`` says how the cut shows; by default, the length decoded against the header's
    (``expected_s``).
    """
    if what is None:
        what = f"its header promises {expected_s:.2f} s but only {got_s:.2f} s could be decoded"
    return ("truncated_input", f"{_name(path)} ends early: {what}; {advice}.{_CONTINUING}")


def _short(expected_frames: int, got: int, rate: int) -> bool:
    """True if a compressed stream decoded clearly less than its header's length."""
    slack = SHORT_TOLERANCE_S * rate + SHORT_TOLERANCE * expected_frames
    return got < expected_frames - slack


def _open_facts(path: str) -> _FileFacts:
    """Stat and sniff without ever blocking: only regular files are opened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(
            "missing_input", f"{path} does not exist; check the path and try again."
        ) from None
    except OSError as exc:
        raise InputError(
            "missing_input", f"{path} cannot be read ({exc.strerror}); check its permissions."
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(
            "missing_input",
            f"{path} is a folder, not a file; pass the audio files in it (or the folder itself "
            "to `voiceprep run`).",
        )
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            "unsupported_format",
            f"{path} is not a regular file (a device, pipe or socket); copy the recording "
            "to a file first.",
        )
    if st.st_size == 0:
        raise InputError(
            "empty_input", f"{_name(path)} is empty (0 bytes); re-export or re-copy the recording."
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(
            "missing_input", f"{path} cannot be read ({exc.strerror}); check its permissions."
        ) from None
    return _FileFacts(st.st_size, head, sniff_container(head))


def _raw_gsm(path: str, facts: _FileFacts) -> str | None:
    """Headerless GSM 06.10 (as telephony systems store it): ``.gsm``, 33-byte frames."""
    if os.path.splitext(path)[1].lower() != ".gsm" or facts.size % 33:
        return None
    return "raw" if facts.head[0] >> 4 == 0xD else None


def _decode_soundfile(
    path: str,
    container: str,
    facts: _FileFacts,
    max_duration_s: float,
    warnings: list[tuple[str, str]],
) -> tuple[np.ndarray, SourceInfo]:
    import soundfile as sf

    raw = {"format": "RAW", "subtype": "GSM610", "samplerate": 8000, "channels": 1}
    kwargs = raw if container == "raw" else {}
    title = _CONTAINER_TITLES[container]
    try:
        fh = sf.SoundFile(libsndfile_path(path), **kwargs)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        raise InputError(
            "corrupt_input",
            f"{_name(path)} is marked as {title} but cannot be decoded ({_sf_reason(exc)}); "
            "re-export it from the original recording.",
        ) from None
    with fh:
        rate, channels, frames = int(fh.samplerate), int(fh.channels), int(fh.frames)
        _check_shape(path, rate, channels)
        codec = _codec_name(fh.subtype)
        if frames >= UNKNOWN_FRAMES:
            raise _UnknownLength(path)
        # An MPEG stream's frame count in a WAV is libsndfile's estimate (MP3 in WAV from old
        # IVR systems decodes a few frames short of it): there the bytes the header claims
        # tell truncation. In an MP3 file it is the Xing header's, exact but for padding.
        mpeg = str(fh.subtype).startswith("MPEG")
        claim = _wav_claim(path) if container in ("wav", "rf64") else None
        claimed_s = frames / rate
        if claim is not None and claim[1] > 0:
            claimed_s = max(claimed_s, claim[0] / claim[1])
        _check_duration(path, claimed_s, max_duration_s)
        sink = _sink(path, frames, channels, rate, max_duration_s)
        failure: Exception | None = None
        if not sink.downmix:
            try:
                # Seekable files read to their (already bounded) frame count; others (GSM
                # in WAV) need it spelled out.
                count = -1 if fh.seekable() else frames
                samples = _read_float32(fh, count)
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                failure = exc
                with sf.SoundFile(libsndfile_path(path), **kwargs) as again:
                    _read_blocks(path, again, sink, max_duration_s, block_frames=4096)
                samples = _decoded_part(path, title, sink, exc)
        else:
            failure = _read_blocks(path, fh, sink, max_duration_s)
            samples = _decoded_part(path, title, sink, failure)
    got = samples.shape[0]
    slack = _ogg_slack_frames(codec, rate)
    short = _soundfile_short(container, mpeg, frames, got, rate, slack, failed=failure is not None)
    truncated = short or (claim is not None and _wav_truncated(claim, facts.size))
    if truncated and got == 0:
        raise InputError(
            "corrupt_input",
            f"{_name(path)} has a {title} header that promises {claimed_s:.2f} s of audio but "
            "none of it is in the file; re-copy or re-export the recording.",
        )
    if truncated:
        warnings.append(_truncation(path, got / rate, claimed_s))
    info = SourceInfo(
        container=container,
        codec=codec,
        channels=channels,
        sample_rate=rate,
        bit_depth=_BIT_DEPTH.get(codec),
        bytes=facts.size,
        duration_s=got / rate,
    )
    return samples, info


def _ogg_slack_frames(codec: str, rate: int) -> int:
    """Frames an Ogg stream of ``codec`` at ``rate`` Hz may decode short of its length."""
    return math.ceil(OPUS_SLACK_S * rate) if codec == "opus" else OGG_SLACK_FRAMES


def _soundfile_short(
    container: str, mpeg: bool, frames: int, got: int, rate: int, slack: int, *, failed: bool
) -> bool:
    """True if libsndfile decoded fewer frames than its count says, by more than the count
    can be off for a whole file (``failed``: its decoder gave up partway).

    An MPEG stream's count is an estimate in a WAV (never trusted) and the Xing header's in
    an MP3 (padding aside). An Ogg stream's is its last page's position, which a clean
    decode misses by up to a packet: a stream that starts at a negative position (its first
    samples dropped, as libVorbis does), or whose end trim falls inside its last packet:
    ``slack`` frames (`_ogg_slack_frames`). A decoder that gave up is forgiven nothing.
    """
    if mpeg:
        return container == "mp3" and _short(frames, got, rate)
    if container == "ogg" and not failed:
        return got < frames - slack
    return got < frames


def _read_float32(fh: object, count: int) -> np.ndarray:
    """``count`` frames of ``fh`` as float32 in [-1, 1), the way libsndfile scales them.

    Sources of 16 bits or fewer are read as int16 and scaled by numpy: libsndfile's own
    int-to-float loop is ~3x slower, and ``x / 32768`` is exact in float32, so the samples
    are bit for bit the same.
    """
    import soundfile as sf

    assert isinstance(fh, sf.SoundFile)
    if fh.subtype not in _READ_AS_INT16:
        return np.asarray(fh.read(count, dtype="float32", always_2d=False))
    samples = fh.read(count, dtype="int16", always_2d=False).astype(np.float32)
    samples *= np.float32(1.0 / 32768.0)
    return samples


def _sink(
    path: str, frames: int | None, channels: int, rate: int, max_duration_s: float
) -> SampleSink:
    """Where the decoded frames go: every channel, or the downmix past the memory budget.

    ``frames`` is what the header says (None: it does not say; the limit is assumed). An
    input whose downmix alone passes the budget is refused here, before it is decoded.
    """
    budget = kept_values_budget(max_duration_s)
    limit = int(max_duration_s * rate)  # more frames than this is too long
    worst = limit if frames is None else frames
    keep = kept_channels(worst, channels, budget)
    if keep is None and frames is not None:
        raise _too_large(path, frames, channels, rate, budget)
    keep = keep or 1
    expected = min(limit, 30 * rate) if frames is None else frames
    return SampleSink(
        channels,
        downmix=keep < channels,
        expected_frames=expected,
        max_frames=min(limit, budget // keep),
    )


def _read_blocks(
    path: str,
    fh: object,
    sink: SampleSink,
    max_duration_s: float,
    *,
    block_frames: int = BLOCK_FRAMES,
) -> Exception | None:
    """Read ``fh`` into ``sink`` block by block to its end; the decoder's error, if it gave up.

    Everything before the damage is kept. Past the limit or the memory budget, the input is
    refused (a stream that does not say its length is found too long here).
    """
    import soundfile as sf

    assert isinstance(fh, sf.SoundFile)
    rate, channels = int(fh.samplerate), int(fh.channels)
    while True:
        try:
            block = _read_float32(fh, block_frames)
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            return exc
        if block.shape[0] == 0:
            return None
        if not sink.add(block):
            _refuse_overflow(path, sink, block.shape[0], channels, rate, max_duration_s)


def _decoded_part(path: str, title: str, sink: SampleSink, failure: Exception | None) -> np.ndarray:
    """The sink's samples; corrupt_input if the decoder failed before any frame."""
    if failure is not None and sink.frames == 0:
        raise InputError(
            "corrupt_input",
            f"{_name(path)} has a {title} header but no audio could be decoded "
            f"({_sf_reason(failure)}); re-export it from the original recording.",
        ) from None
    return sink.samples()


def _refuse_overflow(
    path: str, sink: SampleSink, more: int, channels: int, rate: int, max_duration_s: float
) -> None:
    """Raise why ``more`` frames do not fit in ``sink``: too long, or too big to keep."""
    if (sink.frames + more) / rate > max_duration_s:
        raise InputError(
            "input_too_long",
            f"{_name(path)} is longer than the {max_duration_s:.0f} s limit (found while "
            "decoding: its header did not say so, and decoding stopped there); split it into "
            "shorter recordings or raise --max-input-s.",
        )
    budget = kept_values_budget(max_duration_s)
    raise _too_large(path, sink.frames + more, channels, rate, budget)


def _too_large(path: str, frames: int, channels: int, rate: int, budget: int) -> InputError:
    need_gb = frames * 4 / 1e9
    return InputError(
        "input_too_large",
        f"{_name(path)} holds {channels} channel{'s' if channels > 1 else ''} at {rate} Hz "
        f"for {frames / rate:.0f} s: even its mono mix would take {need_gb:.1f} GB, over the "
        f"{budget * 4 / 1e9:.1f} GB voiceprep keeps for one input; export it at 48 kHz or "
        "less (e.g. `ffmpeg -i IN -ar 48000 OUT.flac`), or split it into shorter recordings.",
    )


def _wav_claim(path: str) -> tuple[int, int, int] | None:
    """``(data bytes the header claims, average bytes per second, data offset)`` of a WAV.

    libsndfile clamps a too-large data size to what the file holds, so the claim is read
    here: it is what tells a truncated file (and a hostile 2-hour claim) apart. Streaming
    writers put 0 or 0xFFFFFFFF when the size is unknown; those claim nothing.
    """
    try:
        with open(path, "rb") as fh:
            riff = fh.read(12)
            big = riff[:4] == b"RIFX"
            u32 = ">I" if big else "<I"
            ds64_data: int | None = None
            byte_rate = 0
            for _ in range(64):  # chunk walk with a bound: a hostile file can't loop us
                header = fh.read(8)
                if len(header) < 8:
                    return None
                cid = header[:4]
                (size,) = struct.unpack(u32, header[4:])
                if cid == b"ds64":
                    body = fh.read(min(size, 28))
                    if len(body) >= 16:
                        (ds64_data,) = struct.unpack("<Q", body[8:16])
                    fh.seek(size - len(body) + (size & 1), os.SEEK_CUR)
                elif cid == b"fmt ":
                    body = fh.read(min(size, 16))
                    if len(body) >= 12:
                        (byte_rate,) = struct.unpack(u32, body[8:12])
                    fh.seek(size - len(body) + (size & 1), os.SEEK_CUR)
                elif cid == b"data":
                    if size == 0xFFFFFFFF and ds64_data is not None:
                        size = ds64_data
                    if size in (0, 0xFFFFFFFF):
                        return None
                    return size, byte_rate, fh.tell()
                else:
                    fh.seek(size + (size & 1), os.SEEK_CUR)
    except (OSError, struct.error):
        return None
    return None


def _wav_truncated(claim: tuple[int, int, int], file_bytes: int) -> bool:
    claimed, _, offset = claim
    return offset + claimed > file_bytes


def _decode_ffmpeg(
    path: str,
    container: str,
    facts: _FileFacts,
    max_duration_s: float,
    warnings: list[tuple[str, str]],
) -> tuple[np.ndarray, SourceInfo]:
    """Decode the first audio track through ffmpeg, refusing long inputs from its probe."""
    exe = _ffmpeg_exe()
    title = _CONTAINER_TITLES[container]
    if exe is None:
        raise InputError(
            "unsupported_format",
            f"{_name(path)} is {title}, which needs ffmpeg; install it with "
            "`pip install imageio-ffmpeg`.",
        )
    limit_s = max_duration_s + 1.0
    cmd = [
        exe,
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-i",
        path,
        "-map",
        "0:a:0",
        "-t",
        f"{limit_s:.3f}",
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-",
    ]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    timeout_s = 60.0 + max_duration_s / 10.0
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None and proc.stderr is not None
        header = _read_ffmpeg_header(proc.stderr)
        probe = _parse_ffmpeg_probe(header)
        if probe.duration_s is not None and probe.duration_s > max_duration_s:
            proc.kill()
            proc.wait()
            _check_duration(path, probe.duration_s, max_duration_s)
        sink = None
        if probe.rate is not None and probe.channels is not None:
            _check_shape(path, probe.rate, probe.channels)
            frames = None if probe.duration_s is None else round(probe.duration_s * probe.rate)
            sink = _sink(path, frames, probe.channels, probe.rate, max_duration_s)
        tail: list[bytes] = []
        drain = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
        drain.start()
        _read_pcm(path, proc.stdout, sink, probe, max_duration_s)
        returncode = proc.wait()
        drain.join()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    stderr = header + b"".join(tail).decode("utf-8", "replace")
    if returncode != 0:
        raise InputError(*_ffmpeg_failure(path, title, stderr, returncode, timeout_s))
    if sink is None or probe.rate is None or probe.channels is None:
        raise InputError(
            "corrupt_input",
            f"{_name(path)} is {title} but ffmpeg reported no usable audio stream; "
            "re-export it from the original recording.",
        )
    samples = sink.samples()
    frames = samples.shape[0]
    _check_duration(path, frames / probe.rate, max_duration_s)
    if _ffmpeg_length_known(container, header) and probe.duration_s is not None:
        expected = round(probe.duration_s * probe.rate)
        if frames and _short(expected, frames, probe.rate):
            warnings.append(_truncation(path, frames / probe.rate, probe.duration_s))
    codec = probe.codec or "unknown"
    info = SourceInfo(
        container=container,
        codec=codec,
        channels=probe.channels,
        sample_rate=probe.rate,
        bit_depth=_ffmpeg_bit_depth(codec),
        bytes=facts.size,
        duration_s=frames / probe.rate,
    )
    return samples, info


def _read_pcm(
    path: str,
    stdout: IO[bytes] | io.RawIOBase,
    sink: SampleSink | None,
    probe: _Probe,
    max_duration_s: float,
) -> None:
    """ffmpeg's f32le output into ``sink`` a block at a time (thrown away without a sink).

    Reading it whole, then converting, held the output twice over; here one 1 MiB block is
    held besides the sink. A partial frame at the very end is dropped.
    """
    assert isinstance(stdout, io.RawIOBase)  # Popen(bufsize=0): reads what the pipe holds
    channels = probe.channels or 1
    frame_bytes = 4 * channels
    buf = bytearray(max(1, (1 << 20) // frame_bytes) * frame_bytes)
    view = memoryview(buf)
    pending = 0  # bytes of a frame split between two reads
    while True:
        got = stdout.readinto(view[pending:])
        if not got:
            return
        if sink is None:
            continue
        total = pending + got
        usable = total - total % frame_bytes
        block = np.frombuffer(buf, dtype="<f4", count=usable // 4)
        block = block.reshape(-1, channels) if channels > 1 else block
        if not sink.add(block):
            assert probe.rate is not None
            _refuse_overflow(path, sink, block.shape[0], channels, probe.rate, max_duration_s)
        pending = total - usable
        view[:pending] = view[usable:total]


def _ffmpeg_length_known(container: str, header: str) -> bool:
    """True if ffmpeg's duration comes from the file's header, so a shorter decode is a cut.

    Not when ffmpeg estimated it from the bitrate (ADTS AAC, AMR, MP3 without a Xing header: a
    cut file is estimated short too; see `mp3_cut_mid_frame`), nor for Ogg, whose duration is
    the last page's (a page cut short tells a cut; see `ogg_cut`), nor when the file holds other
    streams: the duration is the container's, the longest stream's (a video longer than its
    sound, a second audio track, sound that starts late).
    """
    inputs = header.split("Output #", 1)[0].split("Stream mapping", 1)[0]
    streams = len(re.findall(r"^\s*Stream #0:", inputs, flags=re.MULTILINE))
    return container != "ogg" and "Estimating duration from bitrate" not in header and streams == 1


def _drain(stream: IO[bytes], sink: list[bytes]) -> None:
    sink.append(stream.read())


def _read_ffmpeg_header(stream: IO[bytes]) -> str:
    """ffmpeg's description of the input: everything it prints before the output starts."""
    lines: list[str] = []
    size = 0
    while size < 256_000:
        line = stream.readline()
        if not line:
            break
        text = line.decode("utf-8", "replace")
        lines.append(text)
        size += len(line)
        if text.startswith(("Stream mapping", "Output #", "Press [q]")):
            break
    return "".join(lines)


@dataclass
class _Probe:
    duration_s: float | None
    codec: str | None
    rate: int | None
    channels: int | None


_DURATION = re.compile(r"Duration:\s*(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_AUDIO = re.compile(r"Stream #0:\d+.*?: Audio: ([A-Za-z0-9_]+)[^,]*, (\d+) Hz, ([^,]+)")
_CHANNEL_COUNT = re.compile(r"(\d+) channels")  # unknown order, or a custom "N channels (...)"
_AMBISONIC = re.compile(r"ambisonic (\d+)")


def _parse_ffmpeg_probe(header: str) -> _Probe:
    """Duration, codec, rate and channels of the first audio stream, from ``ffmpeg -i`` text."""
    found = _DURATION.search(header)
    duration = None
    if found:
        h, m, s = found.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    audio = _AUDIO.search(header)
    if not audio:
        return _Probe(duration, None, None, None)
    codec, rate, layout = audio.group(1), int(audio.group(2)), audio.group(3).strip()
    return _Probe(duration, codec.lower(), rate, layout_channels(layout))


def layout_channels(layout: str) -> int | None:
    """Channels of a layout as ``ffmpeg -i`` describes it (``"5.1(side)"``, ``"3 channels"``).

    Named layouts are counted from ffmpeg's own table (``ffmpeg -layouts``), so any layout
    the binary knows is read; None only for a description no ffmpeg writes.
    """
    if layout in ("mono", "stereo"):
        return 1 if layout == "mono" else 2
    count = _CHANNEL_COUNT.match(layout)
    if count:
        return int(count.group(1))
    ambisonic = _AMBISONIC.match(layout)
    if ambisonic:  # order n has (n + 1)² channels, then any extra ones after "+"
        return (int(ambisonic.group(1)) + 1) ** 2 + layout.count("+")
    return _ffmpeg_layouts().get(layout)


@functools.lru_cache(maxsize=1)
def _ffmpeg_layouts() -> dict[str, int]:
    """ffmpeg's standard channel layouts by name, with their channel counts."""
    exe = _ffmpeg_exe()
    if exe is None:
        return {}
    try:
        listing = subprocess.run(
            [exe, "-hide_banner", "-layouts"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return {}
    _, _, table = listing.partition("Standard channel layouts:")
    layouts = {}
    for line in table.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] != "NAME":
            layouts[parts[0]] = parts[1].count("+") + 1
    return layouts


def _ffmpeg_failure(
    path: str, title: str, stderr: str, returncode: int, timeout_s: float
) -> tuple[str, str]:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    last = lines[-1] if lines else f"exit status {returncode}"
    if returncode < 0:
        return (
            "corrupt_input",
            f"{_name(path)}: ffmpeg did not finish decoding within {timeout_s:.0f} s; "
            "the file is probably damaged — re-export it.",
        )
    if "matches no streams" in stderr or "does not contain any stream" in stderr:
        return (
            "unsupported_format",
            f"{_name(path)} is {title} but has no audio track; export the audio "
            "(or the video with its sound) again.",
        )
    return (
        "corrupt_input",
        f"{_name(path)} is marked as {title} but ffmpeg cannot decode it ({last}); "
        "re-export it from the original recording.",
    )


def _ffmpeg_bit_depth(codec: str) -> int | None:
    found = re.fullmatch(r"pcm_[suf](\d+)(?:le|be)?", codec)
    if found:
        return int(found.group(1))
    return 8 if codec in ("pcm_alaw", "pcm_mulaw") else None


@functools.lru_cache(maxsize=1)
def _ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        import shutil

        return shutil.which("ffmpeg")


def _check_shape(path: str, rate: int, channels: int) -> None:
    if not 0 < rate <= MAX_RATE_HZ:
        raise InputError(
            "corrupt_input",
            f"{_name(path)} claims a sample rate of {rate} Hz, which no recording has; "
            "the header is damaged — re-export the file.",
        )
    if not 0 < channels <= MAX_CHANNELS:
        raise InputError(
            "unsupported_format",
            f"{_name(path)} claims {channels} channels; voiceprep reads 1 to {MAX_CHANNELS}. "
            "Export a mono or stereo mix.",
        )


def _check_duration(path: str, duration_s: float, max_duration_s: float) -> None:
    if duration_s > max_duration_s:
        raise InputError(
            "input_too_long",
            f"{_name(path)} is {duration_s:.1f} s long (by its header), over the "
            f"{max_duration_s:.0f} s limit; split it into shorter recordings or raise "
            "--max-input-s.",
        )


def _scrub_nonfinite(samples: np.ndarray, path: str, warnings: list[tuple[str, str]]) -> None:
    finite = np.isfinite(samples)
    if finite.all():
        return
    bad = int(finite.size - np.count_nonzero(finite))
    np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    warnings.append(
        (
            "nonfinite_samples",
            f"{_name(path)} holds {bad} NaN/infinite float samples; they were set to 0 "
            "(±1 for infinities). Check the tool that wrote the file.",
        )
    )


def _codec_name(subtype: str) -> str:
    codec = subtype.lower()
    return "mp3" if codec == "mpeg_layer_iii" else codec


def _extension_mismatch(path: str, container: str) -> str | None:
    ext = os.path.splitext(path)[1].lower()
    promised = EXTENSION_CONTAINERS.get(ext)
    if promised is None or container in promised:
        return None
    real = _CONTAINER_TITLES[container]
    better = next((e for e, c in EXTENSION_CONTAINERS.items() if container in c), "")
    return (
        f"{_name(path)} is named {ext} but holds {real} audio; decoded it as {real}. "
        f"Rename it to {better or 'a matching extension'} so other tools read it correctly."
    )


def _describe_non_audio(head: bytes) -> str:
    for magic, what in _NOT_AUDIO:
        if head.startswith(magic):
            return what
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "an HTML page (a download that failed?)"
    if stripped.startswith(b"<?xml"):
        return "an XML document"
    text = head.decode("utf-8", "replace")
    if "\x00" in text or text.count("\ufffd") > 3:
        return "binary data of no known audio format"
    return "a text file"


def _sf_reason(exc: BaseException) -> str:
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text and text.startswith("Error") else text


def _name(path: str) -> str:
    return os.path.basename(path) or path


def libsndfile_path(path: str) -> str | bytes:
    """``path`` as libsndfile can open it.

    soundfile encodes a ``str`` path strictly as UTF-8, so a file name that is not valid UTF-8
    (``os.listdir`` gives its bytes as lone surrogates) fails to open; its bytes do not.
    """
    return path if sys.platform == "win32" else os.fsencode(path)
