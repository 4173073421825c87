"""`voiceprep upload` usage errors and `voiceprep callbacks` as a real process."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pipeline.cli import main
from stages.upload import UploadLedger
from tests.stages._runs import make_run


def test_upload_without_a_run_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upload", str(tmp_path), "--vendor", "yeastar"]) == 2
    assert "voiceprep run" in capsys.readouterr().err


def test_upload_rejects_a_bad_publish_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = make_run(tmp_path / "run", "tencent-ccc", ["a"])
    assert main(["upload", str(out), "--publish", "ftp://x"]) == 2
    assert "s3://BUCKET" in capsys.readouterr().err


def test_upload_option_for_another_vendor_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = make_run(tmp_path / "run", "yeastar", ["a"])
    monkeypatch.setenv("YEASTAR_CLIENT_ID", "id")
    monkeypatch.setenv("YEASTAR_CLIENT_SECRET", "secret")
    assert main(["upload", str(out), "--callback-url", "http://x/cb"]) == 2
    assert "--callback-url is an option of huawei" in capsys.readouterr().err


@pytest.mark.integration
def test_callbacks_command_records_a_review_into_the_journal(tmp_path: Path) -> None:
    out = make_run(tmp_path / "run", "huawei", ["a"])
    ledger = UploadLedger(str(out))
    ledger.mark_sending("a.wav", "huawei", "in/a.m4a", str(out / "a.wav"))
    from vendors.base import Receipt

    ledger.record("a.wav", Receipt("huawei", "in/a.m4a", "a.wav", "77", "submitted", None, 1.0))
    ledger.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "pipeline.cli", "callbacks", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--out", str(out)], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split(";", 1)[0]
        answer = httpx.post(url, json={"fileId": "77", "status": "2", "comment": "fine"})
        assert answer.json() == {"returnCode": "0"}
    finally:
        proc.kill()
        proc.wait()
    with sqlite3.connect(out / "journal.sqlite") as db:
        assert db.execute("SELECT state, status FROM uploads").fetchall() == [("done", "approved")]
    record = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert record["upload"]["status"] == "approved"
