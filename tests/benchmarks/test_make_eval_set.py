"""The dev split of benchmarks/make_eval_set.py: its voices, pairs and phone path, on fake banks."""

from __future__ import annotations

import shutil
from collections import Counter
from types import ModuleType

import numpy as np
import pytest

from tests.benchmarks._scripts import load_script
from tests.conftest import speechlike


@pytest.fixture(scope="module")
def mes() -> ModuleType:
    return load_script("make_eval_set")


@pytest.fixture(scope="module")
def banks(mes: ModuleType) -> dict[str, list[np.ndarray]]:
    """Three short synthetic prompts per dev voice at its native rate, plus phone banks."""
    out: dict[str, list[np.ndarray]] = {}
    for k, s in enumerate(mes.DEV_SPEAKERS):
        f0 = 210.0 if s.sex == "f" else 110.0
        out[s.id] = [
            speechlike(1.2, s.rate_hz, f0_hz=f0 * s.speed, seed=k * 3 + i) for i in range(3)
        ]
        if s.rate_hz == mes.RATE:
            out[f"{s.id}|phone"] = [mes.resample(x, mes.RATE, 8000) for x in out[s.id]]
    return out


def test_dev_voices_are_not_test_voices(mes: ModuleType) -> None:
    test_people = {
        s.person for s in (*mes.REAL_SPEAKERS, mes.NARROWBAND_SPEAKER, *mes.ESPEAK_SPEAKERS)
    }
    dev_people = {s.person for s in mes.DEV_SPEAKERS}
    assert not test_people & dev_people
    test_variants = {s.source.split("+")[-1] for s in mes.ESPEAK_SPEAKERS}
    dev_variants = {s.source.split("+")[-1] for s in mes.DEV_ESPEAK}
    assert not test_variants & dev_variants  # not even the same espeak-ng voice variant
    assert len({s.id for s in mes.DEV_SPEAKERS}) == len(mes.DEV_SPEAKERS)
    assert {s.sex for s in mes.DEV_SPEAKERS} <= {"f", "m", "?"}
    assert {s.sex for s in mes.DEV_KLETTRES} >= {"f", "m"}


def test_dev_plan_counts(mes: ModuleType) -> None:
    kinds = Counter(kind for kind, _ in mes.plan_dev())
    assert kinds == {
        "clean": 45,
        "noisy": 40,
        "hum": 10,
        "clipped": 10,
        "band_limited": 10,
        "two_alt": 50,
        "two_overlap": 35,
    }
    assert len(mes.plan()) == 273  # the test split's plan is untouched


def test_pairs_are_two_people_and_few_self_perturbed(mes: ModuleType, banks: dict) -> None:
    gen = mes.DevGenerator(banks, 17)
    pairs = []
    for i in range(400):
        gen._reset("pair")
        a, b = gen.pick_pair(np.random.default_rng([5, i]))
        pairs.append((a, b, gen._phone))
    assert all(a.person != b.person for a, b, _ in pairs)
    self_share = np.mean([gen.family(a) == gen.family(b) for a, b, _ in pairs])
    assert 0.1 < self_share <= 0.25
    mixed = np.mean([a.sex != b.sex for a, b, _ in pairs])
    assert 0.3 < mixed < 0.7
    # Every pair with a narrow-band voice takes the phone path; wide-only pairs exist too.
    assert all(phone for a, b, phone in pairs if 8000 in (a.rate_hz, b.rate_hz))
    assert any(not phone for _, _, phone in pairs)


def test_phone_path_clip_is_band_limited_and_labelled(mes: ModuleType, banks: dict) -> None:
    gen = mes.DevGenerator(banks, 17)
    seen = 0
    for i in range(40):
        audio, labels = gen.two_alt(np.random.default_rng([9, i]))
        assert labels["n_speakers"] == 2 and len(labels["sexes"]) == 2
        if not labels.get("band_limited"):
            continue
        seen += 1
        assert labels["codec"] == "gsm" and labels["bandwidth_hz"] == mes.PHONE_BANDWIDTH_HZ
        spectrum = np.abs(np.fft.rfft(audio)) ** 2
        freqs = np.fft.rfftfreq(audio.size, 1 / mes.RATE)
        high = spectrum[(freqs > 4300) & (freqs < 7500)].sum()
        low = spectrum[(freqs > 100) & (freqs < 3400)].sum()
        assert 10 * np.log10(high / low) < -40  # speech and noise floor both through 8 kHz
        if seen >= 3:
            break
    assert seen >= 1


def test_speed_perturb_moves_pitch_and_duration(mes: ModuleType) -> None:
    rate = 16_000
    x = np.sin(2 * np.pi * 200.0 * np.arange(rate) / rate).astype(np.float32)
    y = mes.speed_perturb(x, rate, 1.1)
    assert abs(y.size - rate / 1.1) < 2
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * rate / y.size
    assert abs(peak_hz - 220.0) < 2.0


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_gsm_roundtrip_keeps_length_and_speech(mes: ModuleType) -> None:
    x = speechlike(1.0, 8000, seed=1) * np.float32(0.3)
    y = mes.gsm_roundtrip(x)
    assert y.shape == x.shape
    assert np.corrcoef(x, y)[0, 1] > 0.7  # lossy, but the same signal
    assert not np.array_equal(x, y)


def test_dev_summary_counts_pairs(mes: ModuleType) -> None:
    labels = [
        {"kind": "clean", "n_speakers": 1, "speakers": ["slt"], "band_limited": True},
        {
            "kind": "two_alt",
            "n_speakers": 2,
            "speakers": ["slt", "slt@1.1"],
            "sexes": ["f", "f"],
            "self_perturbed_pair": True,
            "band_limited": False,
        },
        {
            "kind": "two_overlap",
            "n_speakers": 2,
            "speakers": ["awb", "armelle"],
            "sexes": ["m", "f"],
            "self_perturbed_pair": False,
            "band_limited": True,
        },
    ]
    text = mes._dev_summary(labels)
    assert "people (3): armelle, awb, slt, slt@1.1" not in text  # four ids, not three
    assert "people (4): armelle, awb, slt, slt@1.1" in text
    assert "pairs: 2; a voice with its own perturbation 1; mixed-sex 1; band-limited" in text
    assert "(single-speaker clips: 1 of 1)" in text


def test_same_voice_needs_pitch_and_floor_to_match(mes: ModuleType) -> None:
    assert mes.same_voice((121.3, -66.1), (122.3, -68.3))  # fr and lt: one recording set
    assert not mes.same_voice((121.3, -66.1), (125.3, -66.1))  # 3.3 % apart
    assert not mes.same_voice((221.8, -66.7), (216.4, -54.1))  # it vs ru: other noise floor
    assert [mes.sex_from_f0(f) for f in (110.0, 172.0, 240.0)] == ["m", "?", "f"]


def test_klettres_voices_drop_duplicates_and_share_persons(mes: ModuleType) -> None:
    voices = {s.source: s for s in mes.klettres_voices(mes.KLETTRES_STATS)}
    assert "lt" not in voices and "nb" not in voices  # lt duplicates fr, nb duplicates cs
    assert voices["en_GB"].person == voices["en"].person  # maybe one person: never a pair
    assert voices["de/syllab"].sex == "m" and voices["it"].sex == "f"
    assert voices["he"].sex == "?"
    assert all(s.real and s.rate_hz == mes.RATE for s in voices.values())
    # a third folder identical to the first is dropped too, whatever its name
    stats = {"aa": (200.0, -60.0), "bb": (150.0, -60.0), "cc": (203.0, -62.0)}
    assert [s.source for s in mes.klettres_voices(stats)] == ["aa", "bb"]


def test_klettres_phrases_read_like_spelling(mes: ModuleType) -> None:
    rate = mes.RATE
    syllables = [np.full(round(rate * d), 0.1, np.float32) for d in (0.3, 0.45, 0.6, 0.25)]
    phrases = mes.klettres_phrases(np.random.default_rng(1), syllables, 30)
    assert len(phrases) == 30
    for phrase in phrases:
        assert 1.0 * rate <= phrase.size <= 3.0 * rate
        silent = phrase == 0
        edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
        gaps = np.diff(edges)[::2] / rate  # silent runs between syllables
        assert np.all(gaps >= 0.079) and np.all(gaps <= 0.251)
        assert edges.size >= 2  # several syllables, not one


def test_klettres_pairs_and_singles_are_mostly_real_wideband(mes: ModuleType, banks: dict) -> None:
    gen = mes.DevGenerator(banks, 17)
    kl = {s.id for s in mes.DEV_KLETTRES}
    pairs = []
    for i in range(400):
        gen._reset("pair")
        a, b = gen.pick_pair(np.random.default_rng([6, i]))
        pairs.append((a, b, gen._phone))
    assert all(a.person != b.person for a, b, _ in pairs)
    assert all(gen.family(a) != gen.family(b) for a, b, _ in pairs if {a.id, b.id} & kl)
    assert not any({a.source, b.source} == {"en", "en_GB"} for a, b, _ in pairs)
    both = np.mean([a.id in kl and b.id in kl for a, b, _ in pairs])
    assert both >= 0.5
    # KLettres voices go through the GSM path only next to a GSM voice
    assert all(not phone for a, b, phone in pairs if a.id in kl and b.id in kl)
    singles = []
    for i in range(200):
        gen._reset("clean")
        singles.append((gen.pick_speaker(np.random.default_rng([7, i])), gen._phone))
    share = np.mean([s.id in kl for s, _ in singles])
    assert 0.5 <= share <= 0.7
    assert not any(phone for s, phone in singles if s.id in kl)


def test_klettres_clip_labels(mes: ModuleType, banks: dict) -> None:
    gen = mes.DevGenerator(banks, 17)
    for i in range(30):
        _audio, labels = gen.clean(np.random.default_rng([8, i]))
        if labels["klettres"]:
            assert labels["real_speech"] and labels["speakers"][0].startswith("kl-")
            assert labels["bandwidth_hz"] == 8000 and not labels.get("band_limited")
            return
    raise AssertionError("no KLettres clean clip in 30 draws")
