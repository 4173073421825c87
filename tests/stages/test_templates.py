"""TTS template model, Huawei and Alibaba rules, rendering and caret drawing."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.templates import (
    Literal,
    VarType,
    Vendor,
    Violation,
    caret_lines,
    check_aliyun,
    check_huawei,
    check_huawei_request,
    check_template,
    load_registry,
    load_templates,
    parse_template,
    render_template,
    utf8_len,
)
from stages.templates.violations import char_width, text_width


def rules(verdict):
    return [v.rule for v in verdict.violations]


# ---------------------------------------------------------------- parsing


def test_parse_keeps_literals_and_typed_variables_with_positions():
    text = "尊敬的${TXT_8}您的初始密码为${NUM_6}。"
    t = parse_template(text)
    assert [type(p).__name__ for p in t.parts] == [
        "Literal",
        "Variable",
        "Literal",
        "Variable",
        "Literal",
    ]
    txt, num = t.variables
    assert (txt.type, txt.size, txt.max_bytes) == (VarType.TXT, 8, 8)
    assert (num.type, num.size) == (VarType.NUM, 6)
    assert text[txt.start : txt.end] == "${TXT_8}"
    assert text[num.start : num.end] == "${NUM_6}"
    assert "".join(text[p.start : p.end] for p in t.parts) == text
    assert t.problems == ()


def test_parse_date_and_time_have_fixed_widths():
    date, time = parse_template("于${DATE},${TIME}").variables
    assert (date.type, date.max_bytes) == (VarType.DATE, 10)
    assert (time.type, time.max_bytes) == (VarType.TIME, 8)


def test_parse_aliyun_variables_are_named_strings():
    t = parse_template("您好${userName}，取件码${code}", vendor="aliyun")
    assert [(v.name, v.type) for v in t.variables] == [
        ("userName", VarType.STRING),
        ("code", VarType.STRING),
    ]


def test_parse_reports_unclosed_variable_and_keeps_going():
    t = parse_template("您好${TXT_8 然后${NUM_4}")
    assert [p.rule for p in t.problems] == ["unclosed_variable"]
    assert t.problems[0].start == 2
    assert [v.name for v in t.variables] == ["NUM_4"]


@pytest.mark.parametrize(
    "name", ["TXT_", "FOO", "txt_8", "TXT_0", "NUM", "", "TXT_a", "TXT_٣", "NUM_８"]
)
def test_parse_huawei_refuses_malformed_names(name):
    t = parse_template(f"您好${{{name}}}")
    assert [p.rule for p in t.problems] == ["unknown_variable"]
    assert t.variables[0].type is VarType.UNKNOWN


non_ascii_digits = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())


@given(non_ascii_digits)
def test_parse_huawei_sizes_are_ascii_digits_only(digit):
    for name in (f"TXT_{digit}", f"NUM_{digit}", f"TXT_1{digit}"):
        (var,) = parse_template("您好${" + name + "}").variables
        assert var.type is VarType.UNKNOWN


def test_parse_hints_at_case_for_lowercase_huawei_names():
    (problem,) = parse_template("您好${txt_8}").problems
    assert "${TXT_8}" in problem.message


def test_parse_reports_lone_surrogates():
    t = parse_template("您好\ud800")
    assert [p.rule for p in t.problems] == ["invalid_unicode"]


def test_parse_rejects_unknown_vendor():
    with pytest.raises(ValueError, match="huawei"):
        parse_template("x", vendor="tencent")  # type: ignore[arg-type]


# ---------------------------------------------------------------- Huawei rules


@pytest.mark.parametrize(
    "text",
    [
        "尊敬的${TXT_8}您的初始密码为${NUM_6}。",  # documented example
        "请于${DATE},${TIME}前领取您的快递。",  # documented example
        "请于${DATE}，${TIME}前领取。",  # full-width comma
        "请于${DATE} , ${TIME}前领取。",
        "会议时间${TIME}，日期${DATE}。",
        "请于${DATE}前，最晚${TIME}领取。",  # separated by other words
        "您好，验证码${NUM_32}，${TXT_32}。",  # the 32-byte limit itself
        "  您好${TXT_1}",
        "a" * 500,
    ],
)
def test_huawei_accepts(text):
    verdict = check_huawei(text)
    assert verdict.ok, verdict.format()
    assert verdict.violations == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${DATE}${TIME}", ["starts_with_variable", "date_time_not_separated"]),
        ("${TXT_8}您好", ["starts_with_variable"]),
        ("  ${TXT_8}您好", ["starts_with_variable"]),
        ("\u200b${TXT_8}您好", ["starts_with_variable"]),  # invisible: still the start
        ("\ufeff ${TXT_8}您好", ["starts_with_variable"]),
        ("请于${DATE}${TIME}前领取", ["date_time_not_separated"]),
        ("请于${DATE}  ${TIME}前领取", ["date_time_not_separated"]),
        ("请于${TIME}${DATE}前领取", ["date_time_not_separated"]),
        ("您好${DATE}和${TIME}", ["date_time_not_separated"]),  # words, but no comma
        ("您好${DATE}/${TIME}", ["date_time_not_separated"]),
        ("您好${DATE}；${TIME}", ["date_time_not_separated"]),
        ("您好${DATE}、${TIME}", ["date_time_not_separated"]),
        ("您好${TXT_33}", ["variable_too_long"]),
        ("您好${NUM_40}", ["variable_too_long"]),
        ("您好${FOO}", ["unknown_variable"]),
        ("您好${TXT_", ["unclosed_variable"]),
        ("", ["empty_text"]),
        ("   ", ["empty_text"]),
        ("a" * 501, ["text_too_long"]),
        ("长" * 167, ["text_too_long"]),  # 501 bytes in 167 characters
    ],
)
def test_huawei_refuses(text, expected):
    verdict = check_huawei(text)
    assert not verdict.ok
    assert rules(verdict) == expected


@given(
    st.sampled_from(["${DATE}", "${TIME}"]),
    st.text(alphabet="和 /；、.:下午前 ,，", max_size=6),
)
def test_huawei_date_and_time_need_a_comma_between(first, between):
    second = "${TIME}" if first == "${DATE}" else "${DATE}"
    text = f"您好{first}{between}{second}。"
    found = [v for v in check_huawei(text).violations if v.rule == "date_time_not_separated"]
    if "," in between or "，" in between:
        assert found == []
    else:
        (v,) = found
        assert (v.start, v.end) == (2, len(text) - 1)  # from the first placeholder to the second


def test_huawei_reports_every_violation_at_once():
    text = "${TXT_40}尊敬的${txt_8}您${DATE}${TIME}，${NUM_}" + "长" * 200
    verdict = check_huawei(text)
    assert sorted(rules(verdict)) == sorted(
        [
            "starts_with_variable",
            "variable_too_long",
            "unknown_variable",
            "unknown_variable",
            "date_time_not_separated",
            "text_too_long",
        ]
    )
    out = verdict.format()
    for rule in set(rules(verdict)):
        assert f"[{rule}]" in out
    assert out.count("^") >= len(verdict.violations)


def test_huawei_length_counts_placeholders_as_written():
    text = "您" * 160 + "${TXT_32}"  # 480 + 9 = 489 bytes as written
    assert check_huawei(text).ok
    assert check_huawei(text).measured["bytes"] == 489


def test_huawei_too_long_points_at_the_first_character_past_500_bytes():
    text = "长" * 170  # 510 bytes; the 167th character (index 166) ends at byte 501
    (v,) = check_huawei(text).violations
    assert (v.start, v.end) == (166, 170)
    assert (v.byte_start, v.byte_end) == (498, 510)
    assert "510 bytes" in v.message and "500" in v.message and "10 bytes" in v.message


def test_huawei_fields_accepted_when_in_range():
    verdict = check_huawei(
        "您好${TXT_8}",
        name="快递通知Notice1",
        scene="3",
        speed=-200,
        volume=100,
        voicename="cn_tianmeiru_common",
        language="th_TH",
    )
    assert verdict.ok, verdict.format()


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"name": "a" * 51}, "name_too_long"),
        ({"name": "快递-通知"}, "name_bad_characters"),
        ({"name": ""}, "empty_name"),
        ({"name": 12}, "bad_name"),
        ({"scene": "1"}, "bad_scene"),
        ({"scene": 3}, "bad_scene"),  # §3.2 types it as a string
        ({"speed": 501}, "speed_out_of_range"),
        ({"speed": -201}, "speed_out_of_range"),
        ({"speed": "fast"}, "bad_speed"),
        ({"volume": -1}, "volume_out_of_range"),
        ({"volume": 101}, "volume_out_of_range"),
        ({"volume": True}, "bad_volume"),
        ({"voicename": "cn_nobody"}, "unknown_voicename"),
        ({"language": "ja_JP"}, "unknown_language"),
    ],
)
def test_huawei_fields_refused(fields, rule):
    verdict = check_huawei("您好${TXT_8}", **fields)
    assert rules(verdict) == [rule]
    assert not verdict.ok


def test_huawei_name_of_fifty_cjk_characters_passes():
    assert check_huawei("您好", name="名" * 50).ok


def test_huawei_name_violations_draw_carets_under_the_name():
    out = check_huawei("您好", name="快递-通知!").format()
    assert "快递-通知!" in out
    lines = out.splitlines()
    i = lines.index("      快递-通知!")
    assert lines[i + 1] == " " * (6 + 4) + "^"  # two CJK characters before the '-'
    assert lines[i + 3] == "      快递-通知!"
    assert lines[i + 4] == " " * (6 + 9) + "^"  # 快递-通知 is 9 columns wide


def test_huawei_request_body_is_checked_whole():
    body = {
        "name": "快递通知",
        "scene": "3",
        "voicecontent": {"textcontent": "${DATE}${TIME}", "language": "zh_CN"},
    }
    assert rules(check_huawei_request(body)) == ["starts_with_variable", "date_time_not_separated"]
    missing = check_huawei_request({"name": "x", "voicecontent": {}})
    assert {v.field for v in missing.violations if v.rule == "missing_field"} == {
        "voicecontent.textcontent",
        "voicecontent.language",
    }


# ---------------------------------------------------------------- Alibaba rules


@pytest.mark.parametrize(
    "text",
    [
        "您好${name}，您的快递已到，请凭取件码${code}领取。",
        "Hello ${userName}, your parcel has arrived.",
        "您好${user_1}，谢谢。",
        "尊敬的客户，您好。",
        "x" * 1000,
    ],
)
def test_aliyun_accepts(text):
    verdict = check_aliyun(text)
    assert verdict.ok, verdict.format()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x" * 1001, ["text_too_long"]),
        ("", ["empty_text"]),
        ("编号#1", ["forbidden_character"]),
        ("日期2024/03/09", ["forbidden_character", "forbidden_character"]),
        ("时间10:30", ["forbidden_character"]),
        ("满100%", ["forbidden_character"]),
        ("价格¥5", ["forbidden_character"]),
        ("价格￥5", ["forbidden_character"]),
        ("【通知】您好", ["forbidden_character", "forbidden_character"]),
        ("服务器10.0.0.1故障", ["ip_address"]),
        ("详见https网站", ["url"]),
        ("访问HTTP网站", ["url"]),
        ("您好${1abc}", ["bad_variable_name"]),
        ("您好${123}", ["bad_variable_name"]),
        ("您好${user-name}", ["bad_variable_name"]),
        ("您好${}", ["bad_variable_name"]),
        ("您好${mobile}", ["reserved_variable_name"]),
        ("您好${Email}", ["reserved_variable_name"]),
        ("您好${a}${b}", ["adjacent_variables"]),
        ("您好${a} ${b}", ["adjacent_variables"]),
        ("${a}", ["only_variables"]),
        (" ${a} ", ["only_variables"]),
        ("您好Привет", ["unsupported_character"]),
        ("您好${name", ["unclosed_variable"]),
    ],
)
def test_aliyun_refuses(text, expected):
    verdict = check_aliyun(text)
    assert sorted(rules(verdict)) == sorted(expected), verdict.format()


def test_aliyun_url_word_inside_english_word_is_allowed():
    assert check_aliyun("The httpd daemon is fine.").ok


def test_aliyun_forbidden_characters_inside_variable_names_are_name_errors_only():
    assert rules(check_aliyun("您好${a-b}")) == ["bad_variable_name"]


def test_aliyun_shared_mode_limits_variables():
    assert check_aliyun("您好${a}，再见${b}。", shared=True).ok
    many = check_aliyun("您好${a}，再见${b}，还有${c}。", shared=True)
    assert rules(many) == ["too_many_variables"]
    repeated = check_aliyun("您好${a}，再见${a}。", shared=True)
    assert rules(repeated) == ["repeated_variable"]
    assert check_aliyun("您好${a}，再见${a}，还有${c}。").ok  # dedicated mode: no limit


def test_check_template_dispatches_by_vendor_and_ignores_unknown_fields():
    assert check_template("您好${name}", vendor="aliyun").ok
    assert rules(check_template("您好${name}", vendor="huawei")) == ["unknown_variable"]
    assert check_template("您好${TXT_4}", vendor="huawei", note="ignored").ok
    with pytest.raises(ValueError):
        check_template("x", vendor="tencent")  # type: ignore[arg-type]


# ---------------------------------------------------------------- rendering


def test_render_fills_documented_example_and_measures_bytes():
    v = render_template("尊敬的${TXT_8}您的初始密码为${NUM_6}。", ["张三", "123456"])
    assert v.ok, v.format()
    assert v.rendered == "尊敬的张三您的初始密码为123456。"
    assert v.measured["bytes"] == len(v.rendered.encode("utf-8")) == 45


def test_render_by_name_fills_every_occurrence():
    v = render_template("您好${TXT_8}，再见${TXT_8}", {"TXT_8": "李四"})
    assert v.rendered == "您好李四，再见李四"


def test_render_aliyun_by_name():
    v = render_template(
        "您好${name}，取件码${code}", {"name": "王五", "code": 4821}, vendor="aliyun"
    )
    assert v.rendered == "您好王五，取件码4821"


def test_render_aliyun_reports_the_rules_the_template_breaks():
    v = render_template("您好${name}，详见 http://x.cn", {"name": "王五"}, vendor="aliyun")
    assert not v.ok
    assert {x.rule for x in v.violations} == {"forbidden_character", "url"}
    assert [x.rule for x in v.violations] == [
        x.rule for x in check_template("您好${name}，详见 http://x.cn", vendor="aliyun").violations
    ]


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("您好${TXT_6}", "张三"),  # exactly 6 bytes
        ("您好${TXT_6}", "abcdef"),
        ("码${NUM_4}", "0042"),
        ("码${NUM_4}", 42),
        ("于${DATE}", "2024/02/29"),
        ("于${TIME}", "23:59"),
        ("于${TIME}", "00:00:59"),
    ],
)
def test_render_accepts_values_of_the_right_type(template, value):
    assert render_template(template, [value]).ok


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("您好${TXT_6}", "张三李"),  # 9 bytes
        ("您好${TXT_6}", ""),
        ("您好${TXT_6}", 12),
        ("您好${TXT_6}", None),
        ("码${NUM_4}", "12345"),
        ("码${NUM_4}", "12a4"),
        ("码${NUM_4}", "-12"),
        ("码${NUM_4}", "１２"),  # full-width digits
        ("码${NUM_4}", -3),
        ("码${NUM_4}", True),
        ("于${DATE}", "2023/02/29"),
        ("于${DATE}", "2024-01-01"),
        ("于${DATE}", "2024/1/1"),
        ("于${DATE}", "2024/13/01"),
        ("于${TIME}", "24:00"),
        ("于${TIME}", "12:60"),
        ("于${TIME}", "12:30:60"),
        ("于${TIME}", "9:30"),
        ("于${DATE}", "２０２４/０２/２９"),  # full-width digits
        ("于${DATE}", "٢٠٢٤/٠٢/٢٩"),  # Arabic-Indic digits
        ("于${TIME}", "２３:５９"),
        ("于${TIME}", "23:59:５９"),
    ],
)
def test_render_refuses_values_of_the_wrong_type(template, value):
    v = render_template(template, [value])
    assert rules(v) == ["bad_value"]
    assert v.rendered is None
    assert v.violations[0].start == template.index("$")


def test_render_reports_missing_and_extra_values():
    v = render_template("您好${TXT_4}，码${NUM_4}", ["ab"])
    assert rules(v) == ["missing_value"]
    v = render_template("您好${TXT_4}", ["ab", "cd"])
    assert rules(v) == ["unexpected_value"]
    v = render_template("您好${name}", {"nmae": "x"}, vendor="aliyun")
    assert sorted(rules(v)) == ["missing_value", "unexpected_value"]


def test_render_reports_rendered_text_over_500_bytes():
    template = "您" * 150 + "${TXT_32}" * 2  # 450 + 18 bytes as written: passes
    assert check_huawei(template).ok
    v = render_template(template, ["x" * 32, "y" * 32])
    assert rules(v) == ["text_too_long"]
    assert v.violations[0].field == "rendered"
    assert v.measured["bytes"] == 514
    assert v.rendered is not None and "filled-in text" in v.violations[0].message
    assert "^" in v.format()


def test_render_reports_the_huawei_rules_the_template_breaks():
    v = render_template("${TXT_50}${DATE}${TIME}", ["a", "2024/01/01", "10:00"])
    assert not v.ok
    assert rules(v) == ["starts_with_variable", "variable_too_long", "date_time_not_separated"]
    assert v.rendered == "a2024/01/0110:00"  # the values fit, so the text is still shown
    assert rules(v) == rules(check_huawei("${TXT_50}${DATE}${TIME}"))


def test_render_aliyun_does_not_apply_huawei_rules():
    # Huawei refuses a template that starts with a variable; Alibaba does not.
    assert render_template("${name}您好，欢迎", {"name": "x"}, vendor="aliyun").ok


def test_render_refuses_malformed_variables():
    v = render_template("您好${FOO}", ["x"])
    assert "unknown_variable" in rules(v) and v.rendered is None


# ---------------------------------------------------------------- carets


def test_caret_accounts_for_wide_characters():
    text = "尊敬的${TXT_40}您好"
    (v,) = check_huawei(text).violations
    assert (v.start, v.end) == (3, 12)
    line, carets = caret_lines(text, 3, 12, indent="").split("\n")
    assert line == text
    assert carets == " " * 6 + "^" * 9  # three CJK characters are six columns


def test_caret_under_wide_span_is_twice_as_long():
    _, carets = caret_lines("ab长长cd", 2, 4, indent="").split("\n")
    assert carets == "  ^^^^"


def test_caret_under_thai_skips_vowel_marks():
    text = "สวัสดี คุณ${TXT_40}"  # ั ี ุ are marks drawn on the consonant before them
    (v,) = check_huawei(text).violations
    assert (v.start, v.end) == (10, 19)
    _, carets = caret_lines(text, 10, 19, indent="").split("\n")
    assert carets == " " * 7 + "^" * 9


@pytest.mark.parametrize(
    ("char", "width"),
    [
        ("\u0e31", 0),  # Thai vowel sign, Mn with combining class 0
        ("\u0301", 0),  # combining acute accent
        ("\u20dd", 0),  # enclosing circle, Me
        ("\ufe0f", 0),  # variation selector-16
        ("\u200d", 0),  # zero-width joiner, Cf
        ("\u200b", 0),  # zero-width space, Cf
        ("a", 1),
        ("ส", 1),
        ("长", 2),
        ("，", 2),  # full-width comma
        ("\U0001f600", 2),  # emoji, East Asian Wide
    ],
)
def test_char_width(char, width):
    assert char_width(char) == width


def test_caret_window_on_long_lines_keeps_the_span_visible():
    text = "长" * 200 + "${TXT_99}" + "长" * 50
    start = text.index("$")
    line, carets = caret_lines(text, start, start + 9, indent="").split("\n")
    assert text_width(line) <= 110
    column = len(carets) - len(carets.lstrip(" "))
    assert carets.strip() == "^" * 9
    # the carets sit under the placeholder as displayed
    shown_before = line[: line.index("$")]
    assert text_width(shown_before) == column


def test_caret_on_later_line_of_multiline_text():
    text = "第一行\n第二行${FOO}"
    (v,) = check_huawei(text).violations
    assert "line 2" in v.where(text)
    rendered = v.render(text)
    assert "第二行${FOO}" in rendered and "第一行" not in rendered


def test_position_on_later_line_counts_from_the_start_of_that_line():
    text = "第一行\n第二行${FOO}"
    (v,) = check_huawei(text).violations
    assert (v.start, v.byte_start) == (7, 19)  # the JSON keeps offsets in the whole text
    assert v.where(text) == "line 2, char 3 (byte 9)"
    (one,) = check_huawei("第二行${FOO}").violations
    assert one.where("第二行${FOO}") == "char 3 (byte 9)"


def test_violation_to_dict_is_json():
    (v,) = check_huawei("您好${TXT_40}").violations
    data = json.loads(json.dumps(v.to_dict()))
    assert data["rule"] == "variable_too_long" and data["byte_start"] == 6


# ---------------------------------------------------------------- files


def test_load_templates_text_file_skips_comments_and_blanks(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("# comment\n\n您好${TXT_4}\n  # another\n再见\n", encoding="utf-8")
    entries = load_templates(path)
    assert [e.text for e in entries] == ["您好${TXT_4}", "再见"]
    assert entries[0].label == "t.txt:3"


def test_load_templates_json_shapes(tmp_path):
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps([{"name": "a", "text": "x", "speed": 1}, "y"]), "utf-8")
    assert [(e.label, e.text, e.fields) for e in load_templates(listing)] == [
        ("a", "x", {"name": "a", "speed": 1}),
        ("list.json[2]", "y", {}),
    ]
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"TTS_1": "您好"}), "utf-8")
    assert [(e.label, e.text) for e in load_templates(mapping)] == [("TTS_1", "您好")]
    assert load_registry(mapping) == {"TTS_1": "您好"}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"TTS_1": 3}'])
def test_load_registry_refuses_bad_files_with_a_fix(tmp_path, content):
    from pipeline.errors import ConfigurationError

    path = tmp_path / "r.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ConfigurationError, match=str(path.name)):
        load_registry(path)


def test_load_templates_single_object_is_one_template_with_fields(tmp_path):
    path = tmp_path / "single.json"
    template = {"name": "通知", "text": "您好${TXT_5}", "language": "zh_CN"}
    path.write_text(json.dumps(template), "utf-8")
    (entry,) = load_templates(path)
    assert (entry.label, entry.text) == ("通知", "您好${TXT_5}")
    assert entry.fields == {"name": "通知", "language": "zh_CN"}


def test_load_templates_single_object_without_text_string_says_what_is_needed(tmp_path):
    from pipeline.errors import ConfigurationError

    path = tmp_path / "single.json"
    path.write_text(json.dumps({"name": "通知", "text": 5}), "utf-8")
    with pytest.raises(ConfigurationError, match='needs a "text" string'):
        load_templates(path)


def test_load_templates_splits_lines_at_newline_only(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("您好\u0085${TXT_5}\r\n您好\u2028再见${TXT_5}\n\x0c${TXT_40}\n".encode())
    entries = load_templates(path)
    assert [e.text for e in entries] == [
        "您好\u0085${TXT_5}",
        "您好\u2028再见${TXT_5}",
        "\x0c${TXT_40}",
    ]
    assert [e.label for e in entries] == ["t.txt:1", "t.txt:2", "t.txt:3"]
    assert [rules(check_template(e.text)) for e in entries] == [
        [],
        [],
        ["starts_with_variable", "variable_too_long"],
    ]


@pytest.mark.parametrize("name", ["brackets.txt", "brackets.tpl", "brackets"])
def test_load_templates_text_file_may_start_with_a_bracket(tmp_path, name):
    path = tmp_path / name
    path.write_text("[通知]您的验证码是${NUM_6}\n{注意}再见\n", "utf-8")
    assert [e.text for e in load_templates(path)] == ["[通知]您的验证码是${NUM_6}", "{注意}再见"]


def test_load_templates_json_content_without_json_suffix_is_json(tmp_path):
    path = tmp_path / "templates.tpl"
    path.write_text(json.dumps(["您好${TXT_5}"]), "utf-8")
    assert [e.text for e in load_templates(path)] == ["您好${TXT_5}"]
    (tmp_path / "t.txt").write_text('["您好"]', "utf-8")
    assert [e.text for e in load_templates(tmp_path / "t.txt")] == ['["您好"]']


def test_load_templates_missing_file_is_configuration_error(tmp_path):
    from pipeline.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no such file"):
        load_templates(tmp_path / "missing.txt")


# ---------------------------------------------------------------- scale


class CountingStr(str):
    """A str counting the characters its slicing and searching methods go through: a
    measure of work that, unlike a clock, does not depend on the machine."""

    touched = 0

    def __getitem__(self, key):
        piece = str.__getitem__(self, key)
        CountingStr.touched += len(piece) if isinstance(key, slice) else 1
        return piece

    def _range(self, start, end):
        start, end, _ = slice(start, end).indices(len(self))
        return start, end

    def find(self, sub, start=None, end=None):
        lo, hi = self._range(start, end)
        found = str.find(self, sub, lo, hi)
        CountingStr.touched += (hi if found == -1 else found + len(sub)) - lo
        return found

    def rfind(self, sub, start=None, end=None):
        lo, hi = self._range(start, end)
        found = str.rfind(self, sub, lo, hi)
        CountingStr.touched += hi - (lo if found == -1 else found)
        return found

    def count(self, sub, start=None, end=None):
        lo, hi = self._range(start, end)
        CountingStr.touched += hi - lo
        return str.count(self, sub, lo, hi)

    def __contains__(self, sub):
        CountingStr.touched += len(self)
        return str.__contains__(self, sub)


def work(text: str, vendor: Vendor = "huawei") -> int:
    """Characters gone through to check ``text`` and draw every violation."""
    CountingStr.touched = 0
    verdict = check_template(CountingStr(text), vendor=vendor)
    verdict.format(limit=None)
    verdict.to_dict()
    return CountingStr.touched


@pytest.mark.parametrize(
    ("unit", "vendor"),
    [
        ("${", "huawei"),  # unclosed, each of them
        ("${x", "huawei"),
        ("${TXT_99}", "huawei"),  # too long, each of them
        ("${TXT_99}\n", "huawei"),
        ("${a}${id}#", "aliyun"),
        ("长${TXT_40}สวัสดี", "huawei"),
    ],
)
def test_checking_and_drawing_work_grows_linearly(unit, vendor):
    small, large = work("您好" + unit * 1500, vendor), work("您好" + unit * 3000, vendor)
    assert large <= 2.5 * small, (small, large)  # quadratic work would be about 4 times


def test_huge_template_with_60000_violations_is_checked_and_summarised():
    text = "您好" + "${TXT_99}" * 60_000  # 540 KB, every variable over 32 bytes
    verdict = check_template(text)
    assert len(text.encode()) > 500_000
    assert len(verdict.violations) == 60_001  # and text_too_long
    shown = verdict.format()
    assert shown.count("error[variable_too_long]") == 50
    assert "... and 59951 more violations" in shown
    assert len(verdict.to_dict()["violations"]) == 60_001
    last = max(verdict.violations, key=lambda v: v.start or 0)
    assert last.byte_start == len(text[: last.start].encode())


def test_format_limit_none_draws_every_violation():
    verdict = check_template("您好" + "${TXT_99}" * 60)
    assert verdict.format(limit=None).count("^") > 60 * 9 - 1
    assert "more violations" not in verdict.format(limit=None)
    assert "... and 11 more violations" in verdict.format()


# ---------------------------------------------------------------- properties

texts = st.text(max_size=300)
huawei_values = {
    VarType.TXT: lambda n: st.text(max_size=n).filter(lambda s: s and utf8_len(s) <= n),
    VarType.NUM: lambda n: st.text("0123456789", min_size=1, max_size=n),
    VarType.DATE: lambda n: (
        st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.strftime("%Y/%m/%d"))
    ),
    VarType.TIME: lambda n: st.times().map(lambda t: t.strftime("%H:%M:%S")),
}


@given(texts)
def test_utf8_len_matches_encode(text):
    assert utf8_len(text) == len(text.encode("utf-8"))


@given(texts)
@settings(max_examples=200)
def test_violation_byte_offsets_match_encoding(text):
    for vendor in ("huawei", "aliyun"):
        verdict = check_template(text, vendor=vendor)
        if "bytes" in verdict.measured:
            assert verdict.measured["bytes"] == len(text.encode("utf-8"))
        for v in verdict.violations:
            if v.field == "text":
                assert v.start is not None and v.end is not None
                assert v.byte_start == len(text[: v.start].encode("utf-8"))
                assert v.byte_end == len(text[: v.end].encode("utf-8"))
                assert 0 <= v.start <= v.end <= len(text)


@given(texts)
def test_parse_parts_cover_the_text(text):
    t = parse_template(text)
    pieces = [text[p.start : p.end] for p in t.parts]
    assert "".join(pieces) == text
    assert all(p.text == text[p.start : p.end] for p in t.parts if isinstance(p, Literal))


@st.composite
def filled_templates(draw):
    """A valid Huawei template and a valid value for each of its variables."""
    kinds = draw(st.lists(st.sampled_from(list(huawei_values)), min_size=1, max_size=6))
    pieces, values = [draw(st.text("您好，欢迎abc ", min_size=1, max_size=60))], []
    for kind in kinds:
        n = draw(st.integers(1, 32))
        pieces.append(
            "${%s}" % (f"{kind.value}_{n}" if kind in (VarType.TXT, VarType.NUM) else kind.value)
        )
        pieces.append(draw(st.text("您好，谢谢xyz", min_size=1, max_size=40)))
        values.append(draw(huawei_values[kind](n)))
    return "".join(pieces), values


@given(filled_templates())
@settings(max_examples=200)
def test_rendering_valid_values_passes_the_length_rule_or_says_why(case):
    template, values = case
    v = render_template(template, values)
    if not check_huawei(template).ok:
        return  # e.g. a DATE right before a TIME; covered by the rules above
    assert v.rendered is not None, v.format()
    size = len(v.rendered.encode("utf-8"))
    assert v.measured["bytes"] == size
    if size <= 500:
        assert v.ok, v.format()
    else:
        assert rules(v) == ["text_too_long"]
        assert f"{size} bytes" in v.violations[0].message


@given(st.text(max_size=80), st.integers(0, 80), st.integers(0, 80))
def test_caret_lines_never_fail(text, a, b):
    a, b = sorted((min(a, len(text)), min(b, len(text))))
    out = caret_lines(text, a, b)
    assert "^" in out


def test_violation_without_position_renders_its_field():
    v = Violation("bad_speed", "speed is 'x'", field="speed")
    assert v.render("whatever") == "error[bad_speed] speed: speed is 'x'"
