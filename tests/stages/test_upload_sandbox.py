"""`upload_run` and `voiceprep upload` against the sandbox over real TCP on 127.0.0.1.

Each test asserts on the sandbox's own store (``server.app.state.sandbox``): what the
emulated vendor really received, not what the client believes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from stages.callbacks import CallbackReceiver
from stages.upload import upload_run
from tests.stages._runs import make_run, read_jsonl
from vendors.retry import RetryPolicy
from vendors.sandbox.config import SandboxConfig
from vendors.sandbox.server import ThreadedServer, serve_sandbox

pytestmark = pytest.mark.integration

SANDBOX_ENV = {
    "TENCENTCLOUD_SECRET_ID": "AKIDsandbox",
    "TENCENTCLOUD_SECRET_KEY": "sandbox-secret",
    "TENCENTCLOUD_CCC_SDKAPPID": "1400000001",
    "TENCENTCLOUD_VOD_SUBAPPID": "1500000001",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIsandbox",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sandbox-secret",
    "HUAWEI_CEC_APP_KEY": "sandbox-app",
    "HUAWEI_CEC_APP_SECRET": "sandbox-secret",
    "YEASTAR_CLIENT_ID": "sandbox-client",
    "YEASTAR_CLIENT_SECRET": "sandbox-secret",
}
FAST: dict[str, Any] = {"poll_timeout_s": 10.0, "poll_interval_s": 0.1}
PATIENT = {"retry": RetryPolicy(max_attempts=10, base_delay_s=0.02, max_delay_s=0.2)}


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., ThreadedServer]]:
    """Start sandboxes with custom settings (as tests/vendors/sandbox's fixture of that name)."""
    servers: list[ThreadedServer] = []

    def make(**fields: Any) -> ThreadedServer:
        servers.append(serve_sandbox(SandboxConfig(**fields)).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def sandbox_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SANDBOX_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TENCENTCLOUD_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)


class ShiftedClock:
    """Real time plus an offset that tests move (token buckets still refill in real time)."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


def run_for(tmp_path: Path, vendor: str, names: list[str]) -> Path:
    return make_run(tmp_path / vendor, vendor, names, dur_s=6.0 if vendor == "tencent-vod" else 1.0)


def store(server: Any) -> Any:
    return server.app.state.sandbox


def stored_names(server: Any, vendor: str) -> list[str]:
    """One entry per object the vendor holds for us (duplicates show up twice)."""
    st = store(server)
    if vendor == "tencent-ccc":
        return [f.custom_file_name for f in st.ccc_files.values()]
    if vendor == "tencent-vod":
        return [t.voice_name for t in st.vod_tasks.values()]
    if vendor == "aliyun":
        return [os.path.splitext(f.filename)[0] for f in st.aliyun_files.values()]
    if vendor == "huawei":
        return [u.name for u in st.huawei_uploads.values()]
    return [p.name for p in st.yeastar_prompts.values() for _ in range(p.uploads)]


def journal_rows(out: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(out / "journal.sqlite") as db:
        return {o: (s, st) for o, s, st in db.execute("SELECT output, state, status FROM uploads")}


@pytest.mark.parametrize("vendor", ["tencent-ccc", "tencent-vod", "aliyun", "huawei", "yeastar"])
def test_each_vendor_end_to_end_and_a_rerun_uploads_nothing_twice(
    tmp_path: Path, make_sandbox: Any, vendor: str
) -> None:
    server = make_sandbox(review_after_s=60.0)
    out = run_for(tmp_path, vendor, ["alpha", "bravo"])
    summary = upload_run(str(out), endpoint=server.url, **FAST)
    assert summary.sent == 2 and not summary.errors
    assert sorted(stored_names(server, vendor)) == ["alpha", "bravo"]
    final = "submitted" if vendor == "huawei" else "approved"  # Huawei: by callback only
    assert summary.statuses == {final: 2}
    receipts = read_jsonl(out / "uploads.jsonl")
    assert {r["remote_id"] for r in receipts} == {
        r["upload"]["remote_id"] for r in read_jsonl(out / "results.jsonl")
    }
    assert all(r["request_id"] or vendor in ("huawei", "yeastar", "aliyun") for r in receipts)

    again = upload_run(str(out), endpoint=server.url, **FAST)
    assert (again.sent, again.skipped) == (0, 2)
    assert sorted(stored_names(server, vendor)) == ["alpha", "bravo"]


def test_rate_limit_hit_is_backed_off_and_every_file_lands_once(
    tmp_path: Path, make_sandbox: Any
) -> None:
    # The sandbox is stricter than the documented 1/s the client paces itself to.
    server = make_sandbox(rates_per_s={"tencent-ccc.UploadIvrAudio": 0.5})
    out = run_for(tmp_path, "tencent-ccc", ["a1", "a2", "a3"])
    summary = upload_run(str(out), endpoint=server.url, poll=False)
    assert summary.sent == 3 and not summary.errors
    assert sorted(stored_names(server, "tencent-ccc")) == ["a1", "a2", "a3"]
    assert store(server).requests["tencent"] > 3  # refused with RequestLimitExceeded, retried


def test_rate_limit_is_honoured_so_the_vendor_refuses_nothing(
    tmp_path: Path, make_sandbox: Any
) -> None:
    # 5 % slack over the client's 1/s: slots are booked 1 s apart, but each request's
    # arrival jitters by a few ms on loopback, which a bucket of exactly 1/s would punish.
    server = make_sandbox(rates_per_s={"tencent-ccc.UploadIvrAudio": 1.05})
    out = run_for(tmp_path, "tencent-ccc", ["b1", "b2", "b3", "b4"])
    upload_run(str(out), endpoint=server.url, poll=False)
    assert sorted(stored_names(server, "tencent-ccc")) == ["b1", "b2", "b3", "b4"]
    # one look (DescribeIvrAudioList) and one upload per file: not one refused and resent
    assert store(server).requests["tencent"] == 2 * 4


def test_ccc_quota_exhausted_stops_clearly_and_the_rest_goes_next_day(
    tmp_path: Path, make_sandbox: Any
) -> None:
    clock = ShiftedClock()  # shared: the client signs with it, the sandbox checks with it
    server = make_sandbox(ccc_daily_files=2, clock=clock)
    out = run_for(tmp_path, "tencent-ccc", ["q1", "q2", "q3"])
    options = {"clock": clock}
    summary = upload_run(str(out), endpoint=server.url, client_options=options, poll=False)
    assert summary.sent == 2 and summary.pending == 1 and not summary.ok, summary.to_dict()
    assert "UploadFileOverflow" in (summary.stopped or "")
    assert len(stored_names(server, "tencent-ccc")) == 2

    requests = store(server).requests["tencent"]
    same_day = upload_run(str(out), endpoint=server.url, client_options=options, poll=False)
    assert same_day.sent == 0 and "DailyQuotaExhausted" in (same_day.stopped or "")
    assert store(server).requests["tencent"] == requests  # the journal knew: nothing sent

    clock.advance(24 * 3600)
    next_day = upload_run(str(out), endpoint=server.url, client_options=options, poll=False)
    assert next_day.sent == 1 and next_day.ok
    assert sorted(stored_names(server, "tencent-ccc")) == ["q1", "q2", "q3"]


def test_yeastar_token_expiry_mid_run_is_refreshed(tmp_path: Path, make_sandbox: Any) -> None:
    clock = ShiftedClock()
    server = make_sandbox(clock=clock)
    out = run_for(tmp_path, "yeastar", ["t1", "t2", "t3"])
    # The PBX's clock jumps 31 min after the first upload: the cached token is dead.
    summary = upload_run(str(out), endpoint=server.url, on_receipt=lambda r: clock.advance(1860))
    assert summary.sent == 3 and summary.ok
    assert sorted(stored_names(server, "yeastar")) == ["t1", "t2", "t3"]
    assert len(store(server).yeastar_tokens) >= 3  # renewed after each expiry


def test_huawei_token_expiry_mid_run_is_renewed(tmp_path: Path, make_sandbox: Any) -> None:
    clock = ShiftedClock()
    server = make_sandbox(clock=clock)
    out = run_for(tmp_path, "huawei", ["h1", "h2"])
    summary = upload_run(
        str(out), endpoint=server.url, on_receipt=lambda r: clock.advance(3700), poll=False
    )
    assert summary.sent == 2 and not summary.errors
    assert sorted(stored_names(server, "huawei")) == ["h1", "h2"]
    assert len(store(server).huawei_tokens) == 2


def test_yeastar_name_clash_without_and_with_force(tmp_path: Path, make_sandbox: Any) -> None:
    server = make_sandbox(yeastar_prompts={"welcome": "tts"})
    out = run_for(tmp_path, "yeastar", ["welcome", "goodbye"])
    summary = upload_run(str(out), endpoint=server.url)
    assert [(o, c) for o, c, _ in summary.errors] == [("welcome.wav", "NameExists")]
    assert "--force" in summary.errors[0][2]
    prompts = store(server).yeastar_prompts
    assert prompts["welcome"].exist_type == "tts"  # the PBX's own prompt is untouched
    assert journal_rows(out)["welcome.wav"] == ("error", None)

    forced = upload_run(str(out), endpoint=server.url, force=True)
    assert forced.sent == 1 and forced.ok
    assert prompts["welcome"].exist_type == "record"
    assert prompts["goodbye"].uploads == 1  # not sent again


@pytest.mark.slow
def test_5xx_and_dropped_connections_are_retried(tmp_path: Path, make_sandbox: Any) -> None:
    server = make_sandbox(error_rate=0.2, drop_rate=0.2, seed=11)
    names = [f"f{i}" for i in range(6)]
    out = run_for(tmp_path, "yeastar", names)
    summary = upload_run(str(out), endpoint=server.url, client_options=PATIENT)
    assert summary.sent == 6 and summary.ok, summary.to_dict()
    assert sorted(store(server).yeastar_prompts) == names
    faults = store(server).faults
    assert faults.get("error", 0) > 0 and faults.get("drop", 0) > 0


@pytest.mark.slow
def test_lost_responses_do_not_create_duplicate_vod_tasks(
    tmp_path: Path, make_sandbox: Any
) -> None:
    server = make_sandbox(lost_response_rate=0.4, error_rate=0.1, seed=5, review_after_s=60.0)
    names = [f"v{i}" for i in range(5)]
    out = run_for(tmp_path, "tencent-vod", names)
    summary = upload_run(str(out), endpoint=server.url, client_options=PATIENT, **FAST)
    assert summary.sent == 5 and not summary.errors, summary.to_dict()
    assert sorted(stored_names(server, "tencent-vod")) == names  # one task per output
    assert store(server).faults.get("lost_response", 0) > 0


@pytest.mark.slow
def test_killed_upload_resumes_and_uploads_each_file_exactly_once(
    tmp_path: Path, make_sandbox: Any
) -> None:
    server = make_sandbox()
    names = [f"k{i}" for i in range(5)]
    out = run_for(tmp_path, "tencent-ccc", names)
    env = {**os.environ, **SANDBOX_ENV}
    command = [sys.executable, "-m", "pipeline.cli", "upload", str(out)]
    command += ["--endpoint", server.url, "--no-poll"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while len(read_jsonl(out / "uploads.jsonl")) < 2:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    states = Counter(state for state, _ in journal_rows(out).values())
    assert states["done"] == 2 and states["sending"] == 1  # killed mid-item

    summary = upload_run(str(out), endpoint=server.url, poll=False)
    assert summary.sent == 3 and summary.skipped == 2 and summary.ok
    assert sorted(stored_names(server, "tencent-ccc")) == names  # each exactly once
    assert set(journal_rows(out).values()) == {("done", "submitted")}


def test_huawei_review_callback_is_received_and_recorded(tmp_path: Path, make_sandbox: Any) -> None:
    server = make_sandbox(huawei_callback_delays_s=(0.05, 0.1, 0.2))
    out = run_for(tmp_path, "huawei", ["cb1", "cb2"])
    with CallbackReceiver(str(out)) as receiver:
        summary = upload_run(
            str(out), endpoint=server.url, client_options={"callback_url": receiver.url}, **FAST
        )
    assert sum(summary.statuses.values()) == 2 and "submitted" not in summary.statuses
    delivered = [c for c in store(server).huawei_callbacks if c.delivered]
    assert sorted(c.file_id for c in delivered) == sorted(
        r["upload"]["remote_id"] for r in read_jsonl(out / "results.jsonl")
    )
    assert all(r["upload"]["status"] in ("approved", "rejected") for r in read_jsonl(
        out / "results.jsonl"))  # fmt: skip


def test_cli_upload_reports_a_clash_with_exit_1_then_force_gives_0(
    tmp_path: Path, make_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox(yeastar_prompts={"menu": "record"})
    out = run_for(tmp_path, "yeastar", ["menu"])
    assert main(["upload", str(out), "--endpoint", server.url]) == 1
    assert "NameExists" in capsys.readouterr().err
    assert main(["upload", str(out), "--endpoint", server.url, "--force"]) == 0
    assert "1 sent now" in capsys.readouterr().out
    assert main(["upload", str(out), "--endpoint", server.url, "--sdk-app-id", "1"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["huawei", "aliyun"])
def test_lost_responses_without_lookup_api_become_unknown_not_duplicates(
    tmp_path: Path, make_sandbox: Any, vendor: str
) -> None:
    server = make_sandbox(lost_response_rate=0.4, seed=3)
    names = [f"x{i}" for i in range(5)]
    out = run_for(tmp_path, vendor, names)
    summary = upload_run(str(out), endpoint=server.url, client_options=PATIENT, poll=False)
    stored = stored_names(server, vendor)
    assert len(stored) == len(set(stored))  # no duplicates on the vendor
    assert summary.sent + len(summary.unknown) == len(names)


def test_cli_upload_endpoint_sends_alibaba_files_to_the_named_host(
    tmp_path: Path, make_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox()
    out = run_for(tmp_path, "aliyun", ["hello"])
    root = server.url + "/aliyun"
    args = ["upload", str(out), "--vendor-endpoint", root, "--no-poll"]
    assert main([*args, "--upload-endpoint", root]) == 0
    assert stored_names(server, "aliyun") == ["hello"]
    yeastar = run_for(tmp_path, "yeastar", ["menu"])
    assert main(["upload", str(yeastar), "--endpoint", server.url, "--upload-endpoint", root]) == 2
    assert "--upload-endpoint is an option of aliyun" in capsys.readouterr().err


def faults(server: Any, **rates: float) -> None:
    """Change the sandbox's fault rates while it runs."""
    import httpx

    httpx.post(server.url + "/_sandbox/faults", json=rates).raise_for_status()


FEW = {"retry": RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02)}


def test_yeastar_resume_never_overwrites_a_prompt_that_is_not_ours(
    tmp_path: Path, make_sandbox: Any
) -> None:
    server = make_sandbox(yeastar_prompts={"welcome": "tts"})
    out = run_for(tmp_path, "yeastar", ["welcome"])
    faults(server, drop_rate=1.0)  # run 1 never gets past get_token: nothing was sent
    first = upload_run(str(out), endpoint=server.url, client_options=FEW)
    assert [c for _, c, _ in first.errors] == ["ConnectionError"]
    faults(server, drop_rate=0.0)
    second = upload_run(str(out), endpoint=server.url, client_options=FEW)
    assert [c for _, c, _ in second.errors] == ["NameExists"]
    prompt = store(server).yeastar_prompts["welcome"]
    assert (prompt.exist_type, prompt.uploads) == ("tts", 1)  # the user's TTS prompt is intact


def test_ccc_resume_uploads_new_audio_instead_of_adopting_an_older_file_of_that_name(
    tmp_path: Path, make_sandbox: Any
) -> None:
    server = make_sandbox()
    old = make_run(tmp_path / "old", "tencent-ccc", ["welcome"])
    (earlier,) = upload_run(str(old), endpoint=server.url, poll=False).receipts
    new = make_run(tmp_path / "new", "tencent-ccc", ["welcome"], dur_s=2.0)
    faults(server, drop_rate=1.0)
    assert upload_run(str(new), endpoint=server.url, client_options=FEW, poll=False).errors
    faults(server, drop_rate=0.0)
    summary = upload_run(str(new), endpoint=server.url, client_options=FEW, **FAST)
    (receipt,) = summary.receipts
    assert receipt.remote_id != earlier.remote_id  # the new audio was uploaded
    assert summary.statuses == {"approved": 1}  # and its review followed, not "exists"
    assert stored_names(server, "tencent-ccc") == ["welcome", "welcome"]


def test_ccc_quota_counts_each_file_once_after_a_flaky_run(
    tmp_path: Path, make_sandbox: Any
) -> None:
    from vendors.base import make_client
    from vendors.limits import DailyQuota

    server = make_sandbox()
    out = run_for(tmp_path, "tencent-ccc", ["n0", "n1", "n2"])
    faults(server, drop_rate=1.0)
    upload_run(str(out), endpoint=server.url, client_options=FEW, poll=False)
    faults(server, drop_rate=0.0)
    upload_run(str(out), endpoint=server.url, client_options=FEW, poll=False)
    client = make_client("tencent-ccc", endpoint=server.url, state_dir=str(out))
    quota = DailyQuota("tencent-ccc", 50, db_path=str(out / "journal.sqlite"), scope=client.target)
    client.close()
    assert DailyQuota("tencent-ccc", 50, db_path=str(out / "journal.sqlite")).used() == 0
    assert quota.used() == sum(store(server).ccc_daily.values()) == 3


def test_vod_task_whose_answer_was_lost_is_found_and_followed(
    tmp_path: Path, make_sandbox: Any
) -> None:
    server = make_sandbox(review_after_s=0.1)
    out = run_for(tmp_path, "tencent-vod", ["myvoice"])
    faults(server, lost_response_rate=1.0)  # the task is created; its TaskId never arrives
    assert upload_run(str(out), endpoint=server.url, client_options=FEW, poll=False).errors
    faults(server, lost_response_rate=0.0)
    summary = upload_run(str(out), endpoint=server.url, client_options=FEW, **FAST)
    (task,) = store(server).vod_tasks.values()  # one billed task, no second one
    (row,) = read_jsonl(out / "results.jsonl")
    assert (row["upload"]["remote_id"], row["upload"]["status"]) == (task.task_id, "approved")
    assert row["upload"]["detail"]["voice_id"] == task.voice_id
    assert summary.statuses == {"approved": 1}


@pytest.mark.parametrize("vendor", ["tencent-ccc", "huawei", "yeastar"])
def test_receipts_of_one_target_do_not_count_for_another(
    tmp_path: Path, make_sandbox: Any, vendor: str
) -> None:
    """A rehearsal against one sandbox does not mark the outputs uploaded elsewhere."""
    first, second = make_sandbox(), make_sandbox()
    out = run_for(tmp_path, vendor, ["n0", "n1"])
    assert upload_run(str(out), endpoint=first.url, poll=False).sent == 2
    again = upload_run(str(out), endpoint=second.url, poll=False)
    assert (again.sent, again.skipped) == (2, 0)
    assert sorted(stored_names(second, vendor)) == ["n0", "n1"]
    # each target keeps its own receipts: nothing is sent twice to either
    for server in (first, second):
        repeat = upload_run(str(out), endpoint=server.url, poll=False)
        assert (repeat.sent, repeat.skipped) == (0, 2)
    targets = {line["target"] for line in read_jsonl(out / "uploads.jsonl")}
    assert len(targets) == 2 and all(t.startswith("http://127.0.0.1:") for t in targets)


def test_ccc_daily_quota_is_kept_per_target(tmp_path: Path, make_sandbox: Any) -> None:
    first, second = make_sandbox(), make_sandbox()
    out = run_for(tmp_path, "tencent-ccc", ["n0", "n1"])
    options = {"daily_quota": 2}
    assert upload_run(str(out), endpoint=first.url, poll=False, client_options=options).sent == 2
    later = upload_run(str(out), endpoint=second.url, poll=False, client_options=options)
    assert (later.sent, later.stopped) == (2, None)


def create_untargeted_uploads(db: sqlite3.Connection) -> None:
    """The uploads table of voiceprep 0.3.6: no target column."""
    db.execute(
        "CREATE TABLE uploads (output TEXT NOT NULL, vendor TEXT NOT NULL, source TEXT NOT "
        "NULL, state TEXT NOT NULL, remote_id TEXT, status TEXT, request_id TEXT, at REAL, "
        "detail TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (output, vendor))"
    )


def test_a_journal_from_before_targets_is_migrated_and_its_rows_count_everywhere(
    tmp_path: Path, make_sandbox: Any
) -> None:
    server = make_sandbox()
    out = run_for(tmp_path, "yeastar", ["n0", "n1"])
    with sqlite3.connect(out / "journal.sqlite") as db:
        create_untargeted_uploads(db)
        db.execute(
            "INSERT INTO uploads VALUES ('n0.wav', 'yeastar', 'in/n0.wav', 'done', '5', "
            "'approved', NULL, 1.0, '{}', NULL, 1)"
        )
    summary = upload_run(str(out), endpoint=server.url, poll=False)
    assert (summary.sent, summary.skipped) == (1, 1)  # the old receipt's target is unknown
    assert stored_names(server, "yeastar") == ["n1"]
    with sqlite3.connect(out / "journal.sqlite") as db:
        targets = dict(db.execute("SELECT output, target FROM uploads").fetchall())
    assert targets["n0.wav"] == "" and targets["n1.wav"].startswith("http://127.0.0.1:")


def journal_0_3_6(out: Path, output: str, vendor: str) -> None:
    """The uploads table as voiceprep 0.3.6 left it after a kill mid-upload: no target
    column and no progress notes on the row, only ``sending``."""
    with sqlite3.connect(out / "journal.sqlite") as db:
        create_untargeted_uploads(db)
        detail = json.dumps({"_path": str(out / output)})
        db.execute(
            "INSERT INTO uploads VALUES (?, ?, ?, 'sending', NULL, NULL, NULL, NULL, ?, NULL, 1)",
            (output, vendor, f"in/{output}", detail),
        )


def test_ccc_row_of_0_3_6_cut_off_after_its_upload_landed_is_unknown_not_sent_twice(
    tmp_path: Path, make_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox()
    out = run_for(tmp_path, "tencent-ccc", ["welcome"])
    # 0.3.6 sent the file (it is on CCC) and was killed before it recorded the receipt
    landed = make_run(tmp_path / "landed", "tencent-ccc", ["welcome"])
    assert upload_run(str(landed), endpoint=server.url, poll=False).sent == 1
    journal_0_3_6(out, "welcome.wav", "tencent-ccc")

    summary = upload_run(str(out), endpoint=server.url, poll=False)
    assert stored_names(server, "tencent-ccc") == ["welcome"]  # not sent a second time
    assert (summary.sent, summary.unknown, summary.ok) == (0, ["welcome.wav"], False)
    assert journal_rows(out)["welcome.wav"][0] == "unknown"
    (line,) = [r for r in read_jsonl(out / "uploads.jsonl") if r["state"] == "unknown"]
    assert "0.3.6" in line["error"] and "--retry-unknown" in line["error"]
    # a plain rerun asks nothing and sends nothing; the CLI says what to check
    assert main(["upload", str(out), "--endpoint", server.url, "--no-poll"]) == 1
    err = capsys.readouterr().err
    assert "unknown   welcome.wav" in err and "FileId" in err
    assert stored_names(server, "tencent-ccc") == ["welcome"]
    # the user checked the console and asks for the resend
    again = upload_run(str(out), endpoint=server.url, poll=False, retry_unknown=True)
    assert (again.sent, again.unknown) == (1, [])
    assert stored_names(server, "tencent-ccc") == ["welcome", "welcome"]


def test_ccc_row_of_0_3_6_with_nothing_of_that_name_on_ccc_is_sent_once(
    tmp_path: Path, make_sandbox: Any
) -> None:
    server = make_sandbox()
    out = run_for(tmp_path, "tencent-ccc", ["welcome"])
    journal_0_3_6(out, "welcome.wav", "tencent-ccc")  # killed before its upload landed
    summary = upload_run(str(out), endpoint=server.url, poll=False)
    assert (summary.sent, summary.unknown, summary.ok) == (1, [], True)
    assert stored_names(server, "tencent-ccc") == ["welcome"]
    assert upload_run(str(out), endpoint=server.url, poll=False).skipped == 1


def test_ivr_check_warns_of_a_voice_file_still_under_review_which_ivrcall_refuses(
    tmp_path: Path, make_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.vendors.sandbox.helpers import aliyun

    server = make_sandbox(review_after_polls=100, review_after_s=3600.0)
    out = run_for(tmp_path, "aliyun", ["menu"])
    (receipt,) = upload_run(str(out), endpoint=server.url, poll=False).receipts
    request = tmp_path / "call.json"
    call = {"CalledShowNumber": "057188773344", "CalledNumber": "13800138000"}
    request.write_text(json.dumps({**call, "StartCode": receipt.remote_id}))
    assert main(["ivr", "check", str(request), "--uploads", str(out)]) == 0  # a warning
    printed = capsys.readouterr().out
    assert "voice_file_not_approved" in printed and "menu.wav" in printed
    refused = aliyun(server.url, "IvrCall", {**call, "StartCode": str(receipt.remote_id)})
    assert refused.json()["Code"] == "isv.VOICE_FILE_ILLEGAL"  # what the warning foretold


def test_cli_huawei_upload_without_callback_url_says_the_review_is_not_recorded(
    tmp_path: Path, make_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_sandbox()
    out = run_for(tmp_path, "huawei", ["n0"])
    main(["upload", str(out), "--endpoint", server.url, "--no-poll"])
    err = capsys.readouterr().err
    assert "will not be recorded" in err and "voiceprep callbacks --port" in err
    assert "--callback-url http://HOST:8090/huawei/review" in err
