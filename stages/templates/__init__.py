"""TTS templates for Huawei `createVoiceTemplate` and Alibaba `IvrCall`: parse, check, render.

Pure functions, no I/O except `load_templates`/`load_registry`::

    >>> from stages.templates import check_template, render_template
    >>> check_template("尊敬的${TXT_8}您的初始密码为${NUM_6}。", vendor="huawei").ok
    True
    >>> [v.rule for v in check_template("${DATE}${TIME}", vendor="huawei").violations]
    ['starts_with_variable', 'date_time_not_separated']
    >>> render_template("尊敬的${TXT_8}您好", ["张三"]).rendered
    '尊敬的张三您好'

Every check returns a `Verdict` holding *all* `Violation`s (stable ``rule`` code, message,
character and byte positions); ``Verdict.format()`` draws a caret under each (the first
50; ``to_dict`` lists them all). Checking and drawing take time linear in the text.
"""

from __future__ import annotations

from typing import Any

from stages.templates.aliyun import check_aliyun, check_aliyun_text
from stages.templates.files import TemplateEntry, load_registry, load_templates
from stages.templates.huawei import (
    check_huawei,
    check_huawei_fields,
    check_huawei_request,
    check_huawei_text,
)
from stages.templates.model import (
    VENDORS,
    Literal,
    Template,
    Variable,
    VarType,
    Vendor,
    parse_template,
)
from stages.templates.render import check_value, render_template
from stages.templates.violations import Verdict, Violation, caret_lines, utf8_len

__all__ = [
    "VENDORS",
    "Literal",
    "Template",
    "TemplateEntry",
    "VarType",
    "Variable",
    "Vendor",
    "Verdict",
    "Violation",
    "caret_lines",
    "check_aliyun",
    "check_aliyun_text",
    "check_huawei",
    "check_huawei_fields",
    "check_huawei_request",
    "check_huawei_text",
    "check_template",
    "check_value",
    "load_registry",
    "load_templates",
    "parse_template",
    "render_template",
    "utf8_len",
]

_HUAWEI_FIELDS = ("name", "scene", "speed", "volume", "voicename", "language")


def check_template(
    text: str,
    *,
    vendor: Vendor = "huawei",
    label: str | None = None,
    shared: bool = False,
    **fields: Any,
) -> Verdict:
    """Check one template for ``vendor``. Huawei request fields (name, scene, speed, volume,
    voicename, language) are checked when given; ``shared`` applies Alibaba's shared-mode
    limits. Unknown fields are ignored (a template file may carry notes)."""
    if vendor == "huawei":
        known = {k: v for k, v in fields.items() if k in _HUAWEI_FIELDS}
        return check_huawei(text, label=label, **known)
    if vendor == "aliyun":
        return check_aliyun(text, shared=shared, label=label)
    raise ValueError(f"unknown vendor {vendor!r}; use one of {', '.join(VENDORS)}")
