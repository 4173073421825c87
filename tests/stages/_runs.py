"""Helpers for upload tests: a finished run folder made without running the pipeline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

PROFILE_OF = {
    "tencent-ccc": "tencent-ccc-ivr",
    "tencent-vod": "tencent-vod-voice",
    "aliyun": "aliyun-voice",
    "huawei": "huawei-ivr",
    "yeastar": "yeastar-prompt",
}


def make_run(
    out: Path,
    vendor: str,
    names: list[str],
    *,
    failed: tuple[str, ...] = (),
    dur_s: float = 1.0,
) -> Path:
    """``out`` holding one WAV per name and a results.jsonl as `voiceprep run` writes it."""
    out.mkdir(parents=True, exist_ok=True)
    rate = 24000 if vendor == "tencent-vod" else 8000
    subtype = "ALAW" if vendor == "huawei" else "PCM_16"
    records: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        t = np.arange(int(dur_s * rate)) / rate
        audio = (0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(np.float32)
        path = out / f"{name}.wav"
        sf.write(path, audio, rate, subtype=subtype)
        ok = name not in failed
        records.append(
            {
                "source": os.path.join("in", f"{name}.m4a"),
                "status": "passed" if ok else "failed",
                "profile": PROFILE_OF[vendor],
                "output": str(path) if ok else None,
                "metrics": {"source_duration_s": dur_s},
                "findings": [],
                "source_info": None,
            }
        )
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
