"""Publishing outputs for the vendors that take a URL instead of bytes (Tencent CCC, VOD).

A `Publisher` puts one file somewhere the vendor can fetch it and returns that URL:

- `S3Publisher` uploads to S3-compatible object storage (AWS S3, Tencent COS, MinIO)
  and returns a presigned URL that expires after ``expires_s``; the bucket stays private.
- `LocalPublisher` serves the run's output folder over HTTP on 127.0.0.1 for rehearsals
  against ``voiceprep sandbox`` (a real cloud cannot reach it).

    >>> with LocalPublisher("out") as publisher:  # doctest: +SKIP
    ...     url = publisher.publish("out/hello.wav", "hello.wav")
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlparse

from pipeline.errors import ConfigurationError, VoiceprepError

__all__ = [
    "LocalPublisher",
    "PublishError",
    "Publisher",
    "S3Publisher",
    "publisher_from_spec",
]


class PublishError(VoiceprepError):
    """An output could not be published (storage refused or unreachable); retry later."""


@runtime_checkable
class Publisher(Protocol):
    """Makes a file fetchable by a vendor and returns the URL to hand it."""

    def publish(self, path: str, key: str) -> str:
        """Publish ``path`` under ``key`` (a relative name); returns a URL the vendor can GET."""
        ...

    def close(self) -> None:
        """Release servers or connections; URLs already handed out may stop working."""
        ...


# --- S3 / COS -------------------------------------------------------------------------------

_BUCKET_CODES = {"NoSuchBucket", "InvalidBucketName", "AllAccessDisabled"}
_ACCESS_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}


@dataclass
class S3Publisher:
    """Puts each output into ``bucket`` under ``prefix`` and hands out presigned GET URLs.

    Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, instance roles). For Tencent COS set
    ``endpoint_url`` to ``https://cos.<region>.myqcloud.com`` and use a COS key pair in
    those variables. ``expires_s`` bounds how long the URL works: long enough for the
    vendor to fetch it (CCC reviews later, but fetches on upload), short enough to leak
    little.
    """

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    expires_s: int = 3600
    region: str | None = None
    content_type: str | None = None
    _client: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ConfigurationError("S3 publishing needs a bucket: --publish s3://BUCKET/prefix")
        if not 1 <= self.expires_s <= 7 * 24 * 3600:
            raise ConfigurationError(
                f"presigned URLs last 1 s to 7 days; expires_s={self.expires_s} is outside that"
            )

    @property
    def client(self) -> Any:
        """The boto3 S3 client, created on first use (boto3 is slow to import)."""
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ModuleNotFoundError:
                raise ConfigurationError(
                    "publishing to S3/COS needs boto3: pip install 'voiceprep[s3]'"
                ) from None

            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
                config=Config(signature_version="s3v4", retries={"mode": "standard"}),
            )
        return self._client

    def key_for(self, key: str) -> str:
        prefix = self.prefix.strip("/")
        return f"{prefix}/{key}" if prefix else key

    def publish(self, path: str, key: str) -> str:
        """Upload ``path`` as ``prefix/key`` and return a presigned GET URL for it."""
        client = self.client
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        object_key = self.key_for(key)
        extra = {"ContentType": self.content_type or _content_type(path)}
        try:
            with open(path, "rb") as fh:
                client.put_object(Bucket=self.bucket, Key=object_key, Body=fh, **extra)
            url: str = client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": object_key},
                ExpiresIn=self.expires_s,
            )
        except NoCredentialsError:
            raise ConfigurationError(
                "no storage credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(for COS: a COS SecretId/SecretKey in those variables)"
            ) from None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _BUCKET_CODES:
                raise ConfigurationError(
                    f"bucket {self.bucket!r} does not exist or cannot be used ({code}) at "
                    f"{self.endpoint_url or 'AWS S3'}; create it or fix --publish"
                ) from None
            if code in _ACCESS_CODES:
                raise ConfigurationError(
                    f"storage refused the key pair for bucket {self.bucket!r} ({code}); "
                    "check the credentials and the bucket policy"
                ) from None
            raise PublishError(
                f"publishing {os.path.basename(path)!r} to bucket {self.bucket!r} failed "
                f"({code or 'error'}); run the upload again to retry"
            ) from None
        except BotoCoreError as exc:
            raise PublishError(
                f"storage at {self.endpoint_url or 'AWS S3'} unreachable ({type(exc).__name__}); "
                "check --publish-endpoint and the network, then run the upload again"
            ) from None
        except OSError as exc:
            raise PublishError(
                f"cannot read {path!r} ({exc.strerror}); run `voiceprep run` first"
            ) from None
        return url

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> S3Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _content_type(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    return {".wav": "audio/wav", ".mp3": "audio/mpeg", ".gsm": "audio/gsm"}.get(
        ext, "application/octet-stream"
    )


# --- local HTTP ------------------------------------------------------------------------------


class _FilesOnly(SimpleHTTPRequestHandler):
    """Serves only the files published so far (not the journal, no listings); quiet logs."""

    published: frozenset[str] | set[str] = frozenset()

    def send_head(self) -> Any:
        path = os.path.realpath(self.translate_path(self.path))
        if path not in self.published or not os.path.isfile(path):
            self.send_error(404, "not published")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class LocalPublisher:
    """Serves ``root`` (the run's output folder) on ``host``:``port`` (0: any free port).

    The server starts on the first `publish` and stops on `close`; it serves only the
    files published through it (not the journal, no directory listings). For rehearsals
    with the sandbox on the same machine, never for a real vendor.
    """

    root: str
    host: str = "127.0.0.1"
    port: int = 0
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _published: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = os.path.realpath(self.root)
        if not os.path.isdir(self.root):
            raise ConfigurationError(f"cannot serve {self.root!r}: not a folder")

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (starts it if needed)."""
        server = self._start()
        host, port = server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _start(self) -> ThreadingHTTPServer:
        with self._lock:
            if self._server is None:
                root = self.root

                class Handler(_FilesOnly):
                    published = self._published

                    def __init__(self, *args: Any, **kwargs: Any) -> None:
                        super().__init__(*args, directory=root, **kwargs)

                server = ThreadingHTTPServer((self.host, self.port), Handler)
                server.daemon_threads = True
                threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name="voiceprep-publish",
                    daemon=True,
                ).start()
                self._server = server
            return self._server

    def publish(self, path: str, key: str = "") -> str:
        """The URL of ``path``, which must lie under the root (``key`` is ignored)."""
        real = os.path.realpath(path)
        if os.path.commonpath([real, self.root]) != self.root or not os.path.isfile(real):
            raise ConfigurationError(
                f"{path!r} is not a file inside {self.root!r}; only the run's outputs are served"
            )
        self._published.add(real)
        rel = os.path.relpath(real, self.root).replace(os.sep, "/")
        return f"{self.base_url}/{quote(rel)}"

    def close(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None

    def __enter__(self) -> LocalPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def publisher_from_spec(
    spec: str,
    *,
    out_dir: str,
    endpoint_url: str | None = None,
    expires_s: int = 3600,
    region: str | None = None,
) -> Publisher:
    """A publisher from a ``--publish`` value: ``local`` or ``s3://bucket[/prefix]``."""
    if spec == "local":
        return LocalPublisher(out_dir)
    parsed = urlparse(spec)
    if parsed.scheme in ("s3", "cos") and parsed.netloc:
        return S3Publisher(
            bucket=parsed.netloc,
            prefix=parsed.path.strip("/"),
            endpoint_url=endpoint_url,
            expires_s=expires_s,
            region=region,
        )
    raise ConfigurationError(
        f"--publish {spec!r}: use 'local' (serve this machine's files, for the sandbox) or "
        "s3://BUCKET/PREFIX (S3 or Tencent COS with --publish-endpoint)"
    )
