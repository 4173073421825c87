"""Output formats that `encode` can write, and what each one looks like on disk."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    """One way of writing audio: a soundfile format/subtype pair and how it is named."""

    name: str  # the name profiles use, e.g. "wav-alaw"
    container: str  # what validate calls the container: "wav", "gsm", "mp3"
    codec: str  # what validate calls the codec: "pcm_16", "alaw", "ulaw", "gsm610", "mp3"
    extension: str
    sf_format: str  # soundfile's format name
    sf_subtype: str  # soundfile's subtype name
    bit_depth: int | None  # None for compressed codecs
    header_bytes: int  # fixed overhead, for predicting the size before writing
    bytes_per_second_at_8k: float  # payload rate at 8 kHz mono; scales with the rate

    def predicted_bytes(self, *, duration_s: float, sample_rate: int) -> int:
        """Size of a mono file of this format, before it is written."""
        payload = self.bytes_per_second_at_8k * (sample_rate / 8000) * duration_s
        return int(self.header_bytes + payload)


FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("wav-pcm16", "wav", "pcm_16", ".wav", "WAV", "PCM_16", 16, 44, 16000),
        # G.711 WAVs are written without libsndfile's `fact` chunk (stages.encode.wav_g711_bytes).
        OutputFormat("wav-alaw", "wav", "alaw", ".wav", "WAV", "ALAW", 8, 46, 8000),
        OutputFormat("wav-ulaw", "wav", "ulaw", ".wav", "WAV", "ULAW", 8, 46, 8000),
        # GSM 6.10: 33-byte frames of 160 samples (20 ms) -> 1650 bytes/s at 8 kHz.
        OutputFormat("gsm", "gsm", "gsm610", ".gsm", "RAW", "GSM610", None, 33, 1650),
        # MP3 at libsndfile's default VBR quality: bounded by 128 kbit/s for speech.
        OutputFormat("mp3", "mp3", "mp3", ".mp3", "MP3", "MPEG_LAYER_III", None, 1024, 16000),
    )
}


def output_format(name: str) -> OutputFormat:
    """Look up an output format by name, with a helpful error for a typo."""
    from pipeline.errors import ConfigurationError

    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ConfigurationError(f"unknown output format {name!r}; choose one of {known}") from None
