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
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.clip import Clip
from pipeline.errors import VoiceprepWarning
from pipeline.tempnames import temporary_path

RESULTS_NAME = "results.jsonl"
_LIST_COLUMNS = ("findings", "errors")
# Metrics every clip of the default chain carries (or null), with how `to_pandas` types them.
BASE_METRICS = (
    "source_duration_s",
    "duration_s",
    "speech_start_s",
    "speech_end_s",
    "trimmed_start_s",
    "trimmed_end_s",
    "speech_ratio",
    "snr_db",
    "noise_floor_dbfs",
    "clipping_ratio",
    "lufs",
    "peak_dbfs",
)
# Documented numeric metrics: float columns in `to_pandas`, NaN where null (also when a
# batch has no value at all, which would otherwise give an object column of None).
NUMERIC_METRICS = frozenset(
    {
        *BASE_METRICS,
        "source_peak_dbfs",
        "gain_db",
        "limiter_gain_db",
        "encode_gain_db",
        "encode_limiting_db",
        "dc_offset",
        "hum_hz",
        "bandwidth_hz",
        "hf_tilt_db",
        "music_probability",
        "speech_bass_db",
        "speech_voiced_share",
        "speaker_count",
        "speaker_score",
        "speaker_pitch_gap_st",
        "channel_talkers",
        "dnsmos_ovrl",
        "dnsmos_sig",
        "dnsmos_bak",
        "dnsmos_interference",
    }
)
# How results.jsonl is written: a source name that is not valid UTF-8 (``os.listdir`` gives its
# bytes as lone surrogates) becomes a ``\udcXX`` JSON escape, which ``json.loads`` reads back
# as the same name.
LONE_SURROGATES = "backslashreplace"


def utf8_text(value: str) -> str:
    """``value`` with any lone surrogate (a file name that is not valid UTF-8, as
    ``os.listdir`` gives it) written as a ``\\udcXX`` escape: text SQLite and strict UTF-8
    writers accept."""
    return value.encode("utf-8", LONE_SURROGATES).decode("utf-8")


class ResultsWarning(VoiceprepWarning):
    """A line of results.jsonl was skipped (cut off by a killed run, or not valid JSON)."""


def is_record(value: Any) -> bool:
    """True for a result record; False for other JSON lines (``check --json``'s summary)."""
    return isinstance(value, dict) and "source" in value and "status" in value


def passed(record: dict[str, Any]) -> bool:
    """The verdict of a record, the same everywhere: only ``"passed"`` passed."""
    return record.get("status") == "passed"


def read_records(path: str) -> Iterator[dict[str, Any]]:
    """The records of a results.jsonl, streamed; lines that are not records are left out.

    A line that is not valid JSON is skipped with a `ResultsWarning` naming it: the last one
    is what a run killed mid-write leaves behind. Lines that are JSON but not records (the
    ``{"summary": ...}`` line of ``voiceprep check --json``) are ignored without a word.
    """
    with open(path, encoding="utf-8", errors=LONE_SURROGATES) as fh:
        bad: tuple[int, str] | None = None  # held back one line: is it the last?
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if bad is not None:
                _warn_bad_line(path, *bad, last=False)
                bad = None
            try:
                value = json.loads(line)
            except ValueError as exc:
                bad = (number, str(exc))
                continue
            if is_record(value):
                yield value
        if bad is not None:
            _warn_bad_line(path, *bad, last=True)


def _warn_bad_line(path: str, number: int, reason: str, *, last: bool) -> None:
    if last:
        message = (
            f"skipped the last line ({number}) of {path}: it is cut off, as a run killed while "
            "writing leaves it; run the same `voiceprep run` again to redo that input"
        )
    else:
        message = (
            f"skipped line {number} of {path}: not valid JSON ({reason}); the other lines "
            "are used. Was the file edited by hand?"
        )
    warnings.warn(message, ResultsWarning, stacklevel=3)


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


# Warnings only counted in the summary, never listed: `loudness_ceiling` comes with about
# half of all clean takes, and would bury the warnings that need a listen.
COUNTED_ONLY = frozenset({"loudness_ceiling"})
# Messages kept per listed input; the summary says how many more there are.
MESSAGES_KEPT = 5


def _messages(findings: list[dict[str, Any]]) -> list[str]:
    """The first `MESSAGES_KEPT` messages of ``findings``, then "... and N more" if any."""
    kept = [str(f.get("message")) for f in findings[:MESSAGES_KEPT]]
    if len(findings) > MESSAGES_KEPT:
        kept.append(f"... and {len(findings) - MESSAGES_KEPT} more")
    return kept


@dataclass
class Summary:
    """Counters built while results stream past, so no result list is kept for the summary."""

    total: int = 0
    passed: int = 0
    audio_s: float = 0.0
    findings: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    max_listed: int = 50
    # Every error message of the first `max_listed` failed inputs (at most
    # `MESSAGES_KEPT` each), and the warnings of the first `max_warned` inputs that passed
    # with warnings worth reading (`COUNTED_ONLY` codes are only counted).
    failed_messages: list[tuple[str, list[str]]] = field(default_factory=list)
    warned: int = 0
    warned_messages: list[tuple[str, list[str]]] = field(default_factory=list)
    max_warned: int = 20

    def add(self, record: dict[str, Any]) -> None:
        findings = record.get("findings") or []
        self.total += 1
        self.audio_s += (record.get("metrics") or {}).get("source_duration_s") or 0.0
        if passed(record):
            self.passed += 1
        errors = [f for f in findings if f.get("severity") == "error"]
        for finding in findings:
            self.findings[f"{finding.get('severity')}:{finding.get('code')}"] += 1
        if errors:
            self.errors[str(errors[0].get("code"))] += 1
            if len(self.failed_messages) < self.max_listed:
                self.failed_messages.append((record["source"], _messages(errors)))
            return
        worth_reading = [
            f
            for f in findings
            if f.get("severity") == "warning" and f.get("code") not in COUNTED_ONLY
        ]
        if worth_reading:
            self.warned += 1
            if len(self.warned_messages) < self.max_warned:
                self.warned_messages.append((record["source"], _messages(worth_reading)))

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
        yield from itertools.islice(read_records(self.path), self._skip, None)

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
        """One row per clip: source, status, profile, output, flat metric columns, findings.

        The base columns (`BASE_METRICS` among them) are there even for zero clips, and the
        documented numeric metrics are float columns (NaN for null) even when all are null.
        """
        try:
            import pandas as pd
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                "to_pandas() needs pandas: pip install 'voiceprep[pandas]'"
            ) from None

        base = ["source", "status", "profile", "output", *BASE_METRICS]
        rows = []
        for record in self:
            row = {k: record.get(k) for k in ("source", "status", "profile", "output")}
            row.update(record.get("metrics") or {})
            findings = record.get("findings") or []
            row["findings"] = [f.get("code") for f in findings]
            row["errors"] = [f.get("code") for f in findings if f.get("severity") == "error"]
            rows.append(row)
        frame = pd.DataFrame(rows)
        columns = base + [c for c in frame.columns if c not in base and c not in _LIST_COLUMNS]
        frame = frame.reindex(columns=[*columns, *_LIST_COLUMNS])
        for column in frame.columns:
            if column in NUMERIC_METRICS:
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        return frame

    def __getitem__(self, index: int) -> ResultRecord:
        """The record of the ``index``-th clip (negative counts from the end); shows in Jupyter."""
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"results hold {len(self)} clips; there is no clip {index}")
        for i, record in enumerate(self):
            if i == position:
                return ResultRecord(record, self.base_dir)
        raise IndexError(f"clip {index} is missing from {self.path}")  # file shrank meanwhile

    def _repr_html_(self) -> str:
        """Jupyter: a summary table and cards (waveform, findings, players) of the first clips."""
        from pipeline.report import results_html

        return results_html(self, base_dir=self.base_dir)

    @property
    def base_dir(self) -> str | None:
        """The folder of the results.jsonl behind these results; None for an in-memory run."""
        return os.path.dirname(os.path.abspath(self.path)) if self.path else None

    def __repr__(self) -> str:
        s = self.summary
        return f"<Results {s.total} clips: {s.passed} passed, {s.failed} failed>"


class ResultRecord(dict[str, Any]):
    """A result record (a plain dict) that Jupyter shows as a card with a waveform and players.

    ``base_dir`` is the folder of the results.jsonl it came from: a moved output is looked
    for there, and relative paths are tried against its parent (see `pipeline.report`).
    """

    def __init__(self, record: dict[str, Any], base_dir: str | None = None) -> None:
        super().__init__(record)
        self.base_dir = base_dir

    def _repr_html_(self) -> str:
        from pipeline.report import record_html

        return record_html(self, base_dir=self.base_dir)


def write_records(path: str, records: Iterable[dict[str, Any]]) -> None:
    """Replace ``path`` atomically with these records, one JSON line each."""
    tmp = temporary_path(path)
    with open(tmp, "w", encoding="utf-8", errors=LONE_SURROGATES) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
