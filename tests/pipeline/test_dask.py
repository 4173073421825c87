"""Runs on a Dask LocalCluster (2 worker processes): same outputs as the local pool, a killed
worker loses nothing, per-worker state is built once, and inputs come from a moto S3 server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

from pipeline import executors  # noqa: E402
from pipeline.cli import main  # noqa: E402
from pipeline.clip import Clip  # noqa: E402
from pipeline.executors import DaskExecutor, LocalPool  # noqa: E402
from pipeline.journal import JOURNAL_NAME  # noqa: E402
from pipeline.results import RESULTS_NAME  # noqa: E402
from pipeline.runner import Pipeline  # noqa: E402
from pipeline.stage import Stage  # noqa: E402
from tests.conftest import FIXTURES  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PROFILE = "aliyun-voice"  # the session fixtures pass it, so there is audio to compare
SESSION = FIXTURES / "session"
BUCKET = "voiceprep-test"


# --- stand-in stages (module level: workers import them by reference) -------------------------


@dataclass
class DieOnce(Stage):
    """Kills its worker process on the first clip any worker sees; a no-op ever after."""

    name: ClassVar[str] = "die_once"
    marker: str = ""

    def process(self, clip: Clip) -> Clip:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return clip
        os.write(fd, f"{os.getpid()} {clip.source}\n".encode())
        os.close(fd)
        os._exit(1)


@dataclass
class Tally(Stage):
    """Logs which process ran which stage object, to count pipeline copies per worker."""

    name: ClassVar[str] = "tally"
    log: str = ""

    def process(self, clip: Clip) -> Clip:
        with open(self.log, "a") as fh:
            fh.write(f"{os.getpid()} {id(self)}\n")
        return clip


def _die(state: Any, item: str) -> str:
    os._exit(1)


def _explode(state: Any, item: int) -> int:
    if item == 3:
        raise ValueError("three is bad")
    return item * 10


# --- fixtures --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on 127.0.0.1; fsspec (here and in workers started later) points at it."""
    import fsspec.config

    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "FSSPEC_S3_ENDPOINT_URL": endpoint,
    }
    saved_conf = dict(fsspec.config.conf.get("s3", {}))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        fsspec.config.conf.setdefault("s3", {})["endpoint_url"] = endpoint
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET)
        for wav in sorted(SESSION.glob("*.wav")):
            s3.upload_file(str(wav), BUCKET, f"session/{wav.name}")
        try:
            yield endpoint
        finally:
            fsspec.config.conf["s3"] = saved_conf
            server.stop()


@pytest.fixture(scope="module")
def client(s3_endpoint):
    """Two single-threaded worker processes, started after the S3 settings are in the env."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The reference: the same pipeline on the local process pool."""
    out = tmp_path_factory.mktemp("local")
    Pipeline.for_profile(PROFILE).run([str(SESSION)], out=str(out), workers=2, progress=False)
    return out


def _records(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / RESULTS_NAME).read_text().splitlines()
    records = [json.loads(line) for line in lines]
    by_source = {r["source"]: r for r in records}
    assert len(by_source) == len(records), "a source was recorded twice"
    return by_source


def _journal_rows(out: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(out / JOURNAL_NAME)) as db:
        return db.execute("SELECT source, state FROM clips").fetchall()


def _same_as_local(out: Path, local: Path, *, rename: dict[str, str] | None = None) -> None:
    """Byte-identical audio and equal records (modulo the output folder and input names)."""
    audio = sorted(p.name for p in local.iterdir() if p.suffix == ".wav")
    assert audio, "the reference run wrote no audio"
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".wav") == audio
    for name in audio:
        assert (out / name).read_bytes() == (local / name).read_bytes(), name
    ours, theirs = _records(out), _records(local)
    rename = rename or {}
    assert sorted(rename.get(s, s) for s in ours) == sorted(theirs)
    for source, record in ours.items():
        expected = dict(theirs[rename.get(source, source)])
        got = dict(record)
        for r, folder in ((expected, str(local)), (got, str(out))):
            r["output"] = r["output"] and os.path.relpath(r["output"], folder)
            r["source"] = os.path.basename(r["source"])
        assert got == expected


# --- tests -----------------------------------------------------------------------------------


def test_dask_run_matches_the_local_pool(client, local_run, tmp_path):
    out = tmp_path / "dask"
    results = Pipeline.for_profile(PROFILE).run(
        [str(SESSION)], out=str(out), executor=client, progress=False
    )
    assert results.summary.total == 14
    _same_as_local(out, local_run)
    assert sorted(s for s, state in _journal_rows(out) if state == "done") == sorted(_records(out))
    # The run's pipeline is removed from the workers when it ends.
    assert set(client.run(lambda: len(executors._STATE)).values()) == {0}


def test_resume_on_dask_skips_finished_work(client, tmp_path):
    out = tmp_path / "out"
    pipeline = Pipeline.for_profile(PROFILE)
    pipeline.run([str(SESSION)], out=str(out), executor=client, progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    seen: list[dict[str, Any]] = []
    again = pipeline.run(
        [str(SESSION)], out=str(out), executor=client, progress=False, on_result=seen.append
    )
    assert again.summary.total == len(seen) == 14
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")} == stamps  # not rewritten


def test_a_killed_worker_loses_nothing_and_records_each_clip_once(client, local_run, tmp_path):
    marker = tmp_path / "killed"
    base = Pipeline.for_profile(PROFILE)
    pipeline = Pipeline(
        [base.stages[0], DieOnce(marker=str(marker)), *base.stages[1:]], base.profile, base.options
    )
    out = tmp_path / "out"
    results = pipeline.run([str(SESSION)], out=str(out), executor=client, progress=False)
    assert marker.exists(), "no worker was killed: the test proved nothing"
    assert results.summary.total == 14
    records = _records(out)
    assert len(records) == 14
    assert not any(f["code"] == "worker_lost" for r in records.values() for f in r["findings"])
    rows = _journal_rows(out)
    assert len(rows) == len({s for s, _ in rows}) == 14
    _same_as_local(out, local_run)
    client.wait_for_workers(2, timeout=240)  # the nanny restarted the killed worker


def test_the_pipeline_is_built_once_per_worker(client, tmp_path):
    log = tmp_path / "tally.log"
    base = Pipeline.for_profile(PROFILE)
    pipeline = Pipeline([*base.stages[:1], Tally(log=str(log))], base.profile, base.options)
    pipeline.run([str(SESSION)], executor=client, progress=False)
    lines = log.read_text().splitlines()
    assert len(lines) == 14
    copies: dict[str, set[str]] = {}
    for line in lines:
        pid, obj = line.split()
        copies.setdefault(pid, set()).add(obj)
    assert all(len(objs) == 1 for objs in copies.values()), copies
    assert len(copies) <= 2


def test_a_task_that_keeps_killing_workers_becomes_an_error_not_a_crash(client):
    executor = DaskExecutor(client)
    got = list(
        executor.imap_unordered(
            _die, ["poison"], state=None, on_error=lambda item, exc: (item, type(exc).__name__)
        )
    )
    assert got == [("poison", "KilledWorker")]
    client.wait_for_workers(2, timeout=240)


def test_a_raising_task_goes_to_on_error_and_the_rest_stream_back(client):
    executor = DaskExecutor(client, retries=1)
    got = executor.imap_unordered(
        _explode, range(8), state=None, max_in_flight=3, on_error=lambda item, exc: -item
    )
    assert sorted(got) == [-3, 0, 10, 20, 40, 50, 60, 70]
    with pytest.raises(ValueError, match="three is bad"):
        list(executor.imap_unordered(_explode, range(5), state=None))


def test_local_pool_and_dask_executor_agree(client):
    items = list(range(20))
    local = sorted(
        LocalPool(2).imap_unordered(_explode, items, state=None, on_error=lambda i, e: -1)
    )
    remote = sorted(
        DaskExecutor(client).imap_unordered(_explode, items, state=None, on_error=lambda i, e: -1)
    )
    assert local == remote == sorted([i * 10 for i in items if i != 3] + [-1])


def test_inputs_from_s3_match_local_files(client, local_run, tmp_path):
    local_wavs = tmp_path / "wavs"
    local_wavs.mkdir()
    for wav in SESSION.glob("*.wav"):
        shutil.copy(wav, local_wavs / wav.name)
    reference = tmp_path / "reference"
    Pipeline.for_profile(PROFILE).run(
        [str(local_wavs)], out=str(reference), workers=2, progress=False
    )

    out = tmp_path / "from_s3"
    url = f"s3://{BUCKET}/session/*.wav"
    results = Pipeline.for_profile(PROFILE).run(
        [url], out=str(out), executor=client, progress=False
    )
    assert results.summary.total == 9
    records = _records(out)
    assert all(s.startswith(f"s3://{BUCKET}/session/") for s in records)
    rename = {s: str(local_wavs / s.rsplit("/", 1)[1]) for s in records}
    _same_as_local(out, reference, rename=rename)

    # Resume: the journal recognises unchanged objects by size and ETag, so nothing is redone.
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")}
    Pipeline.for_profile(PROFILE).run([url], out=str(out), executor=client, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.wav")} == stamps


def test_outputs_to_s3(client, local_run, tmp_path, monkeypatch):
    import fsspec

    monkeypatch.setenv("VOICEPREP_STATE_DIR", str(tmp_path / "state"))
    url = f"s3://{BUCKET}/out-{tmp_path.name}"
    results = Pipeline.for_profile(PROFILE).run(
        [str(SESSION)], out=url, executor=client, progress=False
    )
    assert results.summary.passed == len(list(local_run.glob("*.wav")))
    fs = fsspec.filesystem("s3")
    fs.invalidate_cache()
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls(url.removeprefix("s3://")))
    audio = sorted(p.name for p in local_run.glob("*.wav"))
    assert names == sorted([*audio, RESULTS_NAME])
    for name in audio:
        assert fs.cat(f"{url}/{name}") == (local_run / name).read_bytes(), name
    lines = fs.cat(f"{url}/{RESULTS_NAME}").decode().splitlines()
    outputs = {json.loads(line)["output"] for line in lines} - {None}
    assert outputs == {f"{url}/{name}" for name in audio}


def test_cli_runs_on_a_scheduler_by_address(client, local_run, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "run",
            str(SESSION),
            "--profile",
            PROFILE,
            "--out",
            str(out),
            "--json",
            "--executor",
            "dask",
            "--scheduler",
            client.cluster.scheduler_address,
        ]
    )
    records = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if '"source"' in ln]
    assert len(records) == 14
    assert code == (0 if all(r["status"] == "passed" for r in records) else 1)
    _same_as_local(out, local_run)


def test_cli_refuses_a_scheduler_without_the_dask_executor(tmp_path, capsys):
    code = main(["check", str(SESSION), "--profile", PROFILE, "--scheduler", "tcp://x:1"])
    assert code == 2
    assert "--executor dask" in capsys.readouterr().err


class _LosesOne(LocalPool):
    """The local pool, except that the task of ``menu_en-gb_8k.wav`` is lost for good."""

    def imap_unordered(self, fn, items, *, state, max_in_flight=None, on_error=None):
        for item in items:
            if item[0].endswith("menu_en-gb_8k.wav"):
                assert on_error is not None
                yield on_error(item, RuntimeError("worker died 3 times"))
            else:
                yield fn(state, item)


def test_a_lost_task_is_an_error_record_and_is_redone_next_run(tmp_path):
    out = tmp_path / "out"
    pipeline = Pipeline.for_profile(PROFILE)
    results = pipeline.run([str(SESSION)], out=str(out), executor=_LosesOne(1), progress=False)
    assert results.summary.total == 14
    lost = [r for r in _records(out).values() if r["source"].endswith("menu_en-gb_8k.wav")]
    assert [f["code"] for f in lost[0]["findings"]] == ["worker_lost"]
    assert lost[0]["profile"] == PROFILE and lost[0]["status"] == "failed"
    assert len(_journal_rows(out)) == 13  # not journalled
    seen: list[dict[str, Any]] = []
    pipeline.run([str(SESSION)], out=str(out), workers=1, progress=False, on_result=seen.append)
    redone = [r for r in _records(out).values() if r["source"].endswith("menu_en-gb_8k.wav")]
    assert redone[0]["status"] == "passed" and len(_records(out)) == 14
    assert len(_journal_rows(out)) == 14


def test_local_cluster_takes_no_dashboard_port() -> None:
    import warnings

    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # something else holds it: just as good
            taken.bind(("127.0.0.1", 8787))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            executor = DaskExecutor.connect(n_workers=1)
        try:
            scheduler = executor.client.cluster.scheduler
            assert scheduler.http_server.port != 8787
            assert scheduler.http_server.address == "127.0.0.1"
            assert not [w for w in caught if "8787" in str(w.message)]
        finally:
            executor.close()
