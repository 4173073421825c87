import tomllib

import pytest

from pipeline.errors import ConfigurationError
from pipeline.formats import FORMATS
from pipeline.profiles import available_profiles, load_profile, parse_profile

EXPECTED = {"tencent-ccc-ivr", "tencent-vod-voice", "aliyun-voice", "huawei-ivr", "yeastar-prompt"}


def test_all_five_vendor_profiles_ship():
    assert set(available_profiles()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_default_output_obeys_its_own_rules(name):
    profile = load_profile(name)
    assert profile.output.name in FORMATS
    rules = profile.rules
    assert profile.output.container in rules["container"].allowed
    assert profile.output.codec in rules["codec"].allowed
    assert profile.sample_rate in rules["sample_rate"].allowed
    assert rules["channels"].allowed == (1,)
    assert rules["container"].documented  # every vendor documents its containers


def test_documented_limits_from_vendors_md():
    assert load_profile("tencent-ccc-ivr").rules["file_size"].maximum == 5_000_000
    aliyun_max = load_profile("aliyun-voice").rules["file_size"].maximum
    assert aliyun_max is not None and aliyun_max < 2_000_000
    assert load_profile("yeastar-prompt").rules["file_size"].maximum == 8_000_000
    vod = load_profile("tencent-vod-voice")
    assert (vod.rules["duration"].minimum, vod.rules["duration"].maximum) == (5.0, 30.0)
    assert (vod.trim.min_s, vod.trim.max_s) == (5.0, 30.0)
    assert vod.sample_rate == 24000
    huawei = load_profile("huawei-ivr")
    assert huawei.output.name == "wav-alaw" and huawei.sample_rate == 8000


def test_voice_cloning_is_stricter_than_ivr():
    vod = load_profile("tencent-vod-voice").analysis
    ivr = load_profile("yeastar-prompt").analysis
    assert vod.min_snr_db > ivr.min_snr_db
    assert vod.quality_severity == "error" and ivr.quality_severity == "warning"


def test_filename_rules():
    assert load_profile("huawei-ivr").filename_ok("欢迎Welcome1")
    assert not load_profile("huawei-ivr").filename_ok("welcome_1")
    assert not load_profile("huawei-ivr").filename_ok("a" * 51)
    assert load_profile("yeastar-prompt").filename_ok("welcome_prompt-1")
    assert not load_profile("yeastar-prompt").filename_ok("welcome prompt")
    assert not load_profile("tencent-vod-voice").filename_ok("x" * 21)


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigurationError, match="yeastar-prompt"):
        load_profile("yeastar")


def test_profile_from_a_toml_file(tmp_path):
    src = load_profile("yeastar-prompt")
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nvendor = "Me"\napi = "none"\nsummary = "s"\n'
        '[output]\nformat = "mp3"\nsample_rate = 16000\n'
        "[rules.file_size]\nmax = 1000\ndocumented = true\n"
    )
    mine = load_profile(str(path))
    assert mine.output.name == "mp3" and mine.rules["file_size"].maximum == 1000
    assert mine.loudness == src.loudness  # defaults apply


def test_malformed_profile_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="missing 'output'"):
        parse_profile(tomllib.loads('name = "x"'))
    with pytest.raises(ConfigurationError, match="unknown output format"):
        parse_profile(
            tomllib.loads(
                'name="x"\nvendor="v"\napi="a"\nsummary="s"\n[output]\nformat="ogg"\nsample_rate=8000'
            )
        )


@pytest.mark.parametrize(
    "text, match",
    [
        ("[broken\n", "not valid TOML"),
        ("[rules.filename]\nmax = -5\n", "at least 1"),
        ('[rules.file_size]\nmax = "big"\n', "must be a number"),
        ("[rules.duration]\nmin = 30\nmax = 5\n", "larger than max"),
        ('[rules.filename]\npattern = "[a-"\n', "not a regular expression"),
        ('[output]\nformat = "mp3"\nsample_rate = "fast"\n', "malformed"),
    ],
)
def test_a_broken_profile_file_is_a_usage_error_naming_the_file(tmp_path, text, match):
    path = tmp_path / "mine.toml"
    head = 'name = "mine"\nvendor = "Me"\napi = "none"\nsummary = "s"\n'
    if "[output]" not in text:
        head += '[output]\nformat = "wav-pcm16"\nsample_rate = 8000\n'
    path.write_bytes((head + text).encode())
    with pytest.raises(ConfigurationError, match=match) as error:
        load_profile(str(path))
    assert str(path) in str(error.value)


def test_missing_profile_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_profile(str(tmp_path / "nope.toml"))


def _with_loudness(tmp_path, loudness):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nvendor = "Me"\napi = "none"\nsummary = "s"\n'
        '[output]\nformat = "wav-pcm16"\nsample_rate = 8000\n'
        f"[loudness]\n{loudness}\n"
    )
    return str(path)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_limiter_is_off_in_every_builtin_profile(name):
    loudness = load_profile(name).loudness
    assert loudness.limiter is False and loudness.max_limiting_db == 6.0


def test_loudness_limiter_keys_are_read(tmp_path):
    mine = load_profile(_with_loudness(tmp_path, "limiter = true\nmax_limiting_db = 4.5"))
    assert mine.loudness.limiter is True and mine.loudness.max_limiting_db == 4.5
    assert mine.loudness.target_lufs == -16.0  # the others keep their defaults


@pytest.mark.parametrize(
    ("loudness", "match"),
    [
        ('limiter = "yes"', "limiter must be true or false"),
        ("max_limiting_db = -1.0", "max_limiting_db must be between 0 and 24"),
        ('max_limiting_db = "6"', "malformed"),
        ("limiter_db = 6.0", "malformed"),
    ],
)
def test_bad_limiter_keys_are_configuration_errors(tmp_path, loudness, match):
    with pytest.raises(ConfigurationError, match=match):
        load_profile(_with_loudness(tmp_path, loudness))
