"""What a template rule says when it is broken: a `Violation`, drawn with a caret under the text.

Positions are kept twice: ``start``/``end`` are character offsets (what Python slices with),
``byte_start``/``byte_end`` are UTF-8 byte offsets (what the vendors count). Carets account
for East-Asian wide characters, which take two columns in a terminal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]

#: A line wider than this many terminal columns is shown as a window around the problem.
MAX_COLUMNS = 100


def utf8_len(text: str) -> int:
    """Bytes of ``text`` in UTF-8: ASCII 1, CJK characters and full-width punctuation 3, emoji 4.

    Lone surrogates (which JSON can smuggle in) are counted as the 3 bytes they would take,
    instead of raising; `parse_template` reports them as ``invalid_unicode``.
    """
    return len(text.encode("utf-8", "surrogatepass"))


#: Unicode categories a terminal draws in no column of their own: nonspacing and enclosing
#: marks (Thai vowel signs, accents) and format characters (ZWJ, U+200B, variation selectors
#: are Mn). `unicodedata.combining` misses marks of combining class 0, such as Thai's.
_ZERO_WIDTH = ("Mn", "Me", "Cf")


def char_width(char: str) -> int:
    """Terminal columns of one character: 0 for marks and format characters, 2 for wide and
    full-width East-Asian forms, else 1."""
    if unicodedata.category(char) in _ZERO_WIDTH:
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Terminal columns of ``text`` (see `char_width`)."""
    return sum(char_width(c) for c in text)


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    ``rule`` is a stable snake_case code scripts can rely on; ``message`` says what was
    found, the limit, and what to do. ``field`` names what the positions refer to:
    ``"text"`` (the template as written), ``"rendered"`` (the text after filling values),
    or a request field such as ``"speed"`` or ``"MenuKeyMap[2].Key"`` (then positions are None).
    """

    rule: str
    message: str
    start: int | None = None
    end: int | None = None
    byte_start: int | None = None
    byte_end: int | None = None
    field: str = "text"
    severity: Severity = "error"

    @classmethod
    def at(
        cls,
        text: str,
        rule: str,
        message: str,
        *,
        start: int,
        end: int,
        field: str = "text",
        severity: Severity = "error",
    ) -> Violation:
        """A violation covering ``text[start:end]``, with byte offsets computed from ``text``."""
        return cls(
            rule,
            message,
            start,
            end,
            utf8_len(text[:start]),
            utf8_len(text[:end]),
            field,
            severity,
        )

    @property
    def located(self) -> bool:
        return self.start is not None and self.end is not None

    def where(self, text: str | None = None) -> str:
        """ "line 1, char 3 (byte 9)" for text positions, or the field name otherwise."""
        if not self.located:
            return self.field
        assert self.start is not None
        prefix = "" if self.field == "text" else f"{self.field} "
        if text is not None and "\n" in text:
            line = text.count("\n", 0, self.start) + 1
            return f"{prefix}line {line}, char {self.start} (byte {self.byte_start})"
        return f"{prefix}char {self.start} (byte {self.byte_start})"

    def render(self, text: str | None = None, *, indent: str = "  ") -> str:
        """The violation as a person reads it: rule, position, message, then the text with
        carets under the offending span (when it has a position and ``text`` is given)."""
        head = f"{self.severity}[{self.rule}] {self.where(text)}: {self.message}"
        if text is None or not self.located:
            return head
        assert self.start is not None and self.end is not None
        return head + "\n" + caret_lines(text, self.start, self.end, indent=indent + "  ")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def empty_text(text: str) -> Violation:
    """``empty_text``: the template (blank or whitespace only) has nothing to speak."""
    return Violation.at(
        text,
        "empty_text",
        "the template is empty; write the text to speak",
        start=0,
        end=len(text),
    )


def caret_lines(text: str, start: int, end: int, *, indent: str = "    ") -> str:
    """Two lines: the line of ``text`` holding ``start``, and ``^`` under ``text[start:end]``.

    The span is clipped to that line; an empty span (e.g. "missing text at the end") gets one
    caret. Lines wider than `MAX_COLUMNS` are cut to a window around the span, marked ``...``.
    """
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    if line_end == -1:
        line_end = len(text)
    line = text[line_start:line_end].replace("\t", " ").replace("\r", " ")
    a, b = start - line_start, min(end, line_end) - line_start
    lo, hi = _window(line, a, b)
    shown = ("..." if lo > 0 else "") + line[lo:hi] + ("..." if hi < len(line) else "")
    pad = (3 if lo > 0 else 0) + text_width(line[lo:a])
    carets = max(1, text_width(line[a : min(b, hi)]))
    return f"{indent}{shown}\n{indent}{' ' * pad}{'^' * carets}"


def _window(line: str, a: int, b: int) -> tuple[int, int]:
    """Character range of ``line`` to show so the span ``[a, b)`` fits in `MAX_COLUMNS`."""
    if text_width(line) <= MAX_COLUMNS:
        return 0, len(line)
    lo, budget = a, 24  # some context to the left of the span
    while lo > 0 and budget - char_width(line[lo - 1]) >= 0:
        lo -= 1
        budget -= char_width(line[lo])
    hi, used = lo, 0
    while hi < len(line) and used + char_width(line[hi]) <= MAX_COLUMNS - 6:
        used += char_width(line[hi])
        hi += 1
    return lo, hi


@dataclass
class Verdict:
    """Every violation found in one template or request, and what was measured on the way."""

    name: str
    text: str | None
    violations: list[Violation] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    rendered: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # other located fields, e.g. "name"

    @property
    def ok(self) -> bool:
        """True when nothing is an error (warnings do not fail a template)."""
        return not any(v.severity == "error" for v in self.violations)

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.severity == "error"]

    def source_for(self, violation: Violation) -> str | None:
        """The text a violation's positions refer to."""
        if violation.field == "text":
            return self.text
        if violation.field == "rendered":
            return self.rendered
        return self.sources.get(violation.field)

    def format(self) -> str:
        """One verdict line, then every violation with its caret drawing."""
        facts = ", ".join(f"{k} {v}" for k, v in self.measured.items())
        status = "PASS" if self.ok else "FAIL"
        lines = [f"{status}  {self.name}" + (f"  ({facts})" if facts else "")]
        lines.extend(_indent(v.render(self.source_for(v)), "  ") for v in _ordered(self.violations))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "ok": self.ok}
        if self.text is not None:
            out["text"] = self.text
        if self.rendered is not None:
            out["rendered"] = self.rendered
        out.update(self.measured)
        out["violations"] = [v.to_dict() for v in _ordered(self.violations)]
        return out


def _ordered(violations: Sequence[Violation]) -> list[Violation]:
    """Template text first, in reading order; then other texts; then field-level violations."""
    located = sorted(
        (v for v in violations if v.located),
        key=lambda v: (v.field != "text", v.field, v.start or 0, v.end or 0),
    )
    return located + [v for v in violations if not v.located]


def _indent(block: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in block.splitlines())


def short_label(text: str, limit: int = 30) -> str:
    """A one-line label for a template that has no name: its start, whitespace folded."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
