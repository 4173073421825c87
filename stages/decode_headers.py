"""What an MP3's, Ogg or ASF file's own bytes say about its audio, read without decoding it.

Decode uses these to choose a decoder and to tell a cut file from a complete one: an MP3's
Xing/Info/VBRI header counts its frames and bytes, and without one every MPEG frame header
gives the frame's length, so the last frame of a cut file runs past the end; every Ogg page
header gives the page's length, so a file cut at an arbitrary byte stops inside a page; an
ASF header gives the size of the whole file. A copy that stopped partway lacks the bytes.
"""

from __future__ import annotations

import functools
import mmap
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
    sync = _first_frame(frame, 0)  # a confirmed frame; else the first sync byte there is
    if sync is None:
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


@dataclass(frozen=True)
class OggEnd:
    """The last Ogg page of a file: whether all of it is there, its end mark, what follows."""

    whole: bool  # False: the file stops partway through the page
    end_of_stream: bool
    granule: int  # the stream position of the page's last packet (-1: none ends there)
    trailing: int  # bytes after a whole page that start no page (0: the file ends with it)

    @property
    def cut(self) -> bool:
        """True if the file was cut here: inside the page, or after an unmarked page that
        stray bytes follow (the zeros of a preallocated copy that was never filled)."""
        return not self.whole or (not self.end_of_stream and self.trailing > 0)


def ogg_last_page(path: str, size: int) -> OggEnd | None:
    """The file's last Ogg page, or None when its tail holds no page (it tells nothing)."""
    span = min(size, 2 * OGG_MAX_PAGE)
    try:
        with open(path, "rb") as fh:
            fh.seek(size - span, os.SEEK_SET)
            tail = fh.read(span)
    except OSError:
        return None
    at = tail.rfind(b"OggS")
    if at >= 0 and len(tail) < at + 27 and tail[at + 4 : at + 5] in (b"", b"\x00"):
        return OggEnd(False, False, -1, 0)  # the file stops inside a page header
    while at >= 0:
        if len(tail) >= at + 27 and tail[at + 4] == 0:  # stream structure version 0
            segments = tail[at + 26]
            table = tail[at + 27 : at + 27 + segments]
            page_end = at + 27 + segments + sum(table)
            whole = len(table) == segments and page_end <= len(tail)
            (granule,) = struct.unpack_from("<q", tail, at + 6)
            trailing = len(tail) - page_end if whole else 0
            return OggEnd(whole, bool(tail[at + 5] & 0x04), granule, trailing)
        at = tail.rfind(b"OggS", 0, at)
    return None


def ogg_cut(path: str, size: int) -> OggEnd | None:
    """The file's last Ogg page if its bytes show the file was cut there, else None.

    A file cut at an arbitrary byte almost always stops inside a page (pages are a few KB;
    a cut lands on a page boundary about once in 4,000). A whole last page without the
    end-of-stream flag that ends the file is a complete stream: some encoders never set
    the flag (548 of the 1,836 voice files KLettres installs, libVorbis 20070622), and
    every player plays such a file to its last page. A tail with no page in it tells nothing (None).
    """
    end = ogg_last_page(path, size)
    return end if end is not None and end.cut else None


# --- MPEG audio frames (an MP3 without a Xing/Info/VBRI header) ---------------------------

MP3_SYNC_SEARCH = 64 * 1024  # how far past the ID3v2 tag the first frame may start
# Bit rates in kbit/s by bit-rate index 1..14 (0 is "free format", 15 is invalid).
_KBPS = {
    (1, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by version bits (0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1) and rate index 0..2.
_RATES = {0: (11025, 12000, 8000), 2: (22050, 24000, 16000), 3: (44100, 48000, 32000)}


@functools.cache
def mpeg_frame_lengths(second: int, rate_index: int) -> tuple[int, ...]:
    """Frame length in bytes for each value of an MPEG audio header's third byte (0: invalid).

    ``second`` is the header's second byte (version and layer bits; the CRC bit is ignored).
    Third bytes of another sample rate than ``rate_index``, free format (bit-rate index 0)
    and the invalid index 15 give 0: a stream keeps its version, layer and rate throughout.
    """
    version, layer_bits = (second >> 3) & 0x3, (second >> 1) & 0x3
    if version == 1 or layer_bits == 0 or rate_index == 3:
        return (0,) * 256
    layer = 4 - layer_bits  # 1, 2 or 3
    kbps = _KBPS[(1 if version == 3 else 2, layer)]
    rate = _RATES[version][rate_index]
    lengths = []
    for third in range(256):
        index, padding = third >> 4, (third >> 1) & 0x1
        if (third >> 2) & 0x3 != rate_index or index in (0, 15):
            lengths.append(0)
            continue
        bits_per_s = kbps[index - 1] * 1000
        if layer == 1:
            lengths.append((12 * bits_per_s // rate + padding) * 4)
        else:  # MPEG-2/2.5 Layer III frames hold half as many samples (576, not 1152)
            per_frame = 72 if layer == 3 and version != 3 else 144
            lengths.append(per_frame * bits_per_s // rate + padding)
    return tuple(lengths)


def _first_frame(data: bytes | mmap.mmap, start: int) -> int | None:
    """Offset of the first MPEG audio frame at or after ``start``: a header whose frame is
    followed by a second header of the same stream (a lone 0xFF byte proves nothing)."""
    end = min(len(data), start + MP3_SYNC_SEARCH)
    at = data.find(b"\xff", start, end)
    while at >= 0 and at + 4 <= len(data):
        second = data[at + 1] | 1
        if second & 0xE0 == 0xE0:
            lengths = mpeg_frame_lengths(second, (data[at + 2] >> 2) & 0x3)
            after = at + lengths[data[at + 2]]
            head = data[after : after + 3]
            if after > at and len(head) == 3 and _is_header(head, second, lengths):
                return at
        at = data.find(b"\xff", at + 1, end)
    return None


def _is_header(head: bytes, second: int, lengths: tuple[int, ...]) -> bool:
    """True if ``head`` (1-3 bytes; fewer at the end of a file) starts a frame of the stream
    whose second header byte is ``second`` (CRC bit set) and frame lengths ``lengths``."""
    return (
        head[:1] == b"\xff"
        and (len(head) < 2 or head[1] | 1 == second)
        and (len(head) < 3 or lengths[head[2]] > 0)
    )


def mp3_cut_mid_frame(path: str, start: Mp3Start) -> bool:
    """True if the file ends inside an MPEG audio frame: cut while copied or recorded.

    Walks the frame headers from the first frame, each giving its frame's length; an
    encoder writes whole frames, so a complete stream ends exactly at a frame's end. Bytes
    that do not start a frame of the stream end the walk without a verdict: an ID3v1,
    APEv2 or Lyrics3 tag, zero padding or junk a tool appended (every frame before them is
    whole, so the audio is complete). Only 1-3 bytes that begin such a header, or a last
    header whose frame runs past the end of the file, tell a cut. Reads headers only (a
    10-minute file has ~23,000 frames).
    """
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _ends_mid_frame(data, start.offset)
    except (OSError, ValueError):
        return False


def _ends_mid_frame(data: bytes | mmap.mmap, start: int) -> bool:
    """True if the MPEG frames of ``data`` from ``start`` on end inside a frame."""
    pos = _first_frame(data, start)
    if pos is None:
        return False
    second = data[pos + 1] | 1
    lengths = mpeg_frame_lengths(second, (data[pos + 2] >> 2) & 0x3)
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF or data[pos + 1] | 1 != second:
            return False
        step = lengths[data[pos + 2]]
        if not step:
            return False
        pos += step
    if pos > size:
        return True  # the last frame's header promises more bytes than the file holds
    return _is_header(data[pos:size], second, lengths)  # 0-3 bytes: a clean end or a cut


# --- ASF (WMA) ----------------------------------------------------------------------------

ASF_HEADER_READ = 256 * 1024  # the File Properties Object comes early in the header
_ASF_FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")
_ASF_BROADCAST = 0x1


def asf_declared_size(path: str) -> int | None:
    """The file size an ASF (WMA/WMV) header's File Properties Object gives, if it gives one.

    The header object (GUID, size, object count, two reserved bytes) holds objects of
    GUID + size + body; File Properties' body starts with a file ID, then the size of the
    whole file. A file still being written or streamed sets the broadcast flag, and then
    the size means nothing (often 0): None, as for a header without the object.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(ASF_HEADER_READ)
    except OSError:
        return None
    if len(head) < 30:
        return None
    (count,) = struct.unpack_from("<I", head, 24)
    at = 30
    for _ in range(min(count, 1000)):
        if at + 24 > len(head):
            return None
        (object_size,) = struct.unpack_from("<Q", head, at + 16)
        if head[at : at + 16] == _ASF_FILE_PROPERTIES:
            if object_size < 104 or at + 92 > len(head):
                return None
            (file_size,) = struct.unpack_from("<Q", head, at + 40)
            (flags,) = struct.unpack_from("<I", head, at + 88)
            return None if flags & _ASF_BROADCAST or file_size == 0 else file_size
        if object_size < 24:
            return None
        at += object_size
    return None
