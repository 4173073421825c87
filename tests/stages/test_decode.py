"""Decode: every format, every bad input, the duration limit, and no exception ever escaping."""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.clip import Clip, Severity
from stages.decode import Decode, _parse_ffmpeg_probe, sniff_container
from tests.conftest import speechlike, tone


def decode(path: Path | str, **config: Any) -> Clip:
    return Decode(**config)(Clip(str(path)))


def errors(clip: Clip) -> list[str]:
    return [f.code for f in clip.findings if f.severity is Severity.ERROR]


def warnings(clip: Clip) -> list[str]:
    return [f.code for f in clip.findings if f.severity is Severity.WARNING]


def ffmpeg_encode(path: Path, audio: np.ndarray, rate: int, *codec: str) -> None:
    import imageio_ffmpeg

    channels = 1 if audio.ndim == 1 else audio.shape[1]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "f32le", "-ar", str(rate),
           "-ac", str(channels), "-i", "-", *codec, str(path)]  # fmt: skip
    subprocess.run(cmd, input=audio.astype("<f4").tobytes(), check=True)


def wav_header(*, data_bytes: int, rate: int = 16000, channels: int = 1, bits: int = 16) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    return (
        b"RIFF" + struct.pack("<I", min(36 + data_bytes, 0xFFFFFFFF)) + b"WAVE"
        + b"fmt " + struct.pack("<I", 16) + fmt
        + b"data" + struct.pack("<I", data_bytes)
    )  # fmt: skip


STEREO = np.stack([tone(440, 1.0, 44100), tone(660, 1.0, 44100, amp=0.25)], axis=1)

# (file name, format, subtype, rate, channels, container, codec, bit_depth, lossless)
SOUNDFILE_CASES = [
    ("pcm16.wav", "WAV", "PCM_16", 16000, 1, "wav", "pcm_16", 16, True),
    ("pcm24.wav", "WAV", "PCM_24", 48000, 2, "wav", "pcm_24", 24, True),
    ("pcm32.wav", "WAV", "PCM_32", 22050, 1, "wav", "pcm_32", 32, True),
    ("u8.wav", "WAV", "PCM_U8", 8000, 1, "wav", "pcm_u8", 8, True),
    ("float.wav", "WAV", "FLOAT", 44100, 2, "wav", "float", 32, True),
    ("double.wav", "WAV", "DOUBLE", 16000, 1, "wav", "double", 64, True),
    ("alaw.wav", "WAV", "ALAW", 8000, 1, "wav", "alaw", 8, False),
    ("ulaw.wav", "WAV", "ULAW", 8000, 1, "wav", "ulaw", 8, False),
    ("gsm.wav", "WAV", "GSM610", 8000, 1, "wav", "gsm610", None, False),
    ("a.rf64", "RF64", "PCM_16", 16000, 1, "rf64", "pcm_16", 16, True),
    ("a.flac", "FLAC", "PCM_16", 44100, 2, "flac", "pcm_16", 16, True),
    ("a24.flac", "FLAC", "PCM_24", 16000, 1, "flac", "pcm_24", 24, True),
    ("a.ogg", "OGG", "VORBIS", 22050, 2, "ogg", "vorbis", None, False),
    ("a.opus", "OGG", "OPUS", 48000, 1, "ogg", "opus", None, False),
    ("a.mp3", "MP3", "MPEG_LAYER_III", 44100, 1, "mp3", "mp3", None, False),
    ("a.aiff", "AIFF", "PCM_16", 16000, 1, "aiff", "pcm_16", 16, True),
    ("a.au", "AU", "PCM_16", 8000, 1, "au", "pcm_16", 16, True),
]


@pytest.mark.parametrize(
    ("name", "fmt", "subtype", "rate", "channels", "container", "codec", "bits", "lossless"),
    SOUNDFILE_CASES,
)
def test_decode_reads_format_with_its_source_info(
    tmp_path, name, fmt, subtype, rate, channels, container, codec, bits, lossless
):
    audio = speechlike(1.5, rate, seed=1)
    if channels == 2:
        audio = np.stack([audio, 0.5 * audio], axis=1)
    path = tmp_path / name
    sf.write(path, audio, rate, format=fmt, subtype=subtype)

    clip = decode(path)

    assert clip.findings == []
    assert clip.samples is not None and clip.samples.dtype == np.float32
    assert clip.samples.shape[1:] == (() if channels == 1 else (channels,))
    assert clip.rate == rate
    info = clip.info
    assert info is not None
    assert (info.container, info.codec, info.channels, info.sample_rate, info.bit_depth) == (
        container, codec, channels, rate, bits,
    )  # fmt: skip
    assert info.bytes == path.stat().st_size
    assert info.duration_s == pytest.approx(1.5, abs=0.08)
    assert clip.metrics["source_duration_s"] == info.duration_s
    assert clip.name == ""
    if lossless:
        step = 2.0 ** (1 - (bits or 16))
        np.testing.assert_allclose(clip.samples, audio, atol=step)


@pytest.mark.parametrize("case", SOUNDFILE_CASES, ids=lambda case: case[0])
def test_decoded_samples_are_libsndfiles_float_samples_bit_for_bit(tmp_path, case):
    name, fmt, subtype, rate, channels, *_ = case
    rng = np.random.default_rng(7)
    audio = np.clip(rng.standard_normal((rate // 2, channels)) * 0.4, -1, 1)
    audio[:4] = [[-1.0] * channels, [1.0] * channels, [0.5**15] * channels, [-(0.5**16)] * channels]
    path = tmp_path / name
    sf.write(path, audio, rate, format=fmt, subtype=subtype)

    clip = decode(path)

    expected, _ = sf.read(path, dtype="float32", always_2d=False)
    assert clip.samples is not None
    np.testing.assert_array_equal(clip.samples, expected)


def test_decode_reads_m4a_through_ffmpeg(tmp_path):
    path = tmp_path / "voice.m4a"
    ffmpeg_encode(path, STEREO, 44100, "-c:a", "aac", "-b:a", "64k")

    clip = decode(path)

    assert clip.findings == []
    assert clip.info is not None
    assert (clip.info.container, clip.info.codec, clip.info.channels) == ("mp4", "aac", 2)
    assert (clip.rate, clip.info.bit_depth) == (44100, None)
    assert clip.samples is not None and clip.samples.shape[1] == 2
    assert clip.samples.dtype == np.float32
    assert clip.info.duration_s == pytest.approx(1.0, abs=0.05)
    # The louder channel stays left: channels are not swapped or mixed.
    left, right = np.sqrt(np.mean(clip.samples**2, axis=0))
    assert left == pytest.approx(2 * right, rel=0.1)


def test_decode_reads_mov_with_pcm_track(tmp_path):
    path = tmp_path / "clip.mov"
    ffmpeg_encode(path, tone(300, 0.5, 16000), 16000, "-c:a", "pcm_s16le")
    clip = decode(path)
    assert clip.findings == []
    assert clip.info is not None
    assert (clip.info.container, clip.info.codec, clip.info.bit_depth) == ("mp4", "pcm_s16le", 16)
    assert clip.samples is not None and clip.samples.shape == (8000,)


# Voice memos and old IVR systems: (file name, ffmpeg codec arguments, rate, container, codec)
FFMPEG_ONLY_CASES = [
    ("memo.amr", ("-c:a", "libopencore_amrnb", "-b:a", "12.2k"), 8000, "amr", "amr_nb"),
    ("memo.wma", ("-c:a", "wmav2"), 16000, "asf", "wmav2"),
    ("take.wv", ("-c:a", "wavpack"), 16000, "wavpack", "wavpack"),
    ("browser.webm", ("-c:a", "libopus"), 48000, "webm", "opus"),
    ("phone.3gp", ("-c:a", "aac"), 16000, "mp4", "aac"),
    ("g722.wav", ("-c:a", "g722"), 16000, "wav", "adpcm_g722"),
]


@pytest.mark.parametrize(("name", "codec_args", "rate", "container", "codec"), FFMPEG_ONLY_CASES)
def test_decode_reads_what_only_ffmpeg_reads(
    tmp_path: Path, name: str, codec_args: tuple[str, ...], rate: int, container: str, codec: str
) -> None:
    path = tmp_path / name
    ffmpeg_encode(path, speechlike(2.0, rate), rate, *codec_args)
    clip = decode(path)
    assert errors(clip) == [] and clip.info is not None
    assert (clip.info.container, clip.info.codec) == (container, codec)
    assert clip.duration_s == pytest.approx(2.0, abs=0.1)
    assert clip.samples is not None and np.sqrt(np.mean(clip.samples**2)) > 0.01


def test_decode_reads_mp3_in_wav_without_calling_it_truncated(tmp_path: Path) -> None:
    # libsndfile reads MPEG in WAV, but its frame count is an estimate a few frames long.
    path = tmp_path / "ivr_mp3.wav"
    ffmpeg_encode(path, speechlike(3.0, 16000), 16000, "-c:a", "libmp3lame", "-b:a", "32k")
    clip = decode(path)
    assert errors(clip) == [] and "truncated_input" not in warnings(clip)
    assert clip.duration_s == pytest.approx(3.0, abs=0.1)


def test_decode_reads_vbr_mp3_without_xing_header_to_the_end(tmp_path):
    path = tmp_path / "vbr.mp3"
    ffmpeg_encode(path, speechlike(3.0, 16000), 16000,
                  "-c:a", "libmp3lame", "-q:a", "6", "-write_xing", "0")  # fmt: skip
    clip = decode(path)
    assert clip.findings == []
    assert clip.duration_s == pytest.approx(3.0, abs=0.15)


def test_decode_reads_raw_gsm(tmp_path):
    path = tmp_path / "prompt.gsm"
    sf.write(path, speechlike(1.0, 8000), 8000, format="RAW", subtype="GSM610")
    clip = decode(path)
    assert clip.findings == []
    assert clip.info is not None
    assert (clip.info.container, clip.info.codec, clip.rate) == ("raw", "gsm610", 8000)
    assert clip.duration_s == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    ("name", "fmt", "subtype", "real"),
    [
        ("song.wav", "MP3", "MPEG_LAYER_III", "MP3"),
        ("voice.mp3", "WAV", "PCM_16", "WAV"),
        ("voice.ogg", "FLAC", "PCM_16", "FLAC"),
    ],
)
def test_mislabelled_content_decodes_with_extension_mismatch_warning(
    tmp_path, name, fmt, subtype, real
):
    path = tmp_path / name
    sf.write(path, tone(440, 1.0, 16000), 16000, format=fmt, subtype=subtype)
    clip = decode(path)
    assert warnings(clip) == ["extension_mismatch"]
    assert errors(clip) == []
    assert real in clip.findings[0].message
    assert clip.samples is not None and clip.duration_s == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize("name", ["take1", "take1.dat", "take1.WAV"])
def test_no_mismatch_warning_when_extension_promises_nothing_or_matches(tmp_path, name):
    path = tmp_path / name
    sf.write(path, tone(440, 0.2, 8000), 8000, format="WAV")
    assert decode(path).findings == []


def test_missing_file_is_missing_input(tmp_path):
    clip = decode(tmp_path / "nope.wav")
    assert errors(clip) == ["missing_input"]
    assert clip.samples is None


def test_directory_is_missing_input(tmp_path):
    assert errors(decode(tmp_path)) == ["missing_input"]


def test_zero_byte_file_is_empty_input(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert errors(decode(path)) == ["empty_input"]


def test_wav_with_zero_frames_is_empty_input(tmp_path):
    path = tmp_path / "none.wav"
    path.write_bytes(wav_header(data_bytes=0))
    assert errors(decode(path)) == ["empty_input"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.mp3", b"Remember to re-record the greeting.\n"),
        ("logo.wav", b"\x89PNG\r\n\x1a\n" + bytes(100)),
        ("bundle.wav", b"PK\x03\x04" + bytes(100)),
        ("page.m4a", b"<!DOCTYPE html><html><body>404</body></html>"),
    ],
)
def test_non_audio_is_unsupported_format(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    clip = decode(path)
    assert errors(clip) == ["unsupported_format"]
    assert clip.samples is None


def test_a_well_formed_wav_in_an_encoding_no_decoder_reads_is_unsupported_format(tmp_path):
    """36-bit PCM (scipy writes it): the file is sound, nothing here decodes it."""
    data = bytes(range(50)) * 4
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000 * 5, 5, 36)
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
    body += struct.pack("<I", len(data)) + data
    path = tmp_path / "pcm36.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    clip = decode(path)
    assert errors(clip) == ["unsupported_format"]
    assert "16- or 24-bit PCM" in clip.findings[0].message


def test_riff_header_with_garbage_is_corrupt_input(tmp_path):
    path = tmp_path / "corrupt.wav"
    rng = np.random.default_rng(0)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4004) + b"WAVE" + rng.bytes(4000))
    assert errors(decode(path)) == ["corrupt_input"]


@pytest.mark.parametrize(
    "magic", [b"fLaC", b"OggS", b"ID3\x04\x00\x00\x00\x00\x00\x00", b"\x00\x00\x00\x18ftypM4A "]
)
def test_known_magic_with_garbage_is_corrupt_input(tmp_path, magic):
    path = tmp_path / "x.bin"
    path.write_bytes(magic + np.random.default_rng(1).bytes(3000))
    assert errors(decode(path)) == ["corrupt_input"]


def test_truncated_wav_is_an_error_by_default(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, tone(440, 2.0, 16000), 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: 44 + 32000])
    clip = Decode()(Clip(source=str(path)))
    assert clip.failed and clip.codes() == ["truncated_input"]
    assert "Pass --allow-truncated to use the part that decoded" in clip.findings[0].message
    assert "allow_truncated" not in clip.findings[0].message  # the CLI's words, not Python's
    assert clip.info is not None and clip.info.duration_s == pytest.approx(1.0)


def test_a_truncated_wav_with_nothing_decoded_does_not_suggest_allow_truncated(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, tone(440, 2.0, 16000), 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:44])
    clip = Decode()(Clip(source=str(path)))
    if clip.codes() == ["truncated_input"]:  # libsndfile may call it empty instead
        message = clip.findings[0].message
        assert "--allow-truncated" not in message and "no part to use" in message


def test_truncated_wav_decodes_what_is_there_with_a_warning(tmp_path):
    audio = tone(440, 2.0, 16000)
    path = tmp_path / "cut.wav"
    sf.write(path, audio, 16000, subtype="PCM_16")
    whole = path.read_bytes()
    path.write_bytes(whole[: 44 + 32000])  # the first second only

    clip = decode(path, allow_truncated=True)

    assert warnings(clip) == ["truncated_input"]
    assert clip.samples is not None and clip.samples.shape == (16000,)
    np.testing.assert_allclose(clip.samples, audio[:16000], atol=2**-15)
    assert clip.info is not None and clip.info.duration_s == pytest.approx(1.0)


def test_truncated_flac_decodes_what_is_there_with_a_warning(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, speechlike(4.0, 16000), 16000, format="FLAC")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    clip = decode(path, allow_truncated=True)
    assert warnings(clip) == ["truncated_input"]
    assert 0 < clip.duration_s < 4.0


def test_wav_header_without_any_of_its_data_is_corrupt_input(tmp_path):
    path = tmp_path / "header_only.wav"
    path.write_bytes(wav_header(data_bytes=32000))
    assert errors(decode(path)) == ["corrupt_input"]


def test_streamed_wav_with_unknown_data_size_decodes(tmp_path):
    path = tmp_path / "streamed.wav"
    pcm = (tone(440, 1.0, 16000) * 32767).astype("<i2").tobytes()
    path.write_bytes(wav_header(data_bytes=0xFFFFFFFF)[:-4] + b"\xff\xff\xff\xff" + pcm)
    clip = decode(path)
    assert errors(clip) == []
    assert clip.duration_s == pytest.approx(1.0)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any audio is actually decoded."""

    def refuse(*args, **kwargs):
        raise AssertionError("decoded audio that should have been refused from its header")

    monkeypatch.setattr(sf.SoundFile, "read", refuse)


def test_header_claiming_two_hours_is_refused_without_decoding(tmp_path, no_decoding):
    path = tmp_path / "huge.wav"
    path.write_bytes(wav_header(data_bytes=16000 * 2 * 7200) + bytes(3200))
    clip = decode(path)
    assert errors(clip) == ["input_too_long"]
    assert "7200" in clip.findings[0].message
    assert clip.samples is None


@pytest.mark.parametrize(("name", "fmt"), [("a.wav", "WAV"), ("a.flac", "FLAC"), ("a.mp3", "MP3")])
def test_input_over_max_duration_is_refused_without_decoding(tmp_path, no_decoding, name, fmt):
    path = tmp_path / name
    sf.write(path, tone(440, 3.0, 16000), 16000, format=fmt)
    clip = decode(path, max_duration_s=1.0)
    assert errors(clip) == ["input_too_long"]
    assert clip.samples is None


def test_m4a_over_max_duration_is_refused(tmp_path):
    path = tmp_path / "long.m4a"
    ffmpeg_encode(path, tone(440, 3.0, 16000), 16000, "-c:a", "aac")
    clip = decode(path, max_duration_s=1.0)
    assert errors(clip) == ["input_too_long"]
    assert clip.samples is None


def test_input_just_under_max_duration_decodes(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(440, 3.0, 16000), 16000)
    assert decode(path, max_duration_s=3.0).findings == []


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_symlink_to_dev_zero_is_refused_at_once(tmp_path):
    link = tmp_path / "zero.wav"
    link.symlink_to("/dev/zero")
    assert errors(decode(link)) == ["unsupported_format"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    assert errors(decode(fifo)) == ["unsupported_format"]


def test_float_wav_with_nan_is_scrubbed_with_a_warning(tmp_path):
    audio = tone(440, 0.5, 16000)
    audio[100:110] = np.nan
    audio[200] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    clip = decode(path)
    assert warnings(clip) == ["nonfinite_samples"]
    assert clip.samples is not None and np.isfinite(clip.samples).all()
    assert clip.samples[200] == 1.0 and (clip.samples[100:110] == 0).all()


def test_decode_keeps_the_name_the_runner_gave(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(440, 0.2, 8000), 8000)
    clip = Decode()(Clip(str(path), name="greeting_01"))
    assert clip.name == "greeting_01"


@pytest.mark.parametrize(
    ("head", "container"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"RF64\xff\xff\xff\xffWAVEds64", "rf64"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"OggS\x00\x02", "ogg"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64", "mp3"),  # MPEG-1 layer III, 128 kb/s, 44.1 kHz
        (b"\xff\xf1\x60\x40", "aac"),  # ADTS
        (b"\x00\x00\x00\x20ftypisom", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "mp4"),
        (b"FORM\x00\x00\x10\x00AIFF", "aiff"),
        (b"FORM\x00\x00\x10\x00AIFC", "aiff"),
        (b"hello world, not audio", None),
        (b"\xff\xfb\xf0\x64", None),  # bitrate index 15 is invalid: not a frame
        (b"", None),
    ],
)
def test_sniff_container_reads_magic_bytes(head, container):
    assert sniff_container(head) == container


def test_ffmpeg_probe_parses_duration_codec_rate_and_layout():
    text = (
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.m4a':\n"
        "  Duration: 01:02:03.50, start: 0.000000, bitrate: 35 kb/s\n"
        "  Stream #0:0[0x1](und): Video: h264, yuv420p, 640x480\n"
        "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, 5.1(side), "
        "fltp, 320 kb/s (default)\n"
    )
    probe = _parse_ffmpeg_probe(text)
    assert probe.duration_s == pytest.approx(3723.5)
    assert (probe.codec, probe.rate, probe.channels) == ("aac", 48000, 6)
    odd = _parse_ffmpeg_probe("  Stream #0:0: Audio: opus, 48000 Hz, 3 channels, fltp\n")
    assert (odd.duration_s, odd.codec, odd.channels) == (None, "opus", 3)


def test_video_without_audio_is_unsupported_format(tmp_path):
    import imageio_ffmpeg

    path = tmp_path / "silent_film.mp4"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
           "color=c=black:s=32x32:d=0.2", "-c:v", "mpeg4", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True)
    clip = decode(path)
    assert errors(clip) == ["unsupported_format"]
    assert "no audio track" in clip.findings[0].message


@pytest.mark.parametrize(
    "name, inputs",
    [
        # a video longer than its sound
        ("short_sound.mp4", ["-f", "lavfi", "-i", "color=c=black:s=32x32:d=3",
                             "-f", "lavfi", "-i", "sine=f=440:d=1.5", "-c:v", "mpeg4"]),
        # a second audio track, longer than the first
        ("two_tracks.m4a", ["-f", "lavfi", "-i", "sine=f=440:d=1.5",
                            "-f", "lavfi", "-i", "sine=f=660:d=3", "-map", "0", "-map", "1"]),
    ],
)  # fmt: skip
def test_a_complete_file_with_other_streams_is_not_truncated(tmp_path, name, inputs):
    import imageio_ffmpeg

    path = tmp_path / name
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *inputs, str(path)]
    subprocess.run(cmd, check=True)
    clip = decode(path)
    assert "truncated_input" not in clip.codes()
    assert clip.duration_s == pytest.approx(1.5, abs=0.1)


def test_bundled_fixtures_decode_as_labelled(fixtures_dir, fixture_labels):
    for rel, label in fixture_labels.items():
        clip = decode(fixtures_dir / rel)
        assert clip.codes() == label["decode_findings"], rel
        if rel.startswith("session/"):
            assert clip.info is not None
            assert clip.rate == label["rate"], rel
            assert clip.info.channels == label["channels"], rel
            assert clip.info.container == label["container"], rel
            assert clip.duration_s == pytest.approx(label["duration_s"], abs=0.06), rel


MAGICS = [b"", b"RIFF\x24\x00\x00\x00WAVE", b"RF64\xff\xff\xff\xffWAVE", b"fLaC", b"OggS",
          b"ID3\x03\x00\x00\x00\x00\x00\x00", b"\xff\xfb\x90\x64", b"FORM\x00\x00\x00\x00AIFF",
          b"\x00\x00\x00\x18ftypM4A ", b"\xff\xf1\x60\x40", b".snd", b"caff"]  # fmt: skip
EXTENSIONS = [".wav", ".mp3", ".m4a", ".flac", ".gsm", ""]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    magic=st.sampled_from(MAGICS),
    body=st.binary(max_size=600),
    ext=st.sampled_from(EXTENSIONS),
)
def test_arbitrary_bytes_never_raise_out_of_decode(magic, body, ext):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{ext}"
        path.write_bytes(magic + body)
        clip = decode(path)
    decoded = clip.samples is not None
    assert decoded != clip.failed
    if decoded:
        assert clip.samples is not None and clip.samples.dtype == np.float32
        assert clip.samples.shape[0] > 0 and np.isfinite(clip.samples).all()
        assert clip.info is not None and clip.rate == clip.info.sample_rate > 0


def test_a_file_name_that_is_not_utf8_decodes(tmp_path):
    # soundfile encodes str paths strictly as UTF-8; os.listdir gives such names as surrogates.
    import os
    import shutil

    take = os.fsencode(tmp_path) + b"/\xff\xfe.wav"
    shutil.copy(os.fsencode("fixtures/session/greeting_en-us_16k.wav"), take)
    (name,) = os.listdir(tmp_path)
    clip = Decode()(Clip(source=os.path.join(tmp_path, name)))
    assert not clip.failed and clip.samples is not None and clip.rate == 16000


# --- channel layouts: any layout ffmpeg names, not a hand list ---------------------------

LAYOUTS = [("3.1", 4), ("4.1", 5), ("hexagonal", 6), ("octagonal", 8)]


@pytest.mark.parametrize(("layout", "channels"), LAYOUTS)
@pytest.mark.parametrize(("name", "codec"), [("multi.m4a", "aac"), ("multi.mka", "flac")])
def test_multichannel_layouts_decode_with_every_channel(tmp_path, layout, channels, name, codec):
    import imageio_ffmpeg

    path = tmp_path / name
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
           "sine=f=300:r=16000:d=0.5", "-af", f"aformat=channel_layouts={layout}",
           "-c:a", codec, str(path)]  # fmt: skip
    subprocess.run(cmd, check=True)
    clip = decode(path)
    assert clip.findings == [] and clip.info is not None
    assert clip.info.channels == channels
    assert clip.samples is not None and clip.samples.shape == (8000, channels)


def test_ffmpeg_probe_reads_layouts_by_ffmpegs_own_table():
    def channels(layout: str) -> int | None:
        line = f"  Stream #0:0: Audio: aac (LC), 48000 Hz, {layout}, fltp, 320 kb/s\n"
        return _parse_ffmpeg_probe(line).channels

    assert channels("hexagonal") == 6
    assert channels("7.1(wide-side)") == 8
    assert channels("22.2") == 24
    assert channels("3 channels (FL+FR+LFE)") == 3
    assert channels("ambisonic 1") == 4
    assert channels("not a layout") is None


# --- streamed FLAC: no length in STREAMINFO ----------------------------------------------


def streamed_flac(path: Path, audio: np.ndarray, rate: int) -> None:
    """A FLAC written to a pipe: STREAMINFO's total samples stay 0 (allowed: unknown)."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", str(rate),
           "-ac", "1", "-i", "-", "-c:a", "flac", "-f", "flac", "-"]  # fmt: skip
    done = subprocess.run(cmd, input=audio.astype("<f4").tobytes(), capture_output=True, check=True)
    path.write_bytes(done.stdout)
    assert sf.info(str(path)).frames == 2**63 - 1  # libsndfile's "unknown"


def test_streamed_flac_without_total_samples_decodes_to_its_end(tmp_path):
    path = tmp_path / "piped.flac"
    streamed_flac(path, speechlike(3.0, 16000), 16000)
    clip = decode(path)
    assert clip.findings == []
    assert clip.duration_s == pytest.approx(3.0, abs=0.01)


def test_streamed_flac_past_the_limit_is_too_long(tmp_path):
    path = tmp_path / "piped.flac"
    streamed_flac(path, speechlike(3.0, 16000), 16000)
    clip = decode(path, max_duration_s=1.0)
    assert errors(clip) == ["input_too_long"] and clip.samples is None
    assert "1 s limit" in clip.findings[0].message


# --- memory: frames x channels kept, not just the duration --------------------------------


@pytest.fixture
def small_budget(monkeypatch):
    """A 100,000-value budget, so seconds of test audio stand for a 3.7 GB source."""
    import stages.decode_memory

    monkeypatch.setattr(stages.decode_memory, "MIN_KEPT_VALUES", 100_000)
    monkeypatch.setattr(stages.decode_memory, "KEPT_VALUES_PER_S", 0)


def eight_channels(frames: int, rate: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    audio = np.stack([tone(200 + 50 * c, frames / rate, rate, amp=0.1) for c in range(8)], 1)
    return (audio + rng.normal(0, 0.01, audio.shape)).astype(np.float32)


@pytest.mark.parametrize(("name", "codec"), [("many.flac", None), ("many.mka", "flac")])
def test_many_channels_over_the_budget_keep_normalizes_downmix(tmp_path, small_budget, name, codec):
    from stages.normalize import downmix

    path = tmp_path / name
    if codec is None:
        sf.write(path, eight_channels(24000, 48000), 48000, subtype="PCM_16")
    else:
        ffmpeg_encode(path, eight_channels(24000, 48000), 48000, "-c:a", codec)
    whole, _ = sf.read(path, dtype="float32") if codec is None else (None, None)

    clip = decode(path)

    assert clip.findings == [] and clip.info is not None
    assert (clip.info.channels, clip.rate, clip.duration_s) == (8, 48000, 0.5)
    assert clip.samples is not None and clip.samples.shape == (24000,)
    if whole is not None:  # bit for bit what normalize would have made of all 8 channels
        np.testing.assert_array_equal(clip.samples, downmix(whole))


def test_ffmpeg_output_is_read_in_blocks_not_held_twice(tmp_path, small_budget):
    import tracemalloc

    path = tmp_path / "many.mka"
    ffmpeg_encode(path, eight_channels(96000, 48000), 48000, "-c:a", "flac")  # 12 MB as f32
    tracemalloc.start()
    try:
        clip = decode(path, max_duration_s=10.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert clip.findings == [] and clip.samples is not None and clip.samples.shape == (96000,)
    assert peak < clip.samples.nbytes + 4_000_000  # the mono copy and a 1 MiB block or two


def test_source_whose_downmix_passes_the_budget_is_refused_unread(tmp_path, no_decoding):
    import stages.decode_memory

    path = tmp_path / "hires.flac"
    sf.write(path, eight_channels(40000, 192000), 192000, subtype="PCM_16")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stages.decode_memory, "MIN_KEPT_VALUES", 30_000)
        patch.setattr(stages.decode_memory, "KEPT_VALUES_PER_S", 0)
        clip = decode(path)
    assert errors(clip) == ["input_too_large"] and clip.samples is None
    message = clip.findings[0].message
    assert "8 channels at 192000 Hz" in message and "48 kHz" in message


def test_stereo_under_the_budget_keeps_both_channels(tmp_path, small_budget):
    path = tmp_path / "stereo.wav"
    sf.write(path, STEREO[:40000], 44100)
    clip = decode(path)
    assert clip.samples is not None and clip.samples.shape == (40000, 2)


# --- truncated compressed files ----------------------------------------------------------


def cut_in_half(path: Path) -> Path:
    whole = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(whole[: len(whole) // 2])
    return cut


# (file name, ffmpeg codec arguments): a cut copy of each must not pass as whole.
CUT_CASES = [
    ("faststart.m4a", ("-c:a", "aac", "-movflags", "+faststart")),
    ("vbr_xing.mp3", ("-c:a", "libmp3lame", "-q:a", "4")),
    ("cbr_xing.mp3", ("-c:a", "libmp3lame", "-b:a", "32k")),
    ("vorbis.ogg", ("-c:a", "libvorbis")),
    ("voice.opus", ("-c:a", "libopus")),
    # No length up front: the frame headers (cut mid-frame) and the ASF file size tell.
    ("cbr_no_xing.mp3", ("-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0")),
    ("memo.wma", ("-c:a", "wmav2")),
]


@pytest.mark.parametrize(("name", "codec_args"), CUT_CASES)
def test_compressed_file_cut_in_half_is_truncated_input(tmp_path, name, codec_args):
    path = tmp_path / name
    ffmpeg_encode(path, speechlike(4.0, 16000), 16000, *codec_args)
    cut = cut_in_half(path)

    clip = decode(cut)
    assert errors(clip) == ["truncated_input"] and clip.samples is None
    assert "--allow-truncated" in clip.findings[0].message

    allowed = decode(cut, allow_truncated=True)
    assert warnings(allowed) == ["truncated_input"]
    assert allowed.samples is not None and 0.5 < allowed.duration_s < 3.0


# Complete files must never be called truncated: encoder delay and padding, bitrate
# estimates without a Xing header, MPEG-2.5 at 8 kHz, stereo.
COMPLETE_CASES = [
    *CUT_CASES,
    ("plain.m4a", ("-c:a", "aac")),
    ("vbr_no_xing.mp3", ("-c:a", "libmp3lame", "-q:a", "7", "-write_xing", "0")),
    ("layer2.mp3", ("-c:a", "mp2", "-f", "mp2")),
    ("browser.webm", ("-c:a", "libopus")),
]


@pytest.mark.parametrize(("rate", "channels", "seconds"), [(8000, 1, 0.7), (44100, 2, 3.1)])
@pytest.mark.parametrize(("name", "codec_args"), COMPLETE_CASES)
def test_complete_compressed_files_are_not_truncated(
    tmp_path, name, codec_args, rate, channels, seconds
):
    if name.endswith((".opus", ".webm")) and rate == 44100:
        rate = 48000  # Opus runs at 48 kHz
    audio = speechlike(seconds, rate, seed=4)
    if channels == 2:
        audio = np.stack([audio, 0.5 * audio], axis=1)
    path = tmp_path / name
    ffmpeg_encode(path, audio, rate, *codec_args)
    clip = decode(path)
    assert clip.findings == []
    assert clip.duration_s == pytest.approx(seconds, abs=0.25)


def ogg_pages(data: bytes) -> list[tuple[int, int]]:
    """``(offset, length)`` of every page of a whole Ogg file, in order."""
    pages, at = [], 0
    while at < len(data):
        assert data[at : at + 4] == b"OggS"
        segments = data[at + 26]
        length = 27 + segments + sum(data[at + 27 : at + 27 + segments])
        pages.append((at, length))
        at += length
    return pages


def ogg_crc(page: bytes) -> int:
    """An Ogg page's checksum: CRC-32, polynomial 0x04C11DB7, unreflected, its own field 0."""
    page = page[:22] + bytes(4) + page[26:]
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = (crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def rewrite_ogg_page(
    path: Path, index: int, *, flags: int | None = None, granule: int | None = None
) -> None:
    """Set page ``index``'s header flags or granule position, with a valid checksum."""
    data = bytearray(path.read_bytes())
    at, length = ogg_pages(bytes(data))[index]
    page = bytearray(data[at : at + length])
    assert ogg_crc(bytes(page)) == struct.unpack_from("<I", page, 22)[0]  # as its writer made it
    if flags is not None:
        page[5] = flags
    if granule is not None:
        struct.pack_into("<q", page, 6, granule)
    struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
    data[at : at + length] = page
    path.write_bytes(bytes(data))


OGG_WRITERS = ["ffmpeg-vorbis", "ffmpeg-opus", "soundfile-vorbis"]


def write_ogg(path: Path, audio: np.ndarray, rate: int, writer: str) -> None:
    if writer == "soundfile-vorbis":
        sf.write(path, audio, rate, format="OGG", subtype="VORBIS")
    else:
        ffmpeg_encode(path, audio, rate, "-c:a", "lib" + writer.removeprefix("ffmpeg-"))


@pytest.mark.parametrize("writer", ["ffmpeg-vorbis", "soundfile-vorbis"])
def test_ogg_whose_last_page_lacks_the_end_of_stream_mark_is_complete(tmp_path, writer):
    # Some encoders never set the flag (548 of KLettres' voice files): the file is whole.
    # Not Opus: RFC 7845 trims a stream's end only on the page that carries the mark, so
    # libsndfile refuses an unmarked last page that trims (truncated_input, as before).
    path = tmp_path / "aeae.ogg"
    write_ogg(path, speechlike(2.0, 48000), 48000, writer)
    rewrite_ogg_page(path, -1, flags=0)
    clip = decode(path)
    assert clip.findings == []
    assert clip.duration_s == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize("writer", OGG_WRITERS)
def test_ogg_cut_at_a_page_boundary_decodes_its_pages_without_a_finding(tmp_path, writer):
    # Whole pages, the last one (with the end mark) missing: indistinguishable from an
    # encoder that never marks the end, and all the audio there is decodes.
    path = tmp_path / "a.ogg"
    write_ogg(path, speechlike(4.0, 16000), 16000, writer)
    whole = path.read_bytes()
    path.write_bytes(whole[: ogg_pages(whole)[-1][0]])
    clip = decode(path)
    assert clip.findings == [] and clip.samples is not None
    assert 1.0 < clip.duration_s < 4.0


def ogg_cut_points(data: bytes) -> dict[str, int]:
    """Byte counts that cut an Ogg file inside a page: in its header pages, its audio."""
    pages = ogg_pages(data)
    first_audio = next(at for at, _ in pages if struct.unpack_from("<q", data, at + 6)[0] > 0)
    middle = next((at, n) for at, n in pages if at >= len(data) // 2)
    return {
        "in the first page header": 20,
        "in the second header page": pages[1][0] + pages[1][1] // 2,
        "in the first audio page": first_audio + 60,
        "in a middle page": middle[0] + middle[1] // 2,
        "in the last page": pages[-1][0] + pages[-1][1] - 1,
    }


@pytest.mark.parametrize("writer", OGG_WRITERS)
def test_ogg_cut_inside_any_page_is_truncated_input(tmp_path, writer):
    path = tmp_path / "voice.ogg"
    write_ogg(path, speechlike(4.0, 16000), 16000, writer)
    whole = path.read_bytes()
    for where, size in ogg_cut_points(whole).items():
        path.write_bytes(whole[:size])
        clip = decode(path)
        assert errors(clip) == ["truncated_input"], where
        assert "partway through an Ogg page" in clip.findings[0].message, where
        if where.startswith("in the first") or "header" in where:
            assert "Nothing of it decoded" in clip.findings[0].message, where


@pytest.mark.parametrize("writer", OGG_WRITERS)
def test_ogg_with_zeros_after_an_unmarked_page_is_truncated_input(tmp_path, writer):
    # A preallocated copy that stopped at a page boundary: the rest of the file is zeros.
    path = tmp_path / "voice.ogg"
    write_ogg(path, speechlike(4.0, 16000), 16000, writer)
    whole = path.read_bytes()
    cut = ogg_pages(whole)[-2][0]
    path.write_bytes(whole[:cut] + bytes(len(whole) - cut))
    clip = decode(path)
    assert errors(clip) == ["truncated_input"]
    assert "bytes that are no Ogg page" in clip.findings[0].message


@pytest.mark.parametrize("dropped", [104, 600])
def test_vorbis_whose_first_samples_are_dropped_is_complete(tmp_path, dropped):
    # A first audio page whose position is lower than its samples: libVorbis drops the
    # difference (at most a packet), so libsndfile decodes less than its length (the last
    # page's position) says. The HyperRogue soundtrack starts at -104.
    path = tmp_path / "ocean.ogg"
    ffmpeg_encode(path, speechlike(3.0, 44100), 44100, "-c:a", "libvorbis")
    data = path.read_bytes()
    positions = [struct.unpack_from("<q", data, at + 6)[0] for at, _ in ogg_pages(data)]
    first_audio = next(i for i, position in enumerate(positions) if position > 0)
    rewrite_ogg_page(path, first_audio, granule=positions[first_audio] - dropped)
    with sf.SoundFile(path) as fh:
        assert fh.frames - fh.read().shape[0] == dropped  # what the check must forgive
    clip = decode(path)
    assert clip.findings == []
    assert clip.duration_s == pytest.approx(3.0 - dropped / 44100, abs=1e-4)


@pytest.mark.parametrize("rate", [16000, 48000])
@pytest.mark.parametrize(("extra_ms", "truncated"), [(100, False), (200, True)])
def test_opus_length_slack_is_one_packet_at_the_stream_rate(tmp_path, rate, extra_ms, truncated):
    # libsndfile decodes Opus at the rate it was encoded from, so the one packet (120 ms) a
    # stream's length may exceed what decodes is counted at that rate, not in 48 kHz frames.
    path = tmp_path / "voice.opus"
    ffmpeg_encode(path, speechlike(2.0, rate), rate, "-c:a", "libopus")
    data = path.read_bytes()
    last = struct.unpack_from("<q", data, ogg_pages(data)[-1][0] + 6)[0]
    rewrite_ogg_page(path, -1, granule=last + 48 * extra_ms)  # positions count 48 kHz
    assert sf.info(str(path)).samplerate == rate
    clip = decode(path)
    assert [f.code for f in clip.findings] == (["truncated_input"] if truncated else [])


def test_ogg_missing_a_page_in_the_middle_is_still_truncated_input(tmp_path):
    path = tmp_path / "voice.ogg"
    ffmpeg_encode(path, speechlike(6.0, 16000), 16000, "-c:a", "libvorbis")
    data = path.read_bytes()
    middle = next((at, n) for at, n in ogg_pages(data) if at >= len(data) // 2)
    path.write_bytes(data[: middle[0]] + data[sum(middle) :])
    assert errors(decode(path)) == ["truncated_input"]


def test_vorbis_cut_inside_its_first_audio_page_is_truncated_not_empty(tmp_path):
    # libsndfile reads no frame of it; the page cut short says why.
    path = tmp_path / "a.ogg"
    sf.write(path, speechlike(8.0, 44100), 44100, format="OGG", subtype="VORBIS")
    whole = path.read_bytes()
    third_page = whole.find(b"OggS", whole.find(b"OggS", 4) + 4)
    path.write_bytes(whole[: third_page + 200])
    for clip in (decode(path), decode(path, allow_truncated=True)):
        assert errors(clip) == ["truncated_input"] and clip.samples is None
        assert "Nothing of it decoded" in clip.findings[0].message


@pytest.mark.parametrize("writer", ["soundfile", "ffmpeg"])
def test_complete_ogg_without_audio_stays_empty_input(tmp_path, writer):
    path = tmp_path / "silent.ogg"
    if writer == "soundfile":  # header pages, then an empty page with the end mark
        sf.write(path, np.zeros(0, np.float32), 16000, format="OGG", subtype="VORBIS")
    else:  # header pages only: ffmpeg writes no end mark when no audio came
        ffmpeg_encode(path, np.zeros(0, np.float32), 16000, "-c:a", "libvorbis")
    assert errors(decode(path)) == ["empty_input"]


def test_cbr_mp3_without_xing_cut_mid_frame_says_so(tmp_path):
    path = tmp_path / "take.mp3"
    codec = ("-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0")
    ffmpeg_encode(path, speechlike(3.0, 44100), 44100, *codec)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) * 9 // 10 + 7])
    clip = decode(path)
    assert errors(clip) == ["truncated_input"]
    assert "middle of an MPEG audio frame" in clip.findings[0].message


@pytest.mark.parametrize(
    "trailer", [b"TAG" + b"greeting".ljust(125, b"\x00"), b"TAG" + bytes(60), b"\x00\x00"]
)
def test_mp3_without_xing_ending_in_a_tag_or_junk_is_complete(tmp_path, trailer):
    # ID3v1 (whole or cut short) and a few stray bytes come after the last whole frame.
    path = tmp_path / "take.mp3"
    codec = ("-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0")
    ffmpeg_encode(path, speechlike(1.5, 16000), 16000, *codec)
    path.write_bytes(path.read_bytes() + trailer)
    assert decode(path).findings == []


def test_streamed_wma_whose_header_gives_no_size_is_not_truncated(tmp_path):
    # Written to a pipe, ffmpeg sets the broadcast flag: the file size field is 0.
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", "16000",
           "-ac", "1", "-i", "-", "-c:a", "wmav2", "-f", "asf", "-"]  # fmt: skip
    audio = speechlike(2.0, 16000).astype("<f4").tobytes()
    path = tmp_path / "live.wma"
    path.write_bytes(subprocess.run(cmd, input=audio, capture_output=True, check=True).stdout)
    clip = decode(path)
    assert clip.findings == [] and clip.duration_s == pytest.approx(2.0, abs=0.25)


# --- MP3 odds and ends -------------------------------------------------------------------


def test_mp3_holding_only_an_id3_tag_is_empty_input(tmp_path):
    body = b"TIT2" + struct.pack(">I", 9) + b"\x00\x00\x03greeting"
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, len(body) + 20]) + body + bytes(20)
    path = tmp_path / "tag_only.mp3"
    path.write_bytes(tag)
    clip = decode(path)
    assert errors(clip) == ["empty_input"]
    assert "ID3" in clip.findings[0].message


def test_mp3_whose_xing_size_is_off_decodes_without_a_word_on_the_terminal(tmp_path, capfd):
    path = tmp_path / "appended.mp3"
    ffmpeg_encode(path, speechlike(2.0, 16000), 16000, "-c:a", "libmp3lame", "-q:a", "4")
    path.write_bytes(path.read_bytes() + bytes(20000))  # e.g. a tool that pads the file
    capfd.readouterr()
    clip = decode(path)
    assert capfd.readouterr().err == ""
    assert clip.findings == [] and clip.duration_s == pytest.approx(2.0, abs=0.1)


def test_ffmpeg_pcm_split_mid_frame_by_the_pipe_is_put_back_together():
    import io

    from stages.decode import _Probe, _read_pcm
    from stages.decode_memory import SampleSink

    audio = np.arange(3000, dtype="<f4").reshape(1000, 3)

    class Trickle(io.RawIOBase):  # a pipe handing out 7 bytes at a time
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            chunk, self.data = self.data[:7], self.data[7:]
            b[: len(chunk)] = chunk
            return len(chunk)

    sink = SampleSink(3, downmix=False, expected_frames=10, max_frames=1000)
    _read_pcm(
        "x.m4a", Trickle(audio.tobytes() + b"\x00\x01"), sink, _Probe(1.0, "aac", 1000, 3), 5.0
    )
    np.testing.assert_array_equal(sink.samples(), audio)
