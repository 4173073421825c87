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


def _take_and_output(tmp_path, content=b"x"):
    """An input ``a.wav`` and its output in ``out/``."""
    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    output = tmp_path / "out" / "a.wav"
    output.parent.mkdir()
    output.write_bytes(content)
    return src, output


def test_finished_clip_whose_output_is_gone_is_redone(tmp_path):
    src, output = _take_and_output(tmp_path)
    journal = Journal(str(tmp_path / "out"))
    record = {"output": str(output)}
    journal.record_done(str(src), "cfg", content_hash(str(src)), FileStamp.of(str(src)), record)
    assert journal.finished(str(src), "cfg") == record
    output.unlink()
    assert journal.finished(str(src), "cfg") is None


def test_finished_clip_whose_output_was_cut_short_is_redone(tmp_path):
    # Outputs are not fsynced: a power cut may leave one truncated, which the size catches.
    src, output = _take_and_output(tmp_path, b"RIFF....WAVE")
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


def _done(journal, src, cfg, output=None):
    record = {"source": str(src), "output": str(output) if output else None}
    journal.record_done(str(src), cfg, content_hash(str(src)), FileStamp.of(str(src)), record)
    return record


def test_an_output_a_later_run_wrote_again_is_not_current(tmp_path):
    src, output = _take_and_output(tmp_path)
    journal = Journal(str(tmp_path / "out"))
    first = _done(journal, src, "quiet", output)
    assert journal.finished(str(src), "quiet") == first
    _done(journal, src, "loud", output)  # same size, other content
    assert journal.finished(str(src), "quiet") is None
    assert journal.finished(str(src), "loud") is not None


def test_other_results_are_the_latest_current_ones_of_other_inputs(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    srcs = []
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.wav").write_bytes(name.encode())
        (out / f"{name}.wav").write_bytes(b"x")
        srcs.append(tmp_path / f"{name}.wav")
    journal = Journal(str(out))
    _done(journal, srcs[0], "old", out / "a.wav")
    latest_a = _done(journal, srcs[0], "new", out / "a.wav")
    b = _done(journal, srcs[1], "new")  # failed: no output, still a result
    _done(journal, srcs[2], "new", out / "c.wav")
    (out / "c.wav").unlink()  # its output is gone: no line for it
    assert list(journal.other_results(set())) == [latest_a, b]
    assert list(journal.other_results({str(srcs[0])})) == [b]
    assert journal.outputs_of_others({str(srcs[1])}) == {"a.wav"}  # c.wav is gone: free


def test_a_journal_of_an_earlier_version_is_upgraded(tmp_path):
    import json
    import sqlite3

    src = tmp_path / "a.wav"
    src.write_bytes(b"abc")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.wav").write_bytes(b"x")
    db = sqlite3.connect(out / "journal.sqlite")
    db.execute(
        "CREATE TABLE clips (source TEXT NOT NULL, config_hash TEXT NOT NULL, content_hash "
        "TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, state TEXT NOT NULL, "
        "record TEXT, updated REAL NOT NULL, PRIMARY KEY (source, config_hash))"
    )
    stamp = FileStamp.of(str(src))
    record = {"source": str(src), "output": str(out / "a.wav")}
    db.execute(
        "INSERT INTO clips VALUES (?, 'cfg', ?, ?, ?, 'done', ?, 1.0)",
        (str(src), content_hash(str(src)), stamp.size, stamp.mtime_ns, json.dumps(record)),
    )
    db.commit()
    db.close()
    journal = Journal(str(out))
    assert journal.finished(str(src), "cfg") == record
    assert journal.outputs_of_others(set()) == {"a.wav"}


def test_a_pipe_is_never_read_to_hash_it(tmp_path):
    fifo = tmp_path / "take.wav"
    os.mkfifo(fifo)
    assert content_hash(str(fifo)) == ""  # would block forever waiting for a writer
