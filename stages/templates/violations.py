"""What a template rule says when it is broken: a `Violation`, drawn with a caret under the text.

Positions are kept twice: ``start``/``end`` are character offsets (what Python slices with),
``byte_start``/``byte_end`` are UTF-8 byte offsets (what the vendors count). Carets account
for East-Asian wide characters, which take two columns in a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from stages.templates.positions import (
    byte_offset,
    char_width,
    line_bounds,
    line_count,
    line_width,
    text_width,
    utf8_len,
)

__all__ = [
    "MAX_COLUMNS",
    "MAX_SHOWN",
    "Verdict",
    "Violation",
    "caret_lines",
    "char_width",
    "empty_text",
    "short_label",
    "text_width",
    "utf8_len",
]

Severity = Literal["error", "warning"]

#: A line wider than this many terminal columns is shown as a window around the problem.
MAX_COLUMNS = 100
#: `Verdict.format` draws at most this many violations; `Verdict.violations` and
#: `Verdict.to_dict` (``--json``) always hold all of them.
MAX_SHOWN = 50


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
            byte_offset(text, start),
            byte_offset(text, end),
            field,
            severity,
        )

    @property
    def located(self) -> bool:
        return self.start is not None and self.end is not None

    def where(self, text: str | None = None) -> str:
        """ "char 3 (byte 9)" for text positions, or the field name otherwise. In a text of
        several lines: "line 2, char 3 (byte 9)", counted from the start of that line."""
        if not self.located:
            return self.field
        assert self.start is not None and self.byte_start is not None
        prefix = "" if self.field == "text" else f"{self.field} "
        if text is not None and self.start <= len(text) and line_count(text) > 1:
            line, line_start, _ = line_bounds(text, self.start)
            char = self.start - line_start
            byte = self.byte_start - byte_offset(text, line_start)
            return f"{prefix}line {line}, char {char} (byte {byte})"
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
    caret. Lines wider than `MAX_COLUMNS` are cut to a window around the span, marked ``...``;
    only that window is measured, so drawing costs the same on a line of any length.
    """
    _, line_start, line_end = line_bounds(text, start)
    stop = max(start, min(end, line_end))
    if line_width(text, line_start, line_end, cap=MAX_COLUMNS) <= MAX_COLUMNS:
        lo, hi = line_start, line_end
    else:
        lo, hi = _window(text, line_start, line_end, start)
    left = "..." if lo > line_start else ""
    right = "..." if hi < line_end else ""
    shown = left + text[lo:hi].replace("\t", " ").replace("\r", " ") + right
    pad = len(left) + text_width(text[lo:start])
    carets = max(1, text_width(text[start : min(stop, hi)]))
    return f"{indent}{shown}\n{indent}{' ' * pad}{'^' * carets}"


def _window(text: str, line_start: int, line_end: int, start: int) -> tuple[int, int]:
    """Character range of a wide line to show: some context left of ``start``, then up to
    `MAX_COLUMNS` columns in all. Also bounded in characters, so runs of zero-width
    characters cannot make it scan the whole line."""
    lo, budget = start, 24  # columns of context to the left of the span
    floor = max(line_start, start - 4 * budget)
    while lo > floor and budget - char_width(text[lo - 1]) >= 0:
        lo -= 1
        budget -= char_width(text[lo])
    hi, used = lo, 0
    ceiling = min(line_end, lo + 4 * MAX_COLUMNS)
    while hi < ceiling and used + char_width(text[hi]) <= MAX_COLUMNS - 6:
        used += char_width(text[hi])
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

    def format(self, limit: int | None = MAX_SHOWN) -> str:
        """One verdict line, then each violation with its caret drawing, in reading order.

        Past ``limit`` violations (None: no limit) a last line counts the rest, so a
        template broken thousands of times still reads; `to_dict` lists them all.
        """
        facts = ", ".join(f"{k} {v}" for k, v in self.measured.items())
        status = "PASS" if self.ok else "FAIL"
        lines = [f"{status}  {self.name}" + (f"  ({facts})" if facts else "")]
        ordered = _ordered(self.violations)
        shown = ordered if limit is None else ordered[:limit]
        lines.extend(_indent(v.render(self.source_for(v)), "  ") for v in shown)
        if len(shown) < len(ordered):
            lines.append(
                f"  ... and {len(ordered) - len(shown)} more violations "
                "(--json, or Verdict.violations in Python, lists them all)"
            )
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
