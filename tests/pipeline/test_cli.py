"""The command line, run in-process on the bundled fixtures."""

import json

import pytest

from pipeline.cli import build_parser, main

SESSION = "fixtures/session"
BAD = "fixtures/bad"


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("check", "run", "profiles"):
        assert command in out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_unknown_profile_is_a_usage_error(capsys):
    assert main(["check", SESSION, "--profile", "nope"]) == 2
    assert "yeastar-prompt" in capsys.readouterr().err


def test_missing_input_is_a_usage_error(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.wav"), "--profile", "yeastar-prompt"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_profiles_lists_all_five_with_rules(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name in (
        "tencent-ccc-ivr",
        "tencent-vod-voice",
        "aliyun-voice",
        "huawei-ivr",
        "yeastar-prompt",
    ):
        assert name in out
    assert "file_size" in out and "documented" in out
    assert main(["profiles", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in data} >= {"huawei-ivr"}


def test_bad_inputs_fail_with_exit_1_and_every_file_reported(capsys):
    code = main(["check", BAD, "--profile", "yeastar-prompt", "--json", "--workers", "1"])
    assert code == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    records = [line for line in lines if "source" in line]
    summary = lines[-1]["summary"]
    assert summary["total"] == len(records) >= 5
    for record in records:
        errors = [f for f in record["findings"] if f["severity"] == "error"]
        if record["status"] == "failed":
            assert errors and all(f["message"] for f in errors)


def test_check_writes_no_audio(tmp_path, capsys):
    code = main(["check", SESSION, "--profile", "yeastar-prompt", "--workers", "1"])
    assert code in (0, 1)
    assert "passed" in capsys.readouterr().out


def test_parser_accepts_run_options():
    args = build_parser().parse_args(
        [
            "run",
            "a.wav",
            "--profile",
            "huawei-ivr",
            "--out",
            "o",
            "--format",
            "mp3",
            "--target-lufs",
            "-18",
            "--workers",
            "2",
        ]
    )
    assert args.format == "mp3" and args.target_lufs == -18.0 and args.workers == 2


def test_truncated_input_fails_unless_allowed(capsys):
    args = ["check", f"{BAD}/truncated.wav", "--profile", "yeastar-prompt", "--json"]
    assert main(args) == 1
    assert "--allow-truncated" in capsys.readouterr().out
    assert main([*args, "--allow-truncated"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert [f["severity"] for f in record["findings"] if f["code"] == "truncated_input"] == [
        "warning"
    ]


@pytest.mark.parametrize("command", ["check", "run"])
def test_limiter_flags_reach_normalize(command):
    from pipeline.cli import _pipeline
    from stages.normalize import Normalize

    base = [command, "a.wav", "--profile", "tencent-vod-voice"]
    if command == "run":
        base += ["--out", "o"]

    def normalize(*flags):
        args = build_parser().parse_args([*base, *flags])
        [stage] = [s for s in _pipeline(args).stages if isinstance(s, Normalize)]
        return args.limiter, stage.limiter

    assert normalize() == (None, False)  # the profile's: off in every built-in profile
    assert normalize("--limiter") == (True, True)
    assert normalize("--limiter", "--no-limiter") == (False, False)


def test_no_limiter_overrides_a_profile_that_turns_it_on(tmp_path):
    from pipeline.cli import _pipeline
    from stages.normalize import Normalize

    profile = tmp_path / "loud.toml"
    profile.write_text(
        'name = "loud"\nvendor = "Me"\napi = "none"\nsummary = "s"\n'
        '[output]\nformat = "wav-pcm16"\nsample_rate = 8000\n'
        "[loudness]\nlimiter = true\nmax_limiting_db = 4.5\n"
    )
    for flags, expected in (([], True), (["--no-limiter"], False)):
        args = build_parser().parse_args(["check", "a.wav", "--profile", str(profile), *flags])
        [stage] = [s for s in _pipeline(args).stages if isinstance(s, Normalize)]
        assert stage.limiter is expected and stage.max_limiting_db == 4.5


def test_limiter_turns_the_ceiling_warning_into_the_target(capsys):
    path = f"{SESSION}/greeting_en-us_16k.wav"
    args = ["check", path, "--profile", "tencent-vod-voice", "--json", "--workers", "1"]
    main(args)
    off = json.loads(capsys.readouterr().out.splitlines()[0])
    [warning] = [f for f in off["findings"] if f["code"] == "loudness_ceiling"]
    assert "--limiter" in warning["message"]
    assert "limiter_gain_db" not in off["metrics"]
    main([*args, "--limiter"])
    on = json.loads(capsys.readouterr().out.splitlines()[0])
    assert "loudness_ceiling" not in [f["code"] for f in on["findings"]]
    assert on["metrics"]["lufs"] > off["metrics"]["lufs"] + 2.0
    assert -6.0 - 1e-3 <= on["metrics"]["limiter_gain_db"] < 0.0


def _voiceprep(*args: str) -> list[str]:
    """argv running the command line in a fresh interpreter (its own stdout encoding)."""
    import sys

    return [
        sys.executable,
        "-c",
        "import sys; from pipeline.cli import main; sys.exit(main())",
        *args,
    ]


def test_a_file_name_that_is_not_utf8_runs_and_prints_on_a_strict_terminal(tmp_path):
    import os
    import shutil
    import subprocess

    folder = tmp_path / "takes"
    folder.mkdir()
    take = os.fsencode(folder) + b"/caf\xe9 greeting.wav"
    shutil.copy(os.fsencode(f"{SESSION}/greeting_en-us_16k.wav"), take)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    argv = _voiceprep(
        "run", str(folder), "--profile", "yeastar-prompt", "--out", str(tmp_path / "o")
    )
    table = subprocess.run(argv, env=env, capture_output=True, check=False)
    assert table.returncode == 0, table.stderr.decode()
    assert b"1 passed" in table.stdout
    lines = (tmp_path / "o" / "results.jsonl").read_bytes().decode("utf-8").splitlines()
    source = json.loads(lines[0])["source"]
    assert os.fsencode(source).endswith(b"/caf\xe9 greeting.wav") and os.path.exists(source)
    again = subprocess.run([*argv, "--json"], env=env, capture_output=True, check=True)
    record = json.loads(again.stdout.decode("utf-8").splitlines()[0])  # valid UTF-8 and JSON
    assert record["source"] == source and record["status"] == "passed"


def test_a_reader_that_goes_away_stops_the_run_quietly():
    import subprocess

    argv = _voiceprep("check", SESSION, "--profile", "yeastar-prompt", "--json", "--workers", "1")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read()
    assert proc.wait() == 1 and b"Traceback" not in err


def test_a_long_source_name_is_cut_in_the_middle_of_the_summary():
    from pipeline.cli import SOURCE_COLUMN, _short

    name = "/takes/" + "x" * 200 + "/prompt_welcome.wav"
    short = _short(name)
    assert len(short) <= SOURCE_COLUMN and short.startswith("/takes/x")
    assert short.endswith("prompt_welcome.wav") and "…" in short
    assert _short("/takes/a.wav") == "/takes/a.wav"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--target-lufs", "5"], "target loudness"),
        (["--ceiling-dbfs", "3"], "peak ceiling"),
        (["--max-input-s", "0"], "longest input"),
    ],
)
def test_impossible_settings_are_usage_errors(capsys, options, says):
    assert main(["check", SESSION, "--profile", "yeastar-prompt", *options]) == 2
    assert says in capsys.readouterr().err


def test_an_output_folder_that_cannot_be_written_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["run", SESSION, "--profile", "yeastar-prompt", "--out", str(blocker / "out")])
    assert code == 2
    assert "cannot write the output folder" in capsys.readouterr().err


def _summary_of(records):
    from types import SimpleNamespace

    from pipeline.results import Summary

    summary = Summary()
    for record in records:
        summary.add(record)
    return SimpleNamespace(summary=summary)


def _finding(code, severity, message):
    return {"code": code, "severity": severity, "stage": "analyze", "message": message}


def test_the_summary_lists_warnings_and_every_error_but_only_counts_the_ceiling(capsys):
    from pipeline.cli import print_summary

    records = [
        {
            "source": "takes/two.wav",
            "status": "passed",
            "findings": [
                _finding("loudness_ceiling", "warning", "reached -18.5 LUFS"),
                _finding("multiple_speakers", "warning", "a second voice at about 4.8–10.6 s"),
            ],
        },
        {
            "source": "takes/ceiling.wav",
            "status": "passed",
            "findings": [_finding("loudness_ceiling", "warning", "reached -18.5 LUFS")],
        },
        {
            "source": "takes/bad.wav",
            "status": "failed",
            "findings": [_finding(f"e{i}", "error", f"error number {i}") for i in range(7)],
        },
    ]
    print_summary(_summary_of(records), None)
    out = capsys.readouterr().out
    assert "a second voice at about 4.8–10.6 s" in out
    assert "ceiling.wav" not in out and "reached -18.5 LUFS" not in out
    assert "loudness_ceiling     warning     2" in out
    assert all(f"error number {i}" in out for i in range(5))
    assert "error number 5" not in out and "... and 2 more" in out


def test_the_summary_caps_the_warned_files(capsys):
    from pipeline.cli import print_summary

    records = [
        {
            "source": f"takes/t{i:02d}.wav",
            "status": "passed",
            "findings": [_finding("hum", "warning", "50 Hz mains hum")],
        }
        for i in range(25)
    ]
    print_summary(_summary_of(records), "out")
    out = capsys.readouterr().out
    assert "t19.wav" in out and "t20.wav" not in out
    assert "... and 5 more inputs with warnings; see out/results.jsonl" in out


def test_the_summary_pads_wide_file_names_by_their_columns(capsys):
    from pipeline.cli import display_width, print_summary

    assert display_width("双人对话.wav") == 12 and display_width("abc") == 3
    records = [
        {
            "source": name,
            "status": "passed",
            "findings": [_finding("hum", "warning", "MESSAGE")],
        }
        for name in ("双人对话.wav", "plain_name_of_a_take.wav")
    ]
    print_summary(_summary_of(records), None)
    lines = [line for line in capsys.readouterr().out.splitlines() if "MESSAGE" in line]
    assert len(lines) == 2
    assert {display_width(line[: line.index("MESSAGE")]) for line in lines} == {
        len("plain_name_of_a_take.wav  ")
    }


def test_an_empty_folder_says_no_audio_files_were_found(tmp_path, capsys):
    assert main(["check", str(tmp_path), "--profile", "yeastar-prompt"]) == 2
    assert f"no audio files found in {tmp_path}" in capsys.readouterr().err
