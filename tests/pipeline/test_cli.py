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
