"""Whole runs over the bundled fixtures, checked independently of voiceprep's own code."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from pipeline.profiles import available_profiles, load_profile
from pipeline.runner import Pipeline

SESSION = "fixtures/session"

pytestmark = pytest.mark.integration


def _read_output(path):
    if path.endswith(".gsm"):
        return sf.read(path, format="RAW", subtype="GSM610", samplerate=8000, channels=1)
    return sf.read(path)


def _info(path):
    if path.endswith(".gsm"):
        return None
    return sf.info(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    done = {}
    for name in available_profiles():
        out = tmp_path_factory.mktemp(name)
        results = Pipeline.for_profile(name).run([SESSION], out=str(out), workers=2, progress=False)
        done[name] = (out, list(results))
    return done


@pytest.mark.parametrize("name", sorted(available_profiles()))
def test_every_output_meets_its_profile(runs, name):
    profile = load_profile(name)
    out, records = runs[name]
    passed = [r for r in records if r["status"] == "passed"]
    assert passed, f"no fixture passed {name}: {[r['findings'] for r in records]}"
    for record in passed:
        path = record["output"]
        assert path and os.path.exists(path) and os.path.dirname(path) == str(out)
        info = _info(path)
        assert info.samplerate == profile.sample_rate
        assert info.channels == 1
        assert info.subtype == profile.output.sf_subtype
        size = os.path.getsize(path)
        if "file_size" in profile.rules:
            maximum = profile.rules["file_size"].maximum
            assert maximum is not None and size <= maximum
        duration = info.frames / info.samplerate
        if profile.trim.min_s:
            assert duration >= profile.trim.min_s - 0.01
        if profile.trim.max_s:
            assert duration <= profile.trim.max_s + 0.01
        audio, rate = _read_output(path)
        loudness = pyloudnorm.Meter(rate).integrated_loudness(audio)
        peak_db = 20 * np.log10(np.max(np.abs(audio)))
        target = profile.loudness.target_lufs
        ceiling = profile.loudness.ceiling_dbfs
        assert peak_db <= ceiling + 0.3, (path, peak_db)  # A-law steps are coarse near full scale
        assert abs(loudness - target) <= 1.0 or peak_db >= ceiling - 0.6, (path, loudness, peak_db)
        assert profile.filename_ok(os.path.splitext(os.path.basename(path))[0])


def test_results_file_has_one_line_per_input(runs):
    out, records = runs["yeastar-prompt"]
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(records) == len(os.listdir(SESSION))
    for line in lines:
        record = json.loads(line)
        for key in ("source", "status", "profile", "output", "metrics", "findings"):
            assert key in record
        for key in (
            "source_duration_s",
            "duration_s",
            "speech_start_s",
            "speech_end_s",
            "snr_db",
            "speech_ratio",
            "clipping_ratio",
            "lufs",
            "peak_dbfs",
        ):
            assert key in record["metrics"] or record["status"] == "failed", (key, record)


def _run_cli(args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kwargs,
    )


def _outputs(out):
    files = {}
    for name in sorted(os.listdir(out)):
        if name.endswith((".wav", ".gsm", ".mp3")):
            files[name] = (out / name).read_bytes()
    return files


def _records(out):
    records = []
    for line in (out / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["output"]:
            record["output"] = os.path.basename(record["output"])
        records.append(record)
    return sorted(records, key=lambda r: r["source"])


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_lines", [1, 10])
def test_sigkill_midway_then_rerun_equals_an_uninterrupted_run(tmp_path, kill_after_lines):
    batch = tmp_path / "batch"
    batch.mkdir()
    for copy in range(3):
        for name in os.listdir(SESSION):
            shutil.copy(os.path.join(SESSION, name), batch / f"c{copy}_{name}")
    args = ["run", str(batch), "--profile", "yeastar-prompt", "--no-progress", "--workers", "2"]

    clean = tmp_path / "clean"
    assert _run_cli([*args, "--out", str(clean)]).wait(timeout=300) in (0, 1)

    killed = tmp_path / "killed"
    proc = _run_cli([*args, "--out", str(killed)])
    results = killed / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= kill_after_lines:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(results.read_text().splitlines())
    assert partial < 3 * len(os.listdir(SESSION))

    assert _run_cli([*args, "--out", str(killed)]).wait(timeout=300) in (0, 1)
    assert _records(killed) == _records(clean)
    assert _outputs(killed) == _outputs(clean)
    assert not [n for n in os.listdir(killed) if n.endswith(".tmp")]


def _labels():
    with open("fixtures/labels.json") as fh:
        return json.load(fh)


def test_speech_boundaries_within_50_ms_on_clean_fixtures(runs):
    labels = _labels()
    _, records = runs["yeastar-prompt"]
    checked = 0
    for record in records:
        key = os.path.relpath(record["source"], "fixtures")
        label = labels[key]
        if (
            label.get("snr_db") is not None
            or label.get("clipping_ratio")
            or label["speech_start_s"] is None
        ):
            continue
        metrics = record["metrics"]
        assert abs(metrics["speech_start_s"] - label["speech_start_s"]) <= 0.05, key
        assert abs(metrics["speech_end_s"] - label["speech_end_s"]) <= 0.05, key
        # the output starts pad_ms before the speech (or at the start of the file)
        expected_cut = max(0.0, label["speech_start_s"] - 0.2)
        assert abs(metrics["trimmed_start_s"] - expected_cut) <= 0.05, key
        checked += 1
    assert checked >= 8


def test_every_bad_input_gets_its_finding_and_the_batch_completes(tmp_path):
    labels = _labels()
    results = Pipeline.for_profile("yeastar-prompt").run(
        ["fixtures/bad"], out=str(tmp_path), workers=2, progress=False
    )
    records = list(results)
    assert len(records) == len(os.listdir("fixtures/bad"))
    for record in records:
        label = labels[os.path.relpath(record["source"], "fixtures")]
        codes = {f["code"] for f in record["findings"]}
        assert set(label["expected_findings"]["any"]) <= codes, (record["source"], codes)
        if label.get("decode_severity") == "error" or not label.get("speech", True):
            assert record["status"] == "failed" and record["output"] is None
            errors = [f for f in record["findings"] if f["severity"] == "error"]
            assert errors and all(len(f["message"]) > 20 for f in errors)
    assert not results.all_passed


def test_voice_cloning_profile_enforces_its_window(runs):
    labels = _labels()
    _, records = runs["tencent-vod-voice"]
    for record in records:
        label = labels[os.path.relpath(record["source"], "fixtures")]
        expected = label["expected_findings"].get("tencent-vod-voice", [])
        codes = {f["code"] for f in record["findings"]}
        assert set(expected) <= codes, (record["source"], codes)


def test_the_notebook_api_takes_pathlib_paths_everywhere(tmp_path):
    # A notebook passes Path objects: one or many inputs, the output folder, the report.
    from pathlib import Path

    from pipeline.report import write_report
    from pipeline.results import Results

    take = Path("fixtures/session/greeting_en-us_16k.wav")
    pipeline = Pipeline.for_profile("yeastar-prompt")
    results = pipeline.run(take, out=tmp_path / "out", workers=1, progress=False)
    assert results.all_passed and len(results) == 1
    assert len(pipeline.run([take, Path("fixtures/session")], workers=1, progress=False)) == 14
    assert [r["status"] for r in Results.read(tmp_path / "out")] == ["passed"]
    assert Path(write_report(tmp_path / "out", progress=False)).is_file()
    assert pipeline.process(take).codes() == pipeline.process(str(take)).codes()
    custom = Path("pipeline/profiles/yeastar-prompt.toml")  # a profile file, as a Path
    assert Pipeline.for_profile(custom).profile == pipeline.profile


def test_vod_outputs_cut_or_widened_by_trim_meet_the_window_and_the_level(tmp_path):
    """Issue 2's bar on takes trim changes: a 43.5 s reading whose end (cut off) is louder,
    and a 4.3 s greeting with silence around it to 5.3 s (speech + pad under 5 s)."""
    x, rate = sf.read(os.path.join(SESSION, "long_reading_en-gb_16k.mp3"), dtype="float32")
    x = np.array(x)
    x[-15 * rate :] *= np.float32(0.9 / float(np.abs(x[-15 * rate :]).max()))  # louder end
    sf.write(tmp_path / "long.wav", x, rate, subtype="FLOAT")
    g, rate = sf.read(os.path.join(SESSION, "greeting_en-us_16k.wav"), dtype="float32")
    pad = np.zeros(round((5.3 * rate - g.size) / 2), dtype=np.float32)
    sf.write(tmp_path / "short.wav", np.concatenate([pad, g, pad]), rate, subtype="FLOAT")

    results = Pipeline.for_profile("tencent-vod-voice").run(
        [tmp_path / "long.wav", tmp_path / "short.wav"], out=tmp_path / "out", workers=1
    )
    assert [r["status"] for r in results] == ["passed", "passed"], [r["findings"] for r in results]
    for record in results:
        y, out_rate = sf.read(record["output"], dtype="float64")
        assert out_rate == 24000 and 5.0 <= y.size / out_rate <= 30.0
        lufs = pyloudnorm.Meter(out_rate).integrated_loudness(y)
        peak = 20 * np.log10(np.max(np.abs(y)))
        assert abs(lufs + 16.0) <= 1.0 or abs(peak + 1.0) <= 0.1, (lufs, peak)
        assert record["metrics"]["lufs"] == pytest.approx(lufs, abs=0.2)  # two meters
        assert record["metrics"]["peak_dbfs"] == pytest.approx(peak, abs=0.1)
    codes = {os.path.basename(r["source"]): [f["code"] for f in r["findings"]] for r in results}
    assert "trimmed_to_max" in codes["long.wav"] and "padded_to_min" in codes["short.wav"]
