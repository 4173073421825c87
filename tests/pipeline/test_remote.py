"""fsspec URLs as inputs and outputs, on fsspec's in-process ``memory://`` filesystem."""

from __future__ import annotations

import os
import uuid

import pytest

fsspec = pytest.importorskip("fsspec")

from pipeline import remote  # noqa: E402
from pipeline.errors import ConfigurationError  # noqa: E402
from pipeline.inputs import AUDIO_EXTENSIONS, expand_inputs  # noqa: E402
from pipeline.journal import FileStamp, content_hash  # noqa: E402
from pipeline.runner import Pipeline  # noqa: E402
from tests.conftest import FIXTURES  # noqa: E402

PROFILE = "aliyun-voice"


@pytest.fixture
def bucket():
    """A fresh ``memory://`` folder holding three fixture recordings and a note."""
    fs = fsspec.filesystem("memory")
    root = f"/t-{uuid.uuid4().hex[:8]}"
    for name in ("greeting_en-us_16k.wav", "menu_en-gb_8k.wav", "hours_de_22k.flac"):
        fs.pipe(f"{root}/in/{name}", (FIXTURES / "session" / name).read_bytes())
    fs.pipe(f"{root}/in/notes.txt", b"not audio")
    yield f"memory://{root}"
    fs.rm(root, recursive=True)


def test_is_url():
    assert remote.is_url("s3://bucket/a.wav")
    assert not remote.is_url("file:///tmp/a.wav")
    assert not remote.is_url("/tmp/a.wav")


def test_expand_url_globs_folders_and_single_objects(bucket):
    wavs = remote.expand_url(f"{bucket}/in/*.wav", AUDIO_EXTENSIONS)
    assert [w.rsplit("/", 1)[1] for w in wavs] == ["greeting_en-us_16k.wav", "menu_en-gb_8k.wav"]
    folder = remote.expand_url(f"{bucket}/in", AUDIO_EXTENSIONS)
    assert len(folder) == 3 and not any(f.endswith(".txt") for f in folder)
    assert remote.expand_url(f"{bucket}/in/notes.txt", AUDIO_EXTENSIONS) == [
        f"{bucket}/in/notes.txt"
    ]
    with pytest.raises(ConfigurationError, match="no such file"):
        remote.expand_url(f"{bucket}/nothing/*.wav", AUDIO_EXTENSIONS)
    assert expand_inputs([f"{bucket}/in/*.wav", f"{bucket}/in/hours_de_22k.flac"]) == sorted(
        [*wavs, f"{bucket}/in/hours_de_22k.flac"]
    )


def test_stamp_and_hash_follow_the_bytes(bucket, tmp_path):
    url = f"{bucket}/in/menu_en-gb_8k.wav"
    local = FIXTURES / "session" / "menu_en-gb_8k.wav"
    assert content_hash(url) == content_hash(str(local)) != ""
    before = FileStamp.of(url)
    assert before.size == local.stat().st_size
    fsspec.filesystem("memory").pipe(url.removeprefix("memory://"), b"RIFF" + b"\0" * 99)
    after = FileStamp.of(url)
    assert after != before and after.size == 103
    assert content_hash(url) != content_hash(str(local))
    assert FileStamp.of(f"{bucket}/missing.wav") == FileStamp(-1, -1)
    assert content_hash(f"{bucket}/missing.wav") == ""


def test_fetch_keeps_the_name_and_cleans_up(bucket):
    url = f"{bucket}/in/greeting_en-us_16k.wav"
    with remote.fetch(url) as local:
        assert os.path.basename(local) == "greeting_en-us_16k.wav"
        with open(local, "rb") as fh:
            data = fh.read()
    assert data == (FIXTURES / "session" / "greeting_en-us_16k.wav").read_bytes()
    assert not os.path.exists(local)
    with pytest.raises(FileNotFoundError), remote.fetch(f"{bucket}/in/gone.wav"):
        pass


def test_a_missing_url_is_a_finding(bucket):
    record = Pipeline.for_profile(PROFILE).record(f"{bucket}/in/gone.wav")
    assert record["status"] == "failed"
    assert [f["code"] for f in record["findings"]] == ["missing_input"]
    assert "gone.wav does not exist" in record["findings"][0]["message"]


def test_url_inputs_and_outputs_match_a_local_run(bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("VOICEPREP_STATE_DIR", str(tmp_path / "state"))
    names = ["greeting_en-us_16k.wav", "hours_de_22k.flac", "menu_en-gb_8k.wav"]
    local_out = tmp_path / "local"
    Pipeline.for_profile(PROFILE).run(
        [str(FIXTURES / "session" / n) for n in names], out=str(local_out), workers=1
    )
    out_url = f"{bucket}/out"
    results = Pipeline.for_profile(PROFILE).run([f"{bucket}/in"], out=out_url, workers=1)
    assert results.summary.total == 3
    fs = fsspec.filesystem("memory")
    for wav in local_out.glob("*.wav"):
        assert fs.cat(f"{out_url}/{wav.name}".removeprefix("memory://")) == wav.read_bytes()
    assert fs.exists(f"{out_url}/results.jsonl".removeprefix("memory://"))
    assert results.path is not None and results.path.startswith(str(tmp_path / "state"))
