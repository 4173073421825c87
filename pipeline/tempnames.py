"""Names of the temporary files voiceprep writes before an atomic rename.

One pattern, so that the runner sweeps away what a killed run left behind, and nothing else:
a user's own ``.notes.tmp`` in the output folder is not ours to delete.
"""

from __future__ import annotations

import os
import re

__all__ = ["is_temporary_name", "temporary_path"]

_SUFFIX = ".voiceprep-tmp"
_PATTERN = re.compile(r"\..+\.\d+" + re.escape(_SUFFIX), re.DOTALL)
# What versions before 0.3.7 left: ".take.wav.1234.tmp" and "results.jsonl.1234.tmp".
_LEGACY = re.compile(r"\..+\.(wav|mp3|gsm)\.\d+\.tmp|results\.jsonl\.\d+\.tmp", re.DOTALL)


def temporary_path(path: str, part: str = "") -> str:
    """Where to write ``path`` before renaming it into place.

    ``.{name}[.part].{pid}.voiceprep-tmp``: hidden, in the same folder (so the rename is
    atomic), and unique per process.
    """
    folder, name = os.path.split(path)
    extra = f".{part}" if part else ""
    return os.path.join(folder, f".{name}{extra}.{os.getpid()}{_SUFFIX}")


def is_temporary_name(name: str) -> bool:
    """Whether a file name is one `temporary_path` makes."""
    return _PATTERN.fullmatch(name) is not None or _LEGACY.fullmatch(name) is not None
