"""Alibaba Cloud voice (dyvms) TTS template rules (VENDORS.md §5 [ALI-TPL]).

Alibaba templates are created in the console, so voiceprep only checks the text before it
is submitted for review:

* 1-1000 characters, counted as written (variables included);
* none of ``# / : - % ¥ 【 】`` (nor the full-width ``￥``), no IPv4 address, no
  ``http``/``https`` — checked in the fixed text only;
* Chinese and English only: CJK ideographs, ASCII, CJK and full-width punctuation, general
  punctuation such as “” and …;
* variable names start with an ASCII letter and use only letters, digits and ``_``; the
  reserved names email, mobile, id, nick and site (any case) are refused;
* no adjacent variables (nothing but spaces between two counts as adjacent), and not a
  template made only of variables;
* with ``shared=True`` (shared-mode voice notification): at most 2 variables, each once.
"""

from __future__ import annotations

import re
from itertools import pairwise

from stages.templates.model import Literal, Template, Variable, parse_template
from stages.templates.violations import Verdict, Violation, empty_text, short_label, utf8_len

MAX_TEXT_CHARS = 1000
FORBIDDEN = "#/:-%¥￥【】"
RESERVED_NAMES = ("email", "mobile", "id", "nick", "site")
MAX_SHARED_VARIABLES = 2

_FORBIDDEN_RUN = re.compile("[" + re.escape(FORBIDDEN) + "]+")
_IPV4 = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9.])")
_HTTP = re.compile(r"(?<![A-Za-z])https?(?![A-Za-z])", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Chinese and English: ASCII, general punctuation, CJK symbols, ideographs, full-width forms.
_OTHER_SCRIPT = re.compile(
    r"[^\t\n\r\x20-\x7e\u00a5\u00b7\u2000-\u206f\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff"
    r"\uff00-\uffef]+"
)


def check_aliyun_text(text: str, *, shared: bool = False) -> list[Violation]:
    """Every rule the template text breaks, in one pass (empty list: the text passes)."""
    template = parse_template(text, vendor="aliyun")
    return [*template.problems, *aliyun_text_rules(template, shared=shared)]


def aliyun_text_rules(template: Template, *, shared: bool = False) -> list[Violation]:
    """The Alibaba rules a parsed template breaks (its syntax problems aside)."""
    text = template.text
    found: list[Violation] = []
    if not text.strip():
        return [empty_text(text)]
    if len(text) > MAX_TEXT_CHARS:
        found.append(
            Violation.at(
                text,
                "text_too_long",
                f"the template has {len(text)} "
                f"characters, over Alibaba's limit of {MAX_TEXT_CHARS} "
                "(variables included); shorten it or split it",
                start=MAX_TEXT_CHARS,
                end=len(text),
            )
        )
    for part in template.parts:
        if isinstance(part, Literal):
            found.extend(_literal(text, part))
    found.extend(_names(template))
    found.extend(_adjacent(template))
    if shared:
        found.extend(_shared(template))
    return found


def _literal(text: str, part: Literal) -> list[Violation]:
    out = []
    checks = (
        (
            _FORBIDDEN_RUN,
            "forbidden_character",
            "{m!r} is not allowed in Alibaba templates "
            f"(none of {' '.join(FORBIDDEN)}); write it out in words or remove it",
        ),
        (_IPV4, "ip_address", "{m!r} looks like an IP address, which Alibaba refuses; remove it"),
        (_HTTP, "url", "{m!r}: links are refused in Alibaba templates; remove the address"),
        (
            _OTHER_SCRIPT,
            "unsupported_character",
            "{m!r} is neither Chinese nor English; "
            "Alibaba templates accept only those — remove it or write it in Chinese or English",
        ),
    )
    for pattern, rule, message in checks:
        for m in pattern.finditer(part.text):
            out.append(
                Violation.at(
                    text,
                    rule,
                    message.format(m=m.group()),
                    start=part.start + m.start(),
                    end=part.start + m.end(),
                )
            )
    return out


def _names(template: Template) -> list[Violation]:
    out = []
    for var in template.variables:
        name = var.name
        if not _NAME.fullmatch(name):
            if not name:
                why = "the variable has no name"
            elif name.isascii() and name.isdigit():
                why = "a name cannot be all digits"
            elif not ("A" <= name[0] <= "Z" or "a" <= name[0] <= "z"):
                why = "a name must start with an ASCII letter"
            else:
                why = "a name may contain only ASCII letters, digits and '_'"
            out.append(
                Violation.at(
                    template.text,
                    "bad_variable_name",
                    f"{var.placeholder}: {why}; e.g. ${{userName}}",
                    start=var.start,
                    end=var.end,
                )
            )
        elif name.lower() in RESERVED_NAMES:
            out.append(
                Violation.at(
                    template.text,
                    "reserved_variable_name",
                    f"{var.placeholder}"
                    f" is a reserved name (reserved: {', '.join(RESERVED_NAMES)});"
                    f" rename it, e.g. ${{{name}Value}}",
                    start=var.start,
                    end=var.end,
                )
            )
    return out


def _adjacent(template: Template) -> list[Violation]:
    out = []
    meaningful = [p for p in template.parts if not (isinstance(p, Literal) and not p.text.strip())]
    if all(isinstance(p, Variable) for p in meaningful):
        return [
            Violation.at(
                template.text,
                "only_variables",
                "the template is made only of variables; Alibaba needs fixed words around them",
                start=0,
                end=len(template.text),
            )
        ]
    for a, b in pairwise(meaningful):
        if isinstance(a, Variable) and isinstance(b, Variable):
            out.append(
                Violation.at(
                    template.text,
                    "adjacent_variables",
                    f"{a.placeholder} and "
                    f"{b.placeholder} are next to each other; put words between "
                    "them or merge them into one variable",
                    start=a.start,
                    end=b.end,
                )
            )
    return out


def _shared(template: Template) -> list[Violation]:
    out = []
    seen: set[str] = set()
    variables = template.variables
    for var in variables:
        if var.name in seen:
            out.append(
                Violation.at(
                    template.text,
                    "repeated_variable",
                    f"{var.placeholder} is "
                    "used more than once; shared-mode templates may use each "
                    "variable once",
                    start=var.start,
                    end=var.end,
                )
            )
        seen.add(var.name)
    if len(variables) > MAX_SHARED_VARIABLES:
        extra = variables[MAX_SHARED_VARIABLES]
        out.append(
            Violation.at(
                template.text,
                "too_many_variables",
                f"{len(variables)} "
                f"variables; shared-mode templates allow at most "
                f"{MAX_SHARED_VARIABLES} — drop some or use dedicated mode",
                start=extra.start,
                end=variables[-1].end,
            )
        )
    return out


def check_aliyun(text: str, *, shared: bool = False, label: str | None = None) -> Verdict:
    """Check an Alibaba template text and say what was measured."""
    template = parse_template(text, vendor="aliyun")
    return Verdict(
        name=label or short_label(text),
        text=text,
        violations=check_aliyun_text(text, shared=shared),
        measured={
            "chars": len(text),
            "bytes": utf8_len(text),
            "variables": len(template.variables),
        },
    )
