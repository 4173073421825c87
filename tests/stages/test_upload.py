"""The upload stage's bookkeeping with a scripted client: exactly once, resumable, honest.

Integration tests against the sandbox over real TCP live in ``test_upload_sandbox.py``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.errors import ConfigurationError
from stages.callbacks import CallbackReceiver
from stages.publish import LocalPublisher
from stages.upload import UploadLedger, sync_results, upload_run
from tests.stages._runs import make_run, read_jsonl
from vendors.base import Receipt, UploadItem
from vendors.errors import (
    VendorAuthError,
    VendorQuotaExceeded,
    VendorUnavailable,
    VendorValidationError,
)

NAMES = ["alpha", "bravo", "charlie", "delta"]


@dataclass
class FakeClient:
    """Records what it is asked; ``behave[name]`` may raise or return a status."""

    vendor: str = "yeastar"
    needs_url: bool = False
    behave: dict[str, Callable[[UploadItem], Any]] = field(default_factory=dict)
    sent: list[UploadItem] = field(default_factory=list)
    polls: list[str] = field(default_factory=list)
    final_after_polls: int = 1
    closed: bool = False

    def upload(self, item: UploadItem) -> Receipt:
        self.sent.append(item)
        status = "approved" if self.vendor == "yeastar" else "submitted"
        if item.name in self.behave:
            outcome = self.behave[item.name](item)
            if isinstance(outcome, str):
                status = outcome
        return Receipt(self.vendor, item.source, item.path, f"id-{item.name}", status, "rq", 1.0)

    def poll(self, receipt: Receipt) -> Receipt:
        self.polls.append(receipt.remote_id or "")
        if self.polls.count(receipt.remote_id or "") >= self.final_after_polls:
            receipt.status = "approved"
        return receipt

    def close(self) -> None:
        self.closed = True


def raise_(exc: Exception) -> Callable[[UploadItem], Any]:
    def go(item: UploadItem) -> Any:
        raise exc

    return go


def rows(out: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(out / "journal.sqlite") as db:
        return {o: (s, st) for o, s, st in db.execute("SELECT output, state, status FROM uploads")}


def test_uploads_each_passed_output_once_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", NAMES, failed=("delta",))
    client = FakeClient()
    summary = upload_run(str(out), client_factory=lambda: client)
    assert sorted(i.name for i in client.sent) == ["alpha", "bravo", "charlie"]
    assert (summary.total, summary.sent, summary.skipped, summary.ok) == (3, 3, 0, True)
    assert client.closed
    assert rows(out) == {f"{n}.wav": ("done", "approved") for n in ["alpha", "bravo", "charlie"]}
    receipts = read_jsonl(out / "uploads.jsonl")
    assert [r["remote_id"] for r in receipts] == ["id-alpha", "id-bravo", "id-charlie"]
    results = {r["source"]: r for r in read_jsonl(out / "results.jsonl")}
    assert results["in/alpha.m4a"]["upload"]["remote_id"] == "id-alpha"
    assert "upload" not in results["in/delta.m4a"]

    again = FakeClient()
    summary = upload_run(str(out), client_factory=lambda: again)
    assert again.sent == []
    assert (summary.sent, summary.skipped, summary.ok) == (0, 3, True)
    assert len(read_jsonl(out / "uploads.jsonl")) == 3


def test_vendor_defaults_to_the_runs_profile_and_a_mismatch_is_refused(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "huawei", ["a"])
    with pytest.raises(ConfigurationError, match="made for huawei-ivr"):
        upload_run(str(out), "yeastar", client_factory=FakeClient)
    summary = upload_run(str(out), client_factory=lambda: FakeClient("huawei"), poll=False)
    assert summary.vendor == "huawei"


def test_missing_results_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="voiceprep run"):
        upload_run(str(tmp_path), "yeastar", client_factory=FakeClient)


def test_quota_exhausted_stops_cleanly_and_the_rest_resumes_later(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", NAMES)
    quota = VendorQuotaExceeded("yeastar", "DailyQuotaExhausted", "50 of 50 used; run again")
    client = FakeClient(behave={"charlie": raise_(quota)})
    summary = upload_run(str(out), client_factory=lambda: client)
    assert [i.name for i in client.sent] == ["alpha", "bravo", "charlie"]  # delta never tried
    assert summary.stopped is not None and "DailyQuotaExhausted" in summary.stopped
    assert (summary.sent, summary.pending, summary.ok) == (2, 2, False)
    assert rows(out) == {"alpha.wav": ("done", "approved"), "bravo.wav": ("done", "approved")}

    tomorrow = FakeClient()
    summary = upload_run(str(out), client_factory=lambda: tomorrow)
    assert [i.name for i in tomorrow.sent] == ["charlie", "delta"]
    assert not any(i.resumed for i in tomorrow.sent)
    assert summary.ok and summary.statuses == {"approved": 4}


def test_auth_error_stops_the_run_and_leaves_nothing_half_done(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", NAMES)
    client = FakeClient(behave={"alpha": raise_(VendorAuthError("yeastar", "10005", "denied"))})
    summary = upload_run(str(out), client_factory=lambda: client)
    assert len(client.sent) == 1 and summary.pending == len(NAMES)
    assert rows(out) == {}
    assert "10005" in (summary.stopped or "")


def test_refused_item_is_reported_and_sent_again_next_run(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", NAMES[:2])
    bad = VendorValidationError("yeastar", "40002", "bad file type")
    summary = upload_run(str(out), client_factory=lambda: FakeClient(behave={"alpha": raise_(bad)}))
    assert summary.errors == [("alpha.wav", "40002", "bad file type")]
    assert rows(out)["alpha.wav"] == ("error", None)
    client = FakeClient()
    assert upload_run(str(out), client_factory=lambda: client).ok
    assert [i.name for i in client.sent] == ["alpha"]


def test_item_left_sending_is_reconciled_not_blindly_resent(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", NAMES[:2])
    ledger = UploadLedger(str(out))
    ledger.mark_sending("alpha.wav", "yeastar", "in/alpha.m4a", str(out / "alpha.wav"))
    ledger.close()
    client = FakeClient()
    upload_run(str(out), client_factory=lambda: client)
    assert {i.name: i.resumed for i in client.sent} == {"alpha": True, "bravo": False}


def test_without_lookup_api_an_interrupted_item_is_unknown_until_retry_unknown(
    tmp_path: Path,
) -> None:
    out = make_run(tmp_path / "run", "huawei", NAMES[:2])
    ledger = UploadLedger(str(out))
    ledger.mark_sending("alpha.wav", "huawei", "in/alpha.m4a", str(out / "alpha.wav"))
    ledger.close()
    client = FakeClient("huawei")
    summary = upload_run(str(out), client_factory=lambda: client, poll=False)
    assert [i.name for i in client.sent] == ["bravo"]
    assert summary.unknown == ["alpha.wav"] and not summary.ok
    assert rows(out)["alpha.wav"][0] == "unknown"

    client = FakeClient("huawei")
    summary = upload_run(str(out), client_factory=lambda: client, poll=False, retry_unknown=True)
    assert [(i.name, i.resumed) for i in client.sent] == [("alpha", False)]
    assert summary.unknown == []


def test_rows_say_whether_their_attempt_kept_progress_notes(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "tencent-ccc", NAMES[:2])
    ledger = UploadLedger(str(out))
    ledger.mark_sending("alpha.wav", "tencent-ccc", "in/alpha.m4a", str(out / "alpha.wav"))
    assert ledger.notes_kept("alpha.wav", "tencent-ccc")  # killed before any note: still ours
    ledger.mark_sending(
        "alpha.wav", "tencent-ccc", "in/alpha.m4a", str(out / "alpha.wav"), resumed=True
    )
    assert ledger.notes_kept("alpha.wav", "tencent-ccc")
    assert ledger.notes_kept("bravo.wav", "tencent-ccc")  # never tried: nothing to doubt
    # a row as voiceprep 0.3.6 wrote it: no progress notes at all
    ledger._db.execute(
        "INSERT INTO uploads (output, vendor, source, state, detail, attempts) "
        "VALUES ('bravo.wav', 'tencent-ccc', 'in/bravo.m4a', 'sending', '{}', 1)"
    )
    ledger._db.commit()
    assert not ledger.notes_kept("bravo.wav", "tencent-ccc")
    ledger.close()
    client = FakeClient("tencent-ccc")
    upload_run(str(out), client_factory=lambda: client, poll=False)
    assert {i.name: (i.resumed, i.notes_kept) for i in client.sent} == {
        "alpha": (True, True),
        "bravo": (True, False),
    }


def test_an_outcome_the_client_cannot_tell_is_unknown_with_its_reason(tmp_path: Path) -> None:
    from vendors.errors import VendorOutcomeUnknown

    out = make_run(tmp_path / "run", "tencent-ccc", ["alpha"])
    doubt = VendorOutcomeUnknown("tencent-ccc", VendorOutcomeUnknown.CODE, "check FileId 7")
    client = FakeClient("tencent-ccc", behave={"alpha": raise_(doubt)})
    summary = upload_run(str(out), client_factory=lambda: client, poll=False)
    assert (summary.unknown, summary.unknown_why, summary.ok) == (
        ["alpha.wav"],
        {"alpha.wav": "check FileId 7"},
        False,
    )
    assert rows(out)["alpha.wav"][0] == "unknown"
    client = FakeClient("tencent-ccc")
    again = upload_run(str(out), client_factory=lambda: client, poll=False)
    assert client.sent == [] and again.unknown_why == {"alpha.wav": "check FileId 7"}
    upload_run(str(out), client_factory=lambda: client, poll=False, retry_unknown=True)
    assert [(i.name, i.resumed) for i in client.sent] == [("alpha", False)]


def test_maybe_delivered_failure_is_reconciled_on_the_next_run(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", ["alpha"])
    lost = VendorUnavailable("yeastar", "Timeout", "no answer", maybe_delivered=True)
    summary = upload_run(
        str(out), client_factory=lambda: FakeClient(behave={"alpha": raise_(lost)})
    )
    assert not summary.ok and rows(out)["alpha.wav"][0] == "sending"
    client = FakeClient()
    upload_run(str(out), client_factory=lambda: client)
    assert [(i.name, i.resumed) for i in client.sent] == [("alpha", True)]


def test_pending_outcomes_are_polled_until_final(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "aliyun", NAMES[:2])
    client = FakeClient("aliyun", final_after_polls=3)
    slept: list[float] = []
    summary = upload_run(
        str(out), client_factory=lambda: client, sleep=slept.append, poll_interval_s=1.0
    )
    assert summary.statuses == {"approved": 2} and summary.ok
    assert sorted(set(client.polls)) == ["id-alpha", "id-bravo"] and len(client.polls) == 6
    assert slept == [1.0, 1.5]  # backoff between rounds
    assert read_jsonl(out / "uploads.jsonl")[-1]["status"] == "approved"


def test_polling_gives_up_at_the_deadline_and_the_next_run_asks_again(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "aliyun", ["alpha"])
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    client = FakeClient("aliyun", final_after_polls=100)
    summary = upload_run(
        str(out), client_factory=lambda: client, sleep=sleep, clock=lambda: now[0],
        poll_timeout_s=10.0,
    )  # fmt: skip
    assert summary.statuses == {"submitted": 1} and 9.9 <= now[0] <= 10.1
    later = FakeClient("aliyun", final_after_polls=1)
    summary = upload_run(str(out), client_factory=lambda: later)
    assert later.sent == [] and later.polls == ["id-alpha"]
    assert summary.statuses == {"approved": 1}


def test_url_vendor_needs_a_publisher_and_gets_published_urls(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "tencent-ccc", ["alpha"])
    with pytest.raises(ConfigurationError, match="--publish"):
        upload_run(str(out), client_factory=lambda: FakeClient("tencent-ccc", needs_url=True))

    seen: list[bytes] = []

    def fetch(item: UploadItem) -> None:
        assert item.url is not None
        seen.append(httpx.get(item.url).content)

    with pytest.raises(ConfigurationError, match="real cloud cannot"):
        upload_run(
            str(out),
            publisher=LocalPublisher(str(out)),
            client_factory=lambda: FakeClient("tencent-ccc", needs_url=True),
        )
    client = FakeClient("tencent-ccc", needs_url=True, behave={"alpha": fetch})
    upload_run(str(out), endpoint="http://sandbox", client_factory=lambda: client, poll=False)
    assert seen == [(out / "alpha.wav").read_bytes()]


def test_workers_send_in_parallel_and_still_once_each(tmp_path: Path) -> None:
    names = [f"n{i:02d}" for i in range(12)]
    out = make_run(tmp_path / "run", "yeastar", names)
    made: list[FakeClient] = []

    def factory() -> FakeClient:
        made.append(FakeClient(behave={n: lambda item: time.sleep(0.01) for n in names}))
        return made[-1]

    summary = upload_run(str(out), client_factory=factory, workers=4)
    sent = sorted(i.name for c in made for i in c.sent)
    assert sent == names and summary.sent == 12
    assert all(c.closed for c in made)


def test_second_upload_on_the_same_folder_is_refused_while_one_runs(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", ["alpha"])
    errors: list[Exception] = []

    def nested(item: UploadItem) -> None:
        try:
            upload_run(str(out), client_factory=FakeClient)
        except ConfigurationError as exc:
            errors.append(exc)

    upload_run(str(out), client_factory=lambda: FakeClient(behave={"alpha": nested}))
    assert errors and "another `voiceprep upload`" in str(errors[0])


def test_callback_receiver_records_review_and_is_idempotent(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "huawei", ["alpha", "bravo"])
    upload_run(str(out), client_factory=lambda: FakeClient("huawei"), poll=False)
    with CallbackReceiver(str(out)) as receiver:
        body = {"fileId": "id-alpha", "status": "2", "comment": "ok", "fileUrl": "Y:/x.wav"}
        for _ in range(2):
            answer = httpx.post(receiver.url, json=body)
            assert answer.json() == {"returnCode": "0"}
        assert httpx.post(receiver.url, content=b"nope").status_code == 400
        early = {"fileId": "id-later", "status": "3", "comment": "noisy"}
        assert httpx.post(receiver.url, json=early).json()["returnCode"] == "1"  # retried
    assert rows(out)["alpha.wav"] == ("done", "approved")
    assert rows(out)["bravo.wav"] == ("done", "submitted")
    approved = [r for r in read_jsonl(out / "uploads.jsonl") if r["status"] == "approved"]
    assert len(approved) == 1 and approved[0]["detail"]["comment"] == "ok"
    result = next(r for r in read_jsonl(out / "results.jsonl") if r["source"] == "in/alpha.m4a")
    assert result["upload"]["status"] == "approved"


def test_callback_that_arrives_before_the_receipt_is_applied_later(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "huawei", ["alpha"])
    lines: list[str] = []
    with CallbackReceiver(str(out), log=lines.append) as receiver:
        body = {"fileId": "id-alpha", "status": "3", "comment": "noisy"}
        assert httpx.post(receiver.url, json=body).json()["returnCode"] == "1"
    assert len(lines) == 1 and "unknown   fileId id-alpha status 3" in lines[0]
    shown: list[Any] = []
    summary = upload_run(
        str(out), client_factory=lambda: FakeClient("huawei"), on_receipt=shown.append
    )
    assert summary.statuses == {"rejected": 1}
    assert rows(out)["alpha.wav"] == ("done", "rejected")
    assert [r.status for r in shown] == ["submitted", "rejected"]  # the outcome is printed


def test_stored_callback_is_applied_and_shown_without_polling(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "huawei", ["alpha"])
    upload_run(str(out), client_factory=lambda: FakeClient("huawei"), poll=False)
    ledger = UploadLedger(str(out))
    ledger.store_callback("huawei", "id-alpha", {"fileId": "id-alpha", "status": "2"})
    ledger.close()
    shown: list[Any] = []
    upload_run(
        str(out), client_factory=lambda: FakeClient("huawei"), poll=False, on_receipt=shown.append
    )
    assert [(r.output.rsplit("/", 1)[-1], r.status) for r in shown] == [("alpha.wav", "approved")]


def test_callback_receiver_logs_each_callback(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "huawei", ["alpha"])
    upload_run(str(out), client_factory=lambda: FakeClient("huawei"), poll=False)
    lines: list[str] = []
    with CallbackReceiver(str(out), log=lines.append) as receiver:
        body = {"fileId": "id-alpha", "status": "2"}
        for _ in range(2):
            assert httpx.post(receiver.url, json=body).json() == {"returnCode": "0"}
        httpx.post(receiver.url, json={"fileId": "elsewhere", "status": "2"})
    assert len(lines) == 3
    assert "approved" in lines[0] and "repeat" in lines[1] and "unknown" in lines[2]


def test_sync_results_keeps_results_readable(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "yeastar", ["alpha"])
    sync_results(str(out))  # nothing uploaded: no upload keys, records unchanged
    assert all("upload" not in r for r in read_jsonl(out / "results.jsonl"))
    upload_run(str(out), client_factory=FakeClient)
    record = read_jsonl(out / "results.jsonl")[0]
    assert json.loads(json.dumps(record))["upload"]["state"] == "done"


def test_a_source_name_that_is_not_utf8_is_kept_in_the_ledger(tmp_path: Path) -> None:
    # os.listdir gives such a name's bytes as lone surrogates, which SQLite text refuses.
    import os

    out = make_run(tmp_path / "run", "yeastar", NAMES[:1])
    ledger = UploadLedger(str(out))
    source = os.fsdecode(b"in/caf\xe9.m4a")
    ledger.mark_sending("alpha.wav", "yeastar", source, str(out / "alpha.wav"))
    row = ledger.get("alpha.wav", "yeastar")
    assert row is not None and row.source == "in/caf\\udce9.m4a" and row.state == "sending"
    ledger.close()


def test_an_auth_error_after_a_possible_delivery_keeps_the_item_for_reconciling(
    tmp_path: Path,
) -> None:
    out = make_run(tmp_path / "run", "yeastar", NAMES[:1])

    def force_lost(item: UploadItem) -> Any:
        item.note(force_sent=True)  # the overwrite went out; its answer never came back
        raise VendorUnavailable("yeastar", "Timeout", "no answer", maybe_delivered=True)

    upload_run(str(out), client_factory=lambda: FakeClient(behave={"alpha": force_lost}))
    assert rows(out)["alpha.wav"][0] == "sending"
    denied = raise_(VendorAuthError("yeastar", "10005", "access denied"))
    summary = upload_run(str(out), client_factory=lambda: FakeClient(behave={"alpha": denied}))
    assert summary.stopped is not None
    assert rows(out)["alpha.wav"][0] == "sending"  # still unsure: the next run asks first
    client = FakeClient()
    upload_run(str(out), client_factory=lambda: client)
    assert [(i.name, i.resumed, i.progress.get("force_sent")) for i in client.sent] == [
        ("alpha", True, True)
    ]


def test_summary_counts_add_up_and_errors_and_unknowns_are_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.commands.upload import _print_summary
    from vendors.errors import VendorNameClash, VendorUnavailable

    out = make_run(tmp_path / "run", "yeastar", ["a", "b", "c", "d", "e"])
    client = FakeClient(
        behave={
            "b": raise_(VendorValidationError("yeastar", "40002", "bad file type")),
            "c": raise_(VendorNameClash("yeastar", "NameExists", "a tts prompt exists")),
            "d": raise_(VendorUnavailable("yeastar", "HTTP503", "down", maybe_delivered=False)),
        }
    )
    summary = upload_run(str(out), client_factory=lambda: client)
    counts = summary.counts
    assert counts == {
        "sent": 2, "already": 0, "left": 0, "refused": 1, "clash": 1, "error": 1, "unknown": 0,
    }  # fmt: skip
    assert sum(counts.values()) == summary.total == 5
    _print_summary(summary)
    printed, problems = capsys.readouterr()
    assert "clash     c.wav  NameExists: name clash: a tts prompt exists" in problems
    assert "5 outputs for yeastar: 2 sent now, 0 already uploaded, 0 left for a later run, " in (
        printed
    )
    assert "1 refused, 1 name clash, 1 failed (retried next run);" in printed
    lines = read_jsonl(out / "uploads.jsonl")
    assert sorted((r["output"].rsplit("/", 1)[-1], r["state"]) for r in lines) == [
        ("a.wav", "done"), ("b.wav", "error"), ("c.wav", "error"), ("d.wav", "error"),
        ("e.wav", "done"),
    ]  # fmt: skip
    assert next(r for r in lines if r["state"] == "error")["error"].startswith("40002")
