import os

from pipeline.journal import FileStamp, Journal, content_hash


def test_finished_work_is_found_again(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    journal = Journal(str(tmp_path / "out"))
    journal.record_done(str(src), "cfg", content_hash(str(src)), FileStamp.of(str(src)), {"x": 1})
    journal.close()
    again = Journal(str(tmp_path / "out"))
    assert again.finished(str(src), "cfg") == {"x": 1}
    assert again.finished(str(src), "other-config") is None


def test_changed_content_is_redone(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    journal = Journal(str(tmp_path / "out"))
    journal.record_done(str(src), "cfg", content_hash(str(src)), FileStamp.of(str(src)), {"x": 1})
    src.write_bytes(b"abcd")
    assert journal.finished(str(src), "cfg") is None


def test_touched_but_identical_file_is_not_redone(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    journal = Journal(str(tmp_path / "out"))
    journal.record_done(str(src), "cfg", content_hash(str(src)), FileStamp.of(str(src)), {"x": 1})
    st = os.stat(src)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert journal.finished(str(src), "cfg") == {"x": 1}


def test_unreadable_file_has_empty_hash_and_negative_stamp(tmp_path):
    assert content_hash(str(tmp_path / "none")) == ""
    assert FileStamp.of(str(tmp_path / "none")) == FileStamp(-1, -1)


def test_finished_clip_whose_output_is_gone_is_redone(tmp_path):
    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    output = tmp_path / "out" / "a.wav"
    output.parent.mkdir()
    output.write_bytes(b"x")
    journal = Journal(str(tmp_path / "out"))
    record = {"output": str(output)}
    journal.record_done(str(src), "cfg", content_hash(str(src)), FileStamp.of(str(src)), record)
    assert journal.finished(str(src), "cfg") == record
    output.unlink()
    assert journal.finished(str(src), "cfg") is None


def test_finished_clip_whose_output_was_cut_short_is_redone(tmp_path):
    # Outputs are not fsynced: a power cut may leave one truncated, which the size catches.
    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    output = tmp_path / "out" / "a.wav"
    output.parent.mkdir()
    output.write_bytes(b"RIFF....WAVE")
    journal = Journal(str(tmp_path / "out"))
    record = {"output": str(output), "metrics": {"output_bytes": 12}}
    journal.record_done(str(src), "cfg", content_hash(str(src)), FileStamp.of(str(src)), record)
    assert journal.finished(str(src), "cfg") == record
    output.write_bytes(b"RIFF")
    assert journal.finished(str(src), "cfg") is None


def test_content_hash_is_xxh3_128_of_the_bytes(tmp_path):
    import xxhash

    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    assert content_hash(str(src)) == xxhash.xxh3_128(b"abc").hexdigest()


def test_content_hash_changes_with_any_byte_and_reads_past_one_buffer(tmp_path):
    data = bytearray(os.urandom(3 << 20))  # several of file_digest's read buffers
    src = tmp_path / "a.wav"
    src.write_bytes(bytes(data))
    first = content_hash(str(src))
    assert len(first) == 32 and first == content_hash(str(src))
    data[-1] ^= 1  # the last byte, in the last buffer
    src.write_bytes(bytes(data))
    assert content_hash(str(src)) != first
    assert content_hash(str(tmp_path / "missing.wav")) == ""


def test_a_file_name_that_is_not_utf8_is_recorded_and_found_again(tmp_path):
    # os.listdir gives such a name's bytes as lone surrogates, which SQLite text refuses.
    src = os.path.join(os.fsdecode(bytes(tmp_path)), os.fsdecode(b"caf\xe9.wav"))
    with open(src, "wb") as fh:
        fh.write(b"abc")
    journal = Journal(str(tmp_path / "out"))
    journal.record_done(src, "cfg", content_hash(src), FileStamp.of(src), {"source": src})
    assert journal.finished(src, "cfg") == {"source": src}
    assert journal.finished(src.replace("\udce9", "e"), "cfg") is None
