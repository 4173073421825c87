"""Publishing outputs: S3 against moto's server on 127.0.0.1, and the local file server."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from pipeline.errors import ConfigurationError
from stages.publish import LocalPublisher, PublishError, S3Publisher, publisher_from_spec


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def bucket(moto_url: str, aws_env: None, request: pytest.FixtureRequest) -> str:
    import boto3

    name = "vp-" + request.node.name.replace("_", "-")[:50].lower()
    boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "hello.wav"
    path.write_bytes(b"RIFF" + os.urandom(2000))
    return path


def test_s3_publish_gives_a_fetchable_presigned_url(moto_url: str, bucket: str, wav: Path) -> None:
    with S3Publisher(bucket, prefix="run1", endpoint_url=moto_url) as publisher:
        url = publisher.publish(str(wav), "hello.wav")
    assert urlparse(url).path == f"/{bucket}/run1/hello.wav"
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == wav.read_bytes()
    assert response.headers["content-type"] == "audio/wav"


def test_s3_url_is_signed_and_carries_the_expiry(moto_url: str, bucket: str, wav: Path) -> None:
    url = S3Publisher(bucket, endpoint_url=moto_url, expires_s=120).publish(str(wav), "a.wav")
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert "X-Amz-Signature" in query
    unsigned = url.split("?", 1)[0]
    assert httpx.get(unsigned).status_code == 403  # private: only the signed URL works


def test_s3_missing_bucket_is_a_clear_configuration_error(
    moto_url: str, aws_env: None, wav: Path
) -> None:
    publisher = S3Publisher("no-such-bucket-here", endpoint_url=moto_url)
    with pytest.raises(ConfigurationError, match=r"no-such-bucket-here.*create it or fix"):
        publisher.publish(str(wav), "a.wav")


def test_s3_unreachable_storage_is_a_publish_error(aws_env: None, wav: Path) -> None:
    publisher = S3Publisher("b", endpoint_url=f"http://127.0.0.1:{_free_port()}")
    publisher.client.meta.config.retries["max_attempts"] = 1
    with pytest.raises(PublishError, match="unreachable"):
        publisher.publish(str(wav), "a.wav")


def test_s3_expiry_outside_presign_range_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="7 days"):
        S3Publisher("b", expires_s=8 * 24 * 3600)


def test_local_publisher_serves_only_what_it_published(tmp_path: Path, wav: Path) -> None:
    (tmp_path / "journal.sqlite").write_bytes(b"x")
    (tmp_path / ".secret.tmp").write_bytes(b"x")
    with LocalPublisher(str(tmp_path)) as publisher:
        url = publisher.publish(str(wav), "hello.wav")
        assert urlparse(url).hostname == "127.0.0.1"
        assert httpx.get(url).content == wav.read_bytes()
        base = publisher.base_url
        assert httpx.get(base + "/").status_code == 404  # no listing
        assert httpx.get(base + "/.secret.tmp").status_code == 404
        assert httpx.get(base + "/journal.sqlite").status_code == 404  # never published
        assert httpx.get(base + "/../../etc/passwd").status_code == 404
        with pytest.raises(ConfigurationError, match="inside"):
            publisher.publish("/etc/hostname", "x")
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)


def test_local_publisher_quotes_awkward_names(tmp_path: Path) -> None:
    path = tmp_path / "hello world #1.wav"
    path.write_bytes(b"abc")
    with LocalPublisher(str(tmp_path)) as publisher:
        url = publisher.publish(str(path))
        assert httpx.get(url).content == b"abc"


def test_publisher_from_spec(tmp_path: Path) -> None:
    assert isinstance(publisher_from_spec("local", out_dir=str(tmp_path)), LocalPublisher)
    s3 = publisher_from_spec("s3://bucket/some/prefix", out_dir=str(tmp_path), expires_s=60)
    assert isinstance(s3, S3Publisher)
    assert (s3.bucket, s3.prefix, s3.expires_s) == ("bucket", "some/prefix", 60)
    with pytest.raises(ConfigurationError, match="s3://BUCKET"):
        publisher_from_spec("ftp://x", out_dir=str(tmp_path))
