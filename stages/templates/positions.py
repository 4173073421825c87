"""Positions in a template text: UTF-8 byte offsets, lines, and terminal columns.

A check may report tens of thousands of violations in one long text, so nothing here
rescans the text per position: byte offsets and line starts are indexed once per text
(`_index`, cached for the last few texts) and looked up in about constant time.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

#: Characters per byte-offset checkpoint: a lookup encodes at most this many characters.
_CHUNK = 256

#: Unicode categories a terminal draws in no column of their own: nonspacing and enclosing
#: marks (Thai vowel signs, accents) and format characters (ZWJ, U+200B, variation selectors
#: are Mn). `unicodedata.combining` misses marks of combining class 0, such as Thai's.
_ZERO_WIDTH = ("Mn", "Me", "Cf")


def utf8_len(text: str) -> int:
    """Bytes of ``text`` in UTF-8: ASCII 1, CJK characters and full-width punctuation 3, emoji 4.

    Lone surrogates (which JSON can smuggle in) are counted as the 3 bytes they would take,
    instead of raising; `parse_template` reports them as ``invalid_unicode``.
    """
    return len(text.encode("utf-8", "surrogatepass"))


@lru_cache(maxsize=4096)
def char_width(char: str) -> int:
    """Terminal columns of one character: 0 for marks and format characters, 2 for wide and
    full-width East-Asian forms, else 1."""
    if unicodedata.category(char) in _ZERO_WIDTH:
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Terminal columns of ``text`` (see `char_width`)."""
    return sum(map(char_width, text))


@dataclass(frozen=True)
class _TextIndex:
    """Byte offsets at every `_CHUNK`-th character, and where each line starts."""

    byte_marks: tuple[int, ...]
    line_starts: tuple[int, ...]
    widths: dict[int, int] = field(default_factory=dict)  # line start -> columns, capped


@lru_cache(maxsize=4)
def _index(text: str) -> _TextIndex:
    chunks = (utf8_len(text[i : i + _CHUNK]) for i in range(0, len(text), _CHUNK))
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return _TextIndex(tuple(accumulate(chunks, initial=0)), tuple(starts))


def byte_offset(text: str, index: int) -> int:
    """UTF-8 bytes of ``text[:index]``, without encoding the whole prefix."""
    if len(text) <= _CHUNK:
        return utf8_len(text[:index])
    index = max(0, min(index, len(text)))
    chunk = index // _CHUNK
    return _index(text).byte_marks[chunk] + utf8_len(text[chunk * _CHUNK : index])


def line_bounds(text: str, index: int) -> tuple[int, int, int]:
    """``(line number from 1, start, end)`` of the line holding ``text[index]``; the end is
    the offset of its ``\\n`` (or of the end of the text)."""
    starts = _index(text).line_starts
    number = bisect_right(starts, index)
    end = starts[number] - 1 if number < len(starts) else len(text)
    return number, starts[number - 1], end


def line_count(text: str) -> int:
    """Lines of ``text``: one more than its ``\\n`` characters."""
    return len(_index(text).line_starts)


def line_width(text: str, start: int, end: int, *, cap: int) -> int:
    """Columns of the line ``text[start:end]``, or ``cap + 1`` when it is wider than ``cap``
    (or too long to measure quickly); remembered per line."""
    widths = _index(text).widths
    if start not in widths:
        if end - start > 4 * cap:  # wider than cap unless mostly zero-width: treat as wide
            widths[start] = cap + 1
        else:
            widths[start] = min(cap + 1, text_width(text[start:end]))
    return widths[start]
