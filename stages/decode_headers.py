"""What an Ogg file's own bytes say about its audio, read without decoding it.

Decode uses this to tell a cut file from a complete one: an Ogg stream marks its last page
(end of stream); a copy that stopped partway lacks the mark.
"""

from __future__ import annotations

import os

OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, segment table, 255 segments of 255 bytes


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
