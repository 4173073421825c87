"""benchmarks/real_recordings.py: its RTTM reading and who-talks-alone spans (no download)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks._scripts import load_script


@pytest.fixture(scope="module")
def real() -> ModuleType:
    return load_script("real_recordings")


def test_rttm_lines_become_turns_and_other_lines_are_ignored(
    real: ModuleType, tmp_path: Path
) -> None:
    rttm = tmp_path / "x.rttm"
    rttm.write_text(
        ";; comment\n"
        "SPEAKER s 1 6.690 0.430 <NA> <NA> speaker90 <NA> <NA>\n"
        "SPEAKER s 1 7.550 0.800 <NA> <NA> speaker91 <NA> <NA>\n",
        encoding="utf-8",
    )
    turns = real.rttm_turns(str(rttm))
    assert turns == [(6.69, pytest.approx(7.12), "speaker90"), (7.55, 8.35, "speaker91")]


def test_alone_keeps_a_persons_turns_minus_where_the_other_talks_over_them(
    real: ModuleType,
) -> None:
    turns = [(0.0, 2.0, "a"), (1.5, 3.0, "b"), (2.5, 4.0, "a"), (3.8, 5.0, "b")]
    assert real.alone(turns, "a", 10, 60) == [(0, 15), (30, 38)]
    assert real.alone(turns, "b", 10, 60) == [(20, 25), (40, 50)]
    assert real.alone(turns, "c", 10, 60) == []


def test_each_source_names_the_file_pip_download_writes(real: ModuleType) -> None:
    stems = {s.requirement: s.stem for s in real.SOURCES}
    assert stems["silero-vad==6.2.3"] == "silero_vad-6.2.3"
    assert stems["pyannote.audio==4.0.7"] == "pyannote_audio-4.0.7"
    assert stems["webrtcvad-wheels==2.0.14.post1"] == "webrtcvad_wheels-2.0.14.post1"
