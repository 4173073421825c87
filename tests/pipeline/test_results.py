import json
import math

import numpy as np

from pipeline.clip import Clip, Severity, SourceInfo
from pipeline.results import Results, clip_record, write_records


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
