"""Huawei `createVoiceTemplate` rules (VENDORS.md §3.2 [HW-TPL]).

Text rules: at most 500 UTF-8 bytes counted on the text *as written* (placeholders included,
since that is what the API receives; `render_template` checks the filled text too); must
not start with a variable (leading spaces ignored); no variable may allow more than 32
bytes; a ``${DATE}`` followed by a ``${TIME}`` or the reverse (no other variable between)
must have a comma, ASCII ``,`` or full-width ``，``, in the text between them; other words
may stand between them too. Request rules: name of 1-50 characters, Chinese
(U+4E00-U+9FFF), ASCII letters and digits; scene the string "3"; speed -200…500; volume
0…100; voicename and language from their lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from itertools import accumulate, pairwise
from typing import Any

from stages.templates.model import Literal, Template, Variable, VarType, parse_template
from stages.templates.violations import Verdict, Violation, empty_text, short_label, utf8_len

MAX_TEXT_BYTES = 500
MAX_VARIABLE_BYTES = 32
MAX_NAME_CHARS = 50
SPEED_RANGE = (-200, 500)
VOLUME_RANGE = (0, 100)
SCENES = ("3",)
DATE_TIME_COMMAS = (",", "，")
VOICENAMES = (
    "cn_kefuman_common",
    "cn_chengshuxing_common",
    "cn_roumeiqian_common",
    "cn_ziranzhen_common",
    "cn_tianmeiru_common",
)
LANGUAGES = ("zh_CN", "en_US", "pt_BR", "th_TH")

_NAME_BAD = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9]+")


def check_huawei_text(text: str) -> list[Violation]:
    """Every rule the template text breaks, in one pass (empty list: the text passes)."""
    template = parse_template(text, vendor="huawei")
    return [*template.problems, *huawei_text_rules(template)]


def huawei_text_rules(template: Template) -> list[Violation]:
    """The text rules beyond syntax (``template.problems``): emptiness, length, first part,
    variable sizes, DATE/TIME comma. `render_template` reports these beside value problems."""
    text = template.text
    if not text.strip():
        return [empty_text(text)]
    return [
        *_length(text),
        *_start(template),
        *_variable_sizes(template),
        *_date_time(template),
    ]


def text_too_long(
    text: str, *, limit: int = MAX_TEXT_BYTES, field: str = "text"
) -> list[Violation]:
    """``text_too_long`` with the caret under the characters past the ``limit``-th byte."""
    total = utf8_len(text)
    if total <= limit:
        return []
    ends = list(accumulate(utf8_len(c) for c in text))
    first_over = next(i for i, end in enumerate(ends) if end > limit)
    what = "filled-in text" if field == "rendered" else "template text"
    return [
        Violation.at(
            text,
            "text_too_long",
            f"the {what} is {total} bytes in UTF-8, over Huawei's {limit}-byte limit "
            f"(Chinese characters and full-width punctuation count 3 bytes each); "
            f"shorten it by {total - limit} bytes or split it into two templates",
            start=first_over,
            end=len(text),
            field=field,
        )
    ]


def _length(text: str) -> list[Violation]:
    return text_too_long(text)


def _visible(text: str) -> bool:
    """Whether ``text`` holds anything a listener hears or a reader sees: not only spaces and
    invisible format characters (a zero-width space before a first variable hides nothing)."""
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text)


def _start(template: Template) -> list[Violation]:
    for part in template.parts:
        if isinstance(part, Literal) and not _visible(part.text):
            continue
        if isinstance(part, Variable):
            return [
                Violation.at(
                    template.text,
                    "starts_with_variable",
                    f"the template starts with the variable {part.placeholder}; Huawei "
                    "refuses that — put some fixed words before it (e.g. '您好，')",
                    start=part.start,
                    end=part.end,
                )
            ]
        return []
    return []


def _variable_sizes(template: Template) -> list[Violation]:
    out = []
    for var in template.variables:
        if var.max_bytes is not None and var.max_bytes > MAX_VARIABLE_BYTES:
            unit = "bytes" if var.type is VarType.TXT else "digits"
            out.append(
                Violation.at(
                    template.text,
                    "variable_too_long",
                    f"{var.placeholder} allows {var.max_bytes} {unit}; Huawei allows at most "
                    f"{MAX_VARIABLE_BYTES} bytes per variable — use "
                    f"${{{var.type.value}_{MAX_VARIABLE_BYTES}}} or split it into two variables",
                    start=var.start,
                    end=var.end,
                )
            )
    return out


def _date_time(template: Template) -> list[Violation]:
    """``date_time_not_separated``: a ``${DATE}`` and a ``${TIME}`` with no variable between
    them need a comma (``,`` or ``，``) in the text between; other words may be there too
    (``${DATE}，下午${TIME}`` passes, ``${DATE}和${TIME}`` does not)."""
    out = []
    for var, nxt in pairwise(template.variables):
        if {var.type, nxt.type} != {VarType.DATE, VarType.TIME}:
            continue
        between = template.text[var.end : nxt.start]
        if any(comma in between for comma in DATE_TIME_COMMAS):
            continue
        found = f" (found {between!r})" if between else ""
        out.append(
            Violation.at(
                template.text,
                "date_time_not_separated",
                f"{var.placeholder} and {nxt.placeholder} must be separated by a comma"
                f"{found}; write {var.placeholder},{nxt.placeholder} "
                f"or {var.placeholder}，{nxt.placeholder}",
                start=var.start,
                end=nxt.end,
            )
        )
    return out


def check_huawei_fields(
    *,
    name: Any = None,
    scene: Any = None,
    speed: Any = None,
    volume: Any = None,
    voicename: Any = None,
    language: Any = None,
) -> list[Violation]:
    """The `createVoiceTemplate` fields other than the text; None means "not given"."""
    out: list[Violation] = []
    if name is not None:
        out.extend(_name(name))
    if scene is not None and scene not in SCENES:  # a string: 3 as a number is refused
        out.append(
            Violation(
                "bad_scene",
                f'scene is {scene!r}; Huawei accepts only the string "3" '
                '(voice notification) — omit it or set "3"',
                field="scene",
            )
        )
    out.extend(_number("speed", speed, SPEED_RANGE, "0"))
    out.extend(_number("volume", volume, VOLUME_RANGE, "50"))
    if voicename is not None and voicename not in VOICENAMES:
        out.append(
            Violation(
                "unknown_voicename",
                f"voicename {voicename!r} is not offered; use one of {', '.join(VOICENAMES)}",
                field="voicename",
            )
        )
    if language is not None and language not in LANGUAGES:
        out.append(
            Violation(
                "unknown_language",
                f"language {language!r} is not offered; use one of {', '.join(LANGUAGES)}",
                field="language",
            )
        )
    return out


def _name(name: Any) -> list[Violation]:
    if not isinstance(name, str):
        return [
            Violation(
                "bad_name",
                f"name {name!r} is not text; give a name of Chinese characters, letters and digits",
                field="name",
            )
        ]
    out = []
    if not name:
        out.append(
            Violation(
                "empty_name",
                "the template name is empty; give it a name of "
                "Chinese characters, letters and digits",
                field="name",
            )
        )
    if len(name) > MAX_NAME_CHARS:
        out.append(
            Violation.at(
                name,
                "name_too_long",
                f"the name has {len(name)} characters, "
                f"over the limit of {MAX_NAME_CHARS}; shorten it",
                start=MAX_NAME_CHARS,
                end=len(name),
                field="name",
            )
        )
    for bad in _NAME_BAD.finditer(name):
        out.append(
            Violation.at(
                name,
                "name_bad_characters",
                f"{bad.group()!r} is not allowed "
                "in a name; use only Chinese characters, ASCII letters and digits",
                start=bad.start(),
                end=bad.end(),
                field="name",
            )
        )
    return out


def _number(field: str, value: Any, bounds: tuple[int, int], default: str) -> list[Violation]:
    if value is None:
        return []
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [
            Violation(
                f"bad_{field}",
                f"{field} is {value!r}, not a number; give a number "
                f"from {low} to {high} (default {default})",
                field=field,
            )
        ]
    if not low <= value <= high:
        return [
            Violation(
                f"{field}_out_of_range",
                f"{field} is {value:g}, outside {low}…{high}; "
                f"use a value in range (default {default})",
                field=field,
            )
        ]
    return []


def check_huawei(
    text: str,
    *,
    name: Any = None,
    scene: Any = None,
    speed: Any = None,
    volume: Any = None,
    voicename: Any = None,
    language: Any = None,
    label: str | None = None,
) -> Verdict:
    """Check a Huawei template (text plus any request fields given) and say what was measured."""
    violations = check_huawei_text(text)
    violations.extend(
        check_huawei_fields(
            name=name,
            scene=scene,
            speed=speed,
            volume=volume,
            voicename=voicename,
            language=language,
        )
    )
    template = parse_template(text, vendor="huawei")
    return Verdict(
        name=label or (name if isinstance(name, str) and name else short_label(text)),
        text=text,
        violations=violations,
        measured={"bytes": utf8_len(text), "variables": len(template.variables)},
        sources={"name": name} if isinstance(name, str) else {},
    )


def check_huawei_request(body: Mapping[str, Any], *, label: str | None = None) -> Verdict:
    """Check a whole `createVoiceTemplate` JSON body before it is sent."""
    content = body.get("voicecontent")
    text = content.get("textcontent") if isinstance(content, Mapping) else None
    language = content.get("language") if isinstance(content, Mapping) else None
    verdict = check_huawei(
        text if isinstance(text, str) else "",
        name=body.get("name", ""),
        scene=body.get("scene"),
        speed=body.get("speed"),
        volume=body.get("volume"),
        voicename=body.get("voicename"),
        language=language,
        label=label,
    )
    if not isinstance(text, str):
        verdict.violations.append(
            Violation(
                "missing_field",
                "voicecontent.textcontent is required; add the template text",
                field="voicecontent.textcontent",
            )
        )
    if language is None:
        verdict.violations.append(
            Violation(
                "missing_field",
                f"voicecontent.language is required; use one of {', '.join(LANGUAGES)}",
                field="voicecontent.language",
            )
        )
    return verdict
