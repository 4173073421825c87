"""One self-contained HTML page that shows people their audio, and the same cards in notebooks.

`write_report(out_dir)` reads a run's ``results.jsonl`` as a stream and writes ``report.html``:
a summary (clips passed and failed, per finding and per profile, minutes of audio), then one card
per clip with its verdict, findings, key metrics, a waveform thumbnail (speech shaded, trimmed
ends greyed, clipping ticked in red), a small log-frequency spectrogram of the source (hum and
band-limiting show up there) and players for the source and the written output.

Everything is inline (PNG and MP3 data URIs, CSS, a little vanilla JavaScript), so the page
works offline and can be mailed around. Size and speed, the trade-off:

- thumbnails are 240×40 and 240×48 indexed PNGs written here with zlib (≈1–5 kB each, base64);
- audio previews are 16 kHz mono MP3 at 32 kbit/s, at most ``preview_max_s`` seconds each,
  ≈5.3 kB of page per second of preview; a batch of 5,000 five-second clips would be ≈270 MB,
  so pass ``audio=False`` (``--no-audio``) for big batches: cards then weigh ≈8 kB (40 MB
  for 5,000 clips);
- building a card decodes its source and draws both pictures (≈6 ms for a 3 s clip on one
  core); the previews cost more: libsndfile's MP3 encoder takes ≈5 ms per second of audio,
  for the source and the output each. Cards are drawn by a pool of ``workers`` processes;
- each card is pre-rendered into an inert ``<template>`` (its images and audio are not
  decoded); the page keeps a compact JSON index for filtering and sorting, and clones cards
  into the document in batches as the reader scrolls (IntersectionObserver), so a page of
  5,000 clips starts with a few dozen card nodes and stays responsive.

The page is built in one pass with bounded memory: cards stream to a temporary file while the
summary is counted, then the final file is assembled and renamed into place.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import math
import os
import shutil
import struct
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.errors import ConfigurationError, VoiceprepError
from pipeline.executors import LocalPool
from pipeline.journal import JOURNAL_NAME
from pipeline.remote import fetch, is_url
from pipeline.results import LONE_SURROGATES, RESULTS_NAME, passed, read_records
from pipeline.tempnames import temporary_path
from stages.normalize import downmix

__all__ = [
    "REPORT_NAME",
    "ClipMedia",
    "card_html",
    "check_target",
    "clip_media",
    "png_bytes",
    "record_html",
    "results_html",
    "results_location",
    "spectrogram_image",
    "waveform_image",
    "write_report",
]

REPORT_NAME = "report.html"
PREVIEW_RATE = 16000  # Hz: MPEG-2 layer III, which every browser plays
# libsndfile's MP3 setting: 32 kbit/s constant at 16 kHz, with LAME's low-pass still at
# ~7.5 kHz (the whole band of the preview; 0.8 gave 40 kbit/s for the same band, 0.87 and
# up 24 kbit/s with a 6 kHz low-pass).
PREVIEW_COMPRESSION = 0.85
FULL_SCALE = 0.999  # |x| at or above this sits on the rails (as in stages.normalize)
MIN_CLIP_RUN = 3  # consecutive full-scale samples that make a clipped flat top

# Colours of the waveform thumbnail (RGB).
_BG = (255, 255, 255)
_SPEECH_BG = (214, 240, 220)
_TRIM_BG = (222, 222, 222)
_WAVE = (44, 62, 80)
_WAVE_TRIMMED = (150, 150, 150)
_CLIP = (214, 39, 40)

_SPECTROGRAM_LEVELS = 48  # brightness steps: enough for the eye, and the PNG stays indexed
# "inferno"-like anchors for the spectrogram: dark (quiet) to pale yellow (loud).
_CMAP_X = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_CMAP_RGB = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float64
)


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


def png_bytes(image: np.ndarray) -> bytes:
    """Encode a uint8 image, ``(h, w)`` grey or ``(h, w, 3|4)`` RGB(A), as a PNG file.

    Written with zlib and struct only, so the report needs no imaging library.
    """
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"png_bytes needs a uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4) or 0 in img.shape[:2]:
        raise ValueError(f"png_bytes needs (h, w), (h, w, 3) or (h, w, 4), got {img.shape}")
    height, width, channels = img.shape
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    palette = b""
    if channels == 3:
        # Few colours (thumbnails, quantised spectrograms): an indexed PNG, a third the size.
        # Each pixel packed into one integer: a 1-D unique is ~40x faster than unique(axis=0)
        # and sorts the colours the same way, so the file is the same.
        flat = img.reshape(-1, 3).astype(np.uint32)
        packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
        colours, indices = np.unique(packed, return_inverse=True)
        if len(colours) <= 256:
            rgb = np.stack([colours >> 16, (colours >> 8) & 0xFF, colours & 0xFF], axis=1)
            colour_type, channels, palette = 3, 1, rgb.astype(np.uint8).tobytes()
            img = indices.astype(np.uint8).reshape(height, width, 1)
    rows = np.ascontiguousarray(img).reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)  # filter 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + (chunk(b"PLTE", palette) if palette else b"")
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def waveform_image(
    samples: np.ndarray,
    rate: int,
    *,
    width_px: int = 240,
    height_px: int = 40,
    speech_s: Sequence[tuple[float, float]] = (),
    trimmed_s: Sequence[tuple[float, float]] = (),
    full_scale: float = FULL_SCALE,
) -> np.ndarray:
    """An RGB min/max waveform thumbnail of ``samples`` on a full-scale vertical axis.

    Columns whose time lies in ``speech_s`` get a green background, in ``trimmed_s`` a grey one
    with a faded waveform; columns holding a run of ≥3 full-scale samples (any channel) are drawn
    red with ticks at the top and bottom edges. Times are seconds from the first sample.
    """
    channels = _as_columns(samples)
    n = channels.shape[0]
    image = np.empty((height_px, width_px, 3), np.uint8)
    image[:] = _BG
    if n == 0 or rate <= 0:
        return image
    mono = downmix(channels)
    starts = (np.arange(width_px) * n) // width_px
    low = np.minimum.reduceat(mono, starts)
    high = np.maximum.reduceat(mono, starts)

    duration_s = n / rate
    centres_s = (np.arange(width_px) + 0.5) * duration_s / width_px
    speech = _in_spans(centres_s, speech_s)
    trimmed = _in_spans(centres_s, trimmed_s)
    image[:, speech] = _SPEECH_BG
    image[:, trimmed] = _TRIM_BG

    rail = np.abs(channels) >= full_scale
    if n >= MIN_CLIP_RUN:
        flat = (rail[:-2] & rail[1:-1] & rail[2:]).any(axis=1)
        run_start = np.zeros(n, bool)
        run_start[: n - 2] = flat
        clipped = np.logical_or.reduceat(run_start, starts)
    else:
        clipped = np.zeros(width_px, bool)

    def row(y: np.ndarray) -> np.ndarray:
        scaled = (1.0 - np.clip(y, -1.0, 1.0)) * 0.5 * (height_px - 1)
        return np.rint(scaled).astype(np.int64)

    rows = np.arange(height_px)[:, None]
    ink = (rows >= row(high)[None, :]) & (rows <= row(low)[None, :])
    colour = np.empty((width_px, 3), np.uint8)
    colour[:] = _WAVE
    colour[trimmed] = _WAVE_TRIMMED
    colour[clipped] = _CLIP
    image[ink] = np.broadcast_to(colour[None, :, :], image.shape)[ink]
    tick = max(1, height_px // 12)
    image[:tick, clipped] = _CLIP
    image[-tick:, clipped] = _CLIP
    return image


def spectrogram_image(
    samples: np.ndarray,
    rate: int,
    *,
    width_px: int = 240,
    height_px: int = 48,
    min_hz: float = 30.0,
    range_db: float = 90.0,
) -> np.ndarray:
    """An RGB spectrogram: time left to right, log frequency ``min_hz``–Nyquist bottom to top.

    64 ms Hann frames (so mains hum at 50/60 Hz gets rows of its own); a full-scale sine is
    full brightness and ``range_db`` below it is black, on the same scale for every clip.
    Band-limited audio (an 8 kHz call resampled up, a low-bitrate MP3) shows as a dark band
    across the top.
    """
    mono = downmix(_as_columns(samples))
    image = np.zeros((height_px, width_px, 3), np.uint8)
    image[:] = _CMAP_RGB[0].astype(np.uint8)
    if rate <= 0 or mono.size == 0:
        return image
    nfft = 1 << max(6, math.ceil(math.log2(rate * 0.064)))
    if mono.size < nfft:
        mono = np.pad(mono, (0, nfft - mono.size))
    starts = np.linspace(0, mono.size - nfft, width_px).astype(np.int64)
    frames = mono[starts[:, None] + np.arange(nfft)[None, :]] * np.hanning(nfft)[None, :]
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (width, bins)

    nyquist = rate / 2
    bin_hz = rate / nfft
    edges_hz = np.geomspace(min(min_hz, nyquist / 2), nyquist, height_px + 1)
    first_bin = np.clip(np.floor(edges_hz[:-1] / bin_hz), 0, power.shape[1] - 1).astype(np.int64)
    per_row = np.maximum.reduceat(power, first_bin, axis=1)  # (width, height)

    db = 10.0 * np.log10(per_row + 1e-20)
    # An absolute scale, so a quiet or silent take looks dark rather than amplified to full
    # brightness: a full-scale sine in one bin (Hann: amplitude · nfft/4) is the top.
    full_scale_db = 20.0 * math.log10(nfft / 4)
    level = np.clip((db - (full_scale_db - range_db)) / range_db, 0.0, 1.0)
    level = np.round(level * (_SPECTROGRAM_LEVELS - 1)) / (_SPECTROGRAM_LEVELS - 1)
    rgb = np.stack([np.interp(level, _CMAP_X, _CMAP_RGB[:, c]) for c in range(3)], axis=-1)
    return np.rint(rgb.transpose(1, 0, 2)[::-1]).astype(np.uint8)


def _as_columns(samples: np.ndarray) -> np.ndarray:
    """float32 ``(frames, channels)``, also for mono and for empty input."""
    x = np.asarray(samples, dtype=np.float32)
    return x[:, None] if x.ndim == 1 else x.reshape(x.shape[0], math.prod(x.shape[1:]))


def _in_spans(times_s: np.ndarray, spans: Iterable[tuple[float, float]]) -> np.ndarray:
    inside = np.zeros(times_s.shape, bool)
    for start, end in spans:
        inside |= (times_s >= start) & (times_s < end)
    return inside


# --------------------------------------------------------------------------------------------
# Per-clip media
# --------------------------------------------------------------------------------------------


@dataclass
class ClipMedia:
    """Inline pictures and previews of one clip; any part is None when it cannot be made."""

    waveform_png: bytes | None = None
    spectrogram_png: bytes | None = None
    before_audio: bytes | None = None
    after_audio: bytes | None = None
    audio_mime: str = "audio/mpeg"
    notes: list[str] = field(default_factory=list)


def clip_media(
    record: dict[str, Any],
    *,
    audio: bool = True,
    preview_max_s: float = 20.0,
    base_dir: str | None = None,
) -> ClipMedia:
    """Decode a record's source (and output) and draw its thumbnails and previews.

    ``base_dir`` is the folder of the results.jsonl (see `_source_candidates` and
    `_output_candidates` for where files are looked for). Never raises for a bad file: a
    source that cannot be decoded (the reason the clip failed, often) gives a card without
    pictures and a note saying so.
    """
    media = ClipMedia()
    with contextlib.ExitStack() as stack:
        output = _open_output(stack, record.get("output"), base_dir)
        source = _open_source(stack, record.get("source"), base_dir, output)
        decoded = _decode(source) if source else None
        if source is None:
            media.notes.append("the source file is not there any more, so there is nothing to draw")
        elif decoded is None:
            media.notes.append("the source could not be decoded, so there is nothing to draw")
        else:
            if _differs(source, record.get("source")):
                media.notes.append(f"source read from {source}")
            samples, rate = decoded
            metrics = record.get("metrics") or {}
            duration_s = samples.shape[0] / rate if rate else 0.0
            media.waveform_png = png_bytes(
                waveform_image(
                    samples,
                    rate,
                    speech_s=_speech_spans(metrics),
                    trimmed_s=_trimmed_spans(metrics, duration_s),
                )
            )
            media.spectrogram_png = png_bytes(spectrogram_image(samples, rate))
            if audio:
                media.before_audio, media.audio_mime = _preview(samples, rate, preview_max_s)
        if audio and record.get("output"):
            decoded_out = _decode(output) if output else None
            if decoded_out is not None:
                media.after_audio, media.audio_mime = _preview(*decoded_out, preview_max_s)
            else:
                media.notes.append("the written output is missing or unreadable")
    return media


def _differs(found: str, recorded: Any) -> bool:
    """True when the file was found somewhere else than the record says (worth a note)."""
    if not isinstance(recorded, str) or is_url(recorded):
        return False
    recorded = recorded.removeprefix("file://")
    return os.path.abspath(found) != os.path.abspath(recorded)


def _source_candidates(path: str, base_dir: str | None) -> list[str]:
    """Where a recorded source may be now, in order.

    An absolute path only as recorded. A relative one (as the run was given it) first from
    the current folder, then from the results folder's parent (where ``--out out/`` was
    typically given from, whatever folder the report is built in). Never the results folder
    by name: a file of the source's name there is its output.
    """
    path = path.removeprefix("file://")
    if os.path.isabs(path):
        return [path]
    candidates = [path]
    if base_dir:
        candidates.append(os.path.join(os.path.dirname(os.path.abspath(base_dir)), path))
    return candidates


def _output_candidates(path: str, base_dir: str | None) -> list[str]:
    """Where a recorded output may be now: as recorded (relative paths as for sources),
    then the same name in the results folder (the output folder moved, as a whole)."""
    path = path.removeprefix("file://")
    candidates = _source_candidates(path, base_dir)
    if base_dir:
        candidates.append(os.path.join(base_dir, os.path.basename(path)))
    return candidates


def _open_source(
    stack: contextlib.ExitStack, path: Any, base_dir: str | None, output: str | None
) -> str | None:
    """A local file holding the record's source, or None (never the output: see below)."""
    if not isinstance(path, str) or not path:
        return None
    if is_url(path):
        return _fetch(stack, path)
    for candidate in _source_candidates(path, base_dir):
        if not os.path.isfile(candidate):
            continue
        # A run refuses inputs inside its output folder, so a "source" there that is an
        # output (or any file of a run folder) is the wrong file: drawing it would show the
        # processed audio as the "before".
        if output is not None and _same_file(candidate, output):
            continue
        if base_dir and _inside_run_folder(candidate, base_dir):
            continue
        return candidate
    return None


def _open_output(stack: contextlib.ExitStack, path: Any, base_dir: str | None) -> str | None:
    """A local file holding the record's output, or None."""
    if not isinstance(path, str) or not path:
        return None
    if is_url(path):
        fetched = _fetch(stack, path)
        if fetched is not None:
            return fetched
    for candidate in _output_candidates(path, base_dir):
        if os.path.isfile(candidate):
            return candidate
    return None


def _fetch(stack: contextlib.ExitStack, url: str) -> str | None:
    """A temporary local copy of ``url`` (deleted with ``stack``), or None when unreachable."""
    try:
        return stack.enter_context(fetch(url))
    except (OSError, ValueError, VoiceprepError):
        return None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside_run_folder(path: str, base_dir: str) -> bool:
    """True for a file inside ``base_dir`` when that is a run's output folder (it has a
    journal); a results.jsonl written by hand may sit beside its sources."""
    folder = os.path.realpath(base_dir)
    return os.path.realpath(path).startswith(folder + os.sep) and os.path.isfile(
        os.path.join(folder, JOURNAL_NAME)
    )


def _decode(path: str) -> tuple[np.ndarray, int] | None:
    from stages.decode import decode_file

    try:
        decoded = decode_file(path)
    except Exception:
        return None
    if decoded.samples.size == 0 or decoded.info.sample_rate <= 0:
        return None
    return decoded.samples, decoded.info.sample_rate


def _speech_spans(metrics: dict[str, Any]) -> list[tuple[float, float]]:
    """The speech to shade, in source time: the vad's ``speech_segments``, or (records of
    older runs) one span from ``speech_start_s`` to ``speech_end_s``."""
    segments = metrics.get("speech_segments")
    if isinstance(segments, list) and segments:
        spans = []
        for pair in segments:
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                start, end = pair
                if isinstance(start, (int, float)) and isinstance(end, (int, float)):
                    spans.append((float(start), float(end)))
        if spans:
            return spans
    start, end = metrics.get("speech_start_s"), metrics.get("speech_end_s")
    if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
        return []
    return [(float(start), float(end))]


def _trimmed_spans(metrics: dict[str, Any], duration_s: float) -> list[tuple[float, float]]:
    spans = []
    head = metrics.get("trimmed_start_s") or 0.0
    tail = metrics.get("trimmed_end_s") or 0.0
    if head > 0:
        spans.append((0.0, float(head)))
    if tail > 0:
        spans.append((duration_s - float(tail), duration_s + 1.0))
    return spans


def _preview(samples: np.ndarray, rate: int, max_s: float) -> tuple[bytes, str]:
    """A short mono preview: 16 kHz MP3 (32 kbit/s), or 8 kHz PCM16 WAV if MP3 can't be written."""
    import soundfile as sf
    import soxr

    mono = downmix(_as_columns(samples)[: int(max_s * rate)])
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak > 1.0:
        mono = mono / peak
    buffer = io.BytesIO()
    try:
        resampled = soxr.resample(mono, rate, PREVIEW_RATE) if rate != PREVIEW_RATE else mono
        sf.write(
            buffer,
            np.clip(resampled, -1.0, 1.0),
            PREVIEW_RATE,
            format="MP3",
            subtype="MPEG_LAYER_III",
            compression_level=PREVIEW_COMPRESSION,
            bitrate_mode="CONSTANT",
        )
        return buffer.getvalue(), "audio/mpeg"
    except (sf.LibsndfileError, TypeError, ValueError):  # libsndfile < 1.1 has no MP3 writer
        buffer = io.BytesIO()
        narrow = soxr.resample(mono, rate, 8000) if rate != 8000 else mono
        sf.write(buffer, np.clip(narrow, -1.0, 1.0), 8000, format="WAV", subtype="PCM_16")
        return buffer.getvalue(), "audio/wav"


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

# (metric key, label, format); what a card shows and what the page can sort by.
_KEY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("source_duration_s", "source", "{:.2f} s"),
    ("duration_s", "kept", "{:.2f} s"),
    ("lufs", "loudness", "{:.1f} LUFS"),
    ("peak_dbfs", "peak", "{:.1f} dBFS"),
    ("snr_db", "SNR", "{:.1f} dB"),
    ("speech_ratio", "speech", "{:.0%}"),
    ("clipping_ratio", "clipping", "{:.2%}"),
)
_SORT_KEYS = {
    "name": "name",
    "snr_db": "SNR",
    "lufs": "loudness",
    "source_duration_s": "duration",
    "speech_ratio": "speech ratio",
    "clipping_ratio": "clipping",
}

_CSS = """
.vp{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222}
.vp h1{font-size:20px;margin:0 0 8px}.vp h2{font-size:15px;margin:14px 0 6px}
.vp table{border-collapse:collapse;margin:4px 0}
.vp td,.vp th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
.vp th{font-weight:600;color:#555}.vp .num{text-align:right;font-variant-numeric:tabular-nums}
.vp .pass{color:#1a7f37}.vp .fail{color:#cf222e}.vp .warning{color:#9a6700}.vp .info{color:#57606a}
.vp .badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;
 color:#fff;vertical-align:middle}
.vp .badge.pass{background:#1a7f37;color:#fff}.vp .badge.fail{background:#cf222e;color:#fff}
.vp .card{border:1px solid #d0d7de;border-left:6px solid #1a7f37;border-radius:6px;
 padding:8px 12px;margin:8px 0;display:flex;gap:16px;flex-wrap:wrap;background:#fff}
.vp .card.failed{border-left-color:#cf222e}
.vp .card .text{flex:1 1 380px;min-width:300px}.vp .card .media{flex:0 0 auto}
.vp .card .name{font-weight:600;font-size:15px;word-break:break-all}
.vp .card .path{color:#57606a;font-size:12px;word-break:break-all}
.vp .card ul{margin:4px 0;padding-left:18px}.vp .card li{margin:2px 0}
.vp .card .code{font-family:ui-monospace,monospace;font-size:12px}
.vp .metrics td{padding-right:14px;font-size:12px}.vp .metrics th{font-size:12px}
.vp .media img{display:block;width:240px;image-rendering:pixelated;border:1px solid #d0d7de;
 margin-bottom:4px}
.vp .media audio{display:block;width:240px;height:30px;margin:2px 0}
.vp .media .lbl{font-size:11px;color:#57606a}.vp .note{font-size:12px;color:#57606a}
.vp .summary{display:flex;flex-wrap:wrap;gap:8px 40px}
.vp .legend span{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px;
 vertical-align:middle;border:1px solid #aaa}
"""

_PAGE_CSS = """
body{margin:0;background:#f6f8fa}.vp.page{max-width:1100px;margin:0 auto;padding:16px}
.vp .controls{position:sticky;top:0;background:#f6f8fa;padding:8px 0;z-index:2;
 border-bottom:1px solid #d0d7de;display:flex;gap:10px;flex-wrap:wrap;align-items:center}
.vp .controls select,.vp .controls input{font:inherit;padding:2px 4px}
.vp a.filter{color:inherit;cursor:pointer;text-decoration:underline dotted}
.vp #vp-sentinel{height:40px;text-align:center;color:#57606a}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("vp-data").textContent);
  const cards = document.getElementById("vp-cards");
  const sentinel = document.getElementById("vp-sentinel");
  const count = document.getElementById("vp-count");
  const ctl = {
    status: document.getElementById("vp-status"),
    code: document.getElementById("vp-code"),
    q: document.getElementById("vp-q"),
    sort: document.getElementById("vp-sort"),
    dir: document.getElementById("vp-dir"),
  };
  const BATCH = 30;
  let view = [];
  let shown = 0;

  function value(d, key) {
    if (key === "name") return d.n.toLowerCase();
    const v = d.m[key];
    return v === null || v === undefined ? null : v;
  }
  function apply() {
    const status = ctl.status.value, code = ctl.code.value;
    const q = ctl.q.value.trim().toLowerCase();
    const key = ctl.sort.value, sign = ctl.dir.value === "desc" ? -1 : 1;
    view = data.filter(d =>
      (status === "all" || d.s === status) &&
      (code === "" || d.f.includes(code)) &&
      (q === "" || d.n.toLowerCase().includes(q) || d.p.toLowerCase().includes(q)));
    view.sort((a, b) => {
      const x = value(a, key), y = value(b, key);
      if (x === y) return a.i - b.i;
      if (x === null) return 1;          // unmeasured values always last
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    });
    cards.replaceChildren();
    shown = 0;
    more();
  }
  function more() {
    const end = Math.min(shown + BATCH, view.length);
    const frag = document.createDocumentFragment();
    for (let k = shown; k < end; k++) {
      const t = document.getElementById("c" + view[k].i);
      frag.appendChild(t.content.cloneNode(true));
    }
    cards.appendChild(frag);
    shown = end;
    count.textContent = "showing " + shown + " of " + view.length +
      " matching clips (" + data.length + " in the run)";
    sentinel.textContent = shown < view.length ? "scroll for more…" : "";
    // Re-arm the observer: if the sentinel is still in view, it fires again for the next batch.
    if (shown < view.length) { observer.unobserve(sentinel); observer.observe(sentinel); }
  }
  const observer = new IntersectionObserver(entries => {
    if (entries.some(e => e.isIntersecting) && shown < view.length) more();
  }, {rootMargin: "600px"});
  for (const el of Object.values(ctl)) {
    el.addEventListener(el.tagName === "INPUT" ? "input" : "change", apply);
  }
  document.querySelectorAll("a.filter").forEach(a => a.addEventListener("click", ev => {
    ev.preventDefault();
    ctl.code.value = a.dataset.code || "";
    ctl.status.value = a.dataset.status || "all";
    apply();
  }));
  document.body.dataset.ready = "1";
  apply();
})();
"""


def card_html(record: dict[str, Any], media: ClipMedia | None = None, *, index: int = 0) -> str:
    """One clip as an HTML card: verdict, findings, key metrics, thumbnails and players."""
    e = html.escape
    source = str(record.get("source") or "")
    name = os.path.basename(source) or source or f"clip {index}"
    failed = not passed(record)  # as the summary counts it
    metrics = record.get("metrics") or {}
    findings = record.get("findings") or []
    verdict = (
        '<span class="badge fail">failed</span>'
        if failed
        else '<span class="badge pass">passed</span>'
    )
    parts = [
        f'<div class="card{" failed" if failed else ""}" id="card-{index}" '
        f'data-index="{index}" data-status="{"failed" if failed else "passed"}">',
        '<div class="text">',
        f'<div><span class="name">{e(name)}</span> {verdict}'
        + (
            f' <span class="note">{e(str(record["profile"]))}</span>'
            if record.get("profile")
            else ""
        )
        + "</div>",
        f'<div class="path">{e(source)}'
        + (f" → {e(str(record['output']))}" if record.get("output") else "")
        + "</div>",
    ]
    info = record.get("source_info")
    if info:
        bits = [
            info.get("container"),
            info.get("codec"),
            _hz(info.get("sample_rate")),
            f"{info.get('channels')} ch" if info.get("channels") else None,
            _size(info.get("bytes")),
        ]
        parts.append(f'<div class="note">{e(", ".join(str(b) for b in bits if b))}</div>')
    if findings:
        parts.append("<ul>")
        for f in findings:
            severity = str(f.get("severity", "info"))
            cls = "fail" if severity == "error" else severity
            parts.append(
                f'<li><span class="{e(cls)}"><b>{e(severity)}</b></span> '
                f'<span class="code">{e(str(f.get("code", "")))}</span> — '
                f"{e(str(f.get('message', '')))}</li>"
            )
        parts.append("</ul>")
    else:
        parts.append('<div class="note">no findings: ready for the vendor</div>')
    parts.append(_metrics_table(metrics))
    parts.append("</div>")
    parts.append(_media_html(media, metrics))
    parts.append("</div>")
    return "".join(parts)


def _metrics_table(metrics: dict[str, Any]) -> str:
    heads, cells = [], []
    for key, label, fmt in _KEY_METRICS:
        heads.append(f"<th>{label}</th>")
        cells.append(f'<td class="num">{_format_metric(metrics.get(key), fmt)}</td>')
    start, end = metrics.get("speech_start_s"), metrics.get("speech_end_s")
    heads.append("<th>speech at</th>")
    cells.append(
        f'<td class="num">{start:.2f}–{end:.2f} s</td>'
        if _is_number(start) and _is_number(end)
        else "<td>—</td>"
    )
    return f'<table class="metrics"><tr>{"".join(heads)}</tr><tr>{"".join(cells)}</tr></table>'


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _format_metric(value: Any, fmt: str) -> str:
    """A metric as the card shows it: formatted when a number, escaped text otherwise
    (a record written by another tool), "—" when missing."""
    if value is None:
        return "—"
    if _is_number(value):
        return fmt.format(value)
    return html.escape(str(value))


def _media_html(media: ClipMedia | None, metrics: dict[str, Any]) -> str:
    if media is None:
        return ""
    out = ['<div class="media">']
    if media.waveform_png:
        title = "waveform of the source: green = speech, grey = trimmed away, red = clipping"
        src = _data_uri(media.waveform_png, "image/png")
        out.append(f'<img class="wave" alt="{title}" title="{title}" src="{src}">')
    if media.spectrogram_png:
        title = "spectrogram of the source, log frequency 30 Hz – Nyquist, 90 dB range"
        src = _data_uri(media.spectrogram_png, "image/png")
        out.append(f'<img class="spec" alt="{title}" title="{title}" src="{src}">')
    for label, clip in (("before", media.before_audio), ("after", media.after_audio)):
        if clip:
            out.append(
                f'<div class="lbl">{label}</div><audio class="{label}" controls preload="none" '
                f'src="{_data_uri(clip, media.audio_mime)}"></audio>'
            )
    for note in media.notes:
        out.append(f'<div class="note">{html.escape(note)}</div>')
    out.append("</div>")
    return "".join(out)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _hz(rate: Any) -> str | None:
    return f"{rate / 1000:g} kHz" if isinstance(rate, (int, float)) and rate else None


def _size(n: Any) -> str | None:
    if not isinstance(n, (int, float)):
        return None
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


@dataclass
class _Tally:
    """What the summary needs, counted as records stream past."""

    total: int = 0
    passed: int = 0
    source_s: float = 0.0
    kept_s: float = 0.0
    profiles: dict[str, Counter[str]] = field(default_factory=dict)
    codes: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        status = "passed" if passed(record) else "failed"
        metrics = record.get("metrics") or {}
        self.total += 1
        self.passed += status == "passed"
        self.source_s += _number(metrics.get("source_duration_s"))
        if status == "passed":
            self.kept_s += _number(metrics.get("duration_s"))
        self.profiles.setdefault(str(record.get("profile") or "—"), Counter())[status] += 1
        seen = set()
        for f in record.get("findings") or []:
            key = (str(f.get("code")), str(f.get("severity")))
            if key not in seen:
                seen.add(key)
                self.codes.setdefault(key, Counter())[status] += 1


_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _summary_html(tally: _Tally, *, links: bool) -> str:
    e = html.escape
    failed = tally.total - tally.passed

    def link(text: str, code: str = "", status: str = "") -> str:
        if not links:
            return text
        return f'<a class="filter" data-code="{e(code)}" data-status="{e(status)}">{text}</a>'

    out = [
        '<div class="summary"><div><h2>Run</h2><table>',
        f'<tr><th>clips</th><td class="num">{tally.total}</td></tr>',
        '<tr><th class="pass">passed</th><td class="num">'
        f"{link(str(tally.passed), status='passed')}</td></tr>",
        '<tr><th class="fail">failed</th><td class="num">'
        f"{link(str(failed), status='failed')}</td></tr>",
        f'<tr><th>audio in</th><td class="num">{tally.source_s / 60:.1f} min</td></tr>',
        f'<tr><th>audio out</th><td class="num">{tally.kept_s / 60:.1f} min</td>'
        '<td class="note">passed clips, after trimming</td></tr>',
        "</table></div>",
    ]
    if tally.profiles:
        out.append(
            "<div><h2>Per profile</h2><table><tr><th>profile</th><th>clips</th>"
            "<th>passed</th><th>failed</th><th>verdict</th></tr>"
        )
        for name, counts in sorted(tally.profiles.items()):
            bad = counts["failed"]
            verdict = (
                '<span class="pass">all pass</span>'
                if not bad
                else f'<span class="fail">{bad} to fix</span>'
            )
            out.append(
                f"<tr><td>{e(name)}</td><td class='num'>{counts.total()}</td>"
                f"<td class='num'>{counts['passed']}</td><td class='num'>{bad}</td>"
                f"<td>{verdict}</td></tr>"
            )
        out.append("</table></div>")
    if tally.codes:
        out.append(
            "<div><h2>Findings</h2><table><tr><th>finding</th><th>severity</th>"
            "<th>clips</th><th>of which passed</th><th>of which failed</th></tr>"
        )
        ordered = sorted(
            tally.codes.items(),
            key=lambda kv: (_SEVERITY_ORDER.get(kv[0][1], 3), -kv[1].total(), kv[0]),
        )
        for (code, severity), counts in ordered:
            cls = "fail" if severity == "error" else severity
            out.append(
                f'<tr><td class="code">{link(e(code), code=code)}</td>'
                f'<td class="{e(cls)}">{e(severity)}</td><td class="num">{counts.total()}</td>'
                f"<td class='num'>{counts['passed']}</td><td class='num'>{counts['failed']}</td>"
                "</tr>"
            )
        out.append("</table></div>")
    out.append("</div>")
    return "".join(out)


def _legend() -> str:
    def swatch(rgb: tuple[int, int, int]) -> str:
        return f'<span style="background:rgb{rgb}"></span>'

    return (
        f'<div class="legend note">waveform: {swatch(_SPEECH_BG)}speech {swatch(_TRIM_BG)}trimmed '
        f"away {swatch(_CLIP)}clipping; spectrogram: log frequency, 30 Hz at the bottom</div>"
    )


def _index_entry(record: dict[str, Any], index: int) -> dict[str, Any]:
    """The compact row the page filters and sorts on."""
    metrics = record.get("metrics") or {}
    source = str(record.get("source") or "")
    return {
        "i": index,
        "n": os.path.basename(source) or source,
        "p": source,
        "s": "passed" if passed(record) else "failed",
        "f": sorted({str(f.get("code")) for f in record.get("findings") or []}),
        "m": {key: _sortable(metrics.get(key)) for key in _SORT_KEYS if key != "name"},
    }


def _number(value: Any) -> float:
    """A metric as a finite number to add up; 0 when missing or not a number."""
    return _sortable(value) or 0.0


def _sortable(value: Any) -> float | None:
    """A metric the page can sort on: a finite number, or None (sorted last)."""
    return float(value) if _is_number(value) and math.isfinite(value) else None


def write_report(
    out_dir: str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    audio: bool = True,
    preview_max_s: float = 20.0,
    progress: bool | None = None,
    title: str | None = None,
    workers: int | None = None,
) -> str:
    """Write the HTML report of the run in ``out_dir`` and return its path.

    ``out_dir`` is the run's ``--out``: a folder, a ``file://`` URL, its results.jsonl, or
    the URL of a remote run (``s3://…``), whose results.jsonl the runner keeps in a local
    folder (`pipeline.runner.state_dir`): the report of a remote run is written there.
    ``path`` defaults to ``report.html`` beside the results.jsonl. ``audio=False`` leaves
    out the players (pages of thousands of clips stay small); ``preview_max_s`` caps each
    preview's length. Cards are drawn by ``workers`` processes (default: all cores).
    """
    results_path, name = results_location(out_dir)
    base_dir = os.path.dirname(os.path.abspath(results_path))
    target = check_target(os.fspath(path)) if path is not None else None
    target = target or os.path.join(base_dir, REPORT_NAME)
    total = _count_lines(results_path)
    bar = _progress_bar(total, progress)
    tally = _Tally()
    index: list[dict[str, Any]] = []
    cards_tmp = temporary_path(target, "cards")
    page_tmp = temporary_path(target)
    try:
        # A file name that is not valid UTF-8 shows as \udcXX escapes (as in results.jsonl).
        options = _CardOptions(audio=audio, preview_max_s=preview_max_s, base_dir=base_dir)
        pool = LocalPool(max(1, min(workers or os.cpu_count() or 1, total)))
        jobs = enumerate(read_records(results_path))
        with open(cards_tmp, "w", encoding="utf-8", errors=LONE_SURROGATES) as cards:
            for i, record, card in _in_order(
                pool.imap_unordered(_card_job, jobs, state=options, on_error=_card_failed)
            ):
                cards.write(f'<template id="c{i}">{card}</template>\n')
                tally.add(record)
                index.append(_index_entry(record, i))
                bar.update(1)
        with open(page_tmp, "w", encoding="utf-8", errors=LONE_SURROGATES) as page:
            page.write(_page_head(title or f"voiceprep report — {name}", tally, index))
            with open(cards_tmp, encoding="utf-8") as cards:
                shutil.copyfileobj(cards, page)
            page.write(f"<script>{_SCRIPT}</script></body></html>\n")
        os.replace(page_tmp, target)
    finally:
        bar.close()
        for leftover in (cards_tmp, page_tmp):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return target


@dataclass(frozen=True)
class _CardOptions:
    """What every card of one page is drawn with (shipped once to each worker)."""

    audio: bool
    preview_max_s: float
    base_dir: str


_Job = tuple[int, dict[str, Any]]
_Card = tuple[int, dict[str, Any], str]


def _card_job(options: _CardOptions, job: _Job) -> _Card:
    """One card, drawn in a worker: decoding and encoding are most of a report's time."""
    i, record = job
    media = clip_media(
        record, audio=options.audio, preview_max_s=options.preview_max_s, base_dir=options.base_dir
    )
    return i, record, card_html(record, media, index=i)


def _card_failed(job: _Job, exc: BaseException) -> _Card:
    """The card of a record that could not be drawn: the text, and a note saying why."""
    i, record = job
    media = ClipMedia(notes=[f"could not draw this clip ({type(exc).__name__}: {exc})"])
    return i, record, card_html(record, media, index=i)


def _in_order(cards: Iterable[_Card]) -> Iterator[_Card]:
    """Cards in record order from cards in completion order (a few are held back at most)."""
    held: dict[int, _Card] = {}
    following = 0
    for card in cards:
        held[card[0]] = card
        while following in held:
            yield held.pop(following)
            following += 1


def results_location(out_dir: str | os.PathLike[str]) -> tuple[str, str]:
    """The local results.jsonl of the run into ``out_dir``, and a name for the page's title.

    Raises `ConfigurationError` saying what to do when there is none.
    """
    out = os.fspath(out_dir)
    if is_url(out):
        from pipeline.runner import state_dir

        local = state_dir(out)
        results_path = os.path.join(local, RESULTS_NAME)
        if not os.path.isfile(results_path):
            raise ConfigurationError(
                f"no {RESULTS_NAME} of a run into {out} on this machine (looked in {local}, "
                "where `voiceprep run` keeps it for a remote --out); make the report on the "
                f"machine that ran it, or download {out.rstrip('/')}/{RESULTS_NAME} and pass "
                "its folder"
            )
        return results_path, out.rstrip("/").rsplit("/", 1)[-1] or out
    out = out.removeprefix("file://")
    results_path = out if out.endswith(".jsonl") else os.path.join(out, RESULTS_NAME)
    if not os.path.isfile(results_path):
        raise ConfigurationError(
            f"no {RESULTS_NAME} in {out}; run `voiceprep run PATHS --profile P --out "
            f"{out}` first, then make the report"
        )
    return results_path, os.path.basename(os.path.dirname(os.path.abspath(results_path)))


def check_target(path: str) -> str:
    """The local file a page may be written to; a `ConfigurationError` saying what to do if
    it cannot be written there."""
    if "://" in path and not path.startswith("file://"):
        raise ConfigurationError(
            f"the report is written to a local file, not {path}; give a path such as "
            "report.html (and upload it yourself)"
        )
    path = path.removeprefix("file://")
    if os.path.isdir(path):
        raise ConfigurationError(
            f"{path} is a folder; give the report a file name, e.g. "
            f"{os.path.join(path, REPORT_NAME)}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigurationError(
            f"cannot write {path}: the folder {folder} does not exist; create it first "
            "or choose another file"
        )
    if not os.access(folder, os.W_OK):
        raise ConfigurationError(f"cannot write {path}: no permission to write in {folder}")
    return path


def _page_head(title: str, tally: _Tally, index: list[dict[str, Any]]) -> str:
    e = html.escape
    codes = sorted({code for entry in index for code in entry["f"]})
    code_options = "".join(f'<option value="{e(c)}">{e(c)}</option>' for c in codes)
    sort_options = "".join(f'<option value="{k}">{v}</option>' for k, v in _SORT_KEYS.items())
    data = json.dumps(index, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c")  # never close the script element early
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_CSS}{_PAGE_CSS}</style></head>"
        f'<body><div class="vp page"><h1>{e(title)}</h1>'
        f"{_summary_html(tally, links=True)}{_legend()}"
        '<div class="controls">'
        '<label>status <select id="vp-status"><option value="all">all</option>'
        '<option value="passed">passed</option><option value="failed">failed</option>'
        "</select></label>"
        f'<label>finding <select id="vp-code"><option value="">any</option>{code_options}'
        "</select></label>"
        '<label>name <input id="vp-q" type="search" placeholder="filter by name"></label>'
        f'<label>sort by <select id="vp-sort">{sort_options}</select></label>'
        '<select id="vp-dir"><option value="asc">ascending</option>'
        '<option value="desc">descending</option></select>'
        '<span id="vp-count" class="note"></span></div>'
        '<div id="vp-cards"></div><div id="vp-sentinel"></div></div>'
        f'<script type="application/json" id="vp-data">{data}</script>\n'
    )


def _count_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def _progress_bar(total: int, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="clip", desc="report", dynamic_ncols=True)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------------------------


def record_html(record: dict[str, Any], *, audio: bool = True, base_dir: str | None = None) -> str:
    """One result record as a standalone HTML card (for Jupyter's ``_repr_html_``).

    ``base_dir``: the folder of its results.jsonl, where moved outputs are found.
    """
    media = clip_media(record, audio=audio, base_dir=base_dir)
    return f'<div class="vp"><style>{_CSS}</style>{card_html(record, media)}</div>'


def results_html(
    records: Iterable[dict[str, Any]], *, max_cards: int = 10, base_dir: str | None = None
) -> str:
    """A summary table and the first ``max_cards`` clip cards, failed clips first.

    ``base_dir``: the folder of the results.jsonl, as for `record_html`.
    """
    tally = _Tally()
    failed: list[dict[str, Any]] = []
    passing: list[dict[str, Any]] = []
    for record in records:
        tally.add(record)
        bucket = passing if passed(record) else failed
        if len(bucket) < max_cards:
            bucket.append(record)
    shown = (failed + passing)[:max_cards]
    cards = "".join(
        card_html(r, clip_media(r, base_dir=base_dir), index=i) for i, r in enumerate(shown)
    )
    more = (
        f'<div class="note">{tally.total - len(shown)} more clips: write_report(out_dir) shows '
        "them all, or index the results (results[i])</div>"
        if tally.total > len(shown)
        else ""
    )
    return (
        f'<div class="vp"><style>{_CSS}</style>{_summary_html(tally, links=False)}'
        f"{_legend()}{cards}{more}</div>"
    )
