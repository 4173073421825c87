"""`Validate` / `check_properties`: every rule accepted and refused, predict and verify modes."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.clip import Clip, Severity
from pipeline.errors import ConfigurationError
from pipeline.formats import FORMATS
from pipeline.profiles import Profile, Rule, available_profiles, load_profile
from stages.encode import write_atomically
from stages.validate import (
    AudioProperties,
    Validate,
    check_properties,
    check_wav_header,
    encoding_rate,
    predict_properties,
    read_properties,
    read_wav_fmt,
)
from tests.conftest import speechlike

GOOD = {
    "aliyun-voice": AudioProperties("wav", "pcm_16", 8000, 1, 16, 100_000, 3.0, "greeting"),
    "huawei-ivr": AudioProperties("wav", "alaw", 8000, 1, 8, 100_000, 3.0, "greeting"),
    "tencent-ccc-ivr": AudioProperties("wav", "pcm_16", 8000, 1, 16, 100_000, 3.0, "greeting"),
    "tencent-vod-voice": AudioProperties("wav", "pcm_16", 24000, 1, 16, 500_000, 10.0, "sample"),
    "yeastar-prompt": AudioProperties("gsm", "gsm610", 8000, 1, None, 10_000, 3.0, "menu"),
}


def codes(findings: list[Any]) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize("name", available_profiles())
def test_good_properties_pass_every_profile(name: str) -> None:
    assert check_properties(GOOD[name], load_profile(name)) == []


@pytest.mark.parametrize(
    ("name", "change", "code", "severity"),
    [
        ("aliyun-voice", {"container": "ogg"}, "container", Severity.ERROR),
        ("aliyun-voice", {"codec": "alaw"}, "codec", Severity.WARNING),
        ("aliyun-voice", {"sample_rate": 16000}, "sample_rate", Severity.WARNING),
        ("aliyun-voice", {"channels": 2}, "channels", Severity.WARNING),
        ("aliyun-voice", {"bytes": 2_000_000}, "file_too_large", Severity.ERROR),
        ("aliyun-voice", {"stem": "héllo"}, "filename", Severity.WARNING),
        ("huawei-ivr", {"stem": "hello_world"}, "filename", Severity.ERROR),
        ("huawei-ivr", {"stem": "a" * 51}, "filename", Severity.ERROR),
        ("huawei-ivr", {"bytes": 6_000_001}, "file_too_large", Severity.ERROR),
        ("tencent-ccc-ivr", {"bytes": 5_000_001}, "file_too_large", Severity.ERROR),
        ("tencent-ccc-ivr", {"stem": "a" * 65}, "filename", Severity.WARNING),
        ("tencent-vod-voice", {"duration_s": 4.9}, "too_short", Severity.ERROR),
        ("tencent-vod-voice", {"duration_s": 30.1}, "too_long", Severity.ERROR),
        ("tencent-vod-voice", {"sample_rate": 8000}, "sample_rate", Severity.WARNING),
        ("tencent-vod-voice", {"stem": "a" * 21}, "filename", Severity.ERROR),
        ("yeastar-prompt", {"codec": "vorbis"}, "codec", Severity.ERROR),
        ("yeastar-prompt", {"sample_rate": 16000}, "sample_rate", Severity.ERROR),
        ("yeastar-prompt", {"channels": 2}, "channels", Severity.ERROR),
        ("yeastar-prompt", {"bytes": 8_000_001}, "file_too_large", Severity.ERROR),
        ("yeastar-prompt", {"stem": "my prompt"}, "filename", Severity.ERROR),
    ],
)
def test_each_rule_refuses_with_documented_severity(
    name: str, change: dict[str, Any], code: str, severity: Severity
) -> None:
    profile = load_profile(name)
    findings = check_properties(dataclasses.replace(GOOD[name], **change), profile)
    assert codes(findings) == [code]
    f = findings[0]
    assert f.severity is severity
    assert profile.vendor in f.message
    rule = profile.rules[_rule_of(code)]
    if not rule.documented and "not documented" in rule.source:
        assert f"(voiceprep's default; {profile.vendor} does not document this)" in f.message
        assert f.message.count("document") == 1  # said once
    elif rule.source:
        assert rule.source in f.message


def _rule_of(code: str) -> str:
    return {"file_too_large": "file_size", "too_short": "duration", "too_long": "duration"}.get(
        code, code
    )


def test_limits_are_inclusive() -> None:
    profile = load_profile("tencent-vod-voice")
    for duration in (5.0, 30.0):
        assert (
            check_properties(dataclasses.replace(GOOD[profile.name], duration_s=duration), profile)
            == []
        )
    ali = load_profile("aliyun-voice")
    assert check_properties(dataclasses.replace(GOOD[ali.name], bytes=1_999_999), ali) == []


def test_size_message_gives_megabytes_and_fix() -> None:
    profile = load_profile("aliyun-voice")
    (f,) = check_properties(dataclasses.replace(GOOD[profile.name], bytes=6_300_000), profile)
    assert "6.30 MB" in f.message and "VENDORS.md §5.1" in f.message
    assert "--format mp3" in f.message


def test_estimated_size_is_only_a_warning() -> None:
    profile = load_profile("aliyun-voice")
    props = dataclasses.replace(GOOD[profile.name], bytes=3_000_000, bytes_exact=False)
    (f,) = check_properties(props, profile)
    assert f.code == "file_too_large" and f.severity is Severity.WARNING and "about" in f.message


def test_bit_depth_rule_applies_to_pcm_only() -> None:
    base = load_profile("aliyun-voice")
    rules = dict(base.rules, bit_depth=Rule("bit_depth", documented=True, allowed=(16,)))
    profile = dataclasses.replace(base, rules=rules)
    assert codes(check_properties(dataclasses.replace(GOOD[base.name], bit_depth=8), profile)) == [
        "bit_depth"
    ]
    mp3 = dataclasses.replace(GOOD[base.name], container="mp3", codec="mp3", bit_depth=None)
    assert check_properties(mp3, profile) == []


def test_encoding_rate_is_8k_for_narrowband_codecs() -> None:
    assert encoding_rate(FORMATS["wav-alaw"], 24000) == 8000
    assert encoding_rate(FORMATS["gsm"], 16000) == 8000
    assert encoding_rate(FORMATS["wav-pcm16"], 24000) == 24000
    assert encoding_rate(FORMATS["mp3"], 24000) == 24000


def speech_clip(profile: Profile, seconds: float, **kw: Any) -> Clip:
    rate = profile.sample_rate
    return Clip(source="/in/My Take.wav", samples=speechlike(seconds, rate), rate=rate, **kw)


def test_predict_mode_uses_profile_output_and_clip_duration() -> None:
    profile = load_profile("tencent-vod-voice")
    ok = Validate(profile=profile)(speech_clip(profile, 10.0))
    assert ok.findings == []
    assert ok.metrics["predicted_bytes"] == 44 + 10 * 24000 * 2
    short = Validate(profile=profile)(speech_clip(profile, 3.0))
    assert codes(short.findings) == ["too_short"]
    assert "would be 3.0 s" in short.findings[0].message


def test_predict_mode_with_format_override() -> None:
    profile = load_profile("tencent-vod-voice")
    clip = Validate(profile=profile, format="gsm")(speech_clip(profile, 10.0))
    assert set(codes(clip.findings)) == {"container", "codec", "sample_rate"}
    assert any(f.severity is Severity.ERROR for f in clip.findings)  # container is documented


def test_predict_mode_checks_the_name_encode_would_write(tmp_path: Path) -> None:
    profile = load_profile("huawei-ivr")
    clip = speech_clip(profile, 3.0, name="bad_name")  # encode writes it as "badname"
    assert Validate(profile=profile)(clip).findings == []
    # A file written under the unsanitised name is refused in verify mode.
    clip.outputs["audio"] = str(write(tmp_path / "bad_name.wav", "wav-alaw", 8000))
    assert codes(Validate(profile=profile)(clip).findings) == ["filename"]


def test_unknown_format_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown output format"):
        Validate(profile=load_profile("yeastar-prompt"), format="flac")


def write(path: Path, fmt_name: str, rate: int, seconds: float = 1.0, channels: int = 1) -> Path:
    fmt = FORMATS[fmt_name]
    x = speechlike(seconds, rate)
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    write_atomically(str(path), x, rate, fmt)  # as encode writes it
    return path


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_read_properties_of_each_format(tmp_path: Path, fmt_name: str) -> None:
    fmt = FORMATS[fmt_name]
    path = write(tmp_path / f"take{fmt.extension}", fmt_name, 8000)
    props = read_properties(str(path))
    assert (props.container, props.codec, props.bit_depth) == (
        fmt.container,
        fmt.codec,
        fmt.bit_depth,
    )
    assert (props.sample_rate, props.channels, props.stem) == (8000, 1, "take")
    assert props.bytes == path.stat().st_size
    assert props.duration_s == pytest.approx(1.0, abs=0.1)
    predicted = predict_properties(fmt, sample_rate=8000, duration_s=1.0, stem="take")
    if predicted.bytes_exact:
        assert predicted.bytes == props.bytes
    else:
        assert predicted.bytes >= props.bytes


def test_verify_mode_reads_the_written_file(tmp_path: Path) -> None:
    profile = load_profile("yeastar-prompt")
    path = write(tmp_path / "menu.wav", "wav-pcm16", 16000, channels=2)
    clip = Clip(source="menu.wav", samples=np.zeros(8000, np.float32), rate=8000)
    clip.outputs["audio"] = str(path)
    assert set(codes(Validate(profile=profile)(clip).findings)) == {"sample_rate", "channels"}


def test_verify_mode_reports_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "menu.wav"
    path.write_bytes(b"RIFF\x00\x00")
    clip = Clip(source="menu.wav")
    clip.outputs["audio"] = str(path)
    clip = Validate(profile=load_profile("yeastar-prompt"))(clip)
    assert codes(clip.findings) == ["unreadable_output"] and clip.failed


def test_libsndfile_alaw_header_matches_huawei_sample(tmp_path: Path) -> None:
    path = write(tmp_path / "hello.wav", "wav-alaw", 8000)
    fmt = read_wav_fmt(str(path))
    assert fmt is not None
    assert (fmt.format_tag, fmt.channels, fmt.sample_rate) == (6, 1, 8000)
    assert (fmt.byte_rate, fmt.block_align, fmt.bits_per_sample, fmt.size) == (8000, 1, 8, 18)
    props = read_properties(str(path))
    assert check_wav_header(str(path), props, load_profile("huawei-ivr")) == []


def test_inconsistent_wav_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "hello.wav", "wav-alaw", 8000)
    data = bytearray(path.read_bytes())
    fmt_at = data.index(b"fmt ") + 8
    struct.pack_into("<I", data, fmt_at + 8, 16000)  # byte rate
    path.write_bytes(bytes(data))
    props = read_properties(str(path))
    (f,) = check_wav_header(str(path), props, load_profile("huawei-ivr"))
    assert (
        f.code == "wav_header" and f.severity is Severity.ERROR and "byte rate 16000" in f.message
    )


def test_read_wav_fmt_refuses_non_wav(tmp_path: Path) -> None:
    path = write(tmp_path / "x.gsm", "gsm", 8000)
    assert read_wav_fmt(str(path)) is None


def test_rule_messages_use_the_format_names_users_pass_and_short_lists() -> None:
    vod = load_profile("tencent-vod-voice")
    props = dataclasses.replace(GOOD[vod.name], codec="ulaw", sample_rate=8000)
    codec, rate = check_properties(props, vod, predicted=True, chosen_format="wav-ulaw")
    assert codec.message.startswith("the audio would be encoded as wav-ulaw;")
    assert "accepts wav-pcm16 or mp3 (voiceprep's default;" in codec.message
    assert "drop --format to get the profile's wav-pcm16, or use --format mp3" in codec.message
    assert "16000, 22050, 24000, 32000, 44100 or 48000 Hz" in rate.message
    assert "wav-ulaw is 8000 Hz only" in rate.message and "pcm_16" not in rate.message


def test_an_undocumented_rule_that_cites_vendors_md_is_not_called_undocumented() -> None:
    huawei = load_profile("huawei-ivr")
    props = dataclasses.replace(GOOD[huawei.name], container="mp3", codec="mp3", bit_depth=None)
    (f,) = check_properties(props, huawei, chosen_format="mp3")
    assert f.severity is Severity.WARNING and "does not document" not in f.message
    assert "(voiceprep's default, from VENDORS.md §3.3" in f.message


def _custom(base: str, **rules: Rule) -> Any:
    profile = load_profile(base)
    return dataclasses.replace(profile, rules=dict(profile.rules, **rules))


def test_a_profile_whose_own_format_breaks_its_rule_is_told_to_fix_the_profile() -> None:
    profile = _custom("yeastar-prompt", bit_depth=Rule("bit_depth", documented=True, allowed=(24,)))
    props = dataclasses.replace(
        GOOD["yeastar-prompt"], container="wav", codec="pcm_16", bit_depth=16
    )
    (own,) = check_properties(props, profile, predicted=True)
    assert own.message.startswith("the file would be 16-bit; Yeastar")
    assert "accepts 24-bit" in own.message and "drop --format" not in own.message
    assert "the profile's own output format, wav-pcm16, breaks its bit_depth rule" in own.message
    (chosen,) = check_properties(props, profile, predicted=True, chosen_format="wav-pcm16")
    assert "drop --format" not in chosen.message  # the same format as the profile's
    alaw = dataclasses.replace(props, codec="alaw", bit_depth=8)
    (picked,) = check_properties(alaw, profile, predicted=True, chosen_format="wav-alaw")
    assert "drop --format to get the profile's wav-pcm16" in picked.message


def test_a_channels_rule_asking_for_two_is_not_told_to_downmix() -> None:
    profile = _custom("yeastar-prompt", channels=Rule("channels", documented=True, allowed=(2,)))
    (f,) = check_properties(GOOD["yeastar-prompt"], profile, predicted=True)
    assert "downmix" not in f.message and "mono files only" in f.message
    assert "accepts 2 channels" in f.message
    (mono,) = check_properties(
        dataclasses.replace(GOOD["yeastar-prompt"], channels=2), load_profile("yeastar-prompt")
    )
    assert "downmix to mono" in mono.message


@pytest.mark.parametrize(
    ("name", "stem", "says"),
    [
        ("yeastar-prompt", "my prompt(2)", "not allowed: a space, '(', ')'"),
        ("huawei-ivr", "a" * 53, "is 53 characters long, 3 over the limit"),
    ],
)
def test_a_bad_file_name_names_what_is_wrong(name: str, stem: str, says: str) -> None:
    profile = load_profile(name)
    (f,) = check_properties(dataclasses.replace(GOOD[name], stem=stem), profile)
    assert says in f.message and "let voiceprep name the output (the default)" in f.message
    assert "safe_stem" not in f.message


def test_a_predicted_size_says_it_is_worked_out_before_encoding() -> None:
    profile = load_profile("yeastar-prompt")
    profile = _custom("yeastar-prompt", file_size=Rule("file_size", documented=True, maximum=40000))
    mp3 = dataclasses.replace(
        GOOD["yeastar-prompt"],
        container="mp3",
        codec="mp3",
        bit_depth=None,
        bytes=233_024,
        bytes_exact=False,
    )
    (f,) = check_properties(mp3, profile, predicted=True, chosen_format="mp3")
    assert f.severity is Severity.WARNING
    assert f.message.startswith("before encoding, the file is estimated at up to about 0.23 MB")
    (wav,) = check_properties(
        dataclasses.replace(GOOD["yeastar-prompt"], bytes=232_044), profile, predicted=True
    )
    assert wav.message.startswith("before encoding, the file is worked out at 0.23 MB")
    (written,) = check_properties(dataclasses.replace(mp3, bytes=46_440, bytes_exact=True), profile)
    assert written.message.startswith("the file is 0.05 MB (46,440 bytes)")
