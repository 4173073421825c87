import os

import pytest

from pipeline.errors import ConfigurationError
from pipeline.inputs import expand_inputs


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return str(path)


def test_folder_is_walked_for_audio_files_only(tmp_path):
    a = _touch(tmp_path / "s" / "a.wav")
    b = _touch(tmp_path / "s" / "sub" / "b.FLAC")
    _touch(tmp_path / "s" / "notes.txt")
    _touch(tmp_path / "s" / ".hidden.wav")
    assert expand_inputs([str(tmp_path / "s")]) == sorted([a, b])


def test_named_file_is_taken_whatever_its_extension(tmp_path):
    odd = _touch(tmp_path / "take.dat")
    assert expand_inputs([odd]) == [odd]


def test_glob_and_duplicates(tmp_path):
    a = _touch(tmp_path / "a.wav")
    b = _touch(tmp_path / "b.mp3")
    assert expand_inputs([str(tmp_path / "*.wav"), a, str(tmp_path / "*")]) == [a, b]


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigurationError, match="no such file"):
        expand_inputs([str(tmp_path / "nope.wav")])
    with pytest.raises(ConfigurationError, match="no such file"):
        expand_inputs([str(tmp_path / "*.nothing")])


def test_broken_symlink_is_kept_for_decode_to_report(tmp_path):
    link = tmp_path / "gone.wav"
    os.symlink(tmp_path / "missing-target.wav", link)
    assert expand_inputs([str(link)]) == [str(link)]


def test_a_file_named_like_a_glob_is_itself(tmp_path):
    bracketed = _touch(tmp_path / "take[1].wav")
    plain = _touch(tmp_path / "take1.wav")  # what "take[1].wav" would match as a pattern
    assert expand_inputs([bracketed]) == [bracketed]
    assert expand_inputs([str(tmp_path / "take[12].wav")]) == [plain]  # no such file: a pattern


def test_walks_and_globs_skip_the_output_folder(tmp_path):
    take = _touch(tmp_path / "session" / "take.wav")
    _touch(tmp_path / "session" / "out" / "take.wav")  # last run's output
    _touch(tmp_path / "session" / "out" / "deeper" / "x.wav")
    skip = str(tmp_path / "session" / "out")
    assert expand_inputs([str(tmp_path / "session")], skip_folder=skip) == [take]
    assert expand_inputs([str(tmp_path / "session" / "**" / "*.wav")], skip_folder=skip) == [take]
    named = str(tmp_path / "session" / "out" / "take.wav")  # named explicitly: taken
    assert expand_inputs([named], skip_folder=skip) == [named]


def test_folders_without_any_audio_are_a_usage_error(tmp_path):
    _touch(tmp_path / "notes" / "readme.txt")
    (tmp_path / "empty").mkdir()
    for folder in ("notes", "empty"):
        with pytest.raises(ConfigurationError, match="no audio files found in"):
            expand_inputs([str(tmp_path / folder)])
    assert expand_inputs([]) == []  # nothing asked, nothing found: not an error


def test_one_file_spelled_several_ways_is_one_input(tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.wav").write_bytes(b"x")
    os.symlink(tmp_path / "in" / "x.wav", tmp_path / "in" / "y.wav")  # another prompt's name
    monkeypatch.chdir(tmp_path)
    got = expand_inputs(["in/x.wav", "./in/x.wav", str(tmp_path / "in" / "x.wav"), "./in"])
    assert got == ["./in/y.wav", "in/x.wav"]  # the first spelling of each file


def test_a_glob_matching_only_the_output_folder_says_so(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"x")
    with pytest.raises(ConfigurationError, match="output folder"):
        expand_inputs([str(tmp_path / "*.wav")], skip_folder=str(tmp_path))
