"""The run journal: a SQLite file in the output folder that makes runs resumable.

For each input it records the content hash, the pipeline configuration hash, the state and
the finished result. A run killed at any moment and started again skips what finished
(same content, same configuration) and redoes the rest. Only the driver process writes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import xxhash

from pipeline.errors import ConfigurationError
from pipeline.results import utf8_text

JOURNAL_NAME = "journal.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    source       TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    state        TEXT NOT NULL,
    record       TEXT,
    updated      REAL NOT NULL,
    output       TEXT,
    PRIMARY KEY (source, config_hash)
);
CREATE INDEX IF NOT EXISTS clips_output ON clips (output);
"""
# Journals written before 0.3.7: add the output column, filled from the stored records, and
# name sources and outputs by absolute path as `_key` does (relative ones against the current
# folder: where that run most likely started). One transaction: a kill leaves the old table.
_UPGRADE = """
BEGIN;
ALTER TABLE clips ADD COLUMN output TEXT;
UPDATE OR REPLACE clips SET source = abspath(source),
    output = abspath(json_extract(record, '$.output'));
COMMIT;
"""


# XXH3-128: every input is hashed whole once per run, and a change detector needs no
# cryptographic hash; it is ~4x cheaper than SHA-256 even on the CPU's SHA instructions (18 vs
# 70 ms for 87 MB here). `pipeline.remote` hashes objects behind URLs with the same algorithm
# (`new_content_digest`), so a file and its upload have the same digest. A journal written
# with another algorithm just redoes the files whose stamps changed.


def content_hash(path: str) -> str:
    """Digest of the file's bytes (hex, 32 digits); "" for a file that cannot be read."""
    if "://" in path:
        from pipeline.remote import is_url, url_digest

        if is_url(path):
            return url_digest(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return ""  # a FIFO or device: reading it to the end may never finish
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, xxhash.xxh3_128).hexdigest()[:32]
    except OSError:
        return ""


def new_content_digest() -> xxhash.xxh3_128:
    """A fresh hasher (``update``, ``hexdigest``) of the algorithm `content_hash` uses."""
    return xxhash.xxh3_128()


@dataclass(frozen=True)
class FileStamp:
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> FileStamp:
        if "://" in path:
            from pipeline.remote import is_url, url_stamp

            if is_url(path):
                return cls(*url_stamp(path))  # size and a tag of the ETag/mtime
        try:
            st = os.stat(path)
        except OSError:
            return cls(-1, -1)
        return cls(st.st_size, st.st_mtime_ns)


def _key(path: str) -> str:
    """How the journal names a file: ``in/x.wav``, ``./in/x.wav`` and ``/abs/in/x.wav`` are one
    input (URLs as they are), in text SQLite accepts."""
    if "://" not in path:
        path = os.path.normpath(os.path.abspath(path))
    return utf8_text(path)


def _abspath_or_none(path: str | None) -> str | None:
    """`_key` for the upgrade's SQL (None stays None)."""
    return None if path is None else _key(path)


def _output_intact(output: str, record: dict[str, Any]) -> bool:
    """True when the output file (``output``: its absolute path or URL) has the size encode
    wrote.

    Outputs are not fsynced, so after a power cut one may be missing or truncated; the
    size check catches both. An object behind a URL is asked for its size (one request).
    """
    if "://" in output:
        from pipeline.remote import is_url, url_stamp

        size = url_stamp(output)[0] if is_url(output) else -1
        if size < 0:
            return False
    else:
        try:
            size = os.path.getsize(output)
        except OSError:
            return False
    expected = (record.get("metrics") or {}).get("output_bytes")
    return expected is None or size == expected


class Journal:
    """What finished in earlier runs into the same output folder."""

    def __init__(self, out_dir: str) -> None:
        self.path = os.path.join(out_dir, JOURNAL_NAME)
        try:
            os.makedirs(out_dir, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA user_version")  # opening is lazy: touch the file now
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise ConfigurationError(
                f"cannot write the output folder {out_dir} ({reason}); choose a folder you "
                "can write to with --out"
            ) from None
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(clips)")}
        if columns and "output" not in columns:
            self._db.create_function("abspath", 1, _abspath_or_none, deterministic=True)
            self._db.executescript(_UPGRADE)
        self._db.executescript(_SCHEMA)

    def finished(self, source: str, config_hash: str) -> dict[str, Any] | None:
        """The stored result of ``source`` if it finished under this configuration, unchanged."""
        row = self._db.execute(
            "SELECT content_hash, size, mtime_ns, record, output, rowid FROM clips "
            "WHERE source = ? AND config_hash = ? AND state = 'done'",
            (_key(source), config_hash),
        ).fetchone()
        if row is None:
            return None
        stored_hash, size, mtime_ns, record, output, rowid = row
        stamp = FileStamp.of(source)
        if (stamp.size, stamp.mtime_ns) != (size, mtime_ns):
            # Touched or copied: trust the content, not the timestamp.
            if content_hash(source) != stored_hash:
                return None
            self._db.execute(
                "UPDATE clips SET size = ?, mtime_ns = ? WHERE rowid = ?",
                (stamp.size, stamp.mtime_ns, rowid),
            )
            self._db.commit()
        result: dict[str, Any] = json.loads(record)
        if output and not self._output_current(output, result, rowid):
            return None  # the output was deleted, cut short or overwritten: make it again
        return result

    def _output_current(self, output: str, record: dict[str, Any], rowid: int) -> bool:
        """Whether ``output`` (a row's, absolute) is still the file that row's run wrote.

        Not when it is missing or has another size, nor when a later row wrote the same path
        (the same input under another configuration or profile). Rows are ordered by rowid:
        every write is a new row with a larger one, whatever the clock does.
        """
        if not _output_intact(output, record):
            return False
        later = self._db.execute(
            "SELECT 1 FROM clips WHERE output = ? AND rowid > ? AND state = 'done' LIMIT 1",
            (output, rowid),
        ).fetchone()
        return later is None

    def _latest_current(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(source, record) of every input's latest result, if its output is still current."""
        rows = self._db.execute(
            "SELECT source, record, output, rowid FROM clips AS c WHERE state = 'done' "
            "AND rowid = (SELECT MAX(rowid) FROM clips WHERE source = c.source "
            "AND state = 'done') ORDER BY rowid"
        )
        for source, text, output, rowid in rows:  # one row at a time: folders grow
            record: dict[str, Any] = json.loads(text)
            if output and not self._output_current(output, record, rowid):
                continue
            yield source, record

    def other_results(self, exclude: set[str]) -> Iterator[dict[str, Any]]:
        """The latest result of every input not in ``exclude`` whose output is still current.

        What earlier runs into this folder made of inputs the current run does not name, so
        that results.jsonl keeps describing every output in the folder.
        """
        skip = {_key(source) for source in exclude}
        for source, record in self._latest_current():
            if source not in skip:
                yield record

    def outputs_of_others(self, sources: set[str]) -> set[str]:
        """Output file names (casefolded) that inputs outside ``sources`` hold in the folder."""
        skip = {_key(source) for source in sources}
        return {
            os.path.basename(record["output"]).casefold()
            for source, record in self._latest_current()
            if source not in skip and record.get("output")
        }

    def record_done(
        self, source: str, config_hash: str, digest: str, stamp: FileStamp, record: dict[str, Any]
    ) -> None:
        """Store a finished result; committed before the caller reports it anywhere else."""
        output = record.get("output")
        self._db.execute(
            "INSERT OR REPLACE INTO clips "
            "(source, config_hash, content_hash, size, mtime_ns, state, record, updated, output) "
            "VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?)",
            (
                _key(source),
                config_hash,
                digest,
                stamp.size,
                stamp.mtime_ns,
                json.dumps(record),
                time.time(),
                _key(output) if output else None,
            ),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
