import json
import math

import numpy as np
import pytest

from pipeline.clip import Clip, Severity, SourceInfo
from pipeline.results import Results, ResultsWarning, clip_record, write_records


def _clip(failed=False):
    clip = Clip(source="a.wav")
    clip.info = SourceInfo("wav", "pcm_16", 2, 44100, 16, 1000, 1.5)
    clip.metrics = {
        "lufs": np.float32(-16.02),
        "snr_db": float("-inf"),
        "n": np.int64(3),
        "segments": [(0.1, 0.2)],
        "source_duration_s": 1.5,
    }
    clip.report("low_snr", Severity.WARNING, "analyze", "noisy")
    if failed:
        clip.report("too_short", Severity.ERROR, "trim", "short")
    return clip


def test_record_is_plain_json_with_stable_keys():
    record = clip_record(_clip(), "yeastar-prompt")
    assert list(record) == [
        "source",
        "status",
        "profile",
        "output",
        "metrics",
        "findings",
        "source_info",
    ]
    text = json.dumps(record, allow_nan=False)  # no NaN/inf may leak
    back = json.loads(text)
    assert back["status"] == "passed"
    assert math.isclose(back["metrics"]["lufs"], -16.02, abs_tol=1e-3)
    assert back["metrics"]["snr_db"] is None
    assert back["metrics"]["n"] == 3
    assert back["findings"][0] == {
        "code": "low_snr",
        "severity": "warning",
        "stage": "analyze",
        "message": "noisy",
    }


def test_results_read_back_from_jsonl_and_summarise(tmp_path):
    path = tmp_path / "results.jsonl"
    write_records(str(path), [clip_record(_clip(), "p"), clip_record(_clip(True), "p")])
    results = Results.read(str(tmp_path))
    assert len(results) == 2
    assert results.summary.failed == 1 and not results.all_passed
    assert results.summary.errors["too_short"] == 1
    assert [r["status"] for r in results] == ["passed", "failed"]
    assert "2 clips" in repr(results)


def test_to_pandas_has_flat_metric_columns(tmp_path):
    results = Results(records=[clip_record(_clip(), "p"), clip_record(_clip(True), "p")])
    df = results.to_pandas()
    assert list(df["status"]) == ["passed", "failed"]
    assert "lufs" in df.columns and "snr_db" in df.columns
    assert df["errors"].iloc[1] == ["too_short"]


def _write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_read_skips_a_cut_off_last_line_with_a_warning(tmp_path):
    good = json.dumps(clip_record(_clip(), "p"))
    _write_lines(tmp_path / "results.jsonl", [good, good, good[: len(good) // 2]])
    with pytest.warns(ResultsWarning, match=r"last line \(3\).*cut off.*run the same"):
        results = Results.read(str(tmp_path))
        assert len(results) == 2
        assert [r["status"] for r in results] == ["passed", "passed"]


def test_read_skips_a_corrupt_line_in_the_middle_naming_it(tmp_path):
    good = json.dumps(clip_record(_clip(), "p"))
    _write_lines(tmp_path / "results.jsonl", [good, "{not json", good])
    with pytest.warns(ResultsWarning, match="line 2 of .*not valid JSON"):
        assert len(list(Results.read(str(tmp_path)))) == 2


def test_read_ignores_lines_that_are_not_records(tmp_path):
    # `voiceprep check --json > r/results.jsonl`: records, then a summary line.
    records = [clip_record(_clip(), "p"), clip_record(_clip(True), "p")]
    summary = {"summary": {"total": 2, "passed": 1, "failed": 1, "audio_s": 3.0}}
    _write_lines(tmp_path / "results.jsonl", [json.dumps(r) for r in [*records, summary]])
    results = Results.read(str(tmp_path))
    assert len(results) == 2 and results.summary.failed == 1
    assert len(results.to_pandas()) == 2


def test_to_pandas_of_no_clips_has_the_base_columns(tmp_path):
    df = Results(records=[]).to_pandas()
    assert len(df) == 0
    assert {"source", "status", "profile", "output", "snr_db", "lufs"} <= set(df.columns)
    assert list(df.status) == []
    assert df["snr_db"].dtype == np.float64


def test_to_pandas_makes_all_null_numeric_metrics_float(tmp_path):
    record = clip_record(_clip(), "p")
    record["metrics"].update(hum_hz=None, speech_start_s=None)
    df = Results(records=[record, record]).to_pandas()
    for column in ("hum_hz", "speech_start_s", "snr_db"):  # snr_db is null (-inf) too
        assert df[column].dtype == np.float64, column
        assert df[column].isna().all()
    assert df["lufs"].dtype == np.float64
    assert df["findings"].iloc[0] == ["low_snr"]


def test_record_cards_find_the_output_from_any_current_folder(tmp_path, monkeypatch):
    import soundfile as sf

    out = tmp_path / "out"
    out.mkdir()
    tone = (0.3 * np.sin(np.arange(8000) * 0.2)).astype(np.float32)
    sf.write(out / "take.wav", tone, 8000)
    record = clip_record(_clip(), "p")
    record["source"], record["output"] = "in/take.wav", "out/take.wav"  # relative, as run
    write_records(str(out / "results.jsonl"), [record])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    results = Results.read(str(out))
    card = results[0]._repr_html_()
    assert "missing or unreadable" not in card and 'class="after"' in card
    assert 'class="after"' in results._repr_html_()
