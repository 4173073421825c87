"""The public signing surface changes only on purpose."""

from __future__ import annotations

import vendors.signing


def test_exported_names() -> None:
    assert sorted(vendors.signing.__all__) == sorted(
        [
            "ACS3Auth",
            "ACS3Signature",
            "AlibabaError",
            "MemoryNonceStore",
            "NonceStore",
            "RequestParts",
            "RpcAuth",
            "SecretLookup",
            "TC3Auth",
            "TC3Error",
            "TC3Signature",
            "Verdict",
            "acs3_canonical_headers",
            "acs3_canonical_request",
            "acs3_signature",
            "acs3_string_to_sign",
            "percent_encode",
            "rpc_canonical_query",
            "rpc_signature",
            "rpc_string_to_sign",
            "sign_acs3",
            "sign_tc3",
            "tc3_canonical_headers",
            "tc3_canonical_request",
            "tc3_date",
            "tc3_signature",
            "tc3_signing_key",
            "tc3_string_to_sign",
            "verify_acs3",
            "verify_rpc",
            "verify_tc3",
        ]
    )
    for name in vendors.signing.__all__:
        assert hasattr(vendors.signing, name), name


def test_error_codes_are_the_vendors_strings() -> None:
    from vendors.signing import AlibabaError, TC3Error

    assert {e.value for e in TC3Error} == {
        "AuthFailure.SignatureFailure",
        "AuthFailure.SignatureExpire",
        "AuthFailure.InvalidAuthorization",
        "AuthFailure.SecretIdNotFound",
    }
    assert {e.value for e in AlibabaError} == {
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidTimeStamp.Expired",
        "InvalidTimeStamp.Format",
        "SignatureNonceUsed",
        "InvalidAccessKeyId.NotFound",
    }


def test_importing_signing_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, vendors.signing; print(any(m in sys.modules for m in ('scipy', 'librosa')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
