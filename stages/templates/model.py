"""A TTS template as data: literal text and typed variables, each with its position.

Both vendors write variables as ``${...}``. Huawei types them by name — ``${TXT_n}`` (text of
at most n UTF-8 *bytes*; Huawei's page says "characters", voiceprep follows the stricter
byte reading), ``${NUM_n}`` (at most n digits 0-9), ``${DATE}`` (``YYYY/MM/DD``) and
``${TIME}`` (``HH:MM`` or ``HH:MM:SS``). Alibaba names them freely (``${name}``) and
leaves them untyped. Parsing never raises: a malformed placeholder becomes a `Violation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal as TypingLiteral

from stages.templates.violations import Violation

Vendor = TypingLiteral["huawei", "aliyun"]
VENDORS: tuple[Vendor, ...] = ("huawei", "aliyun")

# [0-9], not \d: \d also matches Arabic-Indic, full-width and other Unicode digits.
_HUAWEI_NAME = re.compile(r"(?P<kind>TXT|NUM)_(?P<n>[0-9]+)|DATE|TIME")


class VarType(str, Enum):
    """What a variable accepts."""

    TXT = "TXT"  # Huawei: text, at most n bytes
    NUM = "NUM"  # Huawei: digits 0-9, at most n of them
    DATE = "DATE"  # Huawei: YYYY/MM/DD, a real calendar date
    TIME = "TIME"  # Huawei: HH:MM or HH:MM:SS
    STRING = "STRING"  # Alibaba: any non-empty text
    UNKNOWN = "UNKNOWN"  # malformed; reported, cannot be filled


@dataclass(frozen=True)
class Variable:
    """A ``${...}`` placeholder; ``start``/``end`` are character offsets of the whole of it."""

    name: str
    type: VarType
    start: int
    end: int
    size: int | None = None  # n of TXT_n / NUM_n

    @property
    def placeholder(self) -> str:
        return "${" + self.name + "}"

    @property
    def max_bytes(self) -> int | None:
        """The most bytes a value may take, or None when the vendor sets no per-value limit."""
        if self.type in (VarType.TXT, VarType.NUM):
            return self.size
        if self.type is VarType.DATE:
            return 10  # 2024/01/31
        if self.type is VarType.TIME:
            return 8  # 23:59:59
        return None


@dataclass(frozen=True)
class Literal:
    """Plain text between variables, with its character offsets."""

    text: str
    start: int
    end: int


Part = Literal | Variable


@dataclass(frozen=True)
class Template:
    """A parsed template: its parts in order, and the syntax problems found while parsing."""

    text: str
    vendor: Vendor
    parts: tuple[Part, ...]
    problems: tuple[Violation, ...]

    @property
    def variables(self) -> list[Variable]:
        return [p for p in self.parts if isinstance(p, Variable)]

    @property
    def literal_text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, Literal))


def parse_template(text: str, *, vendor: Vendor = "huawei") -> Template:
    """Split ``text`` into literals and typed variables for ``vendor``.

    An unclosed ``${``, a Huawei name other than TXT_n/NUM_n/DATE/TIME (n ≥ 1), and lone
    surrogates are reported in ``Template.problems``; the rest of the text still parses,
    so every problem is found in one pass.
    """
    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}; use one of {', '.join(VENDORS)}")
    parts: list[Part] = []
    problems: list[Violation] = []
    literal_from = pos = 0
    # The next "}" and "${" at or after a position only move forward, so each is searched
    # again only once passed: a text of many unclosed "${" parses in linear time.
    close = reopen = -2
    while (opening := text.find("${", pos)) != -1:
        if close != -1 and close < opening + 2:
            close = text.find("}", opening + 2)
        if reopen != -1 and reopen < opening + 2:
            reopen = text.find("${", opening + 2)
        if close == -1 or (reopen != -1 and reopen < close):
            stop = opening + 2
            while stop < len(text) and (
                text[stop].isascii() and (text[stop].isalnum() or text[stop] == "_")
            ):
                stop += 1
            problems.append(
                Violation.at(
                    text,
                    "unclosed_variable",
                    "'${' is never closed with '}'; close the variable or remove the '${'",
                    start=opening,
                    end=stop,
                )
            )
            pos = opening + 2
            continue
        if opening > literal_from:
            parts.append(Literal(text[literal_from:opening], literal_from, opening))
        variable = _variable(text[opening + 2 : close], opening, close + 1, vendor)
        if variable.type is VarType.UNKNOWN and vendor == "huawei":
            problems.append(_unknown_huawei(text, variable))
        parts.append(variable)
        literal_from = pos = close + 1
    if literal_from < len(text):
        parts.append(Literal(text[literal_from:], literal_from, len(text)))
    for match in re.finditer(r"[\ud800-\udfff]+", text):
        problems.append(
            Violation.at(
                text,
                "invalid_unicode",
                "broken character (lone UTF-16 surrogate); re-save the text as UTF-8",
                start=match.start(),
                end=match.end(),
            )
        )
    return Template(text, vendor, tuple(parts), tuple(problems))


def _variable(name: str, start: int, end: int, vendor: Vendor) -> Variable:
    if vendor == "aliyun":
        return Variable(name, VarType.STRING, start, end)
    match = _HUAWEI_NAME.fullmatch(name)
    if match is None:
        return Variable(name, VarType.UNKNOWN, start, end)
    if match["kind"]:
        size = int(match["n"])
        if size < 1:
            return Variable(name, VarType.UNKNOWN, start, end, size)
        return Variable(name, VarType(match["kind"]), start, end, size)
    return Variable(name, VarType(name), start, end)


def _unknown_huawei(text: str, variable: Variable) -> Violation:
    name = variable.name
    upper = name.upper()
    if variable.size == 0:
        hint = f"a length of 0 allows nothing; use {upper[:4]}1 to {upper[:4]}32"
    elif _HUAWEI_NAME.fullmatch(upper):
        hint = f"variable names are case-sensitive; write ${{{upper}}}"
    elif upper in ("TXT", "NUM", "TXT_", "NUM_"):
        hint = f"add the maximum length, e.g. ${{{upper.rstrip('_')}_8}}"
    else:
        hint = "Huawei accepts only ${TXT_n}, ${NUM_n}, ${DATE} and ${TIME}"
    return Violation.at(
        text,
        "unknown_variable",
        f"{variable.placeholder} is not a Huawei variable; {hint}",
        start=variable.start,
        end=variable.end,
    )
