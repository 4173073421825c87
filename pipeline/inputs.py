"""Turn what the user typed (files, folders, globs) into a sorted list of input files."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

from pipeline.errors import ConfigurationError

# The containers each audio extension promises (decode warns when the content is another);
# an extension not listed here promises nothing.
EXTENSION_CONTAINERS: dict[str, frozenset[str]] = {
    ".wav": frozenset({"wav", "rf64", "w64"}),
    ".wave": frozenset({"wav", "rf64", "w64"}),
    ".rf64": frozenset({"rf64", "wav"}),
    ".w64": frozenset({"w64"}),
    ".mp3": frozenset({"mp3"}),
    ".flac": frozenset({"flac"}),
    ".ogg": frozenset({"ogg"}),
    ".oga": frozenset({"ogg"}),
    ".opus": frozenset({"ogg"}),
    ".m4a": frozenset({"mp4"}),
    ".mp4": frozenset({"mp4"}),
    ".mov": frozenset({"mp4"}),
    ".aac": frozenset({"aac", "mp4"}),
    ".aif": frozenset({"aiff"}),
    ".aiff": frozenset({"aiff"}),
    ".aifc": frozenset({"aiff"}),
    ".au": frozenset({"au"}),
    ".snd": frozenset({"au"}),
    ".caf": frozenset({"caf"}),
    ".gsm": frozenset({"raw"}),
    ".webm": frozenset({"webm"}),
    ".weba": frozenset({"webm"}),
    ".mka": frozenset({"webm"}),
    ".mkv": frozenset({"webm"}),
    ".3gp": frozenset({"mp4"}),
    ".3g2": frozenset({"mp4"}),
    ".amr": frozenset({"amr"}),
    ".wma": frozenset({"asf"}),
    ".asf": frozenset({"asf"}),
    ".wv": frozenset({"wavpack"}),
    ".mp2": frozenset({"mp3"}),
}

# What a folder walk takes: every extension above but the video-first containers.
AUDIO_EXTENSIONS = frozenset(EXTENSION_CONTAINERS) - {".mkv", ".asf"}


def expand_inputs(paths: Iterable[str], *, skip_folder: str | None = None) -> list[str]:
    """Every file named by ``paths``: files as given, folders walked for audio, globs expanded.

    A path that exists is taken as it is, even when it holds glob characters (``take[1].wav``).
    Walks and globs never take files straight from ``skip_folder`` (the run's output folder:
    ``run session/ --out session/out`` must not take its own outputs as inputs on the next
    run); its subfolders are not ours and are walked like any other.

    A file named explicitly is taken whatever its extension (decode sniffs the content); in
    folders only files with an audio extension are taken, so notes and images are skipped.
    Raises `ConfigurationError` for a path that matches nothing, and when folders hold no audio
    file at all, so a typo is not a silent no-op.
    URLs (``s3://bucket/session/*.wav``) are expanded the same way through fsspec.
    """
    found: dict[str, None] = {}
    # One file named twice (./in/x.wav, in/x.wav, /abs/in/x.wav) is one input; two links to
    # one recording are two names (two prompts may share a recording), so links are kept.
    seen: set[str] = set()
    skip = os.path.realpath(skip_folder) if skip_folder else None

    def take(path: str) -> None:
        where = os.path.abspath(path)
        if where not in seen:
            seen.add(where)
            found[path] = None

    named = list(paths)
    for raw in named:
        if "://" in raw:
            from pipeline.remote import expand_url, is_url

            if is_url(raw):
                found.update(dict.fromkeys(expand_url(raw, AUDIO_EXTENSIONS)))
                continue
            raw = raw.removeprefix("file://")
        # A name that exists is itself, even with glob characters in it ("take[1].wav").
        is_pattern = glob.has_magic(raw) and not os.path.lexists(raw)
        matches = glob.glob(raw, recursive=True) if is_pattern else [raw]
        if not matches or not all(os.path.lexists(m) for m in matches):
            raise ConfigurationError(f"no such file or folder: {raw}")
        if is_pattern and skip:
            matches = [m for m in matches if not _from_output_folder(m, raw, skip)]
            if not matches:
                raise ConfigurationError(
                    f"{raw} matches only files in the output folder {skip_folder}; write the "
                    "outputs to another folder with --out"
                )
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, files in os.walk(match):
                    dirs[:] = sorted(
                        d
                        for d in dirs
                        if not d.startswith(".")
                        and not (skip and _is_folder(os.path.join(root, d), skip))
                    )
                    for name in sorted(files):
                        if not name.startswith(".") and _is_audio_name(name):
                            take(os.path.join(root, name))
            else:
                take(match)
    if named and not found:
        raise ConfigurationError(
            f"no audio files found in {', '.join(named)} (folders are searched for "
            f"{', '.join(sorted(AUDIO_EXTENSIONS))} files; name a file explicitly to check it "
            "whatever its extension)"
        )
    return sorted(found)


def _from_output_folder(match: str, pattern: str, folder_real: str) -> bool:
    """Whether a glob's ``match`` comes from the output folder rather than the recordings.

    Everything under the output folder, unless the pattern itself starts inside it
    (``in/**/*.wav`` with ``--out .``): then only the files straight in it, the outputs.
    """
    fixed = []
    for part in pattern.split(os.sep):
        if glob.has_magic(part):
            break
        fixed.append(part)
    base = os.path.realpath(os.sep.join(fixed) or ".")
    real = os.path.realpath(match)
    if base == folder_real or base.startswith(folder_real + os.sep):
        return os.path.dirname(real) == folder_real
    return real.startswith(folder_real + os.sep)


def _is_folder(path: str, folder_real: str) -> bool:
    """Whether ``path`` is the folder ``folder_real`` (a realpath): the run's output folder,
    where outputs (written straight into it) would be read back as inputs."""
    return os.path.realpath(path) == folder_real


def _is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS
