"""Upload the outputs of a finished run to a vendor, exactly once, and follow the outcome.

`upload_run` reads ``results.jsonl``, takes every ``passed`` output, publishes it first
when the vendor fetches URLs (CCC, VOD), sends it with the vendor's client and records
the `Receipt`. Where receipts live:

- the run journal (``journal.sqlite``, table ``uploads``) is the source of truth, one
  row per output, vendor and target (endpoint and account, `client_target`): receipts
  from a sandbox rehearsal do not count for the real vendor, and pending outcomes are
  followed only against the target that made them. Rows from journals older than
  targets have target ``""`` and count for every target (where they were made cannot
  be known);
- ``uploads.jsonl`` is the stable receipts file: one line per change (a receipt, or an
  item's ``error`` or ``unknown`` state), appended
  as it happens (the last line of an output wins);
- ``results.jsonl`` gets an ``upload`` key on each record, rewritten atomically at the
  end of each upload (a later ``voiceprep run`` into the folder drops it again;
  ``voiceprep upload`` puts it back without sending anything).

Exactly once across kills: an item is marked ``sending`` (committed) before its request
leaves and ``done`` when the receipt is stored; in between, the client's progress notes
(how far the attempt got) are committed to the row before each step that matters. An
item found in ``sending`` on the next run may or may not have reached the vendor, so it
is reconciled, never blindly resent:

- Tencent CCC lists files by CustomFileName and adopts one newer than its first look (a
  progress note); a row whose earlier attempt recorded no progress (voiceprep 0.3.6 or
  older, or one stopped before its first look) has no notes at all (`notes_kept`), so it
  is sent only when CCC holds no file of that name, else it becomes ``unknown``;
- Tencent VOD sends the same content-derived SessionId, which the vendor deduplicates;
  the receipt then follows the first task (its noted TaskId, or found by SessionId);
- Yeastar asks whether the prompt exists and overwrites it only when it is a recorded
  prompt and the earlier attempt had got as far as sending ``force`` (its progress note);
  any other existing prompt is someone else's and stops the item without ``--force``;
- Huawei and Alibaba offer no lookup, so the item becomes ``unknown`` and is reported;
  ``retry_unknown=True`` (``--retry-unknown``) resends it, possibly creating a second
  copy — check the vendor console first.

Asynchronous outcomes: CCC review, VOD task and Alibaba audit are polled until final or
``poll_timeout_s``; Huawei's review arrives by callback (`stages.callbacks`), which is
stored in the journal and applied here too. Running the upload again sends nothing
twice, retries what failed, and refreshes outcomes that were still pending.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline.errors import ConfigurationError, VendorError
from pipeline.journal import JOURNAL_NAME
from pipeline.results import LONE_SURROGATES, RESULTS_NAME, Results, utf8_text, write_records

__all__ = [
    "UPLOADS_NAME",
    "UploadLedger",
    "UploadSummary",
    "sync_results",
    "upload_run",
]

UPLOADS_NAME: Final = "uploads.jsonl"
LOCK_NAME: Final = ".upload.lock"
RECONCILABLE: Final = frozenset({"tencent-ccc", "tencent-vod", "yeastar"})
"""Vendors whose client can tell, after a kill, whether an earlier attempt landed."""
POLLED: Final = frozenset({"tencent-ccc", "tencent-vod", "aliyun"})
CALLBACK_VENDORS: Final = frozenset({"huawei"})
VENDOR_OPTIONS: Final = {
    "sdk_app_id": "tencent-ccc",
    "daily_quota": "tencent-ccc",
    "sub_app_id": "tencent-vod",
    "session_context": "tencent-vod",
    "tasks_priority": "tencent-vod",
    "callback_url": "huawei",
    "locale": "huawei",
    "voice_type": "huawei",
    "token_lifetime_s": "huawei",
    "force": "yeastar",
    "signature": "aliyun",
    "business_type": "aliyun",
    "upload_endpoint": "aliyun",
}
"""Client options that only one vendor takes (a typo'd vendor should not pass silently)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    output     TEXT NOT NULL,
    vendor     TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    state      TEXT NOT NULL,
    remote_id  TEXT,
    status     TEXT,
    request_id TEXT,
    at         REAL,
    detail     TEXT,
    error      TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (output, vendor, target)
);
CREATE TABLE IF NOT EXISTS callbacks (
    vendor    TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    payload   TEXT NOT NULL,
    received  REAL NOT NULL,
    PRIMARY KEY (vendor, remote_id)
);
"""
_COLUMNS = (
    "output, vendor, source, state, remote_id, status, request_id, at, detail, error, "
    "attempts, target"
)
_MIGRATE = f"""
ALTER TABLE uploads RENAME TO uploads_untargeted;
{_SCHEMA.split(";")[0]};
INSERT INTO uploads ({_COLUMNS})
    SELECT {_COLUMNS.replace("target", "''")} FROM uploads_untargeted;
DROP TABLE uploads_untargeted;
"""


def _migrate(db: sqlite3.Connection) -> None:
    """Give a journal from before targets were recorded its ``target`` column: its rows get
    target ``""`` (made somewhere unknown), which count for every target."""
    db.execute("BEGIN IMMEDIATE")
    try:
        columns = {r[1] for r in db.execute("PRAGMA table_info(uploads)")}
        if columns and "target" not in columns:
            for statement in _MIGRATE.split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def client_target(client: Any) -> str:
    """Where ``client``'s receipts are made (`vendors.base.ClientCore.target`): its endpoint
    and account; ``""`` for a client that does not say (test fakes)."""
    return str(getattr(client, "target", "") or "")


@dataclass
class Row:
    """One output's upload state for one vendor."""

    output: str
    vendor: str
    source: str
    state: str  # sending | done | error | unknown
    remote_id: str | None
    status: str | None
    request_id: str | None
    at: float | None
    detail: dict[str, Any]
    error: str | None
    attempts: int
    target: str = ""
    """Where the receipt was made (`client_target`); ``""``: unknown (a journal from before
    targets were recorded), which counts for every target."""

    def receipt(self) -> Any:
        from vendors.base import Receipt

        return Receipt(
            vendor=self.vendor,
            source=self.source,
            output=self.detail.get("_path", self.output),
            remote_id=self.remote_id,
            status=self.status or "submitted",
            request_id=self.request_id,
            at=self.at or 0.0,
            detail={k: v for k, v in self.detail.items() if not k.startswith("_")},
        )


def _row(r: tuple[Any, ...]) -> Row:
    return Row(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8] or "{}"), r[9], r[10],
        r[11],
    )  # fmt: skip


class UploadLedger:
    """The ``uploads`` and ``callbacks`` tables of a run journal; safe to share by threads.

    Every change is committed at once, so a SIGKILL loses at most the change in flight.
    Rows are kept per target (`client_target`: the endpoint the client talked to and the
    account, e.g. a sandbox URL or the real cloud with a CCC SdkAppId): a ledger opened for
    ``target`` reads and writes that target's rows, so a rehearsal against the sandbox
    does not count as uploaded to the real vendor. Rows with target ``""`` (journals from
    before targets were recorded, where the target cannot be known) count for every
    target.
    """

    def __init__(self, out_dir: str, target: str = "") -> None:
        self.out_dir = out_dir
        self.target = target
        self.path = os.path.join(out_dir, JOURNAL_NAME)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.isolation_level = None
        _migrate(self._db)
        self._db.executescript(_SCHEMA)
        self._db.isolation_level = "DEFERRED"
        self._jsonl = os.path.join(out_dir, UPLOADS_NAME)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def all_rows(self, vendor: str | None = None) -> list[Row]:
        """Every row (of ``vendor``) of every target."""
        with self._lock:
            sql = f"SELECT {_COLUMNS} FROM uploads" + (" WHERE vendor = ?" if vendor else "")
            return [_row(r) for r in self._db.execute(sql, (vendor,) if vendor else ())]

    def rows(self, vendor: str | None = None) -> dict[tuple[str, str], Row]:
        """The rows (of ``vendor``) that count for this ledger's target, keyed by (output,
        vendor): the target's own, else an untargeted one."""
        out: dict[tuple[str, str], Row] = {}
        for row in self.all_rows(vendor):
            if row.target not in (self.target, ""):
                continue
            key = (row.output, row.vendor)
            if key not in out or row.target == self.target:
                out[key] = row
        return out

    def get(self, output: str, vendor: str) -> Row | None:
        """The row of ``output`` that counts for this target (see `rows`)."""
        with self._lock:
            return self._get_unlocked(output, vendor)

    def _write(self, row: Row) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO uploads ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.output,
                row.vendor,
                utf8_text(row.source),
                row.state,
                row.remote_id,
                row.status,
                row.request_id,
                row.at,
                utf8_text(json.dumps(row.detail, ensure_ascii=False)),
                row.error,
                row.attempts,
                row.target,
            ),
        )
        self._db.commit()

    def mark_sending(
        self, output: str, vendor: str, source: str, path: str, *, resumed: bool = False
    ) -> None:
        """Committed before the request leaves: a kill from here on leaves ``sending``.

        A fresh attempt starts empty progress notes (so a row without any is known to be
        from a voiceprep that kept none, `notes_kept`); a resumed one keeps them.
        """
        with self._lock:
            old = self._get_unlocked(output, vendor)
            row = old or Row(output, vendor, source, "sending", None, None, None, None, {}, None, 0)
            row.state, row.error, row.target = "sending", None, self.target
            row.attempts += 1
            row.detail = {**row.detail, "_path": path}
            if not resumed:
                row.detail["_progress"] = {}
            self._write(row)

    def save_progress(self, output: str, vendor: str, progress: dict[str, Any]) -> None:
        """Store the item's progress notes (`vendors.base.UploadItem.note`), committed."""
        with self._lock:
            row = self._get_unlocked(output, vendor)
            if row is not None:
                row.detail = {**row.detail, "_progress": progress}
                self._write(row)

    def progress(self, output: str, vendor: str) -> dict[str, Any]:
        """The item's last saved progress notes."""
        row = self.get(output, vendor)
        return dict(row.detail.get("_progress") or {}) if row is not None else {}

    def notes_kept(self, output: str, vendor: str) -> bool:
        """False for a row whose earlier attempt recorded no progress (voiceprep 0.3.6 or
        older, or one stopped before its first look): it may have gone anywhere. Every
        attempt now starts its notes in `mark_sending`."""
        row = self.get(output, vendor)
        return row is None or "_progress" in row.detail

    def _get_unlocked(self, output: str, vendor: str, target: str | None = None) -> Row | None:
        """The row of ``target`` exactly; by default this target's row, else an untargeted one."""
        if target is not None:
            r = self._db.execute(
                f"SELECT {_COLUMNS} FROM uploads WHERE output = ? AND vendor = ? AND target = ?",
                (output, vendor, target),
            ).fetchone()
            return None if r is None else _row(r)
        r = self._db.execute(
            f"SELECT {_COLUMNS} FROM uploads WHERE output = ? AND vendor = ? "
            "AND target IN (?, '') ORDER BY target = ? DESC LIMIT 1",
            (output, vendor, self.target, self.target),
        ).fetchone()
        return None if r is None else _row(r)

    def restore(self, output: str, vendor: str, previous: Row | None) -> None:
        """Undo `mark_sending`: the request surely never reached the vendor."""
        with self._lock:
            if previous is None or previous.target != self.target:
                self._db.execute(
                    "DELETE FROM uploads WHERE output = ? AND vendor = ? AND target = ?",
                    (output, vendor, self.target),
                )
                self._db.commit()
            if previous is not None:
                self._write(previous)

    def set_state(self, output: str, vendor: str, state: str, error: str | None = None) -> None:
        """Change the item's state; ``error`` and ``unknown`` are also appended to
        ``uploads.jsonl`` (``sending`` is not: it is the step before every outcome)."""
        with self._lock:
            row = self._get_unlocked(output, vendor)
            if row is None:
                return
            row.state, row.error = state, error
            self._write(row)
            if state in ("error", "unknown"):
                self._append(
                    {
                        "vendor": vendor,
                        "source": row.source,
                        "output": row.detail.get("_path", output),
                        "remote_id": row.remote_id,
                        "status": row.status,
                        "at": time.time(),
                        "state": state,
                        "error": error,
                        "target": row.target,
                    }
                )

    def record(self, output: str, receipt: Any, *, target: str | None = None) -> None:
        """Store ``receipt`` as the item's outcome (state ``done``) and append it to
        ``uploads.jsonl``; ``target`` (default: this ledger's) names the row's target."""
        with self._lock:
            old = self._get_unlocked(output, receipt.vendor, target)
            path = (old.detail.get("_path") if old else None) or receipt.output
            row = Row(
                output,
                receipt.vendor,
                receipt.source,
                "done",
                receipt.remote_id,
                receipt.status,
                receipt.request_id,
                receipt.at,
                {**receipt.detail, "_path": path},
                None,
                old.attempts if old else 1,
                old.target if old is not None else self.target if target is None else target,
            )
            self._write(row)
            self._append({**receipt.to_dict(), "state": "done", "target": row.target})

    def _append(self, line: dict[str, Any]) -> None:
        with open(self._jsonl, "a", encoding="utf-8", errors=LONE_SURROGATES) as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")

    # --- callbacks -------------------------------------------------------------------------

    def store_callback(self, vendor: str, remote_id: str, payload: dict[str, Any]) -> bool:
        """Keep a review callback; False when the same payload was already stored."""
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        with self._lock:
            old = self._db.execute(
                "SELECT payload FROM callbacks WHERE vendor = ? AND remote_id = ?",
                (vendor, remote_id),
            ).fetchone()
            if old is not None and old[0] == text:
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO callbacks VALUES (?, ?, ?, ?)",
                (vendor, remote_id, text, time.time()),
            )
            self._db.commit()
            return True

    def callback_for(self, vendor: str, remote_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT payload FROM callbacks WHERE vendor = ? AND remote_id = ?",
                (vendor, remote_id),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def knows(self, vendor: str, remote_id: str) -> bool:
        """Whether any receipt of ``vendor`` (of any target) has ``remote_id``."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM uploads WHERE vendor = ? AND remote_id = ? LIMIT 1",
                (vendor, remote_id),
            ).fetchone()
        return row is not None

    def apply_callbacks(self, vendor: str = "huawei", *, at: float | None = None) -> list[Any]:
        """Apply stored review callbacks to receipts still pending; returns the changed ones."""
        from vendors.huawei import apply_review_callback

        changed = []
        for row in self.all_rows(vendor):
            if row.state != "done" or row.status != "submitted" or not row.remote_id:
                continue
            payload = self.callback_for(vendor, row.remote_id)
            if payload is None:
                continue
            receipt = apply_review_callback(row.receipt(), payload, at=at or time.time())
            if receipt.status != "submitted":
                self.record(row.output, receipt, target=row.target)
                changed.append(receipt)
        return changed


# --- summary ---------------------------------------------------------------------------------


@dataclass
class UploadSummary:
    """What one `upload_run` did; ``ok`` when nothing needs the user's attention."""

    vendor: str
    total: int = 0
    sent: int = 0
    skipped: int = 0
    pending: int = 0
    """Not attempted because the run stopped (quota, auth); the next run sends them."""
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    """(output, vendor code, message) of items that failed this run; resent next run."""
    error_kinds: dict[str, str] = field(default_factory=dict)
    """Output → ``clash`` (the vendor holds another file of that name), ``refused`` (the
    vendor or a local check refused the file) or ``error`` (transient: network, 5xx,
    publishing), for each of `errors`."""
    unknown: list[str] = field(default_factory=list)
    """Outputs whose earlier request may or may not have landed (no lookup API)."""
    unknown_why: dict[str, str] = field(default_factory=dict)
    """Output → what to check, for the unknowns whose client said more than "no lookup
    API" (`vendors.errors.VendorOutcomeUnknown`, e.g. a CCC row that recorded no progress)."""
    stopped: str | None = None
    """Why the run stopped early (quota used up, credentials refused), if it did."""
    receipts: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bad = self.statuses.get("rejected", 0) + self.statuses.get("failed", 0)
        return not (self.errors or self.unknown or self.stopped or self.pending or bad)

    def count(self, kind: str) -> int:
        """How many of `errors` are of ``kind`` (``clash``, ``refused``, ``error``)."""
        return sum(1 for o, _, _ in self.errors if self.error_kinds.get(o, "error") == kind)

    @property
    def counts(self) -> dict[str, int]:
        """Every output of the run in exactly one bucket: these add up to ``total``."""
        return {
            "sent": self.sent,
            "already": self.skipped,
            "left": self.pending,
            "refused": self.count("refused"),
            "clash": self.count("clash"),
            "error": self.count("error"),
            "unknown": len(self.unknown),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "total": self.total,
            "counts": self.counts,
            "sent": self.sent,
            "skipped": self.skipped,
            "pending": self.pending,
            "statuses": dict(sorted(self.statuses.items())),
            "errors": [{"output": o, "code": c, "message": m} for o, c, m in self.errors],
            "unknown": self.unknown,
            "unknown_why": self.unknown_why,
            "stopped": self.stopped,
        }


# --- the run ---------------------------------------------------------------------------------


@contextmanager
def _run_lock(out_dir: str) -> Iterator[None]:
    """One upload per output folder at a time (two would both see items as not sent)."""
    import fcntl

    fd = os.open(os.path.join(out_dir, LOCK_NAME), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(
                f"another `voiceprep upload` is working on {out_dir}; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)


def _output_path(out_dir: str, output: str) -> str:
    """The output file, also when the run was started from another working directory."""
    if os.path.isfile(output):
        return output
    return os.path.join(out_dir, os.path.basename(output))


def _infer_vendor(records: list[dict[str, Any]], vendor: str | None) -> str:
    from vendors.base import PROFILE_VENDORS, vendor_for_profile

    profiles = {r.get("profile") for r in records if r.get("profile")}
    made_for = {PROFILE_VENDORS.get(str(p), str(p)) for p in profiles}
    if vendor is None:
        if len(made_for) != 1:
            raise ConfigurationError(
                "cannot tell which vendor these outputs are for; pass --vendor "
                "(tencent-ccc, tencent-vod, aliyun, huawei, yeastar)"
            )
        vendor = made_for.pop()
    name = vendor_for_profile(vendor)
    if made_for and name not in made_for:
        raise ConfigurationError(
            f"the outputs in this folder were made for {', '.join(sorted(map(str, profiles)))}, "
            f"not {name}; run `voiceprep run --profile` for {name} into another folder"
        )
    return name


def upload_run(
    out_dir: str,
    vendor: str | None = None,
    *,
    endpoint: str | None = None,
    vendor_endpoint: str | None = None,
    publisher: Any = None,
    force: bool = False,
    workers: int = 1,
    poll: bool = True,
    poll_timeout_s: float = 60.0,
    poll_interval_s: float = 2.0,
    retry_unknown: bool = False,
    client_options: dict[str, Any] | None = None,
    client_factory: Callable[[], Any] | None = None,
    on_receipt: Callable[[Any], None] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> UploadSummary:
    """Upload every passed output of the run in ``out_dir`` that has no receipt yet.

    ``vendor`` defaults to the one the run's profile targets. ``endpoint`` is a sandbox
    root, ``vendor_endpoint`` an exact vendor URL; neither means the real cloud.
    ``publisher`` (a `stages.publish.Publisher`) is required for URL vendors unless
    ``endpoint`` is given, in which case the outputs are served locally. ``force`` lets
    Yeastar overwrite an existing prompt of the same name. ``client_factory`` replaces
    `vendors.base.make_client` (tests). ``on_receipt`` sees each new receipt and each
    final outcome found while following. Per-item refusals are collected in the summary;
    only configuration mistakes raise.
    """
    from stages.publish import PublishError
    from vendors.base import UploadItem, make_client

    if workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    if not os.path.isfile(os.path.join(out_dir, RESULTS_NAME)):
        raise ConfigurationError(
            f"{out_dir} holds no {RESULTS_NAME}; run `voiceprep run … --out {out_dir}` first"
        )
    records = list(Results.read(out_dir))
    vendor = _infer_vendor(records, vendor)
    options = dict(client_options or {})
    if force:
        options["force"] = True
    for key in options:
        owner = VENDOR_OPTIONS.get(key)
        if owner is not None and owner != vendor:
            flag = "--" + key.replace("_", "-")
            raise ConfigurationError(f"{flag} is an option of {owner}, not {vendor}")

    def new_client() -> Any:
        if client_factory is not None:
            return client_factory()
        return make_client(
            vendor,
            endpoint=endpoint,
            vendor_endpoint=vendor_endpoint,
            state_dir=out_dir,
            **options,
        )

    summary = UploadSummary(vendor=vendor)
    with _run_lock(out_dir):
        ledger = UploadLedger(out_dir)
        clients: list[Any] = []
        own_publisher = False
        try:
            main_client = new_client()
            clients.append(main_client)
            ledger.target = client_target(main_client)
            if main_client.needs_url and publisher is None:
                if endpoint is None:
                    raise ConfigurationError(
                        f"{vendor} fetches each file from a URL: pass --publish "
                        "s3://BUCKET/PREFIX (S3 or Tencent COS), or --publish local with a "
                        "sandbox --endpoint"
                    )
                publisher, own_publisher = _local_publisher(out_dir), True
            from stages.publish import LocalPublisher

            if isinstance(publisher, LocalPublisher) and not (endpoint or vendor_endpoint):
                raise ConfigurationError(
                    "--publish local serves files on 127.0.0.1, which the real cloud cannot "
                    "fetch; use it with a sandbox --endpoint, or publish to s3://BUCKET/PREFIX"
                )
            todo = _plan(records, out_dir, vendor, ledger, summary, retry_unknown)
            local = threading.local()
            stop = threading.Event()
            lock = threading.Lock()

            def client() -> Any:
                if not hasattr(local, "client"):
                    if threading.current_thread() is threading.main_thread() or workers == 1:
                        local.client = main_client
                    else:
                        local.client = new_client()
                        with lock:
                            clients.append(local.client)
                return local.client

            def send(job: tuple[str, str, str, bool]) -> None:
                output, path, source, resumed = job
                if stop.is_set():
                    with lock:
                        summary.pending += 1
                    return
                c = client()
                try:
                    url = publisher.publish(path, output) if c.needs_url else None
                except PublishError as exc:
                    with lock:
                        summary.errors.append((output, "PublishFailed", str(exc)))
                    return
                previous = ledger.get(output, vendor)
                notes_kept = ledger.notes_kept(output, vendor)
                ledger.mark_sending(output, vendor, source, path, resumed=resumed)
                item = UploadItem(
                    path=path,
                    name=os.path.splitext(output)[0],
                    url=url,
                    source=source,
                    resumed=resumed,
                    progress=ledger.progress(output, vendor),
                    notes_kept=notes_kept,
                    save=functools.partial(ledger.save_progress, output, vendor),
                )
                try:
                    receipt = c.upload(item)
                except VendorError as exc:
                    _handle_error(exc, output, vendor, previous, ledger, summary, stop, lock)
                    return
                ledger.record(output, receipt)
                with lock:
                    summary.sent += 1
                    summary.receipts.append(receipt)
                if on_receipt is not None:
                    on_receipt(receipt)

            if workers == 1:
                for job in todo:
                    send(job)
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="voiceprep-upload") as pool:
                    for future in [pool.submit(send, job) for job in todo]:
                        future.result()
            if vendor in CALLBACK_VENDORS:
                for receipt in ledger.apply_callbacks(vendor):
                    if on_receipt is not None:
                        on_receipt(receipt)
            if poll:
                _follow(
                    main_client,
                    ledger,
                    vendor,
                    poll_timeout_s,
                    poll_interval_s,
                    sleep,
                    clock,
                    on_receipt,
                )
            _tally(ledger, vendor, records, out_dir, summary)
        finally:
            for c in clients:
                c.close()
            if own_publisher:
                publisher.close()
            ledger.close()
        sync_results(out_dir)
    return summary


def _local_publisher(out_dir: str) -> Any:
    from stages.publish import LocalPublisher

    return LocalPublisher(out_dir)


def _plan(
    records: list[dict[str, Any]],
    out_dir: str,
    vendor: str,
    ledger: UploadLedger,
    summary: UploadSummary,
    retry_unknown: bool,
) -> list[tuple[str, str, str, bool]]:
    """(output name, path, source, resumed) of each item to send now."""
    rows = ledger.rows(vendor)
    todo = []
    for record in records:
        if record.get("status") != "passed" or not record.get("output"):
            continue
        summary.total += 1
        output = os.path.basename(record["output"])
        path = _output_path(out_dir, record["output"])
        row = rows.get((output, vendor))
        resumed = False
        if row is not None:
            if row.state == "done" and row.status != "failed":
                summary.skipped += 1
                continue
            if row.state == "sending" and vendor not in RECONCILABLE:
                ledger.set_state(output, vendor, "unknown", row.error)
                row.state = "unknown"
            if row.state == "unknown" and not retry_unknown:
                summary.unknown.append(output)
                why = _unknown_why(row.error)
                if why:
                    summary.unknown_why[output] = why
                continue
            resumed = row.state == "sending"
        todo.append((output, path, record["source"], resumed))
    return todo


def _unknown_why(error: str | None) -> str | None:
    """The message of a stored `VendorOutcomeUnknown` error (``"<code>: <message>"``)."""
    from vendors.errors import VendorOutcomeUnknown

    prefix = VendorOutcomeUnknown.CODE + ": "
    return error[len(prefix) :] if error and error.startswith(prefix) else None


def _handle_error(
    exc: VendorError,
    output: str,
    vendor: str,
    previous: Row | None,
    ledger: UploadLedger,
    summary: UploadSummary,
    stop: threading.Event,
    lock: threading.Lock,
) -> None:
    from vendors.errors import (
        VendorAuthError,
        VendorNameClash,
        VendorOutcomeUnknown,
        VendorQuotaExceeded,
        VendorRefused,
        VendorUnavailable,
        VendorValidationError,
    )

    message = exc.message
    if isinstance(exc, VendorOutcomeUnknown):
        # The client looked and cannot tell: the user checks, then --retry-unknown.
        ledger.set_state(output, vendor, "unknown", f"{exc.code}: {message}")
        with lock:
            summary.unknown.append(output)
            summary.unknown_why[output] = message
        return
    if isinstance(exc, (VendorQuotaExceeded, VendorAuthError)):
        # Nothing of this item reached the vendor; every later item would fail the same way.
        ledger.restore(output, vendor, previous)
        stop.set()
        with lock:
            summary.pending += 1
            summary.stopped = summary.stopped or f"{exc.code}: {message}"
        return
    if isinstance(exc, VendorUnavailable) and exc.maybe_delivered:
        # Retries ran out and the last request may have landed: reconcile next run.
        state = "sending" if vendor in RECONCILABLE else "unknown"
        ledger.set_state(output, vendor, state, f"{exc.code}: {message}")
        with lock:
            if state == "unknown":
                summary.unknown.append(output)
            else:
                summary.errors.append((output, exc.code, message))
                summary.error_kinds[output] = "error"
        return
    ledger.set_state(output, vendor, "error", f"{exc.code}: {message}")
    kind = (
        "clash"
        if isinstance(exc, VendorNameClash)
        else "refused"
        if isinstance(exc, (VendorValidationError, VendorRefused))
        else "error"
    )
    with lock:
        summary.errors.append((output, exc.code, message))
        summary.error_kinds[output] = kind


def _follow(
    client: Any,
    ledger: UploadLedger,
    vendor: str,
    timeout_s: float,
    interval_s: float,
    sleep: Callable[[float], object],
    clock: Callable[[], float],
    on_change: Callable[[Any], None] | None = None,
) -> None:
    """Poll pending outcomes until all are final or ``timeout_s`` passed."""
    deadline = clock() + timeout_s
    wait_s = interval_s
    while True:
        if vendor in CALLBACK_VENDORS:
            for receipt in ledger.apply_callbacks(vendor):
                if on_change is not None:
                    on_change(receipt)
            if not getattr(client, "callback_url", None):
                return  # no callback will come to this run; `voiceprep callbacks` records it
        pending = [
            (output, row)
            for (output, _), row in ledger.rows(vendor).items()
            if row.state == "done" and row.status == "submitted"
        ]
        if vendor in POLLED:
            pending = [(o, r) for o, r in pending if _pollable(r)]
            for output, row in pending:
                try:
                    receipt = client.poll(row.receipt())
                except VendorError:
                    continue  # a transient poll failure: the next round or run asks again
                if receipt.status != "submitted" or receipt.detail != row.receipt().detail:
                    ledger.record(output, receipt)
                    if on_change is not None and receipt.status != "submitted":
                        on_change(receipt)
            pending = [
                (o, r)
                for (o, _), r in ledger.rows(vendor).items()
                if r.state == "done" and r.status == "submitted" and _pollable(r)
            ]
        if not pending or clock() >= deadline:
            return
        sleep(min(wait_s, max(0.0, deadline - clock())))
        wait_s = min(wait_s * 1.5, 30.0)


def _pollable(row: Row) -> bool:
    """A pending receipt the client can ask about: it has a remote id, or says how to find
    it (``detail.recover``, e.g. VOD's lost TaskId)."""
    return bool(row.remote_id or row.detail.get("recover"))


def _tally(
    ledger: UploadLedger,
    vendor: str,
    records: list[dict[str, Any]],
    out_dir: str,
    summary: UploadSummary,
) -> None:
    outputs = {
        os.path.basename(r["output"])
        for r in records
        if r.get("status") == "passed" and r.get("output")
    }
    statuses: dict[str, int] = {}
    for (output, _), row in ledger.rows(vendor).items():
        if output in outputs and row.state == "done" and row.status:
            statuses[row.status] = statuses.get(row.status, 0) + 1
    summary.statuses = statuses


def sync_results(out_dir: str) -> None:
    """Rewrite ``results.jsonl`` atomically with each record's ``upload`` receipt."""
    path = os.path.join(out_dir, RESULTS_NAME)
    if not os.path.isfile(path):
        return
    ledger = UploadLedger(out_dir)
    try:
        rows = ledger.all_rows()
    finally:
        ledger.close()
    by_output: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r.at or 0.0):
        output = row.output
        entry: dict[str, Any] = {"state": row.state}
        if row.state == "done":
            entry.update(row.receipt().to_dict())
        else:
            entry.update({"vendor": row.vendor, "error": row.error})
        by_output[output] = entry
    records = []
    for record in Results.read(out_dir):
        output = os.path.basename(record.get("output") or "")
        if output in by_output:
            record["upload"] = by_output[output]
        else:
            record.pop("upload", None)
        records.append(record)
    write_records(path, records)
