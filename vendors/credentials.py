"""Vendor credentials: a `Secret` that never prints, and `from_env` to read them.

Secrets reach the signers wrapped in `Secret`, so a stray ``print(auth)``, a log line
or a traceback shows ``Secret('***')`` instead of the key. Only the signers call
`Secret.reveal()`, at the moment they compute an HMAC.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pipeline.errors import ConfigurationError

__all__ = [
    "ENV_VARS",
    "Credentials",
    "Secret",
    "config_path",
    "from_config",
    "from_env",
    "load_credentials",
    "mask_id",
]


class Secret:
    """A string that hides itself from repr(), str() and formatting.

    Compare with ``==`` (constant time); read the value with `reveal()`.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call it only where the value is consumed (an HMAC key)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def as_secret(value: str | Secret) -> Secret:
    """Wrap ``value`` in a `Secret` unless it already is one."""
    return value if isinstance(value, Secret) else Secret(value)


def mask_id(key_id: str) -> str:
    """A key id shortened for display (``AKID…0000``): enough to tell keys apart, no more."""
    if len(key_id) < 12:
        return "***"
    return f"{key_id[:4]}…{key_id[-4:]}"


@dataclass(frozen=True, repr=False)
class Credentials:
    """One vendor's key pair (and optional session token) as read from the environment."""

    vendor: str
    key_id: str
    secret: Secret
    token: Secret | None = None

    def __repr__(self) -> str:
        token = ", token=Secret('***')" if self.token is not None else ""
        return (
            f"Credentials(vendor={self.vendor!r}, key_id={mask_id(self.key_id)!r}, "
            f"secret=Secret('***'){token})"
        )


# vendor -> (key id variable, secret variable, optional session-token variable)
ENV_VARS: Final[Mapping[str, tuple[str, str, str | None]]] = {
    "tencent": ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"),
    "alibaba": (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ),
    "huawei": ("HUAWEI_CEC_APP_KEY", "HUAWEI_CEC_APP_SECRET", None),
    "yeastar": ("YEASTAR_CLIENT_ID", "YEASTAR_CLIENT_SECRET", None),
}

_ALIASES: Final[Mapping[str, str]] = {"aliyun": "alibaba", "tencentcloud": "tencent"}


def from_env(vendor: str, *, environ: Mapping[str, str] | None = None) -> Credentials:
    """Read ``vendor``'s credentials from environment variables (see `ENV_VARS`).

    Empty variables count as missing. Raises `ConfigurationError` naming every missing
    variable, so one error message is enough to fix the setup.
    """
    env = os.environ if environ is None else environ
    name = _ALIASES.get(vendor.lower(), vendor.lower())
    if name not in ENV_VARS:
        known = ", ".join(sorted(ENV_VARS))
        raise ConfigurationError(f"unknown vendor {vendor!r} for credentials; use one of: {known}")
    id_var, secret_var, token_var = ENV_VARS[name]
    missing = [var for var in (id_var, secret_var) if not env.get(var)]
    if missing:
        raise ConfigurationError(
            f"{name} credentials missing: set {' and '.join(missing)} in the environment"
        )
    token = env.get(token_var) if token_var else None
    return Credentials(
        vendor=name,
        key_id=env[id_var],
        secret=Secret(env[secret_var]),
        token=Secret(token) if token else None,
    )


def config_path(environ: Mapping[str, str] | None = None) -> str:
    """Where the credentials file is: ``$VOICEPREP_CREDENTIALS``, else
    ``~/.config/voiceprep/credentials.toml``."""
    env = os.environ if environ is None else environ
    return env.get("VOICEPREP_CREDENTIALS") or os.path.expanduser(
        "~/.config/voiceprep/credentials.toml"
    )


def from_config(vendor: str, path: str) -> Credentials:
    """Read ``vendor``'s credentials from a TOML file with one table per vendor::

        [tencent]
        id = "AKID..."
        secret = "..."
        token = "..."      # optional session token

    The file must be readable by its owner only (``chmod 600``), as for SSH keys.
    """
    import stat
    import tomllib

    name = _ALIASES.get(vendor.lower(), vendor.lower())
    try:
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"credentials file {path} is readable by others; run: chmod 600 {path}"
            )
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigurationError(f"cannot read credentials file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"credentials file {path} is not valid TOML: {exc}") from None
    table = data.get(name) or data.get(vendor)
    if not isinstance(table, dict) or not table.get("id") or not table.get("secret"):
        raise ConfigurationError(
            f"credentials file {path} has no [{name}] table with `id` and `secret`"
        )
    token = table.get("token")
    return Credentials(
        vendor=name,
        key_id=str(table["id"]),
        secret=Secret(str(table["secret"])),
        token=Secret(str(token)) if token else None,
    )


def load_credentials(vendor: str, *, environ: Mapping[str, str] | None = None) -> Credentials:
    """The vendor's credentials from the environment, else from the credentials file.

    The environment wins (the vendors' own variable names, see `ENV_VARS`); the file
    (`config_path`) is read only when the variables are not set. The error names both.
    """
    try:
        return from_env(vendor, environ=environ)
    except ConfigurationError as env_error:
        path = config_path(environ)
        if not os.path.exists(path):
            raise ConfigurationError(f"{env_error}, or put them in {path}") from None
        return from_config(vendor, path)
