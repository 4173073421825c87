"""`Validate`: check what will be (or was) written against the vendor profile's rules.

One pure function, `check_properties`, holds every rule check. `Validate` uses it before
`encode` to *predict* the output (so a file that would break a documented rule is never
written), and `encode` uses it again on the file it wrote (*verify*), via `read_properties`.
Breaking a documented rule is an error; breaking one of our own defaults is a warning.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from pipeline.clip import Clip, Finding, Severity
from pipeline.formats import FORMATS, OutputFormat, output_format
from pipeline.profiles import Profile, Rule
from pipeline.stage import Stage
from stages.decode import libsndfile_path

__all__ = [
    "AudioProperties",
    "Validate",
    "WavFmt",
    "check_properties",
    "check_wav_header",
    "encoding_rate",
    "predict_properties",
    "read_properties",
    "read_wav_fmt",
    "verify_file",
]

# Codecs that exist only at 8 kHz (G.711 and GSM 6.10): encode resamples to this rate.
_NARROWBAND_CODECS = frozenset({"alaw", "ulaw", "gsm610"})
NARROWBAND_RATE = 8000

_CODECS = {
    "PCM_16": "pcm_16",
    "PCM_24": "pcm_24",
    "PCM_32": "pcm_32",
    "PCM_U8": "pcm_u8",
    "PCM_S8": "pcm_s8",
    "FLOAT": "float",
    "DOUBLE": "double",
    "ALAW": "alaw",
    "ULAW": "ulaw",
    "GSM610": "gsm610",
    "MPEG_LAYER_III": "mp3",
}
_BIT_DEPTHS = {
    "pcm_16": 16,
    "pcm_24": 24,
    "pcm_32": 32,
    "pcm_u8": 8,
    "pcm_s8": 8,
    "float": 32,
    "double": 64,
    "alaw": 8,
    "ulaw": 8,
}
# WAVE format tags for the codecs we write.
_WAV_TAGS = {"pcm_16": 1, "alaw": 6, "ulaw": 7}


@dataclass(frozen=True)
class AudioProperties:
    """What a vendor sees of an audio file. ``bytes_exact`` is False for an estimate (mp3)."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    bit_depth: int | None
    bytes: int
    duration_s: float | None
    stem: str
    bytes_exact: bool = True


@dataclass(frozen=True)
class WavFmt:
    """The fields of a WAV ``fmt `` chunk, and the chunk ids in file order."""

    size: int
    format_tag: int
    channels: int
    sample_rate: int
    byte_rate: int
    block_align: int
    bits_per_sample: int
    chunks: tuple[str, ...]


def encoding_rate(fmt: OutputFormat, rate: int) -> int:
    """The sample rate ``fmt`` is written at: 8 kHz for G.711 and GSM, else ``rate`` unchanged."""
    return NARROWBAND_RATE if fmt.codec in _NARROWBAND_CODECS else rate


def predict_properties(
    fmt: OutputFormat, *, sample_rate: int, duration_s: float, stem: str
) -> AudioProperties:
    """The properties of the mono file `encode` would write, without writing it."""
    rate = encoding_rate(fmt, sample_rate)
    return AudioProperties(
        container=fmt.container,
        codec=fmt.codec,
        sample_rate=rate,
        channels=1,
        bit_depth=fmt.bit_depth,
        bytes=_predicted_bytes(fmt, duration_s=duration_s, sample_rate=rate),
        duration_s=duration_s,
        stem=stem,
        bytes_exact=fmt.codec != "mp3",  # VBR mp3: the prediction is an upper bound
    )


def _predicted_bytes(fmt: OutputFormat, *, duration_s: float, sample_rate: int) -> int:
    """Exact size for the constant-rate formats (frame count, RIFF pad byte, GSM frames)."""
    frames = round(duration_s * sample_rate)
    if fmt.codec == "gsm610":
        return -(-frames // 160) * 33
    if fmt.container == "wav" and fmt.bit_depth is not None:
        payload = frames * fmt.bit_depth // 8
        return fmt.header_bytes + payload + (payload & 1)
    return fmt.predicted_bytes(duration_s=duration_s, sample_rate=sample_rate)


def read_properties(path: str) -> AudioProperties:
    """The properties of an existing file; ``.gsm`` is read as raw GSM 6.10, 8 kHz mono.

    Raises ``RuntimeError``/``OSError`` (from libsndfile) when the file cannot be read.
    """
    import soundfile as sf

    stem, ext = os.path.splitext(os.path.basename(path))
    size = os.path.getsize(path)
    if ext.lower() == ".gsm":
        with sf.SoundFile(
            libsndfile_path(path),
            format="RAW",
            subtype="GSM610",
            samplerate=NARROWBAND_RATE,
            channels=1,
        ) as fh:
            frames, rate, channels, subtype = fh.frames, fh.samplerate, fh.channels, fh.subtype
        container = "gsm"
    else:
        info = sf.info(libsndfile_path(path))
        frames, rate, channels, subtype = info.frames, info.samplerate, info.channels, info.subtype
        container = str(info.format).lower()
    codec = _CODECS.get(subtype, str(subtype).lower())
    return AudioProperties(
        container=container,
        codec=codec,
        sample_rate=int(rate),
        channels=int(channels),
        bit_depth=_BIT_DEPTHS.get(codec),
        bytes=size,
        duration_s=frames / rate if rate > 0 else None,
        stem=stem,
    )


def read_wav_fmt(path: str) -> WavFmt | None:
    """Parse the RIFF chunks of a WAV file; None if it is not RIFF/WAVE or has no ``fmt ``."""
    with open(path, "rb") as fh:
        data = fh.read(4096)  # our headers are < 100 bytes; nothing sits after data but audio
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    chunks: list[str] = []
    fields: tuple[int, ...] | None = None
    fmt_size = 0
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        chunks.append(cid.decode("latin-1"))
        if cid == b"fmt " and size >= 16 and pos + 24 <= len(data):
            fields = struct.unpack_from("<HHIIHH", data, pos + 8)
            fmt_size = size
        if cid == b"data":
            break
        pos += 8 + size + (size & 1)
    if fields is None:
        return None
    tag, channels, rate, byte_rate, align, bits = fields
    return WavFmt(fmt_size, tag, channels, rate, byte_rate, align, bits, tuple(chunks))


def check_wav_header(
    path: str, props: AudioProperties, profile: Profile, *, stage: str = "validate"
) -> list[Finding]:
    """Check that a written WAV's ``fmt `` chunk says what the vendor will parse.

    For Huawei's A-law profile this is: tag 6, 1 channel, 8000 Hz, byte rate 8000, block
    align 1, 8 bits — the chunk of Huawei's own request sample. Checked for every WAV we
    write (tag, byte rate and block align must agree with codec, rate and channels).
    """
    if props.container != "wav" or props.codec not in _WAV_TAGS:
        return []
    fmt = read_wav_fmt(path)
    if fmt is None:
        message = (
            f"{os.path.basename(path)} has no RIFF/WAVE fmt chunk; {profile.vendor} cannot parse "
            "it; please report this with the file attached"
        )
        return [Finding("wav_header", Severity.ERROR, stage, message)]
    width = (props.bit_depth or 8) // 8
    expected: dict[str, object] = {
        "format tag": _WAV_TAGS[props.codec],
        "channels": props.channels,
        "sample rate": props.sample_rate,
        "byte rate": props.sample_rate * props.channels * width,
        "block align": props.channels * width,
        "bits per sample": props.bit_depth,
        "data chunk": True,
    }
    found: dict[str, object] = {
        "format tag": fmt.format_tag,
        "channels": fmt.channels,
        "sample rate": fmt.sample_rate,
        "byte rate": fmt.byte_rate,
        "block align": fmt.block_align,
        "bits per sample": fmt.bits_per_sample,
        "data chunk": "data" in fmt.chunks,
    }
    wrong = [f"{k} {found.get(k)} (expected {v})" for k, v in expected.items() if found[k] != v]
    if not wrong:
        return []
    message = (
        f"the WAV header of {os.path.basename(path)} is inconsistent: {', '.join(wrong)}; "
        f"{profile.vendor} would misread it; please report this with the file attached"
    )
    return [Finding("wav_header", Severity.ERROR, stage, message)]


def check_properties(
    props: AudioProperties,
    profile: Profile,
    *,
    stage: str = "validate",
    predicted: bool = False,
    chosen_format: str | None = None,
) -> list[Finding]:
    """Every rule of ``profile`` that ``props`` breaks, as findings (empty when all pass).

    Error when the vendor documents the rule, warning when it is our own default. A size
    that is only an upper estimate (``props.bytes_exact`` False) is at most a warning.
    ``predicted`` only changes the wording ("would be" instead of "is"), and so does
    ``chosen_format``, the ``--format`` the user passed (None: the profile's own).
    """
    out: list[Finding] = []
    rules = profile.rules
    verb = "would be" if predicted else "is"

    def add(rule: Rule, code: str, measured: str, limit: str, fix: str, soft: bool = False) -> None:
        severity = Severity.ERROR if rule.documented and not soft else Severity.WARNING
        message = f"{measured}; {profile.vendor} accepts {limit}{_where(rule, profile)}; {fix}"
        out.append(Finding(code, severity, stage, message))

    def fix_format(rule: Rule) -> str:
        return _format_fix(profile, rule, chosen_format)

    rule = rules.get("container")
    if rule and not _value_ok(rule, props.container):
        measured = f"the container {verb} {props.container}"
        add(rule, "container", measured, _allowed(rule), fix_format(rule))
    rule = rules.get("codec")
    if rule and not _value_ok(rule, props.codec):
        measured = f"the audio {verb} encoded as {codec_name(props.codec)}"
        add(rule, "codec", measured, _allowed(rule, show=codec_name), fix_format(rule))
    rule = rules.get("sample_rate")
    if rule and not _value_ok(rule, props.sample_rate):
        fix = fix_format(rule)
        if props.codec in _NARROWBAND_CODECS:
            fix = f"{codec_name(props.codec)} is 8000 Hz only: {fix}"
        measured = f"the sample rate {verb} {props.sample_rate} Hz"
        add(rule, "sample_rate", measured, _allowed(rule, " Hz"), fix)
    rule = rules.get("channels")
    if rule and not _value_ok(rule, props.channels):
        measured = f"the file {verb} {_channels(props.channels)}"
        limit = _allowed(rule, " channels" if rule.allowed != (1,) else " channel")
        add(rule, "channels", measured, limit, _channels_fix(rule))
    rule = rules.get("bit_depth")
    if rule and props.bit_depth is not None and not _value_ok(rule, props.bit_depth):
        measured = f"the file {verb} {props.bit_depth}-bit"
        add(rule, "bit_depth", measured, _allowed(rule, "-bit"), fix_format(rule))
    rule = rules.get("file_size")
    if rule and not _value_ok(rule, props.bytes):
        if not predicted:
            measured = f"the file is {'' if props.bytes_exact else 'about '}{_mb(props.bytes)}"
        elif props.bytes_exact:
            measured = f"before encoding, the file is worked out at {_mb(props.bytes)}"
        else:
            measured = (
                f"before encoding, the file is estimated at up to about {_mb(props.bytes)}; an "
                "MP3's real size is known only once written, and the written file is checked "
                "again"
            )
        fix = _size_fix(props, profile)
        add(rule, "file_too_large", measured, _bounds(rule, _mb), fix, not props.bytes_exact)
    rule = rules.get("duration")
    if rule and props.duration_s is not None:
        measured = f"the audio {verb} {props.duration_s:.1f} s long"
        if rule.minimum is not None and props.duration_s < rule.minimum:
            fix = f"record a longer take with at least {rule.minimum:g} s of speech"
            add(rule, "too_short", measured, _bounds(rule, _seconds), fix)
        if rule.maximum is not None and props.duration_s > rule.maximum:
            fix = f"shorten the take to at most {rule.maximum:g} s or split it"
            add(rule, "too_long", measured, _bounds(rule, _seconds), fix)
    rule = rules.get("filename")
    if rule and not profile.filename_ok(props.stem):
        limit = "names"
        if rule.maximum is not None:
            limit += f" of at most {rule.maximum:g} characters"
        if rule.pattern:
            limit += f" matching {rule.pattern}"
        measured = f"the file name {props.stem!r} {_name_problem(props.stem, rule)}"
        fix = "rename the source to fit, or let voiceprep name the output (the default)"
        add(rule, "filename", measured, limit, fix)
    return out


# The names `--format` takes for the codecs voiceprep writes; other codecs in plain words.
_CODEC_NAMES = {
    "pcm_16": "wav-pcm16",
    "alaw": "wav-alaw",
    "ulaw": "wav-ulaw",
    "gsm610": "gsm",
    "mp3": "mp3",
    "pcm_24": "24-bit PCM",
    "pcm_32": "32-bit PCM",
    "pcm_u8": "8-bit PCM",
    "pcm_s8": "8-bit PCM",
    "float": "32-bit float",
    "double": "64-bit float",
}


def codec_name(codec: object) -> str:
    """A codec as users name it: the ``--format`` name for the ones voiceprep writes."""
    return _CODEC_NAMES.get(str(codec), str(codec))


def _where(rule: Rule, profile: Profile) -> str:
    """Where the rule comes from, in parentheses: the vendor's documentation, or voiceprep's
    own default (said once)."""
    source = rule.source.strip()
    if rule.documented:
        return f" ({source})" if source else ""
    if not source or "not documented" in source.lower():
        return f" (voiceprep's default; {profile.vendor} does not document this)"
    return f" (voiceprep's default, from {source})"


def _channels(n: int) -> str:
    return "mono (1 channel)" if n == 1 else f"{n}-channel"


def _channels_fix(rule: Rule) -> str:
    if _value_ok(rule, 1):
        return "downmix to mono (voiceprep does this)"
    return (
        "voiceprep writes mono files only, so no output can meet this rule; fix the "
        "profile's [rules.channels] to allow 1 channel"
    )


def _name_problem(stem: str, rule: Rule) -> str:
    """What is wrong with ``stem`` under ``rule``: too long, or which characters it refuses."""
    import re

    if not stem:
        return "is empty"
    if rule.maximum is not None and len(stem) > rule.maximum:
        over = len(stem) - int(rule.maximum)
        return f"is {len(stem)} characters long, {over} over the limit"
    if rule.pattern:
        bad = list(dict.fromkeys(c for c in stem if re.fullmatch(rule.pattern, c) is None))
        if bad:
            shown = ", ".join(_char_name(c) for c in bad[:10])
            return f"holds characters that are not allowed: {shown}"
    return "does not match the naming rule"


def _char_name(c: str) -> str:
    """A character as a person reads it in a message: "a space", "'('"."""
    import unicodedata

    if c == " ":
        return "a space"
    if c.isspace() or unicodedata.category(c).startswith("C"):
        return f"U+{ord(c):04X} ({unicodedata.name(c, 'a control character').lower()})"
    return repr(c)


def _value_ok(rule: Rule, value: object) -> bool:
    if rule.allowed and value not in rule.allowed:
        return False
    if isinstance(value, (int, float)):
        if rule.minimum is not None and value < rule.minimum:
            return False
        if rule.maximum is not None and value > rule.maximum:
            return False
    return True


def _allowed(rule: Rule, unit: str = "", show: Callable[[object], str] = str) -> str:
    """The allowed values as "8000, 16000 or 22050 Hz" (runs of whole numbers as "1–4")."""
    if not rule.allowed:
        return _bounds(rule, lambda v: f"{v:g}{unit}")
    values = list(rule.allowed)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        shown = _int_runs(sorted(set(values)))
    else:
        shown = [show(v) for v in values]
    text = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return f"{text}{unit}"


def _int_runs(values: list[int]) -> list[str]:
    """Sorted whole numbers, runs of three or more consecutive ones as "a–b"."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        if j - i >= 2:
            out.append(f"{values[i]}–{values[j]}")
        else:
            out.extend(str(v) for v in values[i : j + 1])
        i = j + 1
    return out


def _bounds(rule: Rule, show: Callable[[float], str]) -> str:
    parts = []
    if rule.minimum is not None:
        parts.append(f"≥ {show(rule.minimum)}")
    if rule.maximum is not None:
        parts.append(f"≤ {show(rule.maximum)}")
    return " and ".join(parts) or "anything"


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB ({int(n):,} bytes)"


def _seconds(s: float) -> str:
    return f"{s:g} s"


def _fitting_formats(profile: Profile) -> list[str]:
    """Output formats that meet the profile's container, codec, bit-depth and rate rules."""
    names = []
    for fmt in FORMATS.values():
        values: tuple[tuple[str, object], ...] = (
            ("container", fmt.container),
            ("codec", fmt.codec),
            ("sample_rate", encoding_rate(fmt, profile.sample_rate)),
        )
        if fmt.bit_depth is not None:
            values += (("bit_depth", fmt.bit_depth),)
        ok = all(
            _value_ok(rule, value)
            for key, value in values
            if (rule := profile.rules.get(key)) is not None
        )
        if ok:
            names.append(fmt.name)
    return names


def _format_fix(profile: Profile, rule: Rule, chosen: str | None) -> str:
    """What to do when the output format breaks ``rule``: drop the ``--format`` the user
    chose, or, when it is the profile's own format, fix the profile."""
    own = profile.output.name
    others = [name for name in _fitting_formats(profile) if name not in (own, chosen)]
    if chosen is not None and chosen != own:
        fix = f"drop --format to get the profile's {own}"
        return fix + (f", or use --format {' or '.join(others)}" if others else "")
    fix = (
        f"the profile's own output format, {own}, breaks its {rule.name} rule: fix the "
        f"profile ([output] format, or [rules.{rule.name}])"
    )
    return fix + (f", or pass --format {' or '.join(others)}" if others else "")


def _size_fix(props: AudioProperties, profile: Profile) -> str:
    if props.codec != "mp3" and "mp3" in _fitting_formats(profile):
        return "shorten or split the recording, or use --format mp3"
    return "shorten or split the recording"


@dataclass
class Validate(Stage):
    """Check the output against ``profile``'s rules before it is written (or after, if it was).

    Predict mode (no ``clip.outputs["audio"]`` yet): properties come from the output format
    (``format`` overrides the profile's), the profile's rate, mono, the clip's duration and the
    stem `encode` will use. Verify mode: they are read from the written file. Metric:
    ``predicted_bytes`` (predict mode). Findings: one code per broken rule (see
    `check_properties`), ``wav_header`` and ``unreadable_output`` in verify mode.
    """

    name: ClassVar[str] = "validate"

    profile: Profile
    format: str | None = None

    def __post_init__(self) -> None:
        self._fmt = output_format(self.format or self.profile.output.name)

    def process(self, clip: Clip) -> Clip:
        path = clip.outputs.get("audio")
        if path is not None:
            clip.findings.extend(
                verify_file(path, self.profile, stage=self.name, chosen_format=self.format)
            )
            return clip
        from stages.encode import output_stem

        rate = clip.rate or self.profile.sample_rate
        props = predict_properties(
            self._fmt,
            sample_rate=rate,
            duration_s=clip.duration_s,
            stem=output_stem(clip, self.profile),
        )
        clip.metrics["predicted_bytes"] = props.bytes
        clip.findings.extend(
            check_properties(
                props, self.profile, stage=self.name, predicted=True, chosen_format=self.format
            )
        )
        return clip


def verify_file(
    path: str, profile: Profile, *, stage: str = "validate", chosen_format: str | None = None
) -> list[Finding]:
    """Read a written file back and check it: the same rules as the prediction, plus its header.

    ``chosen_format``: the ``--format`` the user passed, for the advice (None: none).
    """
    try:
        props = read_properties(path)
    except (OSError, RuntimeError) as exc:
        message = (
            f"the written file {path} cannot be read back ({exc}); it is not usable — "
            "check free disk space and run again"
        )
        return [Finding("unreadable_output", Severity.ERROR, stage, message)]
    findings = check_properties(props, profile, stage=stage, chosen_format=chosen_format)
    return findings + check_wav_header(path, props, profile, stage=stage)
