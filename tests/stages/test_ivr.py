"""Alibaba IvrCall request checks."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import ConfigurationError
from stages.ivr import MAINLAND_NUMBER, check_ivr_call, load_requests

REGISTRY = {
    "TTS_1": "您好${name}，您的快递已到，请凭取件码${code}领取。",
    "TTS_2": "感谢您的接听，再见。",
}


def good(**changes):
    request = {
        "CalledShowNumber": "057188773344",
        "CalledNumber": "13800138000",
        "StartCode": "TTS_1",
        "StartTtsParams": json.dumps({"name": "张先生", "code": "4821"}, ensure_ascii=False),
        "PlayTimes": 2,
        "ByeCode": "TTS_2",
        "Timeout": 5000,
        "OutId": "order1",
    }
    request.update(changes)
    return {k: v for k, v in request.items() if v is not None}


def rules(request, templates=REGISTRY):
    return [v.rule for v in check_ivr_call(request, templates=templates).violations]


def test_good_request_passes():
    verdict = check_ivr_call(good(), templates=REGISTRY)
    assert verdict.ok and verdict.violations == []


def test_voice_file_request_without_params_passes():
    assert rules(good(StartCode="hello.wav", StartTtsParams=None, ByeCode="bye.wav")) == []


@pytest.mark.parametrize("field", ["CalledShowNumber", "CalledNumber", "StartCode"])
def test_required_fields(field):
    request = good()
    del request[field]
    assert "missing_field" in rules(request)


@pytest.mark.parametrize(
    ("start", "bye", "ok"),
    [
        ("TTS_1", "TTS_2", True),
        ("a.wav", "b.wav", True),
        ("TTS_2", "bye.wav", False),
        ("a.wav", "TTS_2", False),
    ],
)
def test_start_and_bye_codes_are_the_same_kind(start, bye, ok):
    params = None if not start.startswith("TTS_1") else good()["StartTtsParams"]
    found = rules(good(StartCode=start, ByeCode=bye, StartTtsParams=params))
    assert ("mixed_code_kinds" not in found) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1, True),
        (3, True),
        ("2", True),
        (0, False),
        (4, False),
        ("x", False),
        (True, False),
        (1.5, False),
        ("３", False),  # full-width digit
        ("٢", False),  # Arabic-Indic digit
    ],
)
def test_play_times(value, ok):
    assert ("bad_play_times" not in rules(good(PlayTimes=value))) is ok


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (0, "bad_timeout"),
        (-5, "bad_timeout"),
        ("soon", "bad_timeout"),
        ("５０００", "bad_timeout"),
        (5, "timeout_looks_like_seconds"),
    ],
)
def test_timeout_is_positive_milliseconds(value, rule):
    verdict = check_ivr_call(good(Timeout=value), templates=REGISTRY)
    assert [v.rule for v in verdict.violations] == [rule]
    assert verdict.ok is (rule == "timeout_looks_like_seconds")  # a warning does not fail


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a", True),
        ("x" * 15, True),
        ("订单号码五六", False),
        ("订单号码五", True),
        ("", False),
        ("x" * 16, False),
        (12345, True),
    ],
)
def test_out_id_is_1_to_15_bytes(value, ok):
    assert ("bad_out_id" not in rules(good(OutId=value))) is ok


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("13800138000", True),
        ("+8613800138000", True),
        ("008613800138000", True),
        ("8619912345678", True),
        ("01012345678", True),
        ("057188773344", True),
        ("12800138000", False),
        ("1380013800", False),
        ("138-0013-8000", False),
        ("+1 415 555 0100", False),
        ("13800138000,13900139000", False),
        (13800138000, False),
        ("+861012345678", True),  # Beijing fixed line, trunk 0 dropped after +86
        ("0086215551234", True),  # Shanghai, 7-digit subscriber number
        ("86755123456789", False),  # 9 digits after the area code
        ("+8601012345678", False),  # trunk 0 kept after the country code
        ("00000000000", False),  # area codes never start with 0
        ("00861234567", False),
        ("0101234567", True),
        ("010123456", False),  # 6-digit subscriber number
        ("13８00138000", False),  # a full-width digit
        ("١٣٨٠٠١٣٨٠٠٠", False),  # Arabic-Indic digits
    ],
)
def test_called_number_is_one_mainland_number(number, ok):
    assert ("bad_called_number" not in rules(good(CalledNumber=number))) is ok


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_any_mainland_mobile_is_accepted(number):
    assert MAINLAND_NUMBER.fullmatch(number)
    assert MAINLAND_NUMBER.fullmatch("+86" + number)


fixed_lines = st.from_regex(r"[1-9][0-9]{1,2}[0-9]{7,8}", fullmatch=True)


@given(fixed_lines)
def test_fixed_line_takes_trunk_zero_only_without_country_code(number):
    assert MAINLAND_NUMBER.fullmatch("0" + number)
    for prefix in ("+86", "0086", "86"):
        assert MAINLAND_NUMBER.fullmatch(prefix + number)
        assert not MAINLAND_NUMBER.fullmatch(prefix + "0" + number)


@given(st.from_regex(r"00[0-9]{9,11}", fullmatch=True).filter(lambda n: n[:4] != "0086"))
def test_numbers_starting_with_two_zeros_are_refused_unless_0086(number):
    assert not MAINLAND_NUMBER.fullmatch(number)


def _is_mainland(number: str) -> bool:
    """The CalledNumber rule written out without a regex, to check MAINLAND_NUMBER against."""

    def mobile(d: str) -> bool:
        return len(d) == 11 and d[0] == "1" and d[1] in "3456789"

    def fixed_line(d: str) -> bool:  # area code 2-3 digits + subscriber 7-8 digits
        return 9 <= len(d) <= 11 and d[0] != "0"

    def national(d: str) -> bool:
        return mobile(d) or fixed_line(d)

    if not number.lstrip("+").isascii() or not number.lstrip("+").isdigit():
        return False
    if any(number.startswith(p) and national(number[len(p) :]) for p in ("+86", "0086", "86")):
        return True
    return mobile(number) or (number[:1] == "0" and fixed_line(number[1:]))


@given(
    st.tuples(
        st.sampled_from(["", "+86", "0086", "86", "0", "00", "+860", "860", "+"]),
        st.text("0123456789", max_size=13),
    ).map("".join)
)
def test_called_number_regex_matches_the_written_rule(number):
    assert bool(MAINLAND_NUMBER.fullmatch(number)) is _is_mainland(number)


def test_menu_keys_valid_and_unique():
    menu = [{"Key": k, "Code": "TTS_2"} for k in "0123456789*#"]
    assert rules(good(MenuKeyMap=menu)) == []
    bad = [
        {"Key": "1", "Code": "TTS_2"},
        {"Key": "1", "Code": "TTS_2"},
        {"Key": "10", "Code": "TTS_2"},
        {"Key": 5, "Code": "TTS_2"},
        {"Key": "2"},
    ]
    assert rules(good(MenuKeyMap=bad)) == [
        "duplicate_menu_key",
        "bad_menu_key",
        "bad_menu_key",
        "missing_field",
    ]


def test_flattened_menu_key_map_is_understood():
    request = good(
        **{
            "MenuKeyMap.1.Key": "1",
            "MenuKeyMap.1.Code": "TTS_1",
            "MenuKeyMap.1.TtsParams": '{"name": "x"}',
            "MenuKeyMap.2.Key": "1",
            "MenuKeyMap.2.Code": "TTS_2",
        }
    )
    verdict = check_ivr_call(request, templates=REGISTRY)
    assert [(v.rule, v.field) for v in verdict.violations] == [
        ("missing_tts_param", "MenuKeyMap[1].TtsParams"),
        ("duplicate_menu_key", "MenuKeyMap[2].Key"),
    ]


def test_flattened_menu_index_is_ascii_digits():
    request = good(**{"MenuKeyMap.١.Key": "1", "MenuKeyMap.١.Code": "TTS_2"})
    verdict = check_ivr_call(request, templates=REGISTRY)
    assert {v.rule for v in verdict.violations} == {"unknown_field"}
    assert verdict.measured["menu_keys"] == 0


def test_menu_key_map_must_be_a_list():
    assert rules(good(MenuKeyMap={"1": "TTS_2"})) == ["bad_menu"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "张", "code": "1"}, []),
        ('{"name": "张", "code": 1}', []),
        ('{"name": "张"}', ["missing_tts_param"]),
        ('{"name": "张", "code": "1", "extra": "x"}', ["unexpected_tts_param"]),
        ('{"name": "", "code": "1"}', ["bad_tts_param"]),
        ('{"name": ["a"], "code": "1"}', ["bad_tts_param"]),
        ('{"name": null, "code": "1"}', ["bad_tts_param"]),
        ("{name: 1}", ["bad_tts_params"]),
        ('["张", "1"]', ["bad_tts_params"]),
        (None, ["missing_tts_param", "missing_tts_param"]),
    ],
)
def test_tts_params_supply_exactly_the_template_variables(params, expected):
    assert rules(good(StartTtsParams=params)) == expected


def test_template_without_variables_needs_no_params():
    assert rules(good(StartCode="TTS_2", StartTtsParams=None)) == []


def test_unknown_template_id_is_reported_against_its_code():
    verdict = check_ivr_call(good(ByeCode="TTS_404"), templates=REGISTRY)
    assert [(v.rule, v.field) for v in verdict.violations] == [("unknown_template", "ByeCode")]


def test_without_registry_only_json_shape_is_checked():
    assert rules(good(StartTtsParams='{"anything": "x"}'), templates=None) == []
    assert rules(good(StartTtsParams="{oops"), templates=None) == ["bad_tts_params"]


def test_params_on_voice_file_are_a_warning():
    verdict = check_ivr_call(
        good(StartCode="a.wav", ByeCode="b.wav", StartTtsParams='{"x": "y"}'), templates=REGISTRY
    )
    assert [(v.rule, v.severity) for v in verdict.violations] == [
        ("unexpected_tts_params", "warning")
    ]
    assert verdict.ok


def test_unknown_fields_are_warnings():
    verdict = check_ivr_call(good(PlayTime=2), templates=REGISTRY)
    assert [(v.rule, v.severity) for v in verdict.violations] == [("unknown_field", "warning")]


def test_every_problem_is_reported_at_once():
    request = json.loads(Path("fixtures/templates/ivr-bad.json").read_text("utf-8"))
    verdict = check_ivr_call(
        request, templates=REGISTRY | {"TTS_100001": "您好${name}${code}", "TTS_100002": "再见"}
    )
    found = {v.rule for v in verdict.violations}
    assert {
        "bad_called_number",
        "mixed_code_kinds",
        "bad_play_times",
        "timeout_looks_like_seconds",
        "bad_out_id",
        "missing_tts_param",
        "unexpected_tts_param",
        "duplicate_menu_key",
        "unknown_template",
        "bad_menu_key",
    } <= found
    assert not verdict.ok


def test_load_requests_accepts_object_or_list(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps(good()), "utf-8")
    assert [label for label, _ in load_requests(one)] == ["one.json"]
    many = tmp_path / "many.json"
    many.write_text(json.dumps([good(), good()]), "utf-8")
    assert [label for label, _ in load_requests(many)] == ["many.json[1]", "many.json[2]"]
    bad = tmp_path / "bad.json"
    bad.write_text("[1]", "utf-8")
    with pytest.raises(ConfigurationError):
        load_requests(bad)
    with pytest.raises(ConfigurationError, match="no such file"):
        load_requests(tmp_path / "missing.json")


def test_load_requests_refuses_a_directory(tmp_path):
    with pytest.raises(ConfigurationError, match="is a directory"):
        load_requests(tmp_path)


def test_load_requests_refuses_an_empty_list(tmp_path):
    empty = tmp_path / "e.json"
    empty.write_text("[]", "utf-8")
    with pytest.raises(ConfigurationError, match="no requests"):
        load_requests(empty)


@pytest.mark.parametrize(
    ("field", "value"),
    [("StartCode", 123), ("ByeCode", 456), ("CalledShowNumber", 57188773344), ("StartCode", True)],
)
def test_code_and_number_fields_must_be_strings(field, value):
    verdict = check_ivr_call(good(**{field: value}, StartTtsParams=None), templates=None)
    assert [(v.rule, v.field) for v in verdict.violations] == [("bad_field_type", field)]
    assert not verdict.ok


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ('{"name": "a", "code": "1", "name": "b"}', "given twice"),
        ('{"name": NaN, "code": "1"}', "NaN"),
        ('{"name": "a", "code": Infinity}', "Infinity"),
    ],
)
def test_tts_params_refuse_duplicate_keys_and_non_json_numbers(params, says):
    verdict = check_ivr_call(good(StartTtsParams=params), templates=REGISTRY)
    (v,) = verdict.violations
    assert (v.rule, v.field) == ("bad_tts_params", "StartTtsParams") and says in v.message


@pytest.mark.parametrize(
    "numbers",
    [(0, 1), (1, 3), (2,), (0,)],
)
def test_flattened_menu_entries_are_numbered_from_one_without_gaps(numbers):
    flat = {}
    for n, key in zip(numbers, "12", strict=False):
        flat[f"MenuKeyMap.{n}.Key"] = key
        flat[f"MenuKeyMap.{n}.Code"] = "TTS_2"
    verdict = check_ivr_call(good(**flat), templates=REGISTRY)
    assert [(v.rule, v.field) for v in verdict.violations] == [("bad_menu_index", "MenuKeyMap")]


def test_voice_files_are_judged_by_their_last_recorded_review():
    from stages.ivr import VoiceFile

    files = {
        "ok.wav": VoiceFile("welcome.wav", "approved", "AUDIT_STATE_PASS", 1.7e9),
        "wait.wav": VoiceFile("menu.wav", "submitted", "AUDIT_STATE_INIT", 1.7e9),
        "bad.wav": VoiceFile("bye.wav", "rejected", "AUDIT_STATE_NOT_PASS", 1.7e9),
    }
    request = good(StartCode="ok.wav", StartTtsParams=None, ByeCode="wait.wav")
    request["MenuKeyMap"] = [{"Key": "1", "Code": "bad.wav"}, {"Key": "2", "Code": "other.wav"}]
    verdict = check_ivr_call(request, voice_files=files)
    found = {(v.rule, v.field, v.severity) for v in verdict.violations}
    assert found == {
        ("voice_file_not_approved", "ByeCode", "warning"),  # may have passed since
        ("voice_file_rejected", "MenuKeyMap[1].Code", "error"),  # final
    }  # other.wav: not in the journal, not judged
    assert not verdict.ok
    message = next(v.message for v in verdict.violations if v.field == "ByeCode")
    assert "menu.wav" in message and "AUDIT_STATE_INIT" in message and "voiceprep upload" in message
    assert check_ivr_call(request).violations == []  # without a journal nothing is judged


def test_recorded_voice_files_needs_an_upload_journal(tmp_path):
    from stages.ivr import recorded_voice_files

    with pytest.raises(ConfigurationError, match="voiceprep upload"):
        recorded_voice_files(tmp_path)
    (tmp_path / "journal.sqlite").write_bytes(b"")
    with pytest.raises(ConfigurationError, match="holds no uploads"):
        recorded_voice_files(tmp_path)


def test_recorded_voice_files_reads_a_damaged_detail_as_no_audit_state(tmp_path):
    import sqlite3
    from contextlib import closing

    from stages.ivr import VoiceFile, recorded_voice_files

    with closing(sqlite3.connect(tmp_path / "journal.sqlite")) as db:
        db.execute(
            "CREATE TABLE uploads (output TEXT, vendor TEXT, state TEXT, remote_id TEXT, "
            "status TEXT, detail TEXT, at REAL)"
        )
        db.executemany(
            "INSERT INTO uploads VALUES (?, 'aliyun', 'done', ?, 'submitted', ?, 1.7e9)",
            [
                ("a.wav", "a1.wav", "not json"),
                ("b.wav", "b1.wav", "[1]"),
                ("c.wav", "c1.wav", '{"audit_state": "AUDIT_STATE_INIT"}'),
            ],
        )
        db.commit()
    assert recorded_voice_files(tmp_path) == {
        "a1.wav": VoiceFile("a.wav", "submitted", "", 1.7e9),
        "b1.wav": VoiceFile("b.wav", "submitted", "", 1.7e9),
        "c1.wav": VoiceFile("c.wav", "submitted", "AUDIT_STATE_INIT", 1.7e9),
    }
