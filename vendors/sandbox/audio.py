"""Fetch and inspect the audio a client hands the sandbox, as the vendor would.

The container is sniffed from the bytes (`stages.decode.sniff_container`), never taken
from the name; duration comes from libsndfile for WAV/MP3 and from `stages.decode`'s
ffmpeg path for MP4/MOV. `check_audio` answers the vendor's constraints with one
sentence saying what is wrong, or None.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass

import httpx

__all__ = ["AudioFacts", "FetchError", "check_audio", "fetch_audio", "inspect_audio"]

GSM_FRAME_BYTES, GSM_FRAME_SAMPLES, GSM_RATE = 33, 160, 8000


class FetchError(Exception):
    """A URL the sandbox was given could not be fetched; the message says why."""


@dataclass(frozen=True)
class AudioFacts:
    """What the sandbox learnt of a file. ``container`` is None when unrecognised;
    ``duration_s`` is None when the audio could not be decoded."""

    container: str | None
    bytes: int
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    codec: str | None = None


async def fetch_audio(url: str, *, max_bytes: int, timeout_s: float) -> bytes:
    """GET ``url``; at most ``max_bytes + 1`` bytes are read (enough to say "too big")."""
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"{url!r} is not an http(s) URL")
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise FetchError(f"fetching {url} answered HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    break
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FetchError(f"cannot fetch {url}: {type(exc).__name__}") from None


def inspect_audio(data: bytes, *, filename: str | None = None) -> AudioFacts:
    """Container, size and (when decodable) duration, rate and channels of ``data``."""
    from stages.decode import sniff_container

    container = sniff_container(data[:64])
    ext = os.path.splitext(filename or "")[1].lower()
    if container is None and ext == ".gsm" and data and len(data) % GSM_FRAME_BYTES == 0:
        frames = len(data) // GSM_FRAME_BYTES * GSM_FRAME_SAMPLES
        return AudioFacts("gsm", len(data), frames / GSM_RATE, GSM_RATE, 1, "gsm610")
    if container in ("wav", "mp3", "flac", "ogg", "aiff"):
        return _soundfile_facts(data, container)
    if container == "mp4":
        return _ffmpeg_facts(data, container)
    return AudioFacts(container, len(data))


def _soundfile_facts(data: bytes, container: str) -> AudioFacts:
    import soundfile as sf

    try:
        info = sf.info(io.BytesIO(data))
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError):
        return AudioFacts(container, len(data))
    rate = int(info.samplerate)
    return AudioFacts(
        container,
        len(data),
        info.frames / rate if rate > 0 else None,
        rate,
        int(info.channels),
        str(info.subtype).lower(),
    )


def _ffmpeg_facts(data: bytes, container: str) -> AudioFacts:
    from pipeline.errors import InputError
    from stages.decode import decode_file

    with tempfile.TemporaryDirectory(prefix="voiceprep-sandbox-") as tmp:
        path = os.path.join(tmp, "upload.mp4")
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            decoded = decode_file(path, max_duration_s=3600.0)
        except (InputError, OSError):
            return AudioFacts(container, len(data))
    rate = decoded.info.sample_rate
    frames = decoded.samples.shape[0]
    channels = 1 if decoded.samples.ndim == 1 else decoded.samples.shape[1]
    return AudioFacts(container, len(data), frames / rate if rate else None, rate, channels, "aac")


def check_audio(
    facts: AudioFacts,
    *,
    containers: tuple[str, ...],
    max_bytes: int | None = None,
    min_s: float | None = None,
    max_s: float | None = None,
) -> str | None:
    """The first vendor constraint ``facts`` breaks, as a sentence; None when it passes."""
    if max_bytes is not None and facts.bytes > max_bytes:
        return f"file is {facts.bytes} bytes, over the limit of {max_bytes} bytes"
    if facts.container not in containers:
        found = facts.container or "not a recognised audio format"
        return f"file is {found}; accepted: {', '.join(containers)}"
    if (min_s is not None or max_s is not None) and facts.duration_s is None:
        return f"{facts.container} audio could not be decoded to measure its duration"
    if facts.duration_s is not None:
        if min_s is not None and facts.duration_s < min_s:
            return f"audio lasts {facts.duration_s:.2f} s, shorter than {min_s:g} s"
        if max_s is not None and facts.duration_s > max_s:
            return f"audio lasts {facts.duration_s:.2f} s, longer than {max_s:g} s"
    return None
