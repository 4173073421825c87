"""The runner, with small stand-in stages so that only the engine is under test."""

import json
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from pipeline.clip import Clip
from pipeline.errors import ConfigurationError
from pipeline.profiles import load_profile
from pipeline.runner import Pipeline
from pipeline.stage import Stage


@dataclass
class ReadBytes(Stage):
    name: ClassVar[str] = "read"

    def process(self, clip: Clip) -> Clip:
        with open(clip.source, "rb") as fh:
            data = fh.read()
        if not data:
            return self.error(clip, "empty_input", "the file is empty")
        clip.samples = np.frombuffer(data, dtype=np.uint8).astype(np.float32)
        clip.rate = 1
        clip.metrics["source_duration_s"] = float(len(data))
        return clip


@dataclass
class Explode(Stage):
    name: ClassVar[str] = "explode"

    def process(self, clip: Clip) -> Clip:
        with open(clip.source, "rb") as fh:
            data = fh.read()
        if b"boom" in data:
            raise RuntimeError("kaboom")
        return clip


@dataclass
class Count(Stage):
    name: ClassVar[str] = "count"
    log: str = ""

    def process(self, clip: Clip) -> Clip:
        with open(self.log, "a") as fh:
            fh.write(clip.source + "\n")
        assert clip.samples is not None
        clip.metrics["total"] = float(clip.samples.sum())
        return clip


def _inputs(tmp_path, n=6):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(n):
        (folder / f"take{i}.wav").write_bytes(bytes([i + 1]) * (i + 1))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "bomb.wav").write_bytes(b"boom")
    return folder


def _pipeline(tmp_path):
    return Pipeline([ReadBytes(), Explode(), Count(log=str(tmp_path / "log.txt"))])


def test_failed_clips_stop_flowing_and_the_batch_goes_on(tmp_path):
    folder = _inputs(tmp_path)
    results = _pipeline(tmp_path).run([str(folder)], workers=1, progress=False)
    by_name = {os.path.basename(r["source"]): r for r in results}
    assert len(by_name) == 8
    assert by_name["empty.wav"]["status"] == "failed"
    assert by_name["empty.wav"]["findings"][0]["code"] == "empty_input"
    bomb = by_name["bomb.wav"]["findings"][0]
    assert bomb["code"] == "internal_error" and bomb["stage"] == "explode"
    assert "kaboom" in bomb["message"]
    assert by_name["take2.wav"]["metrics"]["total"] == 9.0
    # later stages never saw the failed clips
    assert "empty.wav" not in (tmp_path / "log.txt").read_text()


@dataclass
class TooShort(Stage):
    name: ClassVar[str] = "trim"

    def process(self, clip: Clip) -> Clip:
        return self.error(clip, "too_short", "speech lasts 1.0 s; record a longer sample")


@dataclass
class Judge(Count):
    """Count that still runs after ``too_short`` (as analyze does)."""

    name: ClassVar[str] = "judge"
    runs_after: ClassVar[frozenset[str]] = frozenset({"too_short"})


def test_a_stage_runs_after_the_errors_it_names_and_no_others(tmp_path):
    folder = _inputs(tmp_path, n=1)
    judged, counted = tmp_path / "judged.txt", tmp_path / "counted.txt"
    stages = [ReadBytes(), TooShort(), Judge(log=str(judged)), Count(log=str(counted))]
    results = Pipeline(stages).run([str(folder)], workers=1, progress=False)
    by_name = {os.path.basename(r["source"]): r for r in results}
    take = by_name["take0.wav"]
    assert take["status"] == "failed"
    assert [f["code"] for f in take["findings"]] == ["too_short"]
    assert take["metrics"]["total"] == 1.0  # the judge ran on the too-short take
    assert sorted(judged.read_text().splitlines()) == [
        str(folder / name) for name in ("bomb.wav", "take0.wav")
    ]
    assert not counted.exists()  # a stage without runs_after still stops
    # An error the judge does not name stops it too.
    assert by_name["empty.wav"]["findings"][0]["code"] == "empty_input"
    assert "empty.wav" not in judged.read_text()


def test_process_pool_gives_the_same_results_as_one_worker(tmp_path):
    folder = _inputs(tmp_path)
    one = sorted(
        _pipeline(tmp_path).run([str(folder)], workers=1, progress=False), key=lambda r: r["source"]
    )
    two = sorted(
        _pipeline(tmp_path).run([str(folder)], workers=2, progress=False), key=lambda r: r["source"]
    )
    assert one == two


def test_results_stream_to_jsonl_and_resume_redoes_nothing(tmp_path, monkeypatch):
    folder = _inputs(tmp_path)
    out = tmp_path / "out"
    pipeline = _pipeline(tmp_path)
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    first = pipeline.run([str(folder)], out=str(out), workers=2, progress=False)
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 8 == len(first)
    processed = (tmp_path / "log.txt").read_text().splitlines()
    assert len(processed) == 6
    second = pipeline.run([str(folder)], out=str(out), workers=2, progress=False)
    assert (tmp_path / "log.txt").read_text().splitlines() == processed  # nothing redone
    assert sorted(map(json.dumps, second)) == sorted(map(json.dumps, first))
    # a changed input is redone, the others are not
    (folder / "take0.wav").write_bytes(b"\x09\x09")
    pipeline.run([str(folder)], out=str(out), workers=1, progress=False)
    assert (tmp_path / "log.txt").read_text().splitlines()[len(processed) :] == [
        str(folder / "take0.wav")
    ]
    assert len((out / "results.jsonl").read_text().splitlines()) == 8


def test_a_changed_configuration_redoes_everything(tmp_path, monkeypatch):
    folder = _inputs(tmp_path, n=2)
    out = str(tmp_path / "out")
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    _pipeline(tmp_path).run([str(folder)], out=out, workers=1, progress=False)
    other = Pipeline([ReadBytes(), Count(log=str(tmp_path / "log2.txt"))])
    other.run([str(folder)], out=out, workers=1, progress=False)
    assert len((tmp_path / "log2.txt").read_text().splitlines()) == 3  # 2 takes + bomb


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path, monkeypatch):
    folder = _inputs(tmp_path, n=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".take0.wav.123.tmp").write_bytes(b"half")  # as versions before 0.3.7 named them
    (out / ".take1.wav.123.voiceprep-tmp").write_bytes(b"half")
    (out / ".notes.tmp").write_text("the user's own")
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    _pipeline(tmp_path).run([str(folder)], out=str(out), workers=1, progress=False)
    assert sorted(p.name for p in out.glob(".*tmp")) == [".notes.tmp"]


def test_unknown_input_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigurationError):
        _pipeline(tmp_path).run([str(tmp_path / "missing")], workers=1)


def test_output_names_are_unique_and_safe_within_a_batch(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "take 1.wav").write_bytes(b"x")
    (tmp_path / "a" / "other.wav").write_bytes(b"x")
    sources = sorted(str(p) for p in tmp_path.rglob("*.wav"))
    for profile in ("huawei-ivr", "yeastar-prompt", "tencent-vod-voice"):
        pipeline = Pipeline([], profile=load_profile(profile))
        names = pipeline._plan_names(sources)
        assert len(set(names.values())) == 3, names
        assert pipeline.profile is not None
        assert all(pipeline.profile.filename_ok(n) for n in names.values()), names


def test_config_hash_follows_stage_configuration(tmp_path):
    a = Pipeline([Count(log="x")])
    b = Pipeline([Count(log="y")])
    assert a.config_hash != b.config_hash
    assert a.config_hash == Pipeline([Count(log="x")]).config_hash


@dataclass
class BlasThreads(Stage):
    name: ClassVar[str] = "blas_threads"

    def process(self, clip: Clip) -> Clip:
        from threadpoolctl import threadpool_info

        blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        clip.metrics["blas_threads"] = float(max(blas))
        return clip


def test_stages_run_with_single_threaded_blas_in_every_worker(tmp_path):
    from threadpoolctl import threadpool_info, threadpool_limits

    folder = _inputs(tmp_path, n=3)
    pipeline = Pipeline([ReadBytes(), BlasThreads()])
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine, at least
        for workers in (1, 2):
            results = pipeline.run(
                [str(folder / "take0.wav"), str(folder / "take1.wav")], workers=workers
            )
            assert [r["metrics"]["blas_threads"] for r in results] == [1.0, 1.0]
        # ... and the caller's own setting is back after each clip.
        after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        assert max(after) == 2


def test_an_output_folder_inside_the_inputs_is_never_read_as_input(tmp_path, monkeypatch):
    folder = _inputs(tmp_path)
    out = folder / "out"
    pipeline = _pipeline(tmp_path)
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    first = pipeline.run([str(folder)], out=str(out), workers=1, progress=False)
    (out / "take0.wav").write_bytes(b"\x01")  # what an encoder leaves behind
    second = pipeline.run([str(folder)], out=str(out), workers=1, progress=False)
    assert len(second) == len(first) == 8
    assert not any("/out/" in record["source"] for record in second)


# --- output folders shared by several runs (the real chain, small fixture takes) ----------

GREETING = "fixtures/session/greeting_en-us_16k.wav"
MENU = "fixtures/session/menu_en-gb_8k.wav"
HOURS = "fixtures/session/hours_de_22k.flac"


def _yeastar(**options):
    return Pipeline.for_profile("yeastar-prompt", **options)


def _lines(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_an_output_folder_holding_an_input_is_refused(tmp_path):
    import shutil

    shutil.copy(GREETING, tmp_path / "take.wav")
    before = (tmp_path / "take.wav").read_bytes()
    for inputs in ([str(tmp_path)], [str(tmp_path / "take.wav")], [str(tmp_path / "*.wav")]):
        with pytest.raises(ConfigurationError, match="output folder"):
            _yeastar().run(inputs, out=str(tmp_path), workers=1, progress=False)
    assert (tmp_path / "take.wav").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_an_output_another_configuration_overwrote_is_made_again(tmp_path):
    out = tmp_path / "out"
    quiet = _yeastar(target_lufs=-30).run([GREETING], out=str(out), workers=1, progress=False)
    quiet_bytes = (out / "greeting_en-us_16k.wav").read_bytes()
    _yeastar().run([GREETING], out=str(out), workers=1, progress=False)
    assert (out / "greeting_en-us_16k.wav").read_bytes() != quiet_bytes
    again = _yeastar(target_lufs=-30).run([GREETING], out=str(out), workers=1, progress=False)
    assert (out / "greeting_en-us_16k.wav").read_bytes() == quiet_bytes
    assert [r["metrics"]["lufs"] for r in again] == [r["metrics"]["lufs"] for r in quiet]
    assert len(_lines(out)) == 1


def test_a_later_session_never_overwrites_an_earlier_take_of_the_same_name(tmp_path):
    import shutil

    for folder, take in (("monday", GREETING), ("tuesday", MENU)):
        (tmp_path / folder).mkdir()
        shutil.copy(take, tmp_path / folder / "take.wav")
    out = tmp_path / "out"
    for folder in ("monday", "tuesday", "monday"):
        _yeastar().run([str(tmp_path / folder)], out=str(out), workers=1, progress=False)
    lines = _lines(out)
    assert sorted(os.path.basename(r["source"]) for r in lines) == ["take.wav", "take.wav"]
    outputs = {r["source"].split(os.sep)[-2]: r["output"] for r in lines}
    assert outputs["monday"].endswith("take.wav")
    assert outputs["tuesday"] != outputs["monday"]
    assert all(os.path.exists(path) for path in outputs.values())


def test_results_keep_every_output_of_the_folder_after_a_partial_run(tmp_path):
    out = tmp_path / "out"
    _yeastar().run([GREETING, MENU, HOURS], out=str(out), workers=1, progress=False)
    part = _yeastar().run([MENU], out=str(out), workers=1, progress=False)
    assert [r["source"] for r in part] == [MENU] and len(part) == 1
    assert sorted(r["source"] for r in _lines(out)) == sorted([GREETING, MENU, HOURS])


def test_long_names_that_clash_get_outputs_of_their_own(tmp_path):
    import shutil

    stem = "a" * 240
    for tail, take in (("1", GREETING), ("2", MENU)):
        shutil.copy(take, tmp_path / f"{stem}{tail}.wav")
    out = tmp_path / "out"
    results = _yeastar().run([str(tmp_path)], out=str(out), workers=1, progress=False)
    outputs = [r["output"] for r in results]
    assert len(set(outputs)) == 2 and all(os.path.exists(p) for p in outputs)


def test_a_failure_to_write_is_tried_again_on_the_next_run(tmp_path):
    out = tmp_path / "out"
    (out / "greeting_en-us_16k.wav").mkdir(parents=True)  # in the way of the output
    first = _yeastar().run([GREETING], out=str(out), workers=1, progress=False)
    assert [f["code"] for r in first for f in r["findings"] if f["severity"] == "error"] == [
        "encode_failed"
    ]
    (out / "greeting_en-us_16k.wav").rmdir()
    second = _yeastar().run([GREETING], out=str(out), workers=1, progress=False)
    assert [r["status"] for r in second] == ["passed"]
    assert (out / "greeting_en-us_16k.wav").is_file()


def test_a_pipe_as_input_fails_without_hanging(tmp_path):
    fifo = tmp_path / "take.wav"
    os.mkfifo(fifo)
    results = _yeastar().run([str(fifo)], out=str(tmp_path / "out"), workers=1, progress=False)
    assert [f["code"] for r in results for f in r["findings"]] == ["unsupported_format"]


@dataclass
class AppendByte(Stage):
    """Writes to the input, as a recorder still writing the take would."""

    name: ClassVar[str] = "append"

    def process(self, clip: Clip) -> Clip:
        with open(clip.source, "ab") as fh:
            fh.write(b"\x07")
        return clip


def test_an_input_changed_while_processing_is_redone(tmp_path, monkeypatch):
    take = _inputs(tmp_path, n=1) / "take0.wav"
    log = tmp_path / "log.txt"
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    pipeline = Pipeline([ReadBytes(), AppendByte(), Count(log=str(log))])
    for _ in range(2):
        pipeline.run([str(take)], out=str(tmp_path / "out"), workers=1, progress=False)
    # The result of the first run is of a file that no longer exists: the second redid it.
    assert log.read_text().splitlines() == [str(take)] * 2


def test_a_folder_spelled_another_way_is_not_done_again(tmp_path, monkeypatch):
    folder = _inputs(tmp_path, n=2)
    log = tmp_path / "log.txt"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    pipeline = Pipeline([ReadBytes(), Count(log=str(log))])
    for spelling in ("in", "./in", str(folder)):
        results = pipeline.run([spelling], out="out", workers=1, progress=False)
        assert all(r["source"].startswith(spelling) for r in results)
    assert len(log.read_text().splitlines()) == 3  # two takes and bomb.wav, once each
    assert len(_lines(tmp_path / "out")) == 4  # and empty.wav, which failed in read


def test_runs_from_other_folders_keep_the_same_results(tmp_path, monkeypatch):
    import shutil

    for name in ("a", "b"):
        (tmp_path / name / "in").mkdir(parents=True)
    shutil.copy(GREETING, tmp_path / "a" / "in" / "x.wav")
    shutil.copy(MENU, tmp_path / "b" / "in" / "x.wav")  # another take, spelled the same
    monkeypatch.chdir(tmp_path / "a")
    _yeastar().run(["in"], out="../out", workers=1, progress=False)
    monkeypatch.chdir(tmp_path / "b")
    second = _yeastar().run(["in"], out="../out", workers=1, progress=False)
    assert [r["source"] for r in second] == ["in/x.wav"] and len(list(second)) == 1
    assert second[0]["output"] != _lines(tmp_path / "out")[0]["output"]  # tagged, not replaced
    monkeypatch.chdir(tmp_path / "a" / "in")
    again = _yeastar().run(["."], out="../../out", workers=1, progress=False)
    assert [r["source"] for r in again] == ["./x.wav"]
    assert len(_lines(tmp_path / "out")) == 2  # nothing redone, both lines kept


def test_an_output_folder_above_the_inputs_is_fine(tmp_path, monkeypatch):
    import shutil

    (tmp_path / "in" / "sub").mkdir(parents=True)
    shutil.copy(MENU, tmp_path / "in" / "menu.wav")
    shutil.copy(GREETING, tmp_path / "in" / "sub" / "greeting.wav")
    monkeypatch.chdir(tmp_path)
    for inputs in (["in"], ["in/**/*.wav"]):
        results = _yeastar().run(inputs, out=".", workers=1, progress=False)
        assert sorted(r["source"].split("/")[-1] for r in results) == ["greeting.wav", "menu.wav"]


def test_a_journal_of_version_0_3_6_is_taken_over(tmp_path, monkeypatch):
    """Its rows named inputs and outputs as spelled; now they are one with absolute paths."""
    import sqlite3

    _inputs(tmp_path, n=1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    pipeline = Pipeline([ReadBytes(), Count(log=str(tmp_path / "log.txt"))])
    pipeline.run(["in"], out="out", workers=1, progress=False)
    db = sqlite3.connect(tmp_path / "out" / "journal.sqlite")
    rows = db.execute(
        "SELECT source, config_hash, content_hash, size, mtime_ns, state, "
        "record, updated FROM clips"
    ).fetchall()
    db.execute("DROP TABLE clips")  # as 0.3.6 wrote it: spelled paths, no output column
    db.execute(
        "CREATE TABLE clips (source TEXT NOT NULL, config_hash TEXT NOT NULL, content_hash "
        "TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, state TEXT NOT NULL, "
        "record TEXT, updated REAL NOT NULL, PRIMARY KEY (source, config_hash))"
    )
    for row in rows:
        db.execute(
            "INSERT INTO clips VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (os.path.relpath(row[0]), *row[1:]),
        )
    db.commit()
    db.close()
    again = pipeline.run(["in"], out="out", workers=1, progress=False)
    assert len((tmp_path / "log.txt").read_text().splitlines()) == 2  # nothing redone
    assert len(again) == len(_lines(tmp_path / "out")) == 3  # take0, bomb, empty: once each
    assert all(r["source"].startswith("in/") for r in again)


def test_a_run_into_a_url_resumes_without_redoing_its_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEPREP_STATE_DIR", str(tmp_path / "state"))
    processed = []
    real = Pipeline.process

    def counting(self, source, name=""):
        processed.append(source)
        return real(self, source, name)

    monkeypatch.setattr(Pipeline, "process", counting)
    out = f"memory://voiceprep-test/{tmp_path.name}"
    first = _yeastar().run([GREETING, MENU], out=out, workers=1, progress=False)
    second = _yeastar().run([GREETING, MENU], out=out, workers=1, progress=False)
    assert len(processed) == 2  # the second run found both outputs in place
    assert sorted(map(json.dumps, second)) == sorted(map(json.dumps, first))
