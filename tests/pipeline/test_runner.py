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
    (out / ".take0.wav.123.tmp").write_bytes(b"half")
    monkeypatch.setattr(Pipeline, "with_encoder", lambda self, out: self)
    _pipeline(tmp_path).run([str(folder)], out=str(out), workers=1, progress=False)
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


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
