"""benchmarks/no_speech_recall.py: its tone builders, excerpts and recall table."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.benchmarks._scripts import load_script

RATE = 16000


@pytest.fixture(scope="module")
def ns() -> ModuleType:
    return load_script("no_speech_recall")


@pytest.mark.parametrize("kind", ["ringback", "siren", "sweep", "chime", "dtmf"])
@pytest.mark.parametrize("rate", [8000, 48000])
def test_every_tone_kind_is_built_at_full_scale(ns: ModuleType, kind: str, rate: int) -> None:
    y, detail = ns.make_tone(kind, np.random.default_rng(1), 6.0, rate)
    assert y.dtype == np.float32 and y.shape == (6 * rate,)
    assert np.isfinite(y).all() and np.max(np.abs(y)) == pytest.approx(1.0)
    assert detail.startswith(kind)


def test_cadence_follows_its_on_off_pattern(ns: ModuleType) -> None:
    t = np.arange(0, 6.0, 0.01)
    gate = ns._cadence(t, (0.4, 0.2, 0.4, 2.0))
    # on 0–0.4, off 0.4–0.6, on 0.6–1.0, off 1.0–3.0, then again from 3.0
    assert gate[10] == 1 and gate[50] == 0 and gate[80] == 1 and gate[200] == 0
    assert gate[310] == 1 and gate[350] == 0
    assert gate.mean() == pytest.approx(0.8 / 3.0, abs=0.02)


def test_dtmf_tones_are_short_bursts_of_two_frequencies(ns: ModuleType) -> None:
    y, _ = ns.make_tone("dtmf", np.random.default_rng(4), 8.0, RATE)
    on = np.abs(y) > 1e-6
    edges = np.flatnonzero(np.diff(on.astype(int)) == 1)
    assert edges.size >= 8  # many digits
    burst = y[edges[0] + 1 : edges[0] + 1 + RATE // 25]  # 40 ms of the first digit
    power = np.abs(np.fft.rfft(burst * np.hanning(burst.size), RATE)) ** 2  # 1 Hz bins
    dtmf_hz = (697, 770, 852, 941, 1209, 1336, 1477, 1633)
    near = np.zeros(power.size, dtype=bool)
    for hz in dtmf_hz:
        near[hz - 60 : hz + 61] = True
    assert power[near].sum() > 0.95 * power.sum()
    low, high = power[600:1000].argmax() + 600, power[1150:1700].argmax() + 1150
    assert min(abs(low - f) for f in dtmf_hz[:4]) <= 5
    assert min(abs(high - f) for f in dtmf_hz[4:]) <= 5


def test_excerpt_skips_silence_and_keeps_music(ns: ModuleType) -> None:
    rng = np.random.default_rng(0)
    rate = ns.DECODE_RATE
    silent = np.zeros(30 * rate, dtype=np.float32)
    assert ns.excerpt(silent, rng, 10.0) is None
    assert ns.excerpt(silent[: 2 * rate], rng, 10.0) is None  # too short
    t = np.arange(30 * rate) / rate
    music = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    part = ns.excerpt(music, rng, 10.0)
    assert part is not None and part.size == 10 * rate


def test_recall_table_counts_any_severity_errors_and_other_rejections(ns: ModuleType) -> None:
    rows = [
        {"kind": "music", "no_speech": "error", "errors": ["no_speech"]},
        {"kind": "music", "no_speech": "warning", "errors": []},
        {"kind": "music", "no_speech": None, "errors": ["too_short"]},
        {"kind": "music", "no_speech": None, "errors": []},
    ]
    (line,) = ns.recall_table(rows, lambda r: r["kind"])
    assert "0.500 any" in line and "0.250 error" in line and "0.250 other error" in line
    assert "(n=4)" in line


@pytest.mark.parametrize("kind", ["pluck", "piano", "pad", "lead"])
@pytest.mark.parametrize("rate", [8000, 16000])
def test_every_hold_music_kind_is_built_at_full_scale(ns: ModuleType, kind: str, rate: int) -> None:
    y, detail = ns.make_hold(kind, np.random.default_rng(2), 3.0, rate)
    assert y.dtype == np.float32 and y.shape == (3 * rate,)
    assert np.isfinite(y).all() and np.max(np.abs(y)) == pytest.approx(1.0)
    assert detail.startswith(kind)
    frames = y[: y.size // (rate // 10) * (rate // 10)].reshape(-1, rate // 10)
    assert (np.sqrt(np.mean(frames**2, axis=1)) > 1e-3).mean() > 0.8  # music, not silence


def test_melody_walks_a_major_scale(ns: ModuleType) -> None:
    notes = ns.melody(np.random.default_rng(3), 200, 60)
    assert notes.shape == (200,)
    assert set(np.unique((notes - 60) % 12)) <= {0, 2, 4, 5, 7, 9, 11}
    assert notes.min() >= 60 and notes.max() <= 60 + 24
    assert np.abs(np.diff(notes)).max() <= 6  # steps and small leaps


def test_a_struck_note_decays_and_its_upper_partials_decay_faster(ns: ModuleType) -> None:
    rate = 16000
    t = np.arange(2 * rate) / rate
    note = ns.struck(t, 220.0, decay_s=0.5, amps=np.array([1.0, 1.0, 1.0]))

    def level(part: np.ndarray, hz: float) -> float:
        spectrum = np.abs(np.fft.rfft(part * np.hanning(part.size)))
        return float(spectrum[round(hz * part.size / rate)])

    early, late = note[: rate // 4], note[rate : rate + rate // 4]
    assert np.sqrt(np.mean(late**2)) < 0.3 * np.sqrt(np.mean(early**2))
    assert level(late, 660.0) / level(early, 660.0) < level(late, 220.0) / level(early, 220.0)


def test_the_sets_keep_the_dev_cache_key_and_hold_other_packages(ns: ModuleType) -> None:
    dev, heldout = ns.SETS["dev"], ns.SETS["heldout"]
    assert dev.work == ns.WORK and dev.globs is ns.MUSIC_GLOBS and dev.hold == 0
    assert heldout.work != dev.work and heldout.hold > 0 and heldout.tones == 0
    assert not set(heldout.globs) & set(dev.globs)  # no package in both
    for package, path in ns.music_tracks(heldout.globs):
        assert package in heldout.globs and path.startswith("/usr/share/")


def test_the_second_held_out_set_shares_no_package_and_is_music_only(ns: ModuleType) -> None:
    dev, heldout, heldout2 = ns.SETS["dev"], ns.SETS["heldout"], ns.SETS["heldout2"]
    assert len({dev.work, heldout.work, heldout2.work}) == 3
    assert not set(heldout2.globs) & (set(dev.globs) | set(heldout.globs))
    assert heldout2.tones == 0 and heldout2.hold == 0 and heldout2.music >= 100
    assert len(heldout2.globs) >= 8 and heldout2.by_package
    assert not dev.by_package and not heldout.by_package  # their caches and clips unchanged


def test_the_held_out_sets_share_no_package(ns: ModuleType) -> None:
    sets = [ns.SETS[name] for name in ("dev", "heldout", "heldout2", "heldout3", "heldout4")]
    assert len({s.work for s in sets}) == len(sets)
    packages = [set(s.globs) for s in sets]
    assert sum(len(p) for p in packages) == len(set().union(*packages))
    for later in (ns.SETS["heldout3"], ns.SETS["heldout4"]):
        assert later.by_package and later.tones == later.hold == 0
        assert later.music % len(later.globs) == 0  # as many excerpts from each package


def test_decoded_tracks_of_the_same_name_are_cached_apart(
    ns: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two packages may both ship a "track1.ogg": each keeps its own decoded audio."""
    import subprocess

    def fake_ffmpeg(cmd: list[str], **_: object) -> subprocess.CompletedProcess[bytes]:
        level = 0.1 if "/a/" in cmd[cmd.index("-i") + 1] else 0.2
        audio = np.full(ns.DECODE_RATE * 6, level, dtype=np.float32)
        return subprocess.CompletedProcess(cmd, 0, audio.tobytes(), b"")

    monkeypatch.setattr(ns.subprocess, "run", fake_ffmpeg)
    first = ns.decode_track("/a/track1.ogg", str(tmp_path))
    second = ns.decode_track("/b/track1.ogg", str(tmp_path))
    assert first[0] == np.float32(0.1) and second[0] == np.float32(0.2)
    assert ns.decode_track("/a/track1.ogg", str(tmp_path))[0] == np.float32(0.1)  # from cache


def test_pick_track_by_package_gives_each_package_as_many_excerpts(ns: ModuleType) -> None:
    tracks = [("a", f"a{k}", None) for k in range(6)] + [("b", "b0", None), ("c", "c0", None)]
    picks = [ns.pick_track(tracks, i, by_package=True) for i in range(12)]
    packages = [tracks[p][0] for p in picks]
    assert packages.count("a") == packages.count("b") == packages.count("c") == 4
    assert [tracks[p][1] for p in picks if tracks[p][0] == "a"] == ["a0", "a1", "a2", "a3"]
    assert [ns.pick_track(tracks, i, by_package=False) for i in range(10)] == [
        0, 1, 2, 3, 4, 5, 6, 7, 0, 1
    ]  # fmt: skip


def test_from_learned_check_reads_the_no_speech_message(ns: ModuleType) -> None:
    from pipeline.clip import Finding, Severity

    learned = Finding("no_speech", Severity.WARNING, "analyze",
                      f"scores 0.912 on a {ns.LEARNED} (music from 0.800)")  # fmt: skip
    other = Finding("no_speech", Severity.ERROR, "analyze", "no persistent voice lines")
    elsewhere = Finding("low_snr", Severity.ERROR, "analyze", f"not the {ns.LEARNED}")
    assert ns.from_learned_check([other, learned])
    assert not ns.from_learned_check([other, elsewhere])
    assert not ns.from_learned_check([])
