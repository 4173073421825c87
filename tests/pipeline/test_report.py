"""The HTML report and notebook views, on synthetic signals and records with known answers."""

from __future__ import annotations

import json
import re
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.report import (
    _CLIP,
    _SPEECH_BG,
    _TRIM_BG,
    png_bytes,
    spectrogram_image,
    waveform_image,
    write_report,
)
from pipeline.results import Results, write_records
from tests.conftest import tone

RATE = 16000


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, f"bad CRC in {tag!r}"
        chunks.append((tag, body))
        pos += 12 + length
    return chunks


def _png_decode(data: bytes) -> np.ndarray:
    """Read back a PNG written with filter 0 (what png_bytes writes)."""
    chunks = _png_chunks(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8
    channels = {0: 1, 2: 3, 3: 1, 6: 4}[colour]
    raw = zlib.decompress(b"".join(body for tag, body in chunks if tag == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 0).all()  # filter type "none" on every row
    pixels = rows[:, 1:].reshape(height, width, channels)
    if colour == 3:  # indexed: look the colours up in the palette
        palette = dict(chunks)[b"PLTE"]
        pixels = np.frombuffer(palette, np.uint8).reshape(-1, 3)[pixels[:, :, 0]]
    return pixels


@pytest.mark.parametrize("shape", [(5, 7), (4, 9, 3), (30, 40, 3), (3, 2, 4)])
def test_png_writer_round_trips_pixels(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    back = _png_decode(png_bytes(image))
    assert np.array_equal(back.reshape(image.shape), image)


def test_png_writer_indexes_few_colour_images() -> None:
    image = np.zeros((40, 240, 3), np.uint8)
    image[:, 100:] = (214, 240, 220)
    data = png_bytes(image)
    assert data[25] == 3  # IHDR colour type: indexed
    assert len(data) < 300


def test_png_writer_refuses_float_images() -> None:
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(np.zeros((2, 2), np.float32))


def _column_bg(image: np.ndarray, column: int) -> tuple[int, ...]:
    return tuple(int(v) for v in image[image.shape[0] // 2 - 10, column])


def test_waveform_shades_speech_greys_trimmed_and_draws_amplitude() -> None:
    # 1 s silence, 2 s tone at 0.5, 1 s silence; speech 1–3 s, the first 0.5 s trimmed away.
    x = np.concatenate([np.zeros(RATE), tone(440, 2.0, RATE, amp=0.5), np.zeros(RATE)])
    image = waveform_image(
        x, RATE, width_px=200, height_px=41, speech_s=[(1.0, 3.0)], trimmed_s=[(0.0, 0.5)]
    )
    assert image.shape == (41, 200, 3) and image.dtype == np.uint8
    # 200 columns over 4 s: 50 per second.
    assert _column_bg(image, 10) == _TRIM_BG
    assert _column_bg(image, 40) == (255, 255, 255)
    assert all(tuple(int(v) for v in image[0, c]) == _SPEECH_BG for c in range(55, 145))
    # A 0.5 peak fills the middle half: rows ~10..30 inked in speech columns, not row 5.
    ink = (image[:, 100] != np.array(_SPEECH_BG, np.uint8)).any(axis=1)
    assert ink[10:31].all() and not ink[:9].any() and not ink[32:].any()
    # No clipping anywhere.
    assert not (image == np.array(_CLIP, np.uint8)).all(axis=2).any()


def test_waveform_ticks_clipping_only_where_samples_sit_on_the_rails() -> None:
    x = tone(200, 2.0, RATE, amp=0.5)
    x[RATE : RATE + 400] = np.sign(tone(200, 0.025, RATE)) * 1.0  # flat tops at 1.0–1.025 s
    x[RATE // 2] = 1.0  # a single full-scale peak is not clipping
    image = waveform_image(x, RATE, width_px=200, height_px=40)
    red = (image[0] == np.array(_CLIP, np.uint8)).all(axis=1)
    assert red[100] and red[100:103].sum() >= 1
    assert red.sum() <= 3
    assert not red[50]


@settings(max_examples=40, deadline=None)
@given(frames=st.integers(0, 3000), channels=st.integers(1, 3), width=st.integers(1, 300))
def test_waveform_any_length_gives_requested_size(frames: int, channels: int, width: int) -> None:
    x = np.random.default_rng(frames).uniform(-1, 1, (frames, channels)).astype(np.float32)
    image = waveform_image(x, 8000, width_px=width, height_px=20, speech_s=[(0.0, 0.1)])
    assert image.shape == (20, width, 3)


def _brightest_row(image: np.ndarray) -> int:
    return int(image.astype(int).sum(axis=2).mean(axis=1).argmax())


def test_spectrogram_puts_hum_at_the_bottom_and_a_tone_higher_up() -> None:
    hum = spectrogram_image(tone(50, 2.0, RATE, amp=0.5), RATE, height_px=48)
    high = spectrogram_image(tone(2000, 2.0, RATE, amp=0.5), RATE, height_px=48)
    # Rows are log-spaced from 30 Hz (bottom, row 47) to 8 kHz (top, row 0).
    edges = np.geomspace(30, 8000, 49)[::-1]
    row_of = {f: int(np.searchsorted(-edges, -f)) - 1 for f in (50, 2000)}
    assert abs(_brightest_row(hum) - row_of[50]) <= 2
    assert abs(_brightest_row(high) - row_of[2000]) <= 2
    assert _brightest_row(hum) > _brightest_row(high)


def test_spectrogram_shows_band_limiting_as_a_dark_top() -> None:
    import soxr

    noise = np.random.default_rng(1).normal(0, 0.1, 8000 * 2).astype(np.float32)
    upsampled = soxr.resample(noise, 8000, RATE)  # nothing above 4 kHz
    image = spectrogram_image(upsampled, RATE, height_px=48).astype(int).sum(axis=2)
    top = image[:3].mean()  # 6.5–8 kHz
    middle = image[20:30].mean()
    assert top < middle / 3


def test_spectrogram_of_digital_silence_is_black() -> None:
    image = spectrogram_image(np.zeros(RATE, np.float32), RATE)
    assert image.max() < 10


# --- the report file -------------------------------------------------------------------------


def _write(path: Path, samples: np.ndarray, rate: int = RATE) -> str:
    sf.write(path, samples, rate, subtype="PCM_16")
    return str(path)


def _record(source: str, *, output: str | None, failed: bool = False, **metrics: Any) -> dict:
    findings = (
        [
            {
                "code": "too_short",
                "severity": "error",
                "stage": "trim",
                "message": "0.4 s of speech, need 5 s; record a longer take",
            }
        ]
        if failed
        else [
            {
                "code": "loudness_ceiling",
                "severity": "warning",
                "stage": "normalize",
                "message": "loudness reached −18 LUFS",
            }
        ]
    )
    return {
        "source": source,
        "status": "failed" if failed else "passed",
        "profile": "p",
        "output": output,
        "metrics": {
            "source_duration_s": 3.0,
            "speech_start_s": 1.0,
            "speech_end_s": 2.0,
            "trimmed_start_s": 0.5,
            "trimmed_end_s": 0.5,
            **metrics,
        },
        "findings": findings,
        "source_info": None,
    }


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    speech = np.concatenate([np.zeros(RATE), tone(300, 1.0, RATE), np.zeros(RATE)])
    good = _write(tmp_path / "good.wav", speech)
    out = _write(tmp_path / "good_out.wav", speech[RATE // 2 : -RATE // 2])
    records = [
        _record(good, output=out, snr_db=30.0, lufs=-16.0),
        _record(str(tmp_path / "gone.wav"), output=None, failed=True),  # source deleted since
        _record("</script><script>alert(1)</script>.wav", output=None, failed=True),
    ]
    write_records(str(tmp_path / "results.jsonl"), records)
    return tmp_path


def _templates(page: str) -> list[str]:
    return re.findall(r'<template id="c\d+">(.*?)</template>', page, flags=re.S)


def test_report_has_one_card_per_record_and_loads_nothing_from_the_network(run_dir: Path) -> None:
    path = write_report(str(run_dir), progress=False)
    assert path == str(run_dir / "report.html")
    page = Path(path).read_text(encoding="utf-8")
    cards = _templates(page)
    assert len(cards) == 3
    # No resource comes from a server: every src/href is a data URI (or a fragment).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\(\s*['\"]?https?:", page)
    assert "@import" not in page
    # The playable clip has a waveform, a spectrogram and both players; the others say why not.
    assert cards[0].count("data:image/png;base64,") == 2
    assert 'class="before"' in cards[0] and 'class="after"' in cards[0]
    assert "not there any more" in cards[1] and "<audio" not in cards[1]
    assert "record a longer take" in cards[1]


def test_report_index_is_valid_json_even_with_hostile_names(run_dir: Path) -> None:
    page = Path(write_report(str(run_dir), progress=False)).read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="vp-data">(.*?)</script>', page, re.S)
    assert data is not None
    index = json.loads(data.group(1))
    assert [entry["s"] for entry in index] == ["passed", "failed", "failed"]
    assert index[1]["f"] == ["too_short"]
    assert index[0]["m"]["snr_db"] == 30.0
    assert "<script>alert(1)" not in page  # escaped in the card, \u003c in the JSON
    assert page.count("<script") == 2  # the data and the page's own script


def test_report_without_audio_has_no_players(run_dir: Path) -> None:
    page = Path(write_report(str(run_dir), audio=False, progress=False)).read_text("utf-8")
    assert "<audio" not in page
    assert "data:image/png;base64," in page


def test_report_finds_outputs_of_a_moved_folder(run_dir: Path, tmp_path: Path) -> None:
    records = list(Results.read(str(run_dir)))
    records[0]["output"] = "/somewhere/else/good_out.wav"  # same name, now beside results.jsonl
    write_records(str(run_dir / "results.jsonl"), records)
    page = Path(write_report(str(run_dir), progress=False)).read_text(encoding="utf-8")
    assert 'class="after"' in _templates(page)[0]


def test_report_summary_counts_findings_by_verdict(run_dir: Path) -> None:
    page = Path(write_report(str(run_dir), progress=False)).read_text(encoding="utf-8")
    head = page.split('<script type="application/json"')[0]
    row = re.search(r'data-code="too_short".*?</tr>', head, re.S)
    assert row is not None
    assert re.findall(r"class='num'>(\d+)<", row.group(0)) == ["0", "2"]  # passed, failed
    assert "2 to fix" in head


def test_report_of_a_folder_without_results_says_what_to_do(tmp_path: Path) -> None:
    from pipeline.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="voiceprep run"):
        write_report(str(tmp_path))


def test_report_command_writes_the_file(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "elsewhere.html"
    assert main(["report", str(run_dir), "--out", str(target), "--no-audio", "--no-progress"]) == 0
    assert target.exists() and "report:" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing-here")]) == 2


# --- notebooks -------------------------------------------------------------------------------


def test_results_and_single_records_render_in_notebooks(run_dir: Path) -> None:
    results = Results.read(str(run_dir))
    page = results._repr_html_()
    assert "<table" in page and page.count('class="card') == 3
    assert page.index("gone.wav") < page.index("good.wav")  # failed clips first
    one = results[0]
    assert one["source"].endswith("good.wav") and isinstance(one, dict)
    card = one._repr_html_()
    assert "<audio" in card and "data:image/png" in card
    assert results[-1]["status"] == "failed"
    with pytest.raises(IndexError, match="3 clips"):
        results[3]


def test_results_repr_html_shows_only_the_first_cards(tmp_path: Path) -> None:
    records = [_record(f"/none/{i}.wav", output=None, failed=i % 2 == 0) for i in range(30)]
    page = Results(records=records)._repr_html_()
    assert page.count('class="card') == 10
    assert "20 more clips" in page


def test_run_with_report_flag_writes_the_report(tmp_path: Path) -> None:
    from tests.conftest import FIXTURES

    take = str(FIXTURES / "session" / "greeting_en-us_16k.wav")
    code = main(
        [
            "run",
            take,
            "--profile",
            "yeastar-prompt",
            "--out",
            str(tmp_path),
            "--workers",
            "1",
            "--no-progress",
            "--report",
        ]
    )
    assert code == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert len(_templates(page)) == 1 and 'class="after"' in page


def test_report_shows_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    # os.listdir gives such a name's bytes as lone surrogates; the page escapes them.
    import os

    speech = np.concatenate([np.zeros(RATE), tone(300, 1.0, RATE), np.zeros(RATE)])
    raw = os.fsencode(tmp_path) + b"/caf\xe9.wav"
    sf.write(raw, speech, RATE, subtype="PCM_16")
    source = os.fsdecode(raw)
    write_records(str(tmp_path / "results.jsonl"), [_record(source, output=None)])
    page = Path(write_report(str(tmp_path), progress=False)).read_text(encoding="utf-8")
    assert "caf\\udce9.wav" in page


# --- where the source and output are found ---------------------------------------------------


def _run_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A run made from ``tmp_path`` with relative paths: ``in/take.wav`` → ``out/take.wav``,
    the output (a 300 Hz tone) audibly unlike the source (a 2 kHz tone)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    _write(tmp_path / "in" / "take.wav", tone(2000, 1.0, RATE, amp=0.5))
    _write(tmp_path / "out" / "take.wav", tone(300, 1.0, RATE, amp=0.5))
    (tmp_path / "out" / "journal.sqlite").write_bytes(b"")
    record = _record("in/take.wav", output="out/take.wav")
    write_records(str(tmp_path / "out" / "results.jsonl"), [record])
    return tmp_path / "in", tmp_path / "out"


def _card(folder: Path, **options: Any) -> str:
    page = Path(write_report(str(folder), progress=False, **options)).read_text("utf-8")
    (card,) = _templates(page)
    return card


def _spectrogram_row(card: str) -> int:
    """The brightest row of the card's spectrogram: where its tone sits (30 Hz at row 47)."""
    import base64

    png = re.search(r'class="spec"[^>]*src="data:image/png;base64,([^"]+)"', card)
    assert png is not None
    return _brightest_row(_png_decode(base64.b64decode(png.group(1))))


def test_report_finds_a_relative_source_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = _run_folder(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # in/take.wav is not here: it is beside out/
    card = _card(out)
    assert _spectrogram_row(card) < 20  # the 2 kHz source, not the 300 Hz output
    assert 'class="before"' in card and 'class="after"' in card
    assert "source read from" in card  # found somewhere else than recorded: said so


def test_report_never_shows_the_output_as_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = _run_folder(tmp_path)
    shutil.rmtree(src)  # the session folder was moved away
    for cwd in (tmp_path, out):  # from out/, "take.wav"-like names would hit the output
        monkeypatch.chdir(cwd)
        card = _card(out)
        assert "not there any more" in card
        assert 'class="wave"' not in card and 'class="before"' not in card
        assert 'class="after"' in card


def test_report_of_a_bare_source_name_built_inside_the_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = _run_folder(tmp_path)
    records = list(Results.read(str(out)))
    records[0]["source"] = "take.wav"  # the run was made from inside in/
    write_records(str(out / "results.jsonl"), records)
    monkeypatch.chdir(out)  # "take.wav" here is the output
    card = _card(out)
    assert "not there any more" in card and 'class="before"' not in card


def test_report_fetches_url_sources_and_says_when_they_are_gone(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    _, out = _run_folder(tmp_path)
    memory.pipe("/report-test/take.wav", (tmp_path / "in" / "take.wav").read_bytes())
    records = list(Results.read(str(out)))
    records[0]["source"] = "memory://report-test/take.wav"
    write_records(str(out / "results.jsonl"), records)
    try:
        card = _card(out, workers=1)
        assert _spectrogram_row(card) < 20 and 'class="before"' in card
        memory.rm("/report-test/take.wav")
        card = _card(out, workers=1)
        assert "not there any more" in card and 'class="before"' not in card
    finally:
        if memory.exists("/report-test"):
            memory.rm("/report-test", recursive=True)


# --- run --report and the report command ------------------------------------------------------


def _run_args(take: str | list[str], out: str, *extra: str) -> list[str]:
    takes = [take] if isinstance(take, str) else take
    return ["run", *takes, "--profile", "yeastar-prompt", "--out", out, "--workers", "1",
            "--no-progress", *extra]  # fmt: skip


def test_run_report_into_a_file_url(tmp_path: Path) -> None:
    from tests.conftest import FIXTURES

    take = str(FIXTURES / "session" / "greeting_en-us_16k.wav")
    assert main(_run_args(take, f"file://{tmp_path}/o", "--report", "--no-audio")) == 0
    page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert len(_templates(page)) == 1 and "<audio" not in page
    assert main(["report", f"file://{tmp_path}/o", "--no-progress"]) == 0


def test_run_report_into_a_remote_url_writes_the_report_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("fsspec")
    from pipeline.runner import state_dir
    from tests.conftest import FIXTURES

    monkeypatch.setenv("VOICEPREP_STATE_DIR", str(tmp_path / "state"))
    take = str(FIXTURES / "session" / "greeting_en-us_16k.wav")
    url = f"memory://report-run-{tmp_path.name}/o"
    assert main(_run_args(take, url, "--report")) == 0
    local = Path(state_dir(url)) / "report.html"
    assert local.exists() and str(local) in capsys.readouterr().out
    assert 'class="after"' in local.read_text(encoding="utf-8")  # the output, fetched


def test_a_report_failure_after_a_run_keeps_the_runs_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pipeline.report
    from pipeline.errors import ConfigurationError
    from tests.conftest import FIXTURES

    def broken(*args: Any, **kwargs: Any) -> str:
        raise ConfigurationError("the disk is full")

    monkeypatch.setattr(pipeline.report, "write_report", broken)
    good = str(FIXTURES / "session" / "greeting_en-us_16k.wav")
    bad = str(FIXTURES / "bad")
    assert main(_run_args(good, str(tmp_path / "a"), "--report")) == 2
    assert "report could not be written: the disk is full" in capsys.readouterr().err
    assert main(_run_args([good, bad], str(tmp_path / "b"), "--report")) == 1  # inputs failed
    assert "report could not be written" in capsys.readouterr().err


def test_report_options_of_run_need_report(tmp_path: Path) -> None:
    take = str(tmp_path / "nothing.wav")
    assert main(_run_args(take, str(tmp_path / "o"), "--no-audio")) == 2
    assert not (tmp_path / "o").exists()  # refused before any work


@pytest.mark.parametrize("target", ["nodir/x.html", "."])
def test_report_out_that_cannot_be_written_is_a_usage_error(
    run_dir: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = str(run_dir / target) if target != "." else str(run_dir)
    assert main(["report", str(run_dir), "--out", where, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err if target != "." else "is a folder" in err


# --- corrupt, truncated and foreign lines -----------------------------------------------------


def test_report_skips_a_cut_off_last_line(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(run_dir / "results.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"source": "/x/half.wav", "status": "pas')  # the run was killed here
    assert main(["report", str(run_dir), "--no-audio", "--no-progress"]) == 0
    assert "last line (4)" in capsys.readouterr().err
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert len(_templates(page)) == 3


def test_report_ignores_the_summary_line_of_check_json(tmp_path: Path) -> None:
    records = [_record("/none/a.wav", output=None), _record("/none/b.wav", output=None)]
    records[1]["status"] = "weird"  # not "passed": failed, in the card and in the summary
    summary = {"summary": {"total": 2, "passed": 1, "failed": 1, "audio_s": 6.0}}
    lines = [json.dumps(r) for r in [*records, summary]]
    (tmp_path / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = Path(write_report(str(tmp_path), progress=False)).read_text(encoding="utf-8")
    cards = _templates(page)
    assert len(cards) == 2 and "—</td>" not in page.split("<template")[0].split("Per profile")[1]
    assert 'data-status="failed"' in cards[1] and "badge fail" in cards[1]
    assert re.search(r'data-status="failed">1<', page)


# --- speech segments, metrics ----------------------------------------------------------------


def test_waveform_shades_each_speech_segment(run_dir: Path) -> None:
    import base64

    records = list(Results.read(str(run_dir)))
    metrics = records[0]["metrics"]
    metrics.update(trimmed_start_s=0.0, trimmed_end_s=0.0, speech_start_s=0.2, speech_end_s=2.8)
    metrics["speech_segments"] = [[0.2, 0.8], [2.2, 2.8]]  # a long pause in the middle
    write_records(str(run_dir / "results.jsonl"), records[:1])
    card = _card(run_dir, audio=False)
    png = re.search(r'class="wave"[^>]*src="data:image/png;base64,([^"]+)"', card)
    assert png is not None
    image = _png_decode(base64.b64decode(png.group(1)))
    top = [tuple(int(v) for v in image[0, c]) for c in range(image.shape[1])]
    width = image.shape[1]  # 3 s of source across the image
    assert top[round(0.5 / 3 * width)] == _SPEECH_BG
    assert top[round(1.5 / 3 * width)] == (255, 255, 255)  # the pause is not speech
    assert top[round(2.5 / 3 * width)] == _SPEECH_BG


def test_metrics_table_shows_a_non_numeric_value_as_text(run_dir: Path) -> None:
    records = list(Results.read(str(run_dir)))
    records[0]["metrics"]["snr_db"] = "n/a <tool>"
    records[0]["metrics"]["speech_start_s"] = "?"
    write_records(str(run_dir / "results.jsonl"), records)
    card = _templates(Path(write_report(str(run_dir), progress=False)).read_text("utf-8"))[0]
    assert "n/a &lt;tool&gt;" in card


# --- speed: the same page, built faster -------------------------------------------------------


def test_png_palette_is_the_sorted_colours_as_before() -> None:
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (40, 3), dtype=np.uint8)
    image = colours[rng.integers(0, 40, (48, 240))]
    chunks = dict(_png_chunks(png_bytes(image)))
    expected = np.unique(image.reshape(-1, 3), axis=0)
    assert chunks[b"PLTE"] == expected.tobytes()
    assert np.array_equal(_png_decode(png_bytes(image)), image)


def test_report_is_the_same_with_several_workers(run_dir: Path, tmp_path: Path) -> None:
    one = write_report(str(run_dir), str(tmp_path / "one.html"), workers=1, progress=False)
    two = write_report(str(run_dir), str(tmp_path / "two.html"), workers=2, progress=False)
    assert Path(one).read_bytes() == Path(two).read_bytes()
