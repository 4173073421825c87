"""Results: one JSON record per input, the stable format scripts and notebooks read.

{"source": ..., "status": "passed" | "failed", "profile": ..., "output": path | null,
 "metrics": {...}, "findings": [{"code", "severity", "stage", "message"}, ...],
 "source_info": {...} | null}
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.clip import Clip
from pipeline.tempnames import temporary_path

RESULTS_NAME = "results.jsonl"
# How results.jsonl is written: a source name that is not valid UTF-8 (``os.listdir`` gives its
# bytes as lone surrogates) becomes a ``\udcXX`` JSON escape, which ``json.loads`` reads back
# as the same name.
LONE_SURROGATES = "backslashreplace"


def utf8_text(value: str) -> str:
    """``value`` with any lone surrogate (a file name that is not valid UTF-8, as
    ``os.listdir`` gives it) written as a ``\\udcXX`` escape: text SQLite and strict UTF-8
    writers accept."""
    return value.encode("utf-8", LONE_SURROGATES).decode("utf-8")


def _json_safe(value: Any) -> Any:
    """Plain JSON types only: numpy scalars become floats, inf/nan become null."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return None
    if number.is_integer() and not isinstance(value, float) and "float" not in type(value).__name__:
        return int(number)
    return round(number, 4)


def clip_record(clip: Clip, profile: str | None) -> dict[str, Any]:
    """The result record of a processed clip."""
    return {
        "source": clip.source,
        "status": "failed" if clip.failed else "passed",
        "profile": profile,
        "output": clip.outputs.get("audio"),
        "metrics": _json_safe(clip.metrics),
        "findings": [f.to_dict() for f in clip.findings],
        "source_info": clip.info.to_dict() if clip.info else None,
    }


@dataclass
class Summary:
    """Counters built while results stream past, so no result list is kept for the summary."""

    total: int = 0
    passed: int = 0
    audio_s: float = 0.0
    findings: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    failed_sources: list[tuple[str, str]] = field(default_factory=list)
    max_listed: int = 50

    def add(self, record: dict[str, Any]) -> None:
        self.total += 1
        self.audio_s += record["metrics"].get("source_duration_s") or 0.0
        if record["status"] == "passed":
            self.passed += 1
        errors = [f for f in record["findings"] if f["severity"] == "error"]
        for finding in record["findings"]:
            self.findings[f"{finding['severity']}:{finding['code']}"] += 1
        if errors:
            self.errors[errors[0]["code"]] += 1
            if len(self.failed_sources) < self.max_listed:
                self.failed_sources.append((record["source"], errors[0]["message"]))

    @property
    def failed(self) -> int:
        return self.total - self.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "audio_s": round(self.audio_s, 3),
            "findings": dict(sorted(self.findings.items())),
        }


class Results:
    """The results of a run: iterate for records, or `to_pandas()` for a DataFrame.

    Backed by the run's ``results.jsonl`` when it has an output folder (read lazily, never all
    in memory), otherwise by the records kept from an in-memory run. The results of a run
    are those of its own inputs; `Results.read` of a folder gives every input run into it.
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        records: list[dict[str, Any]] | None = None,
        summary: Summary | None = None,
        skip: int = 0,
    ) -> None:
        self.path = path
        self._records = records
        # A run's own records follow the ``skip`` lines its folder's results.jsonl keeps for
        # inputs of earlier runs.
        self._skip = skip
        self.summary = summary if summary is not None else self._summarise()

    @classmethod
    def read(cls, out_dir: str | os.PathLike[str]) -> Results:
        """Open the results of an earlier run from its output folder (or its results.jsonl)."""
        out_dir = os.fspath(out_dir)
        path = out_dir if out_dir.endswith(".jsonl") else os.path.join(out_dir, RESULTS_NAME)
        return cls(path=path)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._records is not None:
            yield from self._records
            return
        assert self.path is not None
        with open(self.path, encoding="utf-8") as fh:
            lines = (line for line in fh if line.strip())
            for line in itertools.islice(lines, self._skip, None):
                yield json.loads(line)

    def __len__(self) -> int:
        return self.summary.total

    def _summarise(self) -> Summary:
        summary = Summary()
        for record in self:
            summary.add(record)
        return summary

    @property
    def all_passed(self) -> bool:
        return self.summary.failed == 0

    def to_pandas(self) -> Any:
        """One row per clip: source, status, profile, output, flat metric columns, findings."""
        try:
            import pandas as pd
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "to_pandas() needs pandas: pip install 'voiceprep[pandas]'"
            ) from None

        rows = []
        for record in self:
            row = {k: record[k] for k in ("source", "status", "profile", "output")}
            for key, value in record["metrics"].items():
                row[key] = value
            row["findings"] = [f["code"] for f in record["findings"]]
            row["errors"] = [f["code"] for f in record["findings"] if f["severity"] == "error"]
            rows.append(row)
        return pd.DataFrame(rows)

    def __getitem__(self, index: int) -> ResultRecord:
        """The record of the ``index``-th clip (negative counts from the end); shows in Jupyter."""
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"results hold {len(self)} clips; there is no clip {index}")
        for i, record in enumerate(self):
            if i == position:
                return ResultRecord(record)
        raise IndexError(f"clip {index} is missing from {self.path}")  # file shrank meanwhile

    def _repr_html_(self) -> str:
        """Jupyter: a summary table and cards (waveform, findings, players) of the first clips."""
        from pipeline.report import results_html

        return results_html(self)

    def __repr__(self) -> str:
        s = self.summary
        return f"<Results {s.total} clips: {s.passed} passed, {s.failed} failed>"


class ResultRecord(dict[str, Any]):
    """A result record (a plain dict) that Jupyter shows as a card with a waveform and players."""

    def _repr_html_(self) -> str:
        from pipeline.report import record_html

        return record_html(self)


def write_records(path: str, records: Iterable[dict[str, Any]]) -> None:
    """Replace ``path`` atomically with these records, one JSON line each."""
    tmp = temporary_path(path)
    with open(tmp, "w", encoding="utf-8", errors=LONE_SURROGATES) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
