"""Temporary file names: ours are recognised, nobody else's are."""

import os

from hypothesis import given
from hypothesis import strategies as st

from pipeline.tempnames import is_temporary_name, temporary_path


@given(st.text(min_size=1, max_size=60).filter(lambda n: "/" not in n and "\x00" not in n))
def test_every_temporary_name_we_make_is_recognised(name):
    path = temporary_path(os.path.join("out", name))
    assert os.path.dirname(path) == "out"
    assert is_temporary_name(os.path.basename(path))
    assert is_temporary_name(os.path.basename(temporary_path(name, "cards")))


def test_other_hidden_files_are_not_ours():
    for name in (".notes.tmp", ".take.wav.tmp", "take.wav", ".x.12.tmpx", ".voiceprep-tmp"):
        assert not is_temporary_name(name), name
