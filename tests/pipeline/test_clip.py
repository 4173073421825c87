import pickle

import numpy as np

import pipeline
from pipeline.clip import Clip, Finding, Severity


def test_an_error_finding_fails_the_clip_and_a_warning_does_not():
    clip = Clip(source="a.wav")
    clip.report("low_snr", Severity.WARNING, "analyze", "noisy")
    assert not clip.failed
    clip.report("too_short", Severity.ERROR, "trim", "short")
    assert clip.failed
    assert clip.codes() == ["low_snr", "too_short"]


def test_finding_round_trips_through_a_dict():
    finding = Finding("clipping", Severity.ERROR, "analyze", "re-record with lower gain")
    assert Finding.from_dict(finding.to_dict()) == finding


def test_clip_duration_and_pickling():
    clip = Clip(source="a.wav", samples=np.zeros(8000, np.float32), rate=16000)
    assert clip.duration_s == 0.5
    assert pickle.loads(pickle.dumps(clip)).duration_s == 0.5
    assert Clip(source="x").duration_s == 0.0


def test_public_api_names_change_only_on_purpose():
    assert sorted(pipeline.__all__) == sorted(
        [
            "Clip",
            "ConfigurationError",
            "Finding",
            "InputError",
            "Pipeline",
            "Profile",
            "Results",
            "RunOptions",
            "Severity",
            "SourceInfo",
            "Stage",
            "VendorError",
            "VoiceprepError",
            "__version__",
            "available_profiles",
            "load_profile",
        ]
    )
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None
