"""Pre-flight analysis detectors: plain functions from samples to small frozen results.

Each module answers one question and attaches no findings; `stages.analyze` turns the
results into metrics and findings with the profile's thresholds.
"""

from stages.analysis.bandwidth import BandwidthResult, detect_bandwidth
from stages.analysis.clipping import ClippingResult, detect_clipping
from stages.analysis.hum import HumResult, detect_hum
from stages.analysis.noise import NoiseResult, detect_noise, wada_snr_db
from stages.analysis.speech import SpeechResult, detect_speech

__all__ = [
    "BandwidthResult",
    "ClippingResult",
    "HumResult",
    "NoiseResult",
    "SpeechResult",
    "detect_bandwidth",
    "detect_clipping",
    "detect_hum",
    "detect_noise",
    "detect_speech",
    "wada_snr_db",
]
