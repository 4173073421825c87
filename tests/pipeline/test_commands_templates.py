"""`voiceprep template check|render` and `voiceprep ivr check`, run in-process."""

import argparse
import json

import pytest

from pipeline.commands.templates import register

FIX = "fixtures/templates"


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="voiceprep")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_documented_examples_pass(capsys):
    code, out, _ = run(
        [
            "template",
            "check",
            "尊敬的${TXT_8}您的初始密码为${NUM_6}。",
            "请于${DATE},${TIME}前领取您的快递。",
        ],
        capsys,
    )
    assert code == 0
    assert out.count("PASS") == 2 and "2 templates: 2 passed, 0 failed" in out


def test_check_refused_template_prints_every_violation_with_position(capsys):
    code, out, _ = run(["template", "check", "${DATE}${TIME}"], capsys)
    assert code == 1
    assert "error[starts_with_variable] char 0 (byte 0)" in out
    assert "error[date_time_not_separated] char 0 (byte 0)" in out
    assert "^^^^^^^^^^^^^^" in out


def test_check_file_gives_one_verdict_per_template(capsys):
    code, out, _ = run(["template", "check", f"{FIX}/huawei-templates.txt"], capsys)
    assert code == 1
    assert "6 templates: 3 passed, 3 failed" in out
    assert "huawei-templates.txt:7" in out  # labelled by line number
    assert "[variable_too_long]" in out and "[unknown_variable]" in out


def test_check_json_file_checks_request_fields(capsys):
    code, out, _ = run(["template", "check", f"{FIX}/huawei-templates.json", "--json"], capsys)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["ok"] for r in records] == [True, False]
    assert {v["rule"] for v in records[1]["violations"]} == {
        "name_bad_characters",
        "speed_out_of_range",
        "unknown_language",
    }
    assert records[0]["bytes"] == 45


def test_check_aliyun_vendor(capsys):
    code, out, _ = run(["template", "check", "--vendor", "aliyun", f"{FIX}/registry.json"], capsys)
    assert code == 0, out
    code, out, _ = run(
        ["template", "check", "--vendor", "aliyun", f"{FIX}/aliyun-templates.txt"], capsys
    )
    assert code == 1
    assert "[adjacent_variables]" in out and "[url]" in out and "[ip_address]" in out


def test_check_command_line_fields(capsys):
    code, out, _ = run(
        ["template", "check", "您好${TXT_8}", "--speed", "900", "--language", "zh_CN"], capsys
    )
    assert code == 1 and "[speed_out_of_range]" in out


def test_check_bad_file_is_usage_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[{", "utf-8")
    code, _, err = run(["template", "check", str(bad)], capsys)
    assert code == 2 and "invalid JSON" in err


def test_check_empty_file_is_usage_error(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", "utf-8")
    code, _, err = run(["template", "check", str(empty)], capsys)
    assert code == 2 and "no templates" in err


def test_text_with_a_slash_is_still_text(capsys):
    code, out, _ = run(["template", "check", "营业时间9:00/18:00，欢迎${TXT_8}"], capsys)
    assert code == 0 and "PASS" in out
    code, out, _ = run(["template", "check", "营业时间9:00/18:00"], capsys)
    assert code == 0 and "PASS" in out


@pytest.mark.parametrize("name", ["nosuch.txt", "nosuch.JSON", "dir/nosuch", "通知"])
def test_check_missing_path_is_usage_error(tmp_path, capsys, name):
    path = str(tmp_path / name)
    code, out, err = run(["template", "check", path], capsys)
    assert code == 2 and out == ""
    assert "no such file" in err and "--text" in err


def test_check_directory_is_usage_error(tmp_path, capsys):
    code, out, err = run(["template", "check", str(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert "is a directory" in err


def test_check_text_option_checks_path_like_arguments_as_text(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("${TXT_40}\n", "utf-8")
    code, out, _ = run(["template", "check", "--text", "请拨打400/800热线", "t.txt"], capsys)
    assert code == 0 and "2 templates: 2 passed" in out
    code, out, _ = run(["template", "check", "--text", str(tmp_path / "t.txt")], capsys)
    assert code == 0  # the path itself, checked as text


def test_check_texts_with_slashes_or_variables_are_still_text(capsys):
    code, out, _ = run(["template", "check", "您好${DATE},${TIME}/再见", "您好"], capsys)
    assert code == 0 and "2 templates: 2 passed" in out


def test_render_prints_text_and_byte_count(capsys):
    code, out, _ = run(
        [
            "template",
            "render",
            "尊敬的${TXT_8}您的初始密码为${NUM_6}。",
            "--values",
            '["张三", "123456"]',
        ],
        capsys,
    )
    assert code == 0
    assert "rendered: 尊敬的张三您的初始密码为123456。" in out
    assert "45 bytes in UTF-8" in out


def test_render_fails_on_a_template_huawei_refuses(capsys):
    argv = ["template", "render", "${TXT_50}${DATE}${TIME}"]
    code, out, _ = run([*argv, "--values", '["a", "2024/01/01", "10:00"]'], capsys)
    assert code == 1 and out.startswith("FAIL")
    for rule in ("starts_with_variable", "variable_too_long", "date_time_not_separated"):
        assert f"[{rule}]" in out


def test_render_refuses_bad_values(capsys):
    code, out, _ = run(
        [
            "template",
            "render",
            "请于${DATE},${TIME}前领取",
            "--values",
            '["2023/02/29", "25:00"]',
            "--json",
        ],
        capsys,
    )
    assert code == 1
    record = json.loads(out)
    assert [v["rule"] for v in record["violations"]] == ["bad_value", "bad_value"]
    assert "rendered" not in record


def test_render_values_from_file_and_aliyun(tmp_path, capsys):
    values = tmp_path / "v.json"
    values.write_text('{"name": "王五"}', "utf-8")
    code, out, _ = run(
        ["template", "render", "您好${name}，再见", "--vendor", "aliyun", "--values", f"@{values}"],
        capsys,
    )
    assert code == 0 and "rendered: 您好王五，再见" in out


@pytest.mark.parametrize("values", ["{oops", '"text"'])
def test_render_bad_values_json_is_usage_error(values, capsys):
    code, _, err = run(["template", "render", "您好${TXT_4}", "--values", values], capsys)
    assert code == 2 and "--values" in err


def test_ivr_check_good_and_bad(capsys):
    registry = f"{FIX}/registry.json"
    code, out, _ = run(["ivr", "check", f"{FIX}/ivr-good.json", "--templates", registry], capsys)
    assert code == 0, out
    code, out, _ = run(
        ["ivr", "check", f"{FIX}/ivr-good.json", f"{FIX}/ivr-bad.json", "--templates", registry],
        capsys,
    )
    assert code == 1
    assert "2 requests: 1 passed, 1 failed" in out
    for rule in (
        "bad_called_number",
        "mixed_code_kinds",
        "bad_play_times",
        "bad_out_id",
        "missing_tts_param",
        "unexpected_tts_param",
        "duplicate_menu_key",
        "unknown_template",
        "bad_menu_key",
    ):
        assert f"[{rule}]" in out


def test_ivr_check_json_output(capsys):
    code, out, _ = run(
        ["ivr", "check", f"{FIX}/ivr-bad.json", "--templates", f"{FIX}/registry.json", "--json"],
        capsys,
    )
    assert code == 1
    record = json.loads(out)
    assert record["ok"] is False and record["name"] == "ivr-bad.json"


def test_ivr_check_without_registry_notes_it(capsys):
    code, _, err = run(["ivr", "check", f"{FIX}/ivr-good.json"], capsys)
    assert code == 0 and "registry" in err


def test_ivr_check_missing_file_is_usage_error(capsys):
    code, _, err = run(["ivr", "check", "nope.json"], capsys)
    assert code == 2 and "no such file" in err


def test_ivr_check_directory_or_empty_list_is_usage_error(tmp_path, capsys):
    code, out, err = run(["ivr", "check", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err and out == ""
    empty = tmp_path / "e.json"
    empty.write_text("[]", "utf-8")
    code, out, err = run(["ivr", "check", str(empty)], capsys)
    assert code == 2 and "no requests" in err and out == ""


def test_commands_without_action_are_usage_errors(capsys):
    assert run(["template"], capsys)[0] == 2
    assert run(["ivr"], capsys)[0] == 2


def test_wired_into_the_voiceprep_parser(capsys):
    from pipeline.cli import main

    assert main(["template", "check", "您好${TXT_4}"]) == 0
