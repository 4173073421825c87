"""Check an Alibaba `IvrCall` request before it is sent (VENDORS.md §5 [ALI-IVR]).

Rules: CalledShowNumber, CalledNumber and StartCode are required; StartCode and ByeCode are
both voice files or both TTS templates (a code starting ``TTS_`` is a template, anything
else a voice file); PlayTimes 1-3; OutId 1-15 UTF-8 bytes; Timeout a positive number of
milliseconds (under 1000 is flagged as probably seconds); MenuKeyMap keys are one of 0-9,
``*``, ``#``, each used once; every TtsParams JSON object supplies exactly the variables its
template uses (texts looked up in a local registry of id → text) with non-empty string or
number values; a voice file takes no TtsParams. CalledNumber is one mainland-China number:
a mobile ``1[3-9]`` + 9 digits, or a fixed line: trunk ``0``, a 2-3 digit area code not
starting with 0, and 7-8 digits (``01012345678``). Either may be prefixed ``+86``, ``0086``
or ``86``, and then a fixed line drops its trunk 0 (``+861012345678``). ASCII digits only,
no spaces or dashes.

CalledShowNumber, StartCode and ByeCode must be strings.

With ``voice_files`` (the voice files an upload journal recorded, `recorded_voice_files`),
each voice-file code the request plays is checked against its last recorded review: one
that failed is an error, one not yet approved a warning (the record may be stale; IvrCall
plays only an approved file). Codes the journal does not know are not judged.

MenuKeyMap may be a list of ``{"Key", "Code", "TtsParams"}`` objects or flattened as the
API sends it (``"MenuKeyMap.1.Key"``, ``"MenuKeyMap.1.Code"``, ...; numbered from 1 without
gaps). TtsParams may be the JSON string the API takes (strict: no repeated keys, no NaN or
Infinity) or an object.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.errors import ConfigurationError
from pipeline.journal import JOURNAL_NAME
from stages.templates.model import parse_template
from stages.templates.render import check_value
from stages.templates.violations import Verdict, Violation, utf8_len

REQUIRED = ("CalledShowNumber", "CalledNumber", "StartCode")
KNOWN = (
    *REQUIRED,
    "StartTtsParams",
    "PlayTimes",
    "ByeCode",
    "ByeTtsParams",
    "Timeout",
    "OutId",
    "MenuKeyMap",
)
#: Parameters the API types as strings (CalledNumber has its own check and message).
TEXT_FIELDS = ("CalledShowNumber", "StartCode", "ByeCode")
MENU_KEYS = tuple("0123456789*#")
PLAY_TIMES = (1, 3)
MAX_OUT_ID_BYTES = 15
_MOBILE = r"1[3-9][0-9]{9}"
_FIXED_LINE = r"[1-9][0-9]{1,2}[0-9]{7,8}"  # area code (2-3 digits, never 0…) + 7-8 digits
#: A mobile, or trunk 0 + fixed line; after +86/0086/86 the trunk 0 is dropped.
MAINLAND_NUMBER = re.compile(
    rf"{_MOBILE}|0{_FIXED_LINE}|(?:\+86|0086|86)(?:{_MOBILE}|{_FIXED_LINE})"
)

# [0-9], never \d, in this module: \d also matches full-width and other Unicode digits.
_FLAT_MENU = re.compile(r"MenuKeyMap\.([0-9]+)\.(Key|Code|TtsParams)")
_INTEGER = re.compile(r"-?[0-9]+")


class VoiceFile(NamedTuple):
    """A voice file as an upload journal last recorded it."""

    output: str
    status: str
    """The receipt status: ``approved``, ``rejected`` or ``submitted`` (review pending)."""
    audit_state: str
    at: float


def is_template_code(code: str) -> bool:
    """A TTS template id (``TTS_…``), as opposed to a voice-file id."""
    return code.startswith("TTS_")


def check_ivr_call(
    request: Mapping[str, Any],
    *,
    templates: Mapping[str, str] | None = None,
    voice_files: Mapping[str, VoiceFile] | None = None,
    label: str = "request",
) -> Verdict:
    """Every problem of an IvrCall request, at once.

    ``templates`` maps template id to text; with it, each TtsParams is checked against the
    variables of its template (a template id missing from it is an error). Without it only
    the JSON shape of TtsParams is checked. ``voice_files`` maps voice code to what an
    upload journal recorded (`recorded_voice_files`); with it, a voice file not approved
    is flagged.
    """
    found: list[Violation] = []
    request, menu = _menu(request, found)
    for name in REQUIRED:
        value = request.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            found.append(Violation("missing_field", f"{name} is required; add it", field=name))
    for name in TEXT_FIELDS:
        value = request.get(name)
        if value is not None and not isinstance(value, str):
            found.append(
                Violation(
                    "bad_field_type",
                    f"{name} is {value!r}, not text; write it as a JSON string "
                    '(in quotes, e.g. "TTS_123" or "0571…")',
                    field=name,
                )
            )
    for name in request:
        if name not in KNOWN:
            found.append(
                Violation(
                    "unknown_field",
                    f"{name!r} is not an IvrCall parameter; "
                    f"check the spelling (known: {', '.join(KNOWN)})",
                    field=name,
                    severity="warning",
                )
            )
    found.extend(_called_number(request.get("CalledNumber")))
    start, bye = request.get("StartCode"), request.get("ByeCode")
    if (
        isinstance(start, str)
        and isinstance(bye, str)
        and start
        and bye
        and is_template_code(start) != is_template_code(bye)
    ):
        found.append(
            Violation(
                "mixed_code_kinds",
                f"StartCode {start!r} is a "
                f"{_kind(start)} but ByeCode {bye!r} is a {_kind(bye)}; "
                "use two voice files or two TTS templates",
                field="ByeCode",
            )
        )
    found.extend(_play_times(request.get("PlayTimes")))
    found.extend(_timeout(request.get("Timeout")))
    found.extend(_out_id(request.get("OutId")))
    found.extend(_params(start, request.get("StartTtsParams"), "StartTtsParams", templates))
    found.extend(_params(bye, request.get("ByeTtsParams"), "ByeTtsParams", templates))
    seen: dict[str, int] = {}
    for i, item in enumerate(menu, start=1):
        where = f"MenuKeyMap[{i}]"
        key = item.get("Key")
        if not isinstance(key, str) or key not in MENU_KEYS:
            found.append(
                Violation(
                    "bad_menu_key",
                    f"key {key!r} cannot be pressed; use one of 0-9, * or #",
                    field=f"{where}.Key",
                )
            )
        elif key in seen:
            found.append(
                Violation(
                    "duplicate_menu_key",
                    f"key {key!r} is mapped twice (items {seen[key]} and {i}); keep one",
                    field=f"{where}.Key",
                )
            )
        else:
            seen[key] = i
        code = item.get("Code")
        if not isinstance(code, str) or not code:
            found.append(
                Violation(
                    "missing_field",
                    "each menu entry needs a Code (voice file or TTS template id)",
                    field=f"{where}.Code",
                )
            )
        found.extend(_params(code, item.get("TtsParams"), f"{where}.TtsParams", templates))
    if voice_files is not None:
        played = [("StartCode", start), ("ByeCode", bye)]
        played += [(f"MenuKeyMap[{i}].Code", e.get("Code")) for i, e in enumerate(menu, start=1)]
        for name, code in played:
            if isinstance(code, str) and code in voice_files and not is_template_code(code):
                found.extend(_review(name, code, voice_files[code]))
    return Verdict(
        name=label,
        text=None,
        violations=found,
        measured={
            "start": _kind(start) if isinstance(start, str) else "missing",
            "menu_keys": len(menu),
        },
    )


def _review(field: str, code: str, known: VoiceFile) -> list[Violation]:
    """A voice file IvrCall would refuse, going by its last recorded review."""
    if known.status == "approved":
        return []
    when = dt.datetime.fromtimestamp(known.at).strftime("%Y-%m-%d %H:%M")
    state = known.audit_state or "no audit state yet"
    if known.status == "rejected":
        return [
            Violation(
                "voice_file_rejected",
                f"voice file {code!r} ({known.output}) did not pass Alibaba's review ({state}, "
                f"recorded {when}); IvrCall refuses it: fix the audio and upload it again",
                field=field,
            )
        ]
    return [
        Violation(
            "voice_file_not_approved",
            f"voice file {code!r} ({known.output}) was not approved when last checked "
            f"({state}, {when}); IvrCall plays only an approved file: run `voiceprep upload` "
            "on its folder to refresh the review, then check again (review takes about 2 h)",
            field=field,
            severity="warning",
        )
    ]


def recorded_voice_files(out_dir: str | Path) -> dict[str, VoiceFile]:
    """The Alibaba voice files the upload journal of ``out_dir`` recorded, by voice code
    (read-only: the journal is not changed)."""
    path = os.path.join(out_dir, JOURNAL_NAME)
    if not os.path.isfile(path):
        raise ConfigurationError(
            f"{out_dir}: no {JOURNAL_NAME}; give the folder `voiceprep upload` sent from"
        )
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT remote_id, output, status, detail, at FROM uploads "
                "WHERE vendor = 'aliyun' AND state = 'done' AND remote_id IS NOT NULL"
            ).fetchall()
    except sqlite3.Error as exc:
        raise ConfigurationError(
            f"{out_dir}: its journal holds no uploads ({exc}); run `voiceprep upload` first"
        ) from None
    found: dict[str, VoiceFile] = {}
    for code, output, status, detail, at in rows:
        found[str(code)] = VoiceFile(
            str(output), str(status), _audit_state(detail), float(at or 0.0)
        )
    return found


def _audit_state(detail: object) -> str:
    """The ``audit_state`` a journal row's detail recorded; "" (unknown) when the detail is
    missing or not a JSON object (a damaged row should not stop the check)."""
    try:
        parsed = json.loads(detail) if isinstance(detail, str | bytes) and detail else {}
    except ValueError:
        return ""
    audit = parsed.get("audit_state", "") if isinstance(parsed, dict) else ""
    return audit if isinstance(audit, str) else ""


def _kind(code: str) -> str:
    return "TTS template" if is_template_code(code) else "voice file"


def _menu(
    request: Mapping[str, Any], found: list[Violation]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The request without MenuKeyMap, and its menu entries in order (flattened or not)."""
    rest: dict[str, Any] = {}
    flat: dict[int, dict[str, Any]] = {}
    menu: list[dict[str, Any]] = []
    for name, value in request.items():
        if m := _FLAT_MENU.fullmatch(name):
            flat.setdefault(int(m[1]), {})[m[2]] = value
        elif name == "MenuKeyMap":
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                menu.extend(value)
            else:
                found.append(
                    Violation(
                        "bad_menu",
                        'MenuKeyMap must be a list of {"Key", "Code", "TtsParams"} objects',
                        field="MenuKeyMap",
                    )
                )
        else:
            rest[name] = value
    menu.extend(flat[n] for n in sorted(flat))
    if flat and sorted(flat) != list(range(1, len(flat) + 1)):
        found.append(
            Violation(
                "bad_menu_index",
                f"flattened MenuKeyMap entries are numbered {_numbers(sorted(flat))}; "
                "number them 1, 2, 3, ... without gaps (MenuKeyMap.1.Key, MenuKeyMap.2.Key)",
                field="MenuKeyMap",
            )
        )
    return rest, menu


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:6]))
    return shown + (", ..." if len(numbers) > 6 else "")


def _called_number(number: Any) -> list[Violation]:
    if number is None or number == "":
        return []
    if not isinstance(number, str) or not MAINLAND_NUMBER.fullmatch(number):
        return [
            Violation(
                "bad_called_number",
                f"CalledNumber {number!r} is not one mainland-"
                "China number; give a mobile (13800138000 or +8613800138000) or a fixed "
                "line with its area code (01012345678, or +861012345678 without the "
                "leading 0), digits only",
                field="CalledNumber",
            )
        ]
    return []


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return None


def _play_times(value: Any) -> list[Violation]:
    if value is None:
        return []
    n = _int(value)
    low, high = PLAY_TIMES
    if n is None or not low <= n <= high:
        return [
            Violation(
                "bad_play_times",
                f"PlayTimes is {value!r}; it must be a whole number from {low} to {high}",
                field="PlayTimes",
            )
        ]
    return []


def _timeout(value: Any) -> list[Violation]:
    if value is None:
        return []
    ms = _int(value)
    if ms is None or ms <= 0:
        return [
            Violation(
                "bad_timeout",
                f"Timeout is {value!r}; it must be a positive whole "
                "number of milliseconds (e.g. 5000 for 5 s)",
                field="Timeout",
            )
        ]
    if ms < 1000:
        return [
            Violation(
                "timeout_looks_like_seconds",
                f"Timeout is {ms} ms ({ms / 1000:g} s) "
                f"to press a key; the unit is milliseconds — did you mean {ms * 1000}?",
                field="Timeout",
                severity="warning",
            )
        ]
    return []


def _out_id(value: Any) -> list[Violation]:
    if value is None:
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 1 <= utf8_len(value) <= MAX_OUT_ID_BYTES:
        size = utf8_len(value) if isinstance(value, str) else "?"
        return [
            Violation(
                "bad_out_id",
                f"OutId {value!r} is {size} bytes; it must be 1 to "
                f"{MAX_OUT_ID_BYTES} bytes in UTF-8 (Chinese characters count 3)",
                field="OutId",
            )
        ]
    return []


def _params(
    code: Any, params: Any, field: str, templates: Mapping[str, str] | None
) -> list[Violation]:
    """TtsParams against the variables of the template ``code`` names."""
    if params is None or params == "":
        params = None
    elif isinstance(params, str):
        try:
            params = _strict_json(params)
        except json.JSONDecodeError as exc:
            return [
                Violation(
                    "bad_tts_params",
                    f"not valid JSON ({exc.msg} at char {exc.pos}); "
                    'write a JSON object such as {"name": "张三"}',
                    field=field,
                )
            ]
        except ValueError as exc:
            return [Violation("bad_tts_params", str(exc), field=field)]
    if params is not None and not isinstance(params, dict):
        return [
            Violation(
                "bad_tts_params",
                f'{params!r} is not a JSON object; write {{"variable": "value", ...}}',
                field=field,
            )
        ]
    if not isinstance(code, str) or not code:
        return []
    if not is_template_code(code):
        if params:
            return [
                Violation(
                    "unexpected_tts_params",
                    f"{code!r} is a voice file, which takes no TtsParams; remove them",
                    field=field,
                    severity="warning",
                )
            ]
        return []
    if templates is None:
        return []
    if code not in templates:
        return [
            Violation(
                "unknown_template",
                f"template {code!r} is not in the registry, so its "
                "variables cannot be checked; add its text to the registry",
                field=field.replace("TtsParams", "Code"),
            )
        ]
    template = parse_template(templates[code], vendor="aliyun")
    needed = list(dict.fromkeys(v.name for v in template.variables))
    given = params or {}
    out = []
    for name in needed:
        if name not in given:
            out.append(
                Violation(
                    "missing_tts_param",
                    f'{code} needs a value for ${{{name}}}; add "{name}" to {field}',
                    field=field,
                )
            )
    for name, value in given.items():
        if name not in needed:
            out.append(
                Violation(
                    "unexpected_tts_param",
                    f"{code} has no variable ${{{name}}} "
                    f"(it uses: {', '.join(needed) or 'none'}); remove it or fix "
                    "the spelling",
                    field=f"{field}.{name}",
                )
            )
            continue
        variable = next(v for v in template.variables if v.name == name)
        _, problem = check_value(variable, value)
        if problem is not None:
            out.append(
                Violation("bad_tts_param", f"${{{name}}}: {problem}", field=f"{field}.{name}")
            )
    return out


def _strict_json(text: str) -> Any:
    """``json.loads`` refusing what Python accepts but JSON does not: NaN and Infinity, and
    a key given twice (the vendor may keep either value)."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON value; give the value as a string")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"{key!r} is given twice; keep one value")
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)


def load_requests(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """The IvrCall requests in a JSON file: one object, or a non-empty list of objects."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigurationError(
            f"{path}: is a directory; give the request files, e.g. {path}/*.json"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read it ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"{path}: not a JSON file ({exc}); write the request as a "
            "JSON object of IvrCall parameters"
        ) from None
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise ConfigurationError(
            f"{path}: expected a JSON object of IvrCall parameters or a list of them"
        )
    if not items:
        raise ConfigurationError(
            f"{path}: the list holds no requests; add IvrCall request objects to it"
        )
    if len(items) == 1:
        return [(path.name, items[0])]
    return [(f"{path.name}[{i}]", item) for i, item in enumerate(items, start=1)]
