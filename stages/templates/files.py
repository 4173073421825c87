"""Read templates from files: a text file of one template per line, or JSON.

Accepted shapes:

* text: one template per line; blank lines and lines starting with ``#`` are skipped.
  Lines end at ``\n`` only (a trailing ``\r`` is dropped): U+2028 and the like are text;
* JSON list: strings, or objects ``{"text": ..., "name"?: ..., <request fields>?}``
  (Huawei request fields: name, scene, speed, volume, voicename, language);
* JSON object with a ``"text"`` key: one such template object;
* any other JSON object maps template id to text (``{"TTS_123": "您好${name}"}``) — the
  same shape as the ``--templates`` registry of ``voiceprep ivr check``.

A ``.json`` file is JSON, a ``.txt`` file is text (so a template may start with ``[``);
any other file is JSON if it parses as a JSON list or object, else text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigurationError


@dataclass(frozen=True)
class TemplateEntry:
    """One template read from a file: its label (name, id or line number), text and fields."""

    label: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)


def load_templates(path: str | Path) -> list[TemplateEntry]:
    """Every template in ``path`` (see the module docstring for the accepted shapes)."""
    path = Path(path)
    raw = _read(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _from_json(path, _json(path, raw))
    if suffix != ".txt" and raw.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            pass  # not JSON after all: a text file whose first template starts with a bracket
        else:
            return _from_json(path, data)
    return _from_lines(path, raw)


def _from_lines(path: Path, raw: str) -> list[TemplateEntry]:
    """One template per ``\n``-terminated line; `str.splitlines` would also break at
    U+0085, U+2028, form feeds and the like, which belong to the template text."""
    entries = []
    for number, line in enumerate(raw.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            entries.append(TemplateEntry(f"{path.name}:{number}", line))
    return entries


def load_registry(path: str | Path) -> dict[str, str]:
    """A JSON object mapping template id (``TTS_…``) to template text."""
    path = Path(path)
    data = _json(path, _read(path))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ConfigurationError(
            f"{path}: a template registry must be a JSON object mapping template id to text, "
            'e.g. {"TTS_123456": "您好${name}，您的快递已到。"}'
        )
    return data


def _from_json(path: Path, data: Any) -> list[TemplateEntry]:
    if isinstance(data, dict):
        if "text" not in data and all(isinstance(v, str) for v in data.values()):
            return [TemplateEntry(str(k), v) for k, v in data.items()]
        data = [data]  # a single template object: {"text": ..., "name"?: ..., ...}
    if not isinstance(data, list):
        raise ConfigurationError(
            f"{path}: expected a JSON list of templates or an object mapping id to text"
        )
    entries = []
    for i, item in enumerate(data, start=1):
        if isinstance(item, str):
            entries.append(TemplateEntry(f"{path.name}[{i}]", item))
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            fields = {k: v for k, v in item.items() if k != "text"}
            label = str(item.get("name") or item.get("id") or f"{path.name}[{i}]")
            entries.append(TemplateEntry(label, item["text"], fields))
        else:
            raise ConfigurationError(
                f'{path}: item {i} needs a "text" string, e.g. '
                '{"name": "notice", "text": "尊敬的${TXT_8}您好"}'
            )
    return entries


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read it ({exc.strerror})") from None


def _json(path: Path, raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
