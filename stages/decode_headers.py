"""What an MP3's or Ogg file's own bytes say about its audio, read without decoding it.

Decode uses these to choose a decoder and to tell a cut file from a complete one: an MP3's
Xing/Info/VBRI header counts its frames and bytes, and an Ogg stream marks its last page
(end of stream); a copy that stopped partway has neither the bytes nor the mark.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, segment table, 255 segments of 255 bytes
XING_SIZE_TOLERANCE = 0.01  # mpg123 warns (on stderr) when the stream is off by more


@dataclass(frozen=True)
class Mp3Start:
    """Where an MP3's frames start, and what its first frame's Xing/Info/VBRI header holds."""

    offset: int  # bytes of ID3v2 tag before the first frame
    has_toc: bool  # a Xing/Info/VBRI header: the frame count is known
    stream_bytes: int | None  # the Xing header's byte count of the stream, if it has one


def id3v2_end(head: bytes) -> int:
    """Bytes the ID3v2 tag at the start of ``head`` takes (0 without one)."""
    if head[:3] != b"ID3" or len(head) < 10:
        return 0
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | head[9]
    return 10 + size + (10 if head[5] & 0x10 else 0)


def read_mp3_start(path: str, head: bytes) -> Mp3Start:
    """The first MP3 frame's offset and its Xing/Info/VBRI header (read from the file)."""
    offset = id3v2_end(head)
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            frame = fh.read(2048)
    except OSError:
        return Mp3Start(offset, False, None)
    sync = frame.find(b"\xff")
    first = frame[sync : sync + 200] if sync >= 0 else b""
    stream_bytes = None
    for tag in (b"Xing", b"Info"):
        at = first.find(tag)
        if at >= 0 and len(first) >= at + 16:
            (flags,) = struct.unpack(">I", first[at + 4 : at + 8])
            if flags & 0x2:  # the byte count follows the frame count (flag 0x1) if any
                field = at + 8 + (4 if flags & 0x1 else 0)
                (stream_bytes,) = struct.unpack(">I", first[field : field + 4])
            return Mp3Start(offset, True, stream_bytes or None)
    return Mp3Start(offset, b"VBRI" in first, None)


def mp3_stream_bytes(path: str, size: int, start: Mp3Start) -> int:
    """Bytes of MP3 frames in the file: after the ID3v2 tag, before an ID3v1 tag."""
    end = size
    if size - start.offset >= 128:
        try:
            with open(path, "rb") as fh:
                fh.seek(size - 128)
                if fh.read(3) == b"TAG":
                    end -= 128
        except OSError:
            pass
    return max(0, end - start.offset)


def xing_size_off(path: str, size: int, start: Mp3Start) -> bool:
    """True when the stream is not the size its Xing header says (cut, or data appended).

    libsndfile's MP3 decoder (mpg123) then prints "Warning: Xing stream size off..." on the
    terminal, where decode cannot catch it, so such files are decoded through ffmpeg.
    """
    if start.stream_bytes is None:
        return False
    actual = mp3_stream_bytes(path, size, start)
    return abs(actual - start.stream_bytes) > XING_SIZE_TOLERANCE * max(actual, 1)


def holds_only_id3(path: str, size: int, head: bytes) -> bool:
    """True for an MP3 that is an ID3 tag and nothing else (zero padding, an ID3v1 tag)."""
    offset = id3v2_end(head)
    if offset == 0 or size - offset > 128 + 4096:
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            rest = fh.read()
    except OSError:
        return False
    if len(rest) >= 128 and rest[-128:-125] == b"TAG":
        rest = rest[:-128]
    return not rest.strip(b"\x00")


def ogg_ends_cleanly(path: str, size: int) -> bool:
    """True if the file's last complete Ogg page carries the end-of-stream flag.

    Every Ogg writer marks the last page of a stream; a file cut partway ends on a page
    without the mark, or on half a page. A tail with no page in it tells nothing (True).
    """
    span = min(size, 2 * OGG_MAX_PAGE)
    try:
        with open(path, "rb") as fh:
            fh.seek(size - span, os.SEEK_SET)
            tail = fh.read(span)
    except OSError:
        return True
    at = tail.rfind(b"OggS")
    while at >= 0:
        if len(tail) >= at + 27 and tail[at + 4] == 0:  # stream structure version 0
            segments = tail[at + 26]
            table = tail[at + 27 : at + 27 + segments]
            if len(table) < segments or at + 27 + segments + sum(table) > len(tail):
                return False  # the last page is cut short
            return bool(tail[at + 5] & 0x04)
        at = tail.rfind(b"OggS", 0, at)
    return True
