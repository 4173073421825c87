"""Credentials: secrets never print, and missing environment variables are named."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigurationError
from vendors.credentials import ENV_VARS, Credentials, Secret, from_env, mask_id

TENCENT_ENV = {
    "TENCENTCLOUD_SECRET_ID": "AKIDabcdefghijklmnop1234",
    "TENCENTCLOUD_SECRET_KEY": "tencent-key-value",
    "TENCENTCLOUD_SESSION_TOKEN": "tencent-token-value",
}


@settings(deadline=None)
@given(st.text(min_size=1))
def test_secret_never_shows_its_value(value: str) -> None:
    secret = Secret(value)
    for text in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "{}".format(secret),  # noqa: UP032
        format(secret, ">40"),
    ):
        assert text == "Secret('***')"
    assert secret.reveal() == value


def test_secret_hides_in_containers_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("s3cr3t-value")
    assert "s3cr3t-value" not in repr([secret]) and "s3cr3t-value" not in str({"k": secret})
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("key is %s", secret)
    assert "s3cr3t-value" not in caplog.text


def test_secret_equality_copy_and_pickle() -> None:
    secret = Secret("abc")
    assert secret == Secret("abc") and secret != Secret("abd") and secret != "abc"
    assert hash(secret) == hash(Secret("abc"))
    assert pickle.loads(pickle.dumps(secret)).reveal() == "abc"
    assert copy.deepcopy(secret).reveal() == "abc"
    assert Secret(secret).reveal() == "abc"  # type: ignore[arg-type]
    assert not Secret("") and Secret("x")
    assert not hasattr(secret, "__dict__")


def test_secret_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_from_env_reads_tencent() -> None:
    creds = from_env("tencent", environ=TENCENT_ENV)
    assert creds.vendor == "tencent"
    assert creds.key_id == TENCENT_ENV["TENCENTCLOUD_SECRET_ID"]
    assert creds.secret.reveal() == "tencent-key-value"
    assert creds.token is not None and creds.token.reveal() == "tencent-token-value"


def test_credentials_repr_hides_secrets() -> None:
    creds = from_env("tencent", environ=TENCENT_ENV)
    for text in (repr(creds), str(creds), f"{creds}"):
        for value in TENCENT_ENV.values():
            assert value not in text
    assert "AKID…1234" in repr(creds)


@pytest.mark.parametrize("vendor", sorted(ENV_VARS))
def test_from_env_every_vendor(vendor: str) -> None:
    id_var, secret_var, _ = ENV_VARS[vendor]
    env = {id_var: f"{vendor}-id", secret_var: f"{vendor}-secret"}
    creds = from_env(vendor, environ=env)
    assert (creds.key_id, creds.secret.reveal(), creds.token) == (
        f"{vendor}-id",
        f"{vendor}-secret",
        None,
    )


def test_env_variable_names_are_the_documented_ones() -> None:
    assert ENV_VARS["tencent"] == (
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "TENCENTCLOUD_SESSION_TOKEN",
    )
    assert ENV_VARS["alibaba"] == (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    )
    assert ENV_VARS["huawei"] == ("HUAWEI_CEC_APP_KEY", "HUAWEI_CEC_APP_SECRET", None)
    assert ENV_VARS["yeastar"] == ("YEASTAR_CLIENT_ID", "YEASTAR_CLIENT_SECRET", None)


def test_missing_variables_are_all_named() -> None:
    with pytest.raises(ConfigurationError) as info:
        from_env("alibaba", environ={})
    message = str(info.value)
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in message and "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in message
    assert "SECURITY_TOKEN" not in message  # optional


def test_empty_variable_counts_as_missing_and_present_values_do_not_leak() -> None:
    env = {"YEASTAR_CLIENT_ID": "client-id-value", "YEASTAR_CLIENT_SECRET": ""}
    with pytest.raises(ConfigurationError) as info:
        from_env("yeastar", environ=env)
    assert "YEASTAR_CLIENT_SECRET" in str(info.value)
    assert "YEASTAR_CLIENT_ID" not in str(info.value) and "client-id-value" not in str(info.value)


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAWEI_CEC_APP_KEY", "hw-key")
    monkeypatch.setenv("HUAWEI_CEC_APP_SECRET", "hw-secret")
    assert from_env("Huawei").key_id == "hw-key"


def test_alias_and_unknown_vendor() -> None:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s"}
    assert from_env("aliyun", environ=env).vendor == "alibaba"
    with pytest.raises(ConfigurationError, match="tencent"):
        from_env("acme", environ={})


def test_mask_id() -> None:
    assert mask_id("AKIDabcdefghijkl1234") == "AKID…1234"
    assert mask_id("short") == "***"


def test_credentials_is_frozen() -> None:
    creds = Credentials("tencent", "id", Secret("s"))
    with pytest.raises(AttributeError):
        creds.key_id = "other"  # type: ignore[misc]


def test_credentials_file_is_used_when_the_environment_has_none(tmp_path):
    from vendors.credentials import load_credentials

    path = tmp_path / "credentials.toml"
    path.write_text('[tencent]\nid = "AKIDfile"\nsecret = "file-secret"\n')
    path.chmod(0o600)
    creds = load_credentials("tencent", environ={"VOICEPREP_CREDENTIALS": str(path)})
    assert creds.key_id == "AKIDfile" and creds.secret.reveal() == "file-secret"
    assert "file-secret" not in repr(creds)
    env = {
        "VOICEPREP_CREDENTIALS": str(path),
        "TENCENTCLOUD_SECRET_ID": "AKIDenv",
        "TENCENTCLOUD_SECRET_KEY": "env-secret",
    }
    assert load_credentials("tencent", environ=env).key_id == "AKIDenv"  # environment wins


def test_credentials_file_must_be_private_and_complete(tmp_path):
    import pytest

    from pipeline.errors import ConfigurationError
    from vendors.credentials import from_config, load_credentials

    path = tmp_path / "credentials.toml"
    path.write_text('[huawei]\nid = "app"\nsecret = "s3cret"\n')
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        from_config("huawei", str(path))
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match=r"no \[yeastar\] table"):
        from_config("yeastar", str(path))
    with pytest.raises(ConfigurationError, match="or put them in"):
        load_credentials("yeastar", environ={"VOICEPREP_CREDENTIALS": str(tmp_path / "none")})
