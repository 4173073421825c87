"""Header reads of `stages.decode_headers`: MPEG frame walks, Ogg pages, the ASF file size."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.decode_headers import (
    _ends_mid_frame,
    asf_declared_size,
    mp3_cut_mid_frame,
    mpeg_frame_lengths,
    ogg_cut,
    read_mp3_start,
)
from tests.conftest import speechlike
from tests.stages.test_decode import ffmpeg_encode


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def frame_bounds(path: Path) -> list[int]:
    """Where each MPEG frame of ``path`` starts, and where the last one ends, by ffmpeg.

    ffmpeg's demuxer hands out one packet per frame (a Xing frame is not a packet, so this
    is for files without one): the frames follow the ID3v2 tag back to back.
    """
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-c:a", "copy", "-f", "framecrc", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    sizes = [int(line.split(",")[4]) for line in out.splitlines() if not line.startswith("#")]
    data = path.read_bytes()
    start = read_mp3_start(str(path), data[:64]).offset
    return [start, *(start + int(n) for n in np.cumsum(sizes))]


# (name, rate, channels, ffmpeg codec arguments): MPEG-1/2/2.5, Layer III and II, CBR/VBR.
NO_XING = [
    ("mpeg1_cbr_stereo.mp3", 44100, 2, ("-c:a", "libmp3lame", "-b:a", "128k")),
    ("mpeg1_vbr_48k.mp3", 48000, 1, ("-c:a", "libmp3lame", "-q:a", "4")),
    ("mpeg2_cbr_16k.mp3", 16000, 1, ("-c:a", "libmp3lame", "-b:a", "32k")),
    ("mpeg2_vbr_22k.mp3", 22050, 2, ("-c:a", "libmp3lame", "-q:a", "7")),
    ("mpeg25_cbr_8k.mp3", 8000, 1, ("-c:a", "libmp3lame", "-b:a", "16k")),
    ("mpeg25_vbr_11k.mp3", 11025, 1, ("-c:a", "libmp3lame", "-q:a", "9")),
    ("layer2_32k.mp3", 32000, 2, ("-c:a", "mp2", "-f", "mp2")),
]


@pytest.fixture(scope="module")
def no_xing_files(tmp_path_factory) -> dict[str, tuple[bytes, list[int]]]:
    """Each complete file's bytes and its frame boundaries (as ffmpeg's demuxer sees them)."""
    folder = tmp_path_factory.mktemp("mp3")
    files = {}
    for name, rate, channels, codec in NO_XING:
        audio = speechlike(1.2, rate, seed=len(name))
        if channels == 2:
            audio = np.stack([audio, 0.5 * audio], axis=1)
        path = folder / name
        xing = ("-write_xing", "0") if "libmp3lame" in codec else ()
        ffmpeg_encode(path, audio, rate, *codec, *xing)
        files[name] = (path.read_bytes(), frame_bounds(path))
    return files


@pytest.mark.parametrize(
    ("header", "length"),
    [
        ("fffb9064", 417),  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
        ("fffb9264", 418),  # the same, padded
        ("fff38844", 288),  # MPEG-2 Layer III, 64 kbit/s, 16 kHz (576 samples a frame)
        ("ffe31884", 72),  # MPEG-2.5 Layer III, 8 kbit/s, 8 kHz
        ("fffda404", 576),  # MPEG-1 Layer II, 192 kbit/s, 48 kHz
        ("ffff1000", 32),  # MPEG-1 Layer I, 32 kbit/s, 44.1 kHz (4-byte slots)
    ],
)
def test_mpeg_frame_lengths_follow_the_header(header, length):
    head = bytes.fromhex(header)
    assert mpeg_frame_lengths(head[1] | 1, (head[2] >> 2) & 0x3)[head[2]] == length


def test_free_format_and_invalid_bit_rates_have_no_length():
    lengths = mpeg_frame_lengths(0xFB, 0)
    assert lengths[0x00] == 0 and lengths[0xF0] == 0  # free format, bit-rate index 15
    assert lengths[0x94] == 0  # another sample rate than the stream's


@pytest.mark.parametrize(("name", "rate", "channels", "codec"), NO_XING)
def test_complete_files_end_on_a_frame_boundary(no_xing_files, name, rate, channels, codec):
    data, bounds = no_xing_files[name]
    assert bounds[-1] == len(data)  # ffmpeg's own frames fill the file
    assert not _ends_mid_frame(data, bounds[0])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_cut_inside_a_frame_is_found_and_any_cut_between_frames_is_not(no_xing_files, data):
    name = data.draw(st.sampled_from(sorted(no_xing_files)), label="file")
    whole, bounds = no_xing_files[name]
    # From the second frame's header on: one frame and a lone 0xFF byte prove nothing.
    cut = data.draw(st.integers(bounds[1] + 3, len(whole) - 1), label="cut")
    assert _ends_mid_frame(whole[:cut], bounds[0]) is (cut not in bounds)


@pytest.mark.parametrize(
    "trailer",
    [
        b"TAG" + bytes(125),  # ID3v1
        b"APETAGEX" + bytes(24),  # an APEv2 footer
        b"LYRICSBEGIN" + b"x" * 20 + b"LYRICS200",
        b"\x00",  # a byte of padding
        b"\r\n",  # a text tool's line end
    ],
)
@pytest.mark.parametrize("keep", [1.0, 0.5])
def test_a_tag_or_junk_after_the_last_frame_is_not_a_cut(no_xing_files, trailer, keep):
    data, bounds = no_xing_files["mpeg1_cbr_stereo.mp3"]
    tail = trailer[: max(1, int(len(trailer) * keep))]  # a tag cut short keeps every frame
    assert not _ends_mid_frame(data + tail, bounds[0])


@pytest.mark.parametrize("kept", [1, 2, 3])
def test_a_file_cut_inside_a_frame_header_is_a_cut(no_xing_files, kept):
    data, bounds = no_xing_files["mpeg2_cbr_16k.mp3"]
    assert _ends_mid_frame(data[: bounds[5] + kept], bounds[0])


def test_id3v1_tagged_mp3_from_ffmpeg_is_complete(tmp_path):
    path = tmp_path / "tagged.mp3"
    codec = ("-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-write_id3v1", "1")
    ffmpeg_encode(path, speechlike(1.0, 16000), 16000, *codec, "-metadata", "title=greeting")
    data = path.read_bytes()
    assert data[-128:-125] == b"TAG"
    start = read_mp3_start(str(path), data[:64])
    assert not mp3_cut_mid_frame(str(path), start)
    path.write_bytes(data[: len(data) // 2])
    assert mp3_cut_mid_frame(str(path), start)


def test_bytes_that_never_form_two_frames_get_no_verdict():
    assert not _ends_mid_frame(b"\xff\xfb\x90\x64" + bytes(100), 0)  # one frame, cut
    assert not _ends_mid_frame(b"\xff" * 3000, 0)


# --- ASF ---------------------------------------------------------------------------------


def asf_with_file_properties(file_size: int, flags: int) -> bytes:
    """An ASF header object holding one File Properties Object (the rest zeros)."""
    guid = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")
    body = bytes(16) + struct.pack("<Q", file_size) + bytes(40) + struct.pack("<I", flags)
    props = guid + struct.pack("<Q", 104) + body + bytes(104 - 24 - len(body))
    header_guid = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
    return header_guid + struct.pack("<QIBB", 30 + len(props), 1, 1, 2) + props


@pytest.mark.parametrize(
    ("size", "flags", "declared"),
    [(5000, 0x2, 5000), (5000, 0x3, None), (0, 0x2, None)],  # broadcast: size means nothing
)
def test_asf_declared_size_reads_file_properties(tmp_path, size, flags, declared):
    path = tmp_path / "a.wma"
    path.write_bytes(asf_with_file_properties(size, flags))
    assert asf_declared_size(str(path)) == declared


def test_asf_declared_size_of_an_ffmpeg_file_is_its_size(tmp_path):
    path = tmp_path / "memo.wma"
    ffmpeg_encode(path, speechlike(1.0, 16000), 16000, "-c:a", "wmav2")
    assert asf_declared_size(str(path)) == path.stat().st_size


def test_asf_cut_inside_its_header_gets_no_verdict(tmp_path):
    path = tmp_path / "a.wma"
    path.write_bytes(asf_with_file_properties(5000, 0x2)[:60])
    assert asf_declared_size(str(path)) is None


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (22050, 2), (48000, 1)])
def test_soundfile_written_mp3_is_complete(tmp_path, rate, channels):
    import soundfile as sf

    audio = speechlike(0.9, rate)
    if channels == 2:
        audio = np.stack([audio, audio], axis=1)
    path = tmp_path / "sf.mp3"
    sf.write(path, audio, rate, format="MP3", subtype="MPEG_LAYER_III")
    start = read_mp3_start(str(path), path.read_bytes()[:64])
    assert not mp3_cut_mid_frame(str(path), start)


# --- Ogg pages ------------------------------------------------------------------------------


def ogg_page(body: bytes, *, end_of_stream: bool = False, granule: int = 4800) -> bytes:
    """One Ogg page holding ``body`` as one packet (no checksum: the reads do not check it)."""
    lacing = bytes([255] * (len(body) // 255) + [len(body) % 255])
    flags = 0x04 if end_of_stream else 0
    head = b"OggS" + struct.pack("<BBqIII", 0, flags, granule, 1, 2, 0) + bytes([len(lacing)])
    return head + lacing + body


@pytest.mark.parametrize(
    ("tail", "cut", "trailing"),
    [
        (ogg_page(bytes(700), end_of_stream=True), False, 0),
        (ogg_page(bytes(700)), False, 0),  # an encoder that never marks the end
        (ogg_page(bytes(700), end_of_stream=True) + b"TAG" + bytes(125), False, 128),
        (ogg_page(bytes(700))[:-1], True, 0),  # inside the body
        (ogg_page(bytes(700))[:30], True, 0),  # inside the lacing table
        (ogg_page(bytes(700)) + ogg_page(bytes(9))[:12], True, 0),  # inside a page header
        (ogg_page(bytes(700)) + bytes(3000), True, 3000),  # a preallocated copy, unfilled
    ],
)
def test_ogg_cut_is_a_page_cut_short_or_stray_bytes_after_an_unmarked_page(
    tmp_path, tail, cut, trailing
):
    path = tmp_path / "a.ogg"
    path.write_bytes(ogg_page(b"\x01vorbis" + bytes(30), granule=0) + tail)
    end = ogg_cut(str(path), path.stat().st_size)
    assert (end is not None) == cut
    if end is not None:
        assert end.trailing == trailing


def test_ogg_cut_tells_nothing_without_a_page_in_the_tail(tmp_path):
    path = tmp_path / "a.ogg"
    path.write_bytes(bytes(300_000))
    assert ogg_cut(str(path), path.stat().st_size) is None
