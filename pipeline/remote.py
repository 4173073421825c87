"""Inputs and outputs at fsspec URLs (``s3://bucket/session/*.wav``, ``gs://…``, ``memory://…``).

Anything with ``://`` in it is a URL and goes through fsspec (s3fs for ``s3://``: the
``voiceprep[dask]`` extra installs both); everything else is a local path and never touches
this module. Credentials and endpoints come from the usual places for each filesystem
(``AWS_*`` variables, ``~/.aws``, or fsspec config such as ``FSSPEC_S3_ENDPOINT_URL``).

Decode reads a URL by copying it to a local temporary file (ffmpeg and libsndfile both want a
path), hashing the bytes on the way so the journal's content hash costs no second download.
Encode writes locally and then uploads: an object store makes an object appear whole or not at
all, which is the atomic rename of a local run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from pipeline.errors import ConfigurationError
from pipeline.journal import new_content_digest

__all__ = [
    "expand_url",
    "fetch",
    "is_url",
    "upload",
    "url_digest",
    "url_stamp",
]

_CHUNK_BYTES = 1 << 20
# Digests of URLs this process fetched recently, so the journal hash needs no second download.
_DIGESTS: OrderedDict[tuple[str, int, int], str] = OrderedDict()
_DIGESTS_KEPT = 256


def is_url(path: str) -> bool:
    """True for ``proto://…`` (except ``file://``, which is a local path in disguise)."""
    return "://" in path and not path.startswith("file://")


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path within it; a clear error if unsupported."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ConfigurationError(
            f"{url} is a URL; reading URLs needs fsspec: pip install 'voiceprep[dask]'"
        ) from None
    try:
        fs, path = url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot open {url} ({exc}); install the fsspec filesystem for its scheme "
            "(s3fs for s3://, gcsfs for gs://, adlfs for az://)"
        ) from None
    return fs, path


def expand_url(url: str, audio_extensions: frozenset[str]) -> list[str]:
    """The object URLs named by ``url``: a glob, a "folder" (audio files below it) or one object.

    Raises `ConfigurationError` when nothing matches, as for local paths.
    """
    fs, path = filesystem(url)
    try:
        if any(ch in path for ch in "*?["):
            paths = [p for p in fs.glob(path) if not fs.isdir(p)]
        elif fs.isdir(path):
            paths = [
                p
                for p in fs.find(path)
                if os.path.splitext(p)[1].lower() in audio_extensions
                and not os.path.basename(p).startswith(".")
            ]
        elif fs.exists(path):
            paths = [path]
        else:
            paths = []
    except (OSError, PermissionError) as exc:
        raise ConfigurationError(
            f"cannot list {url} ({exc}); check the URL and credentials"
        ) from None
    if not paths:
        raise ConfigurationError(f"no such file or folder: {url}")
    return sorted(fs.unstrip_protocol(p) for p in paths)


def url_stamp(url: str) -> tuple[int, int]:
    """(size, version tag) of an object; (-1, -1) if it cannot be reached.

    The tag is a 63-bit number derived from the ETag and modification time, so it changes
    whenever the object does; the journal keeps it where it keeps a local file's mtime_ns.
    """
    try:
        fs, path = filesystem(url)
        info = fs.info(path)
    except (OSError, ConfigurationError, ValueError):
        return -1, -1
    size = int(info.get("size") or info.get("Size") or 0)
    modified = (
        info.get("LastModified")
        or info.get("mtime")
        or info.get("last_modified")
        or info.get("created")
        or ""
    )
    if isinstance(modified, dt.datetime):
        modified = modified.isoformat()
    tag = f"{info.get('ETag') or info.get('etag') or ''}|{modified}"
    return size, int.from_bytes(hashlib.blake2b(tag.encode(), digest_size=8).digest()) >> 1


def url_digest(url: str) -> str:
    """Digest of the object's bytes (as `pipeline.journal.content_hash`); "" if unreadable.

    Reuses the digest taken while `fetch` copied the same, unchanged object in this process.
    """
    known = _DIGESTS.get((url, *url_stamp(url)))
    if known is not None:
        return known
    try:
        fs, path = filesystem(url)
        digest = new_content_digest()
        with fs.open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                digest.update(chunk)
    except (OSError, ConfigurationError, ValueError):
        return ""
    return digest.hexdigest()[:32]


@contextlib.contextmanager
def fetch(url: str) -> Iterator[str]:
    """A local copy of ``url`` with the same file name, deleted on exit.

    Raises `FileNotFoundError` for a missing object and `OSError` for anything else that
    stops the download (network, credentials).
    """
    fs, path = filesystem(url)
    stamp = url_stamp(url)
    folder = tempfile.mkdtemp(prefix="voiceprep-in-")
    local = os.path.join(folder, os.path.basename(path.rstrip("/")) or "input")
    try:
        digest = new_content_digest()
        with fs.open(path, "rb") as src, open(local, "wb") as dst:
            while chunk := src.read(_CHUNK_BYTES):
                digest.update(chunk)
                dst.write(chunk)
        if stamp != (-1, -1):
            _DIGESTS[(url, *stamp)] = digest.hexdigest()[:32]
            while len(_DIGESTS) > _DIGESTS_KEPT:
                _DIGESTS.popitem(last=False)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload(local: str, url: str) -> None:
    """Copy the local file ``local`` to ``url`` (the object appears whole or not at all)."""
    fs, path = filesystem(url)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        with contextlib.suppress(OSError):
            fs.makedirs(parent, exist_ok=True)
    fs.put_file(local, path)
