"""Fill a template with values: check each value against its variable's type, then measure
the text the vendor will speak.

Huawei values may be given in order (a list, one per variable as they appear) or by name
(a mapping; every occurrence of a name gets the same value). Alibaba values are by name,
as in ``TtsParams``. Checks: TXT_n at most n UTF-8 bytes; NUM_n only digits 0-9, at most n;
DATE a real calendar date ``YYYY/MM/DD``; TIME ``HH:MM`` or ``HH:MM:SS`` within 00:00-23:59:59;
Alibaba values non-empty strings or numbers. Huawei filled-in text must stay within 500 bytes,
and the Huawei template itself must pass its text rules, as `check_template` reports them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from stages.templates.aliyun import aliyun_text_rules
from stages.templates.huawei import MAX_TEXT_BYTES, huawei_text_rules, text_too_long
from stages.templates.model import Literal, Template, Variable, VarType, Vendor, parse_template
from stages.templates.violations import Verdict, Violation, short_label, utf8_len

Values = Mapping[str, Any] | Sequence[Any]

# [0-9], not \d: the vendors read ASCII digits only, and \d matches "２０２４" too.
_DATE = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?")
_DIGITS = re.compile(r"[0-9]+")


def check_value(variable: Variable, value: Any) -> tuple[str | None, str | None]:
    """``(text, None)`` when ``value`` fits ``variable``, else ``(None, what is wrong)``."""
    kind = variable.type
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return None, f"{value!r} is not text; give a string"
    if kind is VarType.NUM and isinstance(value, int) and value >= 0:
        value = str(value)
    if kind is VarType.STRING and isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None, f"{value!r} is not text; give a string"
    if kind is VarType.UNKNOWN:
        return None, f"{variable.placeholder} is not a valid variable, so it cannot be filled"
    if value == "":
        return None, "the value is empty; give the text to speak"
    if kind is VarType.TXT:
        size = utf8_len(value)
        assert variable.size is not None
        if size > variable.size:
            return None, (
                f"{value!r} is {size} bytes in UTF-8, over the {variable.size} "
                f"bytes {variable.placeholder} allows (Chinese characters count 3); shorten it"
            )
    elif kind is VarType.NUM:
        assert variable.size is not None
        if not _DIGITS.fullmatch(value):
            return None, f"{value!r} must be only digits 0-9 (no signs, spaces or decimals)"
        if len(value) > variable.size:
            return None, (
                f"{value!r} has {len(value)} digits, over the {variable.size} "
                f"digits {variable.placeholder} allows"
            )
    elif kind is VarType.DATE:
        return _date(value)
    elif kind is VarType.TIME:
        return _time(value)
    return value, None


def _date(value: str) -> tuple[str | None, str | None]:
    match = _DATE.fullmatch(value)
    if match is None:
        return None, f"{value!r} is not a date written YYYY/MM/DD, e.g. 2024/03/09"
    try:
        dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None, f"{value!r} is not a real calendar date"
    return value, None


def _time(value: str) -> tuple[str | None, str | None]:
    match = _TIME.fullmatch(value)
    if match is None:
        return None, f"{value!r} is not a time written HH:MM or HH:MM:SS, e.g. 09:30"
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None, f"{value!r} is not a valid time (00:00 to 23:59:59)"
    return value, None


def render_template(
    template: str | Template,
    values: Values,
    *,
    vendor: Vendor = "huawei",
    label: str | None = None,
) -> Verdict:
    """Fill ``template`` with ``values``; the verdict holds the rendered text and its size.

    Every problem is reported at once: syntax problems of the template, missing, extra and
    ill-typed values (with the caret under the placeholder), and, for Huawei, the rules the
    template itself breaks (as `check_template` reports them: a template the vendor refuses
    cannot be rendered for real; Alibaba's rules likewise) and a filled-in text over 500
    bytes (with the caret in the rendered text). ``rendered`` is None when the template
    cannot be parsed cleanly or some value could not be used.
    """
    parsed = template if isinstance(template, Template) else parse_template(template, vendor=vendor)
    rules = huawei_text_rules(parsed) if parsed.vendor == "huawei" else aliyun_text_rules(parsed)
    verdict = _fill(parsed, values, label)
    verdict.violations.extend(rules)
    return verdict


def _fill(parsed: Template, values: Values, label: str | None) -> Verdict:
    """The values checked and, when all of them fit, the rendered text and its size."""
    text = parsed.text
    found = list(parsed.problems)
    assigned = _assign(parsed, values, found)
    pieces: list[str] = []
    for part in parsed.parts:
        if isinstance(part, Literal):
            pieces.append(part.text)
            continue
        if part.start not in assigned:
            continue
        value, problem = check_value(part, assigned[part.start])
        if problem is not None:
            found.append(
                Violation.at(
                    text,
                    "bad_value",
                    f"{part.placeholder}: {problem}",
                    start=part.start,
                    end=part.end,
                )
            )
        else:
            assert value is not None
            pieces.append(value)
    verdict = Verdict(name=label or short_label(text), text=text, violations=found)
    if any(v.severity == "error" for v in found):
        verdict.measured = {"template_bytes": utf8_len(text)}
        return verdict
    rendered = "".join(pieces)
    verdict.rendered = rendered
    verdict.measured = {"bytes": utf8_len(rendered), "chars": len(rendered)}
    if parsed.vendor == "huawei":
        found.extend(text_too_long(rendered, limit=MAX_TEXT_BYTES, field="rendered"))
    return verdict


def _assign(template: Template, values: Values, found: list[Violation]) -> dict[int, Any]:
    """Value for each variable, keyed by the variable's start offset; reports gaps and extras."""
    variables = template.variables
    text = template.text
    assigned: dict[int, Any] = {}
    if isinstance(values, Mapping):
        names = {v.name for v in variables}
        for var in variables:
            if var.name in values:
                assigned[var.start] = values[var.name]
        for key in values:
            if key not in names:
                found.append(
                    Violation(
                        "unexpected_value",
                        f"a value is given for {key!r}, "
                        "which the template does not use; remove it or check the "
                        f"spelling (template variables: {_names(variables)})",
                        field=f"values.{key}",
                    )
                )
    elif isinstance(values, Sequence) and not isinstance(values, str):
        for var, value in zip(variables, values, strict=False):
            assigned[var.start] = value
        if len(values) > len(variables):
            found.append(
                Violation(
                    "unexpected_value",
                    f"{len(values)} values for {len(variables)} variables; remove the extra ones",
                    field=f"values[{len(variables)}]",
                )
            )
    else:
        raise TypeError("values must be a mapping of name to value or a list in order")
    for var in variables:
        if var.start not in assigned:
            found.append(
                Violation.at(
                    text,
                    "missing_value",
                    f"no value for {var.placeholder}; give one",
                    start=var.start,
                    end=var.end,
                )
            )
    return assigned


def _names(variables: list[Variable]) -> str:
    return ", ".join(dict.fromkeys(v.name for v in variables)) or "none"
