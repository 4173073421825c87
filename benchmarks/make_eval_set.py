"""Generate voiceprep's labelled evaluation set (issue 3): audio whose right answers are known.

    bash benchmarks/install_eval_deps.sh      # once: asterisk prompts, music on hold, espeak-ng
    python benchmarks/make_eval_set.py        # ~300 clips into benchmarks/_work/eval/ (< 3 min)
    python benchmarks/accuracy.py             # score voiceprep's analysis against labels.jsonl
    python benchmarks/make_eval_set.py --split dev   # other people: benchmarks/_work/eval-dev/
                                                     # (writes READY there when complete)

Splits
    ``test`` (default, seed 3) is the scored set: never tune or calibrate on it. ``dev`` (seed
    17, 200 clips, ~20 s once its cache is built, ~1 min cold) shares no person with it; tune
    on it. Its voices are mostly **real and wide-band**, like the test split's:

    - KLettres (``klettres-data``): letters and syllables read by one volunteer per language,
      44.1 kHz. 18 voices (``kl-ar`` … ``kl-uk``): each file is cut to its speech, level-matched,
      and 1–3 s "phrases" of several syllables with 80–250 ms gaps stand in for prompts, so a
      monologue reads like someone spelling aloud (normal 0.3–1.2 s pauses between phrases).
      Each folder is one person, except: ``en`` and ``en_GB`` (and ``nb``/``nn``) may be one
      person, so they share a person id and are never a pair; folders whose median F0 is within
      3 % and whose noise floor matches (``same_voice``) are one recording set, only the first
      is kept (``lt`` = ``fr``, ``nb`` = ``cs``); ``de`` and ``nl`` hold a second voice in their
      letters, so only their syllables are used. Sex from median F0 (< 165 Hz m, > 180 Hz f,
      else ``?``: ``kl-he``).
    - two more Asterisk voice talents recorded in GSM at 8 kHz (``armelle``, French;
      ``es-co``, Colombian Spanish; both women).
    - synthetic: flite's ``kal16``, ``awb``, ``rms`` (men) and ``slt`` (woman), festival's
      diphone voices of six more people (``fest-ked`` en m, ``fest-it-lp`` f, ``fest-it-pc`` m,
      ``fest-cs-dita`` f, ``fest-fi-lj`` f, ``fest-fi-mv`` m), 8 espeak-ng variants the test
      split does not use, and Kaldi-style speed perturbations (x0.9 / x1.1: pitch, formants
      and tempo move together) of the GSM and flite voices, each its own person (``slt@1.1``).

    Kinds: clean 45, noisy 40, hum 10, clipped 10, band_limited 10, two_alt 50, two_overlap 35.
    ~60 % of the single-speaker clips have a KLettres voice (never through the GSM path); of
    the pairs, ~18 % are a voice and its own perturbation (``self_perturbed_pair``), ~53 % two
    KLettres voices, ~16 % one KLettres voice and one other. Labels add ``sexes`` and
    ``klettres`` (how many of the clip's voices are KLettres ones). So that bandwidth never
    tells one speaker from two, every clip with a GSM voice has all its speech *and* its noise
    floor through one 8 kHz path (wide-band voices through the GSM codec too: ``codec: gsm``,
    ``band_limited``, ``bandwidth_hz`` 3800), and so do some clean and hum clips with
    synthetic voices. Noisy and clipped clips use wide-band voices only. ``snr_db`` counts the
    added noise only: armelle's recordings, the noisier KLettres folders (cs, hu, ml: raw floors
    −39 to −44 dBFS) and flite's awb/rms carry noise of their own.

Everything is built from a seed, so two runs give the same files and labels. The audio is
git-ignored and must never be committed; this script is the set.

Sources
    Real human speech: the Asterisk IVR prompt packs (Debian ``asterisk-core-sounds-*-g722``,
    16 kHz G.722, decoded with ffmpeg). Each pack is read by one professional voice talent, which
    gives speaker identity by construction: ``allison`` (US English *and* Mexican Spanish: the
    same woman, so en+es is never used as a two-speaker pair), ``june`` (Canadian French, f),
    ``carlo`` (Italian, m), ``ivr-ru`` (Russian, f), and ``menardi`` (Italian, f, from
    ``asterisk-prompt-it-menardi-wav``; 8 kHz only, so used for band-limited clips and babble).
    Synthetic speakers: espeak-ng voices (several languages and variants), each one "person".
    Real music: ``asterisk-moh-opsound-g722`` (instrumental music on hold). Synthetic music:
    chords, melody and drums made here. Tones, noise and hum are made here.
    Some real prompts carry studio mains hum (allison-es: a 60 Hz line ~16 dB above its
    neighbourhood), so every real prompt is notched at 50/60 Hz and low harmonics first;
    otherwise their "no hum" labels would be false.

Clip kinds (``kind`` in labels.jsonl)
    clean            one speaker, several prompts with pauses (the hard negative for speaker-change
                     detectors), a weak noise floor (SNR 40–60 dB) or, for a few TTS clips, none.
    noisy            clean speech + white, pink or babble noise at exactly 0/5/10/20/30 dB SNR.
                     Babble is the sum of 4–6 *other* people's prompts at equal level.
    hum              speech + mains hum (50 or 60 Hz with harmonics) at 10–30 dB SNR.
    two_alt          two different people taking turns (A B, A B A, ...); change times labelled.
    two_overlap      two different people, the second talking over the first for ≥ 1.5 s.
    music / tone     no speech: synthetic or real music; sines, dial/busy tones, DTMF, sweeps.
    silence          no speech: digital silence, or a noise floor / hum only.
    clipped          speech driven into the rails (0.2–5 % of samples flat at full scale).
    hidden_clipping  clipped as above, then attenuated 3–12 dB (flat tops below full scale).
    band_limited     speech through an 8 kHz telephone path (optionally G.711 µ-law), then
                     upsampled to 16 or 24 kHz: nothing above ~3.6–4 kHz.

Label definitions
    speech_start_s / speech_end_s: where the first speech starts and the last ends, in file time,
        exact by placement. Each real prompt is first cut to its own speech: 5 ms frames, the
        first and last frame louder than max(prompt noise floor + 20 dB, loudest frame − 45 dB),
        the noise floor being the 10th percentile of the prompt's frame energies. espeak-ng output
        is cut the same way.
    snr_db: true SNR as constructed = active speech level − noise level, in dB re full scale.
        Active speech level is ITU-T P.56 method B (simplified): envelope = |x| smoothed twice by
        a 30 ms one-pole filter, activity = envelope ≥ threshold c plus 200 ms hangover, and c is
        the threshold at which the mean power over active samples sits 15.9 dB above c²
        (evaluated on 1 ms blocks, c in 0.25 dB steps, interpolated), measured on the clean
        speech track alone (both talkers together for two-speaker clips). Noise level = mean
        power of the added noise track over the whole clip. Null when no noise was added.
    n_speakers: distinct people talking (background babble does not count: it is noise).
    speaker_change_s: start time of every turn after the first (overlap: when the second
        voice comes in). turns: [start_s, end_s, speaker] per turn.
    clipped: any samples flattened by clipping (clipping_fraction: share of samples affected).
    band_limited: content limited to the narrow telephone band (≤ 4 kHz); bandwidth_hz is the
        upper edge of the content (G.722 prompts: ~7 kHz; espeak-ng at 16 kHz: 8 kHz).
    hum_hz: mains frequency of added hum, else null. has_speech: any speech at all.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "_work", "eval")
CACHE_DIR = os.path.join(HERE, "_work", "eval_cache")
SOUNDS = "/usr/share/asterisk/sounds"
MOH = "/usr/share/asterisk/moh"
ESPEAK = "/usr/bin/espeak-ng"
RATE = 16_000  # working rate of every track; most clips are written at it too
VERSION = 2  # bump when the recipe changes, so stale caches and sets are rebuilt
P56_MARGIN_DB = 15.9
FRAME_S = 0.005  # prompt-cutting frames


@dataclass(frozen=True)
class Speaker:
    """One voice: ``person`` is who is talking (two speakers in a clip are different persons)."""

    id: str
    person: str
    language: str
    real: bool
    source: str  # folder of prompts, or an espeak-ng voice name
    rate_hz: int = RATE  # native rate (menardi: 8 kHz)
    speed_wpm: int = 160
    pitch: int = 50
    sex: str = "?"  # "f", "m" or "?" (dev split labels only)
    ext: str = ""  # prompt file extension when not the default (.g722; .wav at 8 kHz)
    engine: str = "espeak"  # for synthetic voices: "espeak", "flite" or "festival"
    base: str = ""  # the unperturbed voice this one derives from (speed perturbation), or ""
    speed: float = 1.0  # speed-perturbation factor applied to ``base``


REAL_SPEAKERS = (
    Speaker("allison-en", "allison", "en-US", True, "en_US_f_Allison"),
    Speaker("allison-es", "allison", "es-MX", True, "es_MX_f_Allison"),
    Speaker("june", "june", "fr-CA", True, "fr_CA_f_June"),
    Speaker("carlo", "carlo", "it-IT", True, "it_IT_m_Carlo"),
    Speaker("ivr-ru", "ivr-ru", "ru-RU", True, "ru_RU_f_IvrvoiceRU"),
)
NARROWBAND_SPEAKER = Speaker("menardi", "menardi", "it-IT", True, "it_IT_f_Menardi", 8_000)
ESPEAK_SPEAKERS = (
    Speaker("tts-en-us-m3", "tts-en-us-m3", "en-US", False, "en-us+m3", speed_wpm=150, pitch=40),
    Speaker("tts-en-gb-f2", "tts-en-gb-f2", "en-GB", False, "en-gb+f2", speed_wpm=165, pitch=60),
    Speaker("tts-en-m7", "tts-en-m7", "en", False, "en+m7", speed_wpm=140, pitch=35),
    Speaker("tts-en-us-f4", "tts-en-us-f4", "en-US", False, "en-us+f4", speed_wpm=175, pitch=65),
    Speaker("tts-de-m1", "tts-de-m1", "de", False, "de+m1", speed_wpm=155, pitch=45),
    Speaker("tts-es-f3", "tts-es-f3", "es", False, "es+f3", speed_wpm=170, pitch=55),
    Speaker("tts-fr-m2", "tts-fr-m2", "fr-FR", False, "fr-fr+m2", speed_wpm=160, pitch=50),
    Speaker("tts-pt-f1", "tts-pt-f1", "pt-BR", False, "pt-br+f1", speed_wpm=150, pitch=58),
)
TEXTS = {
    "en": (
        "Thank you for calling. Please stay on the line and the next agent will be with you.",
        "Press one for billing, two for technical support, or stay on the line for reception.",
        "Our offices are closed for the holiday and will reopen on Monday morning at nine.",
        "Please record your message after the tone. When you are done, simply hang up.",
        "Your package was shipped yesterday and should arrive within three working days.",
        "To change your password, enter your four digit code followed by the pound key.",
        "We are experiencing a high number of calls. Your estimated wait time is four minutes.",
        "The number you have dialled is not in service. Please check the number and try again.",
        "Welcome back. You have two new messages and one saved message.",
        "For opening hours and directions to our nearest branch, press five now.",
    ),
    "de": (
        "Vielen Dank für Ihren Anruf. Bitte bleiben Sie in der Leitung.",
        "Für den Kundendienst drücken Sie bitte die Eins, für Bestellungen die Zwei.",
        "Unser Büro ist heute geschlossen. Bitte rufen Sie morgen wieder an.",
        "Bitte sprechen Sie Ihre Nachricht nach dem Signalton.",
        "Alle Mitarbeiter sind im Gespräch. Wir sind gleich für Sie da.",
        "Ihre Lieferung ist unterwegs und kommt voraussichtlich am Freitag an.",
    ),
    "es": (
        "Gracias por llamar. Por favor espere y un agente le atenderá en breve.",
        "Para facturación marque uno, para soporte técnico marque dos.",
        "Nuestras oficinas están cerradas. El horario es de nueve a cinco.",
        "Deje su mensaje después del tono y le devolveremos la llamada.",
        "Todos nuestros operadores están ocupados. Su llamada es importante para nosotros.",
        "Su pedido ha sido enviado y llegará en los próximos tres días.",
    ),
    "fr": (
        "Merci de votre appel. Veuillez patienter, un conseiller va vous répondre.",
        "Pour la facturation, tapez un. Pour l'assistance technique, tapez deux.",
        "Nos bureaux sont actuellement fermés. Merci de rappeler demain matin.",
        "Laissez votre message après le bip sonore.",
        "Tous nos conseillers sont occupés. Votre temps d'attente est de cinq minutes.",
        "Votre colis a été expédié et arrivera dans trois jours ouvrables.",
    ),
    "pt": (
        "Obrigado por ligar. Por favor aguarde na linha.",
        "Para falar com o suporte, digite um. Para vendas, digite dois.",
        "Nosso escritório está fechado. Ligue novamente amanhã.",
        "Deixe sua mensagem após o sinal.",
        "Todos os nossos atendentes estão ocupados no momento.",
        "Seu pedido foi enviado e chegará em três dias úteis.",
    ),
}
PROMPTS_PER_SPEAKER = 60


# --- small signal helpers -----------------------------------------------------------------------


def _db(power: float) -> float:
    return 10.0 * math.log10(max(power, 1e-20))


def power(x: np.ndarray) -> float:
    """Mean square of ``x`` (0.0 for no samples)."""
    return float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0


def active_level_db(x: np.ndarray, rate: int) -> float | None:
    """ITU-T P.56 method B active speech level (dB re full scale), simplified as documented above.

    None when nothing is active (silence).
    """
    from scipy.signal import lfilter

    x = np.asarray(x, dtype=np.float64)
    if x.size == 0 or not np.any(x):
        return None
    g = math.exp(-1.0 / (rate * 0.03))
    envelope = lfilter([1 - g], [1, -g], lfilter([1 - g], [1, -g], np.abs(x)))
    block = max(1, rate // 1000)  # 1 ms: the envelope is far smoother than that
    n = x.size // block
    if n == 0:
        return _db(power(x))
    energy = np.square(x[: n * block]).reshape(n, block).sum(axis=1)
    env = envelope[: n * block].reshape(n, block).max(axis=1)
    hangover = round(0.2 * 1000)
    top = 20.0 * math.log10(float(env.max()))
    thresholds_db = np.arange(top - 100.0, top + 0.25, 0.25)
    index = np.arange(n)
    diff = np.full(thresholds_db.size, -np.inf)
    levels = np.full(thresholds_db.size, -np.inf)
    for j, c_db in enumerate(thresholds_db):  # ~400 thresholds x 1 ms blocks: vectorised per step
        above = env >= 10.0 ** (c_db / 20.0)
        if not above.any():
            break
        last = np.maximum.accumulate(np.where(above, index, -(10**9)))
        active = (index - last) <= hangover
        level = _db(float(energy[active].sum()) / (int(active.sum()) * block))
        levels[j] = level
        diff[j] = level - c_db
    ok = np.flatnonzero(np.isfinite(diff))
    crossing = ok[diff[ok] <= P56_MARGIN_DB]
    if crossing.size == 0 or crossing[0] == 0:
        return float(levels[ok[-1]]) if crossing.size == 0 else float(levels[crossing[0]])
    k = int(crossing[0])
    d0, d1 = diff[k - 1], diff[k]
    t = (d0 - P56_MARGIN_DB) / (d0 - d1) if d0 != d1 else 0.0
    return float(levels[k - 1] + t * (levels[k] - levels[k - 1]))


def speech_bounds(x: np.ndarray, rate: int) -> tuple[int, int] | None:
    """First and one-past-last sample of the speech in one prompt (see the module docstring)."""
    step = max(1, round(rate * FRAME_S))
    n = x.size // step
    if n == 0:
        return None
    frames = np.asarray(x[: n * step], dtype=np.float64).reshape(n, step)
    energy = 10.0 * np.log10(np.maximum(np.mean(frames * frames, axis=1), 1e-14))
    floor = float(np.percentile(energy, 10.0))
    threshold = max(floor + 20.0, float(energy.max()) - 45.0)
    loud = np.flatnonzero(energy > threshold)
    if loud.size == 0:
        return None
    return int(loud[0]) * step, (int(loud[-1]) + 1) * step


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    import soxr

    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float32)
    return np.asarray(soxr.resample(x, rate_in, rate_out, quality="VHQ"), dtype=np.float32)


def white(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float32)


def pink(rng: np.random.Generator, n: int, rate: int = RATE) -> np.ndarray:
    """1/f noise by spectral shaping of white noise (flat below 20 Hz to avoid a DC surge)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum /= np.sqrt(np.maximum(freqs, 20.0))
    y = np.fft.irfft(spectrum, n)
    return (y / (np.sqrt(np.mean(y * y)) + 1e-20)).astype(np.float32)


def mains_hum(rng: np.random.Generator, n: int, hz: float, rate: int = RATE) -> np.ndarray:
    """Mains hum: the fundamental and 2–7 harmonics, odd ones stronger (a rectifier's buzz)."""
    t = np.arange(n) / rate
    y = np.zeros(n)
    for k in range(1, int(rng.integers(3, 8)) + 1):
        amp = (1.0 if k == 1 else rng.uniform(0.1, 0.6) / (1 if k % 2 else 2)) / k**0.5
        y += amp * np.sin(2 * np.pi * hz * k * t + rng.uniform(0, 2 * np.pi))
    return (y / math.sqrt(np.mean(y * y))).astype(np.float32)


def scale_to_db(x: np.ndarray, level_db: float) -> np.ndarray:
    """``x`` scaled so that its mean power is ``level_db`` dB re full scale."""
    p = power(x)
    return x if p == 0 else (x * np.float32(10 ** ((level_db - _db(p)) / 20))).astype(np.float32)


def to_active_level(x: np.ndarray, level_db: float) -> np.ndarray:
    """``x`` (speech at `RATE`) scaled so that its P.56 active level is ``level_db``."""
    level = active_level_db(x, RATE)
    if level is None:
        return x
    return (x * np.float32(10 ** ((level_db - level) / 20))).astype(np.float32)


def ulaw_roundtrip(x: np.ndarray) -> np.ndarray:
    """G.711 µ-law companding (8-bit) and back: the quantisation a phone line adds."""
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / math.log1p(mu)
    q = np.round(y * 127.0) / 127.0
    return (np.sign(q) * np.expm1(np.abs(q) * math.log1p(mu)) / mu).astype(np.float32)


# --- sources ------------------------------------------------------------------------------------


def _decode_ffmpeg(path: str, rate: int, *, start_s: float = 0.0, dur_s: float = 0.0) -> np.ndarray:
    ffmpeg = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    argv = [ffmpeg, "-hide_banner", "-loglevel", "error"]
    if path.endswith(".g722"):
        argv += ["-f", "g722"]
    elif path.endswith(".gsm"):
        argv += ["-f", "gsm"]  # raw GSM 06.10 at 8 kHz (the dev split's Asterisk prompts)
    if start_s:
        argv += ["-ss", f"{start_s:.3f}"]
    argv += ["-i", path]
    if dur_s:
        argv += ["-t", f"{dur_s:.3f}"]
    argv += ["-f", "s16le", "-ac", "1", "-ar", str(rate), "-"]
    raw = subprocess.run(argv, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def remove_mains(x: np.ndarray, rate: int) -> np.ndarray:
    """Notch out 50/60 Hz and their low harmonics (some studio prompts carry 60 Hz hum).

    Without this, a "no hum" label would be wrong for those prompts. The notches are ~1.5 Hz
    wide (Q 40), zero-phase, so they take next to nothing from the speech.
    """
    from scipy.signal import filtfilt, iirnotch

    y = np.asarray(x, dtype=np.float64)
    for hz in (50.0, 60.0, 100.0, 120.0, 150.0, 180.0):
        b, a = iirnotch(hz, 40.0, fs=rate)
        y = filtfilt(b, a, y)
    return y.astype(np.float32)


def _prompt_files(speaker: Speaker) -> list[str]:
    folder = os.path.join(SOUNDS, speaker.source)
    ext = speaker.ext or (".wav" if speaker.rate_hz == 8000 else ".g722")
    if not os.path.isdir(folder):
        raise SystemExit(
            f"{folder} is missing: run `bash benchmarks/install_eval_deps.sh` first (as root)"
        )
    # Top-level prompts only: digits/, letters/ are single words, too short to be useful.
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(ext))


def _load_prompt(speaker: Speaker, path: str) -> np.ndarray | None:
    if path.endswith(".wav"):
        import soundfile as sf

        x, rate = sf.read(path, dtype="float32")
        x = resample(x if x.ndim == 1 else x.mean(axis=1), rate, speaker.rate_hz)
    else:
        x = _decode_ffmpeg(path, speaker.rate_hz)
    x = remove_mains(x, speaker.rate_hz)
    bounds = speech_bounds(x, speaker.rate_hz)
    if bounds is None:
        return None
    x = x[bounds[0] : bounds[1]]
    duration = x.size / speaker.rate_hz
    return x if 0.8 <= duration <= 6.0 else None


def _espeak_prompt(speaker: Speaker, text: str, path: str) -> np.ndarray | None:
    import soundfile as sf

    if not os.path.exists(path):
        voice = ["-v", speaker.source, "-s", str(speaker.speed_wpm), "-p", str(speaker.pitch)]
        subprocess.run([ESPEAK, *voice, "-w", path, text], check=True, capture_output=True)
    x, rate = sf.read(path, dtype="float32")
    x = resample(x, rate, RATE)
    bounds = speech_bounds(x, RATE)
    return None if bounds is None else x[bounds[0] : bounds[1]]


def _read_banks(cache: str) -> dict[str, list[np.ndarray]]:
    """Banks saved by `load_banks` / `load_dev_banks` (keys ``<speaker id>#<index>``)."""
    banks: dict[str, list[np.ndarray]] = {}
    with np.load(cache) as saved:
        order = sorted(saved.files, key=lambda k: (k.rsplit("#", 1)[0], int(k.rsplit("#")[-1])))
        for key in order:
            banks.setdefault(key.rsplit("#", 1)[0], []).append(saved[key])
    return banks


def load_banks(seed: int) -> dict[str, list[np.ndarray]]:
    """Speech prompts per speaker id, cut to their speech, at the speaker's native rate."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    cache = os.path.join(CACHE_DIR, f"banks-v{VERSION}-s{seed}.npz")
    if os.path.exists(cache):
        return _read_banks(cache)
    if not os.access(ESPEAK, os.X_OK) or shutil.which("ffmpeg") is None:
        raise SystemExit(
            "espeak-ng or ffmpeg is missing: run `bash benchmarks/install_eval_deps.sh`"
        )
    rng = np.random.default_rng(seed)
    jobs: list[tuple[str, Callable[[], np.ndarray | None]]] = []
    for speaker in (*REAL_SPEAKERS, NARROWBAND_SPEAKER):
        files = _prompt_files(speaker)
        picked = rng.permutation(len(files))[: PROMPTS_PER_SPEAKER * 2]  # some will be too short
        for i in sorted(int(p) for p in picked):
            jobs.append((speaker.id, functools.partial(_load_prompt, speaker, files[i])))
    tts_dir = os.path.join(CACHE_DIR, "espeak")
    os.makedirs(tts_dir, exist_ok=True)
    for speaker in ESPEAK_SPEAKERS:
        for k, text in enumerate(TEXTS[speaker.language.split("-")[0]]):
            path = os.path.join(tts_dir, f"{speaker.id}_{k:02d}.wav")
            jobs.append((speaker.id, functools.partial(_espeak_prompt, speaker, text, path)))
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) * 2) as pool:
        decoded = list(pool.map(lambda job: job[1](), jobs))
    banks: dict[str, list[np.ndarray]] = {}
    for (speaker_id, _), x in zip(jobs, decoded, strict=True):
        if x is not None and len(banks.get(speaker_id, [])) < PROMPTS_PER_SPEAKER:
            banks.setdefault(speaker_id, []).append(x)
    arrays: dict[str, Any] = {
        f"{sid}#{i}": x for sid, xs in banks.items() for i, x in enumerate(xs)
    }
    np.savez(cache, **arrays)
    return banks


# --- building blocks ----------------------------------------------------------------------------


@dataclass
class Track:
    """Clean speech at `RATE` with its turns: (start_s, end_s, speaker_id), in track time."""

    audio: np.ndarray
    turns: list[tuple[float, float, str]]


def monologue(
    rng: np.random.Generator, bank: list[np.ndarray], speaker_id: str, seconds: float
) -> Track:
    """Prompts of one speaker separated by 0.3–1.2 s pauses, as long as fits in ``seconds``."""
    parts: list[np.ndarray] = []
    total = 0
    order = rng.permutation(len(bank))
    for index in order:
        prompt = bank[int(index)]
        gap = int(rng.uniform(0.3, 1.2) * RATE) if parts else 0
        if parts and total + gap + prompt.size > seconds * RATE:
            break
        if gap:
            parts.append(np.zeros(gap, np.float32))
        parts.append(prompt)
        total += gap + prompt.size
    audio = np.concatenate(parts).astype(np.float32)
    return Track(audio, [(0.0, audio.size / RATE, speaker_id)])


def speaker_bank(banks: dict[str, list[np.ndarray]], speaker: Speaker) -> list[np.ndarray]:
    """The speaker's prompts at `RATE` (native-rate banks are upsampled on the fly)."""
    bank = banks[speaker.id]
    return bank if speaker.rate_hz == RATE else [resample(x, speaker.rate_hz, RATE) for x in bank]


def place(track: Track, lead_s: float, tail_s: float) -> tuple[np.ndarray, float, float]:
    """Pad the track with ``lead_s`` / ``tail_s`` of silence: audio, speech start, speech end."""
    lead, tail = round(lead_s * RATE), round(tail_s * RATE)
    audio = np.concatenate([np.zeros(lead, np.float32), track.audio, np.zeros(tail, np.float32)])
    return audio, lead / RATE, (lead + track.audio.size) / RATE


# --- the generator ------------------------------------------------------------------------------


class Generator:
    """Builds every clip kind; each ``make_*`` returns (audio at `RATE`, label fields)."""

    def __init__(self, banks: dict[str, list[np.ndarray]], seed: int) -> None:
        self.banks = banks
        self.seed = seed
        self.speakers = {s.id: s for s in (*REAL_SPEAKERS, NARROWBAND_SPEAKER, *ESPEAK_SPEAKERS)}
        self.wide = [s for s in (*REAL_SPEAKERS, *ESPEAK_SPEAKERS) if s.id in banks]
        self._at_rate: dict[str, list[np.ndarray]] = {}

    def pick_narrowband(self, rng: np.random.Generator) -> Speaker:
        """The narrow-band (8 kHz) voice of a band-limited clip (the test split has one)."""
        return NARROWBAND_SPEAKER

    def babble_pool(self) -> list[Speaker]:
        """Voices babble noise may be made of (the clip's own speaker is excluded later)."""
        return [*self.wide, NARROWBAND_SPEAKER]

    def bank(self, speaker: Speaker) -> list[np.ndarray]:
        if speaker.id not in self._at_rate:
            self._at_rate[speaker.id] = speaker_bank(self.banks, speaker)
        return self._at_rate[speaker.id]

    def pick_speaker(self, rng: np.random.Generator, *, real_share: float = 0.7) -> Speaker:
        real = [s for s in self.wide if s.real]
        pool = real if rng.random() < real_share else [s for s in self.wide if not s.real]
        return pool[int(rng.integers(len(pool)))]

    def pick_pair(self, rng: np.random.Generator) -> tuple[Speaker, Speaker]:
        a = self.pick_speaker(rng)
        others = [s for s in self.wide if s.person != a.person]
        if a.real and rng.random() < 0.6:  # real+real pairs when possible
            others = [s for s in others if s.real] or others
        return a, others[int(rng.integers(len(others)))]

    def speech(
        self, rng: np.random.Generator, speaker: Speaker, *, min_s: float = 4.0, max_s: float = 20.0
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """A single-speaker clip: lead silence, a monologue, tail silence; and its labels."""
        total = rng.uniform(min_s, max_s)
        lead, tail = rng.uniform(0.1, 2.5), rng.uniform(0.3, 2.5)
        track = monologue(rng, self.bank(speaker), speaker.id, max(1.5, total - lead - tail))
        tail = max(tail, min_s - lead - track.audio.size / RATE)  # never shorter than min_s
        audio, start, end = place(track, lead, tail)
        return audio, self._speech_labels(
            speaker_list=[speaker], start=start, end=end, turns=[(start, end, speaker.id)]
        )

    def _speech_labels(
        self,
        *,
        speaker_list: Sequence[Speaker],
        start: float,
        end: float,
        turns: list[tuple[float, float, str]],
    ) -> dict[str, Any]:
        return {
            "has_speech": True,
            "speech_start_s": round(start, 4),
            "speech_end_s": round(end, 4),
            "n_speakers": len({s.person for s in speaker_list}),
            "speakers": [s.id for s in speaker_list],
            "real_speech": all(s.real for s in speaker_list),
            "languages": sorted({s.language for s in speaker_list}),
            "turns": [[round(a, 4), round(b, 4), who] for a, b, who in turns],
            "speaker_change_s": [round(a, 4) for a, _, _ in turns[1:]],
        }

    def set_level(
        self,
        rng: np.random.Generator,
        audio: np.ndarray,
        lo_db: float = -36.0,
        hi_db: float = -14.0,
    ) -> tuple[np.ndarray, float]:
        """Speech scaled to a random active level; never louder than −1 dBFS peak."""
        level = active_level_db(audio, RATE)
        assert level is not None
        target = rng.uniform(lo_db, hi_db)
        gain = 10 ** ((target - level) / 20)
        gain = min(gain, 10 ** (-1.5 / 20) / float(np.max(np.abs(audio))))
        return (audio * np.float32(gain)).astype(np.float32), level + 20 * math.log10(gain)

    def noise(
        self, rng: np.random.Generator, kind: str, n: int, exclude_person: set[str]
    ) -> np.ndarray:
        """Unit-power noise of ``kind``: white, pink or babble (≥ 4 other people)."""
        if kind == "white":
            return white(rng, n)
        if kind == "pink":
            return pink(rng, n)
        if kind == "babble":
            pool = [s for s in self.babble_pool() if s.person not in exclude_person]
            talkers = rng.choice(len(pool), size=int(rng.integers(4, 7)), replace=False)
            mix = np.zeros(n, np.float32)
            for t in talkers:
                speaker = pool[int(t)]
                track = monologue(rng, self.bank(speaker), speaker.id, n / RATE + 8.0).audio
                while track.size < n + RATE:
                    track = np.concatenate([track, track])
                offset = int(rng.integers(0, track.size - n))
                mix += scale_to_db(track[offset : offset + n], 0.0)
            return scale_to_db(mix, 0.0)
        raise ValueError(kind)

    def add_noise(
        self,
        rng: np.random.Generator,
        audio: np.ndarray,
        level_db: float,
        snr_db: float,
        kind: str,
        exclude: set[str],
    ) -> tuple[np.ndarray, dict[str, Any]]:
        noise = scale_to_db(self.noise(rng, kind, audio.size, exclude), level_db - snr_db)
        return audio + noise, {
            "noise_type": kind,
            "snr_db": round(level_db - _db(power(noise)), 3) + 0.0,
            "noise_level_dbfs": round(_db(power(noise)), 2),
        }

    # kinds -------------------------------------------------------------------------------------

    def clean(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        speaker = self.pick_speaker(rng)
        audio, labels = self.speech(rng, speaker)
        audio, level = self.set_level(rng, audio)
        labels["speech_level_dbfs"] = round(level, 2)
        if not speaker.real and rng.random() < 0.3:  # TTS straight out of the engine: no floor
            labels.update(noise_type=None, snr_db=None, noise_level_dbfs=None)
            return audio, labels
        kind = "pink" if rng.random() < 0.5 else "white"
        audio, extra = self.add_noise(rng, audio, level, rng.uniform(40, 60), kind, set())
        labels.update(extra)
        return audio, labels

    def noisy(
        self, rng: np.random.Generator, kind: str, snr_db: float
    ) -> tuple[np.ndarray, dict[str, Any]]:
        speaker = self.pick_speaker(rng)
        audio, labels = self.speech(rng, speaker)
        audio, level = self.set_level(rng, audio, -34.0, -18.0)
        labels["speech_level_dbfs"] = round(level, 2)
        audio, extra = self.add_noise(rng, audio, level, snr_db, kind, {speaker.person})
        labels.update(extra)
        return audio, labels

    def hum(
        self, rng: np.random.Generator, hz: float, snr_db: float
    ) -> tuple[np.ndarray, dict[str, Any]]:
        speaker = self.pick_speaker(rng)
        audio, labels = self.speech(rng, speaker)
        audio, level = self.set_level(rng, audio, -34.0, -18.0)
        buzz = scale_to_db(mains_hum(rng, audio.size, hz), level - snr_db)
        floor = scale_to_db(white(rng, audio.size), level - 55.0)
        noise = buzz + floor
        labels.update(
            speech_level_dbfs=round(level, 2),
            noise_type="hum",
            hum_hz=hz,
            snr_db=round(level - _db(power(noise)), 3),
            noise_level_dbfs=round(_db(power(noise)), 2),
        )
        return audio + noise, labels

    def two_alt(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        a, b = self.pick_pair(rng)
        n_turns = int(rng.choice([2, 3, 3, 4]))
        parts: list[np.ndarray] = []
        turns: list[tuple[float, float, str]] = []
        cursor = round(rng.uniform(0.1, 2.0) * RATE)
        parts.append(np.zeros(cursor, np.float32))
        gains = {a.id: 1.0, b.id: 10 ** (rng.uniform(-4, 4) / 20)}
        for k in range(n_turns):
            who = a if k % 2 == 0 else b
            track = monologue(rng, self.bank(who), who.id, rng.uniform(1.5, 5.0))
            seg = to_active_level(track.audio, 0.0) * np.float32(gains[who.id])
            turns.append((cursor / RATE, (cursor + seg.size) / RATE, who.id))
            parts.append(seg)
            cursor += seg.size
            gap = (
                round(rng.uniform(0.15, 1.0) * RATE)
                if k < n_turns - 1
                else round(rng.uniform(0.3, 2.5) * RATE)
            )
            parts.append(np.zeros(gap, np.float32))
            cursor += gap
        audio = np.concatenate(parts).astype(np.float32)
        audio, level = self.set_level(rng, audio)
        labels = self._speech_labels(
            speaker_list=[a, b], start=turns[0][0], end=turns[-1][1], turns=turns
        )
        labels["speech_level_dbfs"] = round(level, 2)
        audio, extra = self.add_noise(
            rng, audio, level, rng.uniform(35, 55), "pink" if rng.random() < 0.5 else "white", set()
        )
        labels.update(extra)
        return audio, labels

    def two_overlap(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        a, b = self.pick_pair(rng)
        first = monologue(rng, self.bank(a), a.id, rng.uniform(5.0, 10.0)).audio
        second = monologue(rng, self.bank(b), b.id, rng.uniform(2.5, 6.0)).audio
        first = to_active_level(first, 0.0)
        second = to_active_level(second, rng.uniform(-3.0, 3.0))
        lead = round(rng.uniform(0.1, 2.0) * RATE)
        # The second voice comes in while the first is talking and overlaps it by ≥ 1.5 s.
        latest = max(0, first.size - round(1.5 * RATE))
        enter = lead + int(rng.integers(round(0.5 * RATE), max(round(0.5 * RATE) + 1, latest)))
        end = max(lead + first.size, enter + second.size)
        tail = round(rng.uniform(0.3, 2.5) * RATE)
        audio = np.zeros(end + tail, np.float32)
        audio[lead : lead + first.size] += first
        audio[enter : enter + second.size] += second
        turns = [
            (lead / RATE, (lead + first.size) / RATE, a.id),
            (enter / RATE, (enter + second.size) / RATE, b.id),
        ]
        audio, level = self.set_level(rng, audio)
        labels = self._speech_labels(
            speaker_list=[a, b], start=lead / RATE, end=end / RATE, turns=turns
        )
        labels["speech_level_dbfs"] = round(level, 2)
        labels["overlap_s"] = round((min(lead + first.size, enter + second.size) - enter) / RATE, 4)
        audio, extra = self.add_noise(rng, audio, level, rng.uniform(35, 55), "pink", set())
        labels.update(extra)
        return audio, labels

    def music(self, rng: np.random.Generator, real: bool) -> tuple[np.ndarray, dict[str, Any]]:
        seconds = rng.uniform(6.0, 15.0)
        if real:
            tracks = sorted(f for f in os.listdir(MOH) if f.endswith(".g722"))
            name = tracks[int(rng.integers(len(tracks)))]
            audio = _decode_ffmpeg(
                os.path.join(MOH, name), RATE, start_s=rng.uniform(3.0, 50.0), dur_s=seconds
            )
            source = f"moh:{name}"
        else:
            audio = synth_music(rng, seconds)
            source = "synthetic"
        audio = scale_to_db(audio, rng.uniform(-30, -14))
        audio *= np.float32(min(1.0, 0.85 / float(np.max(np.abs(audio)))))
        floor = scale_to_db(white(rng, audio.size), _db(power(audio)) - 60)
        return audio + floor, {**_no_speech(), "music_source": source}

    def tone(self, rng: np.random.Generator, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        seconds = rng.uniform(4.0, 12.0)
        n = round(seconds * RATE)
        t = np.arange(n) / RATE
        kinds = ("sine", "dial", "busy", "dtmf", "sweep", "cng")
        kind = kinds[index % len(kinds)]
        if kind == "sine":
            y = np.sin(2 * np.pi * rng.choice([400.0, 440.0, 1000.0, 1004.0]) * t)
        elif kind == "dial":
            y = np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t)
        elif kind == "busy":
            y = (np.sin(2 * np.pi * 480 * t) + np.sin(2 * np.pi * 620 * t)) * ((t % 1.0) < 0.5)
        elif kind == "dtmf":
            rows, cols = (697, 770, 852, 941), (1209, 1336, 1477)
            digit = (t // 0.2).astype(int)
            on = (t % 0.2) < 0.1
            r = np.array(rows)[rng.integers(0, 4, size=digit.max() + 1)][digit]
            c = np.array(cols)[rng.integers(0, 3, size=digit.max() + 1)][digit]
            y = (np.sin(2 * np.pi * r * t) + np.sin(2 * np.pi * c * t)) * on
        elif kind == "sweep":
            f0, f1 = 100.0, 7000.0
            y = np.sin(
                2
                * np.pi
                * f0
                * seconds
                / math.log(f1 / f0)
                * (np.exp(t / seconds * math.log(f1 / f0)) - 1)
            )
        else:  # fax calling tone: 1100 Hz, 0.5 s on, 3 s off
            y = np.sin(2 * np.pi * 1100 * t) * ((t % 3.5) < 0.5)
        audio = scale_to_db(y.astype(np.float32), rng.uniform(-30, -12))
        audio += scale_to_db(white(rng, n), rng.uniform(-80, -65))
        return audio, {**_no_speech(), "tone": kind}

    def silence(self, rng: np.random.Generator, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        n = round(rng.uniform(4.0, 12.0) * RATE)
        kinds = ("digital", "white", "pink", "pink", "room_hum")
        kind = kinds[index % len(kinds)]
        if kind == "digital":
            return np.zeros(n, np.float32), {**_no_speech(), "noise_type": None}
        level = rng.uniform(-75, -45)
        if kind == "room_hum":
            hz = float(rng.choice([50.0, 60.0]))
            y = scale_to_db(pink(rng, n), level) + scale_to_db(mains_hum(rng, n, hz), level + 6)
            return y, {**_no_speech(), "noise_type": "hum", "hum_hz": hz}
        y = scale_to_db(white(rng, n) if kind == "white" else pink(rng, n), level)
        return y, {**_no_speech(), "noise_type": kind, "noise_level_dbfs": round(level, 2)}

    def clipped(self, rng: np.random.Generator, hidden: bool) -> tuple[np.ndarray, dict[str, Any]]:
        speaker = self.pick_speaker(rng)
        audio, labels = self.speech(rng, speaker)
        audio, level = self.set_level(rng, audio, -30, -20)
        audio, extra = self.add_noise(rng, audio, level, rng.uniform(40, 55), "pink", set())
        labels.update(extra)
        # Drive so that a chosen share of samples (0.2–5 %) exceeds full scale, then clip.
        share = math.exp(rng.uniform(math.log(0.002), math.log(0.05)))
        gain = 1.0 / float(np.quantile(np.abs(audio), 1.0 - share))
        audio = np.clip(audio * np.float32(gain), -1.0, 1.0)
        labels["clipping_fraction"] = round(float(np.mean(np.abs(audio) >= 1.0)), 5)
        level += 20 * math.log10(gain)
        if hidden:
            drop = rng.uniform(3.0, 12.0)
            audio *= np.float32(10 ** (-drop / 20))
            level -= drop
            labels["attenuation_db"] = round(drop, 2)
        labels.update(clipped=True, speech_level_dbfs=round(level, 2))
        labels["snr_db"] = None  # clipping distortion makes the constructed SNR meaningless
        return audio, labels

    def band_limited(
        self, rng: np.random.Generator, index: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        speaker = self.pick_narrowband(rng) if index % 3 == 0 else self.pick_speaker(rng)
        audio, labels = self.speech(rng, speaker)
        audio, level = self.set_level(rng, audio)
        narrow = resample(audio, RATE, 8000)
        if rng.random() < 0.5:
            narrow = ulaw_roundtrip(narrow)
            labels["codec"] = "ulaw"
        labels.update(speech_level_dbfs=round(level, 2), band_limited=True, bandwidth_hz=3800)
        post = rng.random() < 0.5  # noise after the phone line (a re-recording) or before it
        snr = rng.uniform(38, 55)
        if not post:
            narrow_noise = scale_to_db(white(rng, narrow.size), level - snr)
            narrow = narrow + narrow_noise
        out = resample(narrow, 8000, RATE)
        out = (
            out[: audio.size] if out.size >= audio.size else np.pad(out, (0, audio.size - out.size))
        )
        if post:
            out, extra = self.add_noise(rng, out, level, snr, "pink", set())
            labels.update(extra)
        else:
            labels.update(noise_type="white", snr_db=round(snr, 3))
        return out, labels


def _no_speech() -> dict[str, Any]:
    return {
        "has_speech": False,
        "speech_start_s": None,
        "speech_end_s": None,
        "n_speakers": 0,
        "speakers": [],
        "real_speech": False,
        "turns": [],
        "speaker_change_s": [],
        "snr_db": None,
    }


def synth_music(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Chords, a melody and a drum kit at a random tempo and key (loops over notes, not samples)."""
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    beat = 60.0 / rng.uniform(80, 140)
    root = int(rng.integers(45, 58))
    minor = bool(rng.random() < 0.4)
    progression = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))
    if minor:
        progression = ((0, 3, 7), (8, 12, 15), (3, 7, 10), (10, 14, 17))
    y = np.zeros(n)

    def note(midi: float, start: float, length: float, amp: float, harmonics: int) -> None:
        a, b = round(start * RATE), min(n, round((start + length) * RATE))
        if a >= n or b <= a:
            return
        tt = t[a:b] - start
        freq = 440.0 * 2 ** ((midi - 69) / 12)
        env = np.minimum(tt / 0.02, 1.0) * np.exp(-tt / max(length, 0.1) * 1.5)
        tone = sum(np.sin(2 * np.pi * freq * k * tt) / k**1.3 for k in range(1, harmonics + 1))
        y[a:b] += amp * env * tone

    bar = 4 * beat
    for k in range(int(seconds / bar) + 1):
        chord = progression[k % 4]
        for interval in chord:
            note(root + interval, k * bar, bar, 0.25, 6)
        note(root - 12 + chord[0], k * bar, bar, 0.35, 3)  # bass
    scale = (0, 2, 4, 7, 9, 12, 14, 16) if not minor else (0, 3, 5, 7, 10, 12, 15, 17)
    step = beat / 2
    for k in range(int(seconds / step)):
        if rng.random() < 0.8:
            note(root + 12 + scale[int(rng.integers(len(scale)))], k * step, step * 0.9, 0.3, 4)
    kit = np.zeros(n)
    for k in range(int(seconds / step) + 1):
        a = round(k * step * RATE)
        length = min(n - a, round(0.3 * RATE))
        if length <= 0:
            break
        tt = np.arange(length) / RATE
        if k % 4 == 0:  # kick on beats 1 and 3
            sweep = 2 * np.pi * (45 * tt + 75 * 0.05 * (1 - np.exp(-tt / 0.05)))
            kit[a : a + length] += 0.9 * np.sin(sweep) * np.exp(-tt / 0.12)
        if k % 4 == 2:  # snare on 2 and 4
            kit[a : a + length] += (
                0.4 * rng.standard_normal(length) + 0.3 * np.sin(2 * np.pi * 185 * tt)
            ) * np.exp(-tt / 0.07)
        hat = np.diff(rng.standard_normal(length + 1)) * np.exp(-tt / 0.015)  # every eighth
        kit[a : a + length] += 0.15 * hat
    y += kit
    return (y / (np.max(np.abs(y)) + 1e-12)).astype(np.float32)


# --- the dev split ------------------------------------------------------------------------------
#
# Voices disjoint from the test split's people, for tuning and calibrating detectors without
# touching the test set. Real people: KLettres' volunteers (wide-band, letters and syllables
# made into spelled phrases) and two Asterisk prompt packs recorded in GSM at 8 kHz
# (narrow-band). Synthetic wide-band: flite and festival voices (CMU ARCTIC / diphone
# recordings of real speakers) and espeak-ng variants the test split does not use. Speed
# perturbation (Kaldi style: resample by 0.9 / 1.1, pitch and formants move together) of the GSM
# and flite voices gives more "people", each labelled with its own id (``slt@1.1``).

DEV_OUT_DIR = os.path.join(HERE, "_work", "eval-dev")
DEV_CACHE_DIR = os.path.join(HERE, "_work", "eval-dev_cache")
DEV_SEED = 17
DEV_VERSION = 4
FLITE = "/usr/bin/flite"
TEXT2WAVE = "/usr/bin/text2wave"  # festival
PHONE_BANDWIDTH_HZ = 3800
DEV_NARROW_BASES = (
    Speaker("armelle", "armelle", "fr-FR", True, "fr", 8_000, sex="f", ext=".gsm"),
    Speaker("es-co", "es-co", "es-CO", True, "es", 8_000, sex="f", ext=".gsm"),
)
DEV_FLITE_BASES = (
    Speaker("kal16", "kal16", "en-US", False, "kal16", sex="m", engine="flite"),
    Speaker("awb", "awb", "en-GB", False, "awb", sex="m", engine="flite"),
    Speaker("rms", "rms", "en-US", False, "rms", sex="m", engine="flite"),
    Speaker("slt", "slt", "en-US", False, "slt", sex="f", engine="flite"),
)
DEV_ESPEAK = (
    Speaker("tts-en-m4", "tts-en-m4", "en", False, "en+m4", speed_wpm=150, pitch=45, sex="m"),
    Speaker(
        "tts-en-us-f5", "tts-en-us-f5", "en-US", False, "en-us+f5", speed_wpm=170, pitch=62, sex="f"
    ),
    Speaker("tts-de-m5", "tts-de-m5", "de", False, "de+m5", speed_wpm=155, pitch=42, sex="m"),
    Speaker("tts-it-m6", "tts-it-m6", "it", False, "it+m6", speed_wpm=160, pitch=50, sex="m"),
    Speaker(
        "tts-nl-annie", "tts-nl-annie", "nl", False, "nl+Annie", speed_wpm=150, pitch=55, sex="f"
    ),
    Speaker("tts-pl-m8", "tts-pl-m8", "pl", False, "pl+m8", speed_wpm=145, pitch=38, sex="m"),
    Speaker(
        "tts-es-steph", "tts-es-steph", "es", False, "es+steph", speed_wpm=165, pitch=58, sex="f"
    ),
    Speaker(
        "tts-fr-belinda",
        "tts-fr-belinda",
        "fr-FR",
        False,
        "fr+belinda",
        speed_wpm=160,
        pitch=52,
        sex="f",
    ),
)
# Festival's diphone voices: each one a real person's recorded diphones (LPC resynthesis).
DEV_FESTIVAL = (
    Speaker(
        "fest-ked", "fest-ked", "en-US", False, "voice_ked_diphone", sex="m", engine="festival"
    ),
    Speaker(
        "fest-it-lp", "fest-it-lp", "it", False, "voice_lp_diphone", sex="f", engine="festival"
    ),
    Speaker(
        "fest-it-pc", "fest-it-pc", "it", False, "voice_pc_diphone", sex="m", engine="festival"
    ),
    Speaker(
        "fest-cs-dita", "fest-cs-dita", "cs", False, "voice_czech_dita", sex="f", engine="festival"
    ),
    Speaker(
        "fest-fi-lj",
        "fest-fi-lj",
        "fi",
        False,
        "voice_suo_fi_lj_diphone",
        sex="f",
        engine="festival",
    ),
    Speaker(
        "fest-fi-mv",
        "fest-fi-mv",
        "fi",
        False,
        "voice_hy_fi_mv_diphone",
        sex="m",
        engine="festival",
    ),
)
FESTIVAL_ENCODING = {"cs": "iso-8859-2"}  # festival reads 8-bit text; Latin-1 for the others
DEV_SPEEDS = (0.9, 1.1)


def _perturbed(base: Speaker, speed: float) -> Speaker:
    name = f"{base.id}@{speed:g}"
    return Speaker(
        name,
        name,
        base.language,
        base.real,
        base.source,
        base.rate_hz,
        sex=base.sex,
        ext=base.ext,
        engine=base.engine,
        base=base.id,
        speed=speed,
    )


DEV_PERTURBED = tuple(
    _perturbed(b, f) for b in (*DEV_NARROW_BASES, *DEV_FLITE_BASES) for f in DEV_SPEEDS
)

# KLettres (Debian ``klettres-data``): letters and syllables read by one volunteer per language,
# 44.1 kHz mono Ogg. Measured once (``klettres_voice_stats``, after cutting each file to its
# speech): median F0 over voiced frames of all its files (Hz), and the median per-file noise
# floor (10th percentile of 5 ms frame energies, dBFS; -140 = gated to digital silence).
# ``de`` and ``nl`` hold two voices (de: letters ~222 Hz, syllables ~111 Hz; nl: letters spread
# 79-226 Hz), so only their syllables are used. nn has no recordings.
KLETTRES = "/usr/share/klettres"
KLETTRES_STATS: dict[str, tuple[float, float]] = {
    "ar": (277.7, -53.1),
    "cs": (248.0, -41.9),
    "da": (118.0, -140.0),
    "de/syllab": (110.6, -140.0),
    "en": (137.1, -64.5),
    "en_GB": (238.5, -140.0),
    "es": (181.4, -56.3),
    "fr": (121.3, -66.1),
    "he": (172.1, -53.6),
    "hu": (117.3, -39.1),
    "it": (221.8, -66.7),
    "lt": (122.3, -68.3),
    "ml": (114.8, -44.2),
    "nb": (249.1, -45.2),
    "nds": (105.9, -140.0),
    "nl/syllab": (204.7, -72.2),
    "pt_BR": (292.1, -102.5),
    "ru": (216.4, -54.1),
    "tn": (359.3, -65.4),
    "uk": (228.7, -140.0),
}
#: folders that may be the same person whatever they sound like: one person id, never a pair
KLETTRES_SAME_PERSON = {"en_GB": "en", "nn": "nb"}
KLETTRES_SYLLABLE_S = (0.12, 1.8)  # shorter cuts are clicks; longer ones are words
KLETTRES_FILES = 150  # at most this many files per voice (ml has 521)


def same_voice(a: tuple[float, float], b: tuple[float, float], *, floor_db: float = 4.0) -> bool:
    """Two folders' (median F0 Hz, noise floor dBFS) look like one recording: F0 within 3 %."""
    return abs(a[0] - b[0]) <= 0.03 * min(a[0], b[0]) and abs(a[1] - b[1]) <= floor_db


def sex_from_f0(f0_hz: float) -> str:
    """ "m" below 165 Hz, "f" above 180 Hz, "?" in between (adult speaking pitch overlaps)."""
    return "m" if f0_hz < 165.0 else "f" if f0_hz > 180.0 else "?"


def klettres_voices(stats: dict[str, tuple[float, float]]) -> tuple[Speaker, ...]:
    """One Speaker per KLettres folder, minus folders that duplicate an earlier one.

    A folder whose recordings match an earlier folder's (`same_voice`) is dropped (lt matches
    fr, nb matches cs). Folders that may be one person (`KLETTRES_SAME_PERSON`) share a person
    id, so they are never made a pair and never babble behind each other.
    """
    kept: dict[str, tuple[float, float]] = {}
    voices = []
    for folder in sorted(stats):
        lang = folder.split("/")[0]
        if any(same_voice(stats[folder], other) for other in kept.values()):
            continue
        kept[folder] = stats[folder]
        person = f"kl-{KLETTRES_SAME_PERSON.get(lang, lang)}"  # en_GB: en's person
        voices.append(
            Speaker(
                f"kl-{lang}",
                person,
                lang.replace("_", "-"),
                True,
                folder,
                sex=sex_from_f0(stats[folder][0]),
                engine="klettres",
            )
        )
    return tuple(voices)


DEV_KLETTRES = klettres_voices(KLETTRES_STATS)
DEV_SPEAKERS = (
    *DEV_NARROW_BASES,
    *DEV_FLITE_BASES,
    *DEV_ESPEAK,
    *DEV_FESTIVAL,
    *DEV_PERTURBED,
    *DEV_KLETTRES,
)
DEV_TEXTS = {
    "en": TEXTS["en"]
    + (
        "Your call may be recorded for quality and training purposes.",
        "If you know the extension of the person you are calling, dial it now.",
        "Sorry, I did not understand your answer. Please say yes or no.",
        "Your account balance is twelve dollars and forty cents.",
        "Please hold while we transfer your call to the next available representative.",
        "To repeat this menu, press the star key at any time.",
        "Your appointment is confirmed for Thursday afternoon at half past three.",
        "This line is reserved for emergencies. For all other questions, call our main number.",
        "Please enter your account number, followed by the hash key.",
        "Thank you for waiting. We will answer your call as soon as possible.",
    ),
    "de": TEXTS["de"],
    "es": TEXTS["es"],
    "fr": TEXTS["fr"],
    "it": (
        "Grazie per aver chiamato. Restate in linea, un operatore vi risponderà al più presto.",
        "Per informazioni sulle fatture premete uno, per l'assistenza tecnica premete due.",
        "I nostri uffici sono chiusi. Vi preghiamo di richiamare domani mattina.",
        "Lasciate un messaggio dopo il segnale acustico.",
        "Tutti gli operatori sono occupati. Il tempo di attesa è di circa cinque minuti.",
        "Il vostro pacco è stato spedito e arriverà entro tre giorni lavorativi.",
    ),
    "nl": (
        "Bedankt voor uw telefoontje. Blijf aan de lijn, u wordt zo geholpen.",
        "Voor facturen kiest u een, voor technische ondersteuning kiest u twee.",
        "Ons kantoor is op dit moment gesloten. Belt u morgen gerust terug.",
        "Spreek uw bericht in na de pieptoon.",
        "Al onze medewerkers zijn in gesprek. De wachttijd is ongeveer vijf minuten.",
        "Uw pakket is verzonden en wordt binnen drie werkdagen bezorgd.",
    ),
    "cs": (
        "Děkujeme za zavolání. Zůstaňte prosím na lince, hned vás spojíme.",
        "Pro informace o fakturách stiskněte jedničku, pro technickou podporu dvojku.",
        "Naše kancelář je nyní zavřená. Zavolejte nám prosím zítra ráno.",
        "Zanechte prosím vzkaz po zaznění signálu.",
        "Všichni operátoři jsou obsazeni. Doba čekání je asi pět minut.",
        "Váš balík byl odeslán a dorazí do tří pracovních dnů.",
    ),
    "fi": (
        "Kiitos soitostasi. Pysy linjalla, asiakaspalvelijamme vastaa pian.",
        "Laskutusasioissa paina yksi, teknisessä tuessa paina kaksi.",
        "Toimistomme on nyt suljettu. Soita uudelleen huomenna aamulla.",
        "Jätä viesti äänimerkin jälkeen.",
        "Kaikki asiakaspalvelijamme ovat tällä hetkellä varattuina.",
        "Pakettisi on lähetetty ja se saapuu kolmen arkipäivän kuluessa.",
    ),
    "pl": (
        "Dziękujemy za telefon. Prosimy pozostać na linii, konsultant zaraz odbierze.",
        "W sprawie faktur naciśnij jeden, w sprawie pomocy technicznej naciśnij dwa.",
        "Nasze biuro jest teraz zamknięte. Prosimy zadzwonić jutro rano.",
        "Zostaw wiadomość po sygnale.",
        "Wszyscy konsultanci są zajęci. Czas oczekiwania wynosi około pięciu minut.",
        "Twoja paczka została wysłana i dotrze w ciągu trzech dni roboczych.",
    ),
}


def _flite_prompt(speaker: Speaker, text: str, path: str) -> np.ndarray | None:
    import soundfile as sf

    if not os.path.exists(path):
        tmp = path + ".part.wav"
        subprocess.run(
            [FLITE, "-voice", speaker.source, "-t", text, "-o", tmp],
            check=True,
            capture_output=True,
        )
        os.replace(tmp, path)
    x, rate = sf.read(path, dtype="float32")
    x = resample(x, rate, RATE)
    bounds = speech_bounds(x, RATE)
    return None if bounds is None else x[bounds[0] : bounds[1]]


def _festival_prompt(speaker: Speaker, text: str, path: str) -> np.ndarray | None:
    import soundfile as sf

    if not os.path.exists(path):
        encoding = FESTIVAL_ENCODING.get(speaker.language.split("-")[0], "latin-1")
        text_path = path + ".txt"
        with open(text_path, "w", encoding=encoding) as fh:
            fh.write(text)
        tmp = path + ".part.wav"
        argv = [TEXT2WAVE, "-eval", f"({speaker.source})", text_path, "-o", tmp]
        subprocess.run(argv, check=True, capture_output=True)
        os.replace(tmp, path)
        os.remove(text_path)
    x, rate = sf.read(path, dtype="float32")
    x = resample(x if x.ndim == 1 else x.mean(axis=1), rate, RATE)
    bounds = speech_bounds(x, RATE)
    return None if bounds is None else x[bounds[0] : bounds[1]]


def speed_perturb(x: np.ndarray, rate: int, speed: float) -> np.ndarray:
    """Kaldi-style speed perturbation: ``x`` ``speed`` times faster, pitch and formants with it."""
    return resample(x, round(rate * speed), rate)


def gsm_roundtrip(x: np.ndarray) -> np.ndarray:
    """8 kHz audio through the GSM 06.10 full-rate codec and back (sox), same length as ``x``.

    The dev split's real voices are GSM recordings: a wide-band voice mixed with them goes
    through the same codec, so codec artefacts cannot tell the voices apart.
    """
    sox = shutil.which("sox") or "/usr/bin/sox"
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    gain = 0.5 / peak if peak > 0 else 1.0
    pcm = np.clip(np.round(x * gain * 32767.0), -32768, 32767).astype("<i2").tobytes()
    raw = ["-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-r", "8000"]
    gsm = ["-t", "gsm", "-r", "8000", "-c", "1"]
    coded = subprocess.run([sox, *raw, "-", *gsm, "-"], input=pcm, check=True, capture_output=True)
    back = subprocess.run(
        [sox, *gsm, "-", *raw, "-"], input=coded.stdout, check=True, capture_output=True
    ).stdout
    y = np.frombuffer(back, dtype="<i2").astype(np.float32) / 32768.0 / np.float32(gain)
    return y[: x.size] if y.size >= x.size else np.pad(y, (0, x.size - y.size))


def _phone_prompt(x: np.ndarray) -> np.ndarray:
    """A wide-band prompt (at `RATE`) as it would come out of a GSM phone line: 8 kHz, GSM."""
    return gsm_roundtrip(resample(x, RATE, 8000))


def _klettres_files(speaker: Speaker) -> list[str]:
    folder = os.path.join(KLETTRES, speaker.source)
    if not os.path.isdir(folder):
        raise SystemExit(
            f"{folder} is missing: run `bash benchmarks/install_eval_deps.sh` first (as root)"
        )
    return sorted(
        os.path.join(root, f)
        for root, _, names in os.walk(folder)
        for f in names
        if f.endswith(".ogg")
    )


def _klettres_syllable(path: str) -> np.ndarray | None:
    """One KLettres letter or syllable at `RATE`, cut to its speech, faded and level-matched.

    Each file is scaled so that its loudest 20 ms sits at -20 dBFS (files were recorded at
    different gains; a person spelling aloud keeps a steady level). None when too short or long.
    """
    import soundfile as sf

    x, rate = sf.read(path, dtype="float32")
    x = resample(x if x.ndim == 1 else x.mean(axis=1), rate, RATE)
    x = remove_mains(x, RATE)
    bounds = speech_bounds(x, RATE)
    if bounds is None:
        return None
    x = x[bounds[0] : bounds[1]].copy()
    lo, hi = KLETTRES_SYLLABLE_S
    if not lo <= x.size / RATE <= hi:
        return None
    fade = round(0.005 * RATE)
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
    x[:fade] *= ramp
    x[-fade:] *= ramp[::-1]
    step = round(0.02 * RATE)
    n = x.size // step
    loudest = float(np.max(np.mean(np.square(x[: n * step].reshape(n, step)), axis=1)))
    return scale_to_db(x, -20.0 + _db(power(x)) - _db(loudest))


def klettres_phrases(
    rng: np.random.Generator, syllables: list[np.ndarray], count: int
) -> list[np.ndarray]:
    """``count`` spelled "phrases": 1-3 s of syllables with 80-250 ms gaps (+-2 dB each).

    They stand in for prompts: `monologue` then puts normal pauses (0.3-1.2 s) between them.
    """
    phrases = []
    order = rng.permutation(len(syllables))
    cursor = 0
    for _ in range(count):
        target = rng.uniform(1.0, 3.0) * RATE
        parts: list[np.ndarray] = []
        total = 0
        while total < target:
            syllable = syllables[int(order[cursor % order.size])]
            gap = round(rng.uniform(0.08, 0.25) * RATE) if parts else 0
            if len(parts) >= 3 and total + gap + syllable.size > 3.0 * RATE:
                break  # two syllables or more, and the next would make it longer than 3 s
            cursor += 1
            if gap:
                parts.append(np.zeros(gap, np.float32))
            parts.append(syllable * np.float32(10 ** (rng.uniform(-2.0, 2.0) / 20)))
            total += gap + syllable.size
        phrases.append(np.concatenate(parts).astype(np.float32))
    return phrases


def load_dev_banks(seed: int) -> dict[str, list[np.ndarray]]:
    """Dev-split prompts per speaker id at native rate, plus ``<id>|phone`` banks (8 kHz GSM)."""
    os.makedirs(DEV_CACHE_DIR, exist_ok=True)
    cache = os.path.join(DEV_CACHE_DIR, f"banks-dev-v{DEV_VERSION}-s{seed}.npz")
    if os.path.exists(cache):
        return _read_banks(cache)
    missing = [p for p in (ESPEAK, FLITE, TEXT2WAVE) if not os.access(p, os.X_OK)]
    missing += [t for t in ("ffmpeg", "sox") if shutil.which(t) is None]
    if missing:
        raise SystemExit(
            f"{', '.join(missing)} missing: run `bash benchmarks/install_eval_deps.sh`"
        )
    rng = np.random.default_rng([seed, 1000])
    jobs: list[tuple[str, Callable[[], np.ndarray | None]]] = []
    for speaker in DEV_NARROW_BASES:
        files = _prompt_files(speaker)
        picked = rng.permutation(len(files))[: PROMPTS_PER_SPEAKER * 2]
        for i in sorted(int(p) for p in picked):
            jobs.append((speaker.id, functools.partial(_load_prompt, speaker, files[i])))
    makers = {"flite": _flite_prompt, "espeak": _espeak_prompt, "festival": _festival_prompt}
    for speaker in (*DEV_FLITE_BASES, *DEV_ESPEAK, *DEV_FESTIVAL):
        folder = os.path.join(DEV_CACHE_DIR, speaker.engine)
        os.makedirs(folder, exist_ok=True)
        make = makers[speaker.engine]
        for k, text in enumerate(DEV_TEXTS[speaker.language.split("-")[0]]):
            recipe = f"{speaker.source} {speaker.speed_wpm} {speaker.pitch} {text}".encode()
            tag = hashlib.sha1(recipe).hexdigest()[:8]  # a changed voice or text: a new file
            path = os.path.join(folder, f"{speaker.id}_{k:02d}_{tag}.wav")
            jobs.append((speaker.id, functools.partial(make, speaker, text, path)))
    syllable_jobs: list[tuple[str, str]] = []
    for speaker in DEV_KLETTRES:
        files = _klettres_files(speaker)
        picked = rng.permutation(len(files))[:KLETTRES_FILES]
        syllable_jobs += [(speaker.id, files[int(i)]) for i in sorted(picked)]
    workers = (os.cpu_count() or 2) * 2
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(lambda job: job[1](), jobs))
        syllables = list(pool.map(lambda job: _klettres_syllable(job[1]), syllable_jobs))
    banks: dict[str, list[np.ndarray]] = {}
    for (speaker_id, _), x in zip(jobs, decoded, strict=True):
        if x is not None and len(banks.get(speaker_id, [])) < PROMPTS_PER_SPEAKER:
            banks.setdefault(speaker_id, []).append(x)
    cut: dict[str, list[np.ndarray]] = {}
    for (speaker_id, _), x in zip(syllable_jobs, syllables, strict=True):
        if x is not None:
            cut.setdefault(speaker_id, []).append(x)
    for speaker in DEV_KLETTRES:
        phrase_rng = np.random.default_rng([seed, 2000, DEV_KLETTRES.index(speaker)])
        banks[speaker.id] = klettres_phrases(phrase_rng, cut[speaker.id], PROMPTS_PER_SPEAKER)
    for speaker in DEV_PERTURBED:
        banks[speaker.id] = [
            speed_perturb(x, speaker.rate_hz, speaker.speed) for x in banks[speaker.base]
        ]
    wide = [s for s in DEV_SPEAKERS if s.rate_hz == RATE]
    phone_jobs = [(s.id, x) for s in wide for x in banks[s.id]]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        phoned = list(pool.map(lambda job: _phone_prompt(job[1]), phone_jobs))
    for (speaker_id, _), y in zip(phone_jobs, phoned, strict=True):
        banks.setdefault(f"{speaker_id}|phone", []).append(y)
    arrays: dict[str, Any] = {
        f"{sid}#{i}": x for sid, xs in banks.items() for i, x in enumerate(xs)
    }
    tmp = cache + ".part.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, cache)
    return banks


class DevGenerator(Generator):
    """The dev split's clips: same kinds and label definitions, other voices and a phone path.

    Bandwidth must never give a two-speaker clip away, so every clip with a narrow-band (8 kHz
    GSM) voice has *all* its speech through the same 8 kHz GSM path (label ``band_limited``,
    ``codec: gsm``), and some wide-band-only clips (one or two speakers) go through it too.
    """

    #: share of pairs that are a voice and its own speed perturbation (the brief caps it at 1/4)
    SELF_PAIR_SHARE = 0.18
    #: share of the other pairs (and of clean clips) whose first voice is a narrow-band one
    NARROW_SHARE: ClassVar[dict[str, float]] = {"pair": 0.2, "clean": 0.5, "hum": 0.4}
    #: chance that a clip with wide-band voices only goes through the phone path anyway
    WIDE_PHONE: ClassVar[dict[str, float]] = {"pair": 0.0, "clean": 0.3, "hum": 0.3}
    #: share of single-speaker clips whose voice is a KLettres one (wide-band, no phone path)
    KLETTRES_SHARE: ClassVar[dict[str, float]] = {
        "clean": 0.6,
        "noisy": 0.6,
        "hum": 0.6,
        "clipped": 0.6,
        "band_limited": 0.6,
    }
    #: of the pairs that are not self-perturbed: both voices KLettres, or one KLettres voice
    #: and one other (flite, festival, espeak-ng or GSM)
    KLETTRES_PAIR: ClassVar[dict[str, float]] = {"both": 0.65, "one": 0.2}

    def __init__(self, banks: dict[str, list[np.ndarray]], seed: int) -> None:
        self.banks = banks
        self.seed = seed
        self.speakers = {s.id: s for s in DEV_SPEAKERS}
        present = [s for s in DEV_SPEAKERS if s.id in banks]
        self.klettres = [s for s in present if s.engine == "klettres"]
        self.wide = [s for s in present if s.rate_hz == RATE and s.engine != "klettres"]
        self.narrow = [s for s in present if s.rate_hz != RATE]
        self._at_rate = {}
        self._reset("")

    def _reset(self, context: str) -> None:
        self._context = context
        self._phone = False
        self._picked: list[Speaker] = []

    @staticmethod
    def family(speaker: Speaker) -> str:
        """Voices of one family are one person or derived from one: never two sides of a pair."""
        return speaker.base or speaker.person

    def bank(self, speaker: Speaker) -> list[np.ndarray]:
        key = f"{speaker.id}|phone" if self._phone else speaker.id
        if key not in self._at_rate:
            if self._phone and speaker.rate_hz == RATE:
                bank = [resample(x, 8000, RATE) for x in self.banks[key]]
            else:
                bank = speaker_bank(self.banks, speaker)  # narrow-band voices: GSM at 8 kHz
            self._at_rate[key] = bank
        return self._at_rate[key]

    def pick_speaker(self, rng: np.random.Generator, *, real_share: float = 0.0) -> Speaker:
        share = self.KLETTRES_SHARE.get(self._context, 0.0)
        if self.klettres and rng.random() < share:
            speaker = self.klettres[int(rng.integers(len(self.klettres)))]
            self._phone = False
            self._picked = [speaker]
            return speaker
        narrow = bool(self.narrow) and rng.random() < self.NARROW_SHARE.get(self._context, 0.0)
        pool = self.narrow if narrow else self.wide
        speaker = pool[int(rng.integers(len(pool)))]
        self._phone = narrow or rng.random() < self.WIDE_PHONE.get(self._context, 0.0)
        self._picked = [speaker]
        return speaker

    def pick_narrowband(self, rng: np.random.Generator) -> Speaker:
        speaker = self.narrow[int(rng.integers(len(self.narrow)))]
        self._picked = [speaker]
        return speaker

    def pick_pair(self, rng: np.random.Generator) -> tuple[Speaker, Speaker]:
        everyone = [*self.wide, *self.narrow]
        if rng.random() < self.SELF_PAIR_SHARE:
            families = sorted({s.base for s in everyone if s.base})
            fam = families[int(rng.integers(len(families)))]
            members = [s for s in everyone if self.family(s) == fam]
            i, j = rng.choice(len(members), size=2, replace=False)
            a, b = members[int(i)], members[int(j)]
        else:
            self._context = "pair"
            which = rng.random()
            both, one = self.KLETTRES_PAIR["both"], self.KLETTRES_PAIR["one"]
            if self.klettres and which < both + one:
                a = self.klettres[int(rng.integers(len(self.klettres)))]
                b = self._partner(rng, a, self.klettres if which < both else everyone)
            else:
                a = self.pick_speaker(rng)
                b = self._partner(rng, a, everyone)
            if rng.random() < 0.5:
                a, b = b, a
        narrow = a.rate_hz != RATE or b.rate_hz != RATE
        self._phone = narrow or rng.random() < self.WIDE_PHONE["pair"]
        self._picked = [a, b]
        return a, b

    def set_level(
        self,
        rng: np.random.Generator,
        audio: np.ndarray,
        lo_db: float = -36.0,
        hi_db: float = -14.0,
    ) -> tuple[np.ndarray, float]:
        """As `Generator.set_level`, with the sample peak at most −4.5 dBFS.

        Some KLettres phrases overshoot by up to ~2 dB between samples once a clip is written
        at 48 kHz; the extra headroom keeps every written clip below full scale.
        """
        audio, level = super().set_level(rng, audio, lo_db, hi_db)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        ceiling = 10 ** (-4.5 / 20)
        if peak > ceiling:
            gain = ceiling / peak
            audio = (audio * np.float32(gain)).astype(np.float32)
            level += 20 * math.log10(gain)
        return audio, level

    def _partner(self, rng: np.random.Generator, a: Speaker, pool: Sequence[Speaker]) -> Speaker:
        """Someone from ``pool`` of another family than ``a``; same sex 45 % of the time."""
        others = [s for s in pool if self.family(s) != self.family(a)]
        same_sex = rng.random() < 0.45
        wanted = [s for s in others if (s.sex == a.sex) == same_sex]
        others = wanted or others
        return others[int(rng.integers(len(others)))]

    def noise(
        self, rng: np.random.Generator, kind: str, n: int, exclude_person: set[str]
    ) -> np.ndarray:
        """As `Generator.noise`; on a phone-path clip the noise is on the far side of the line.

        So a clip labelled band-limited has nothing above ~4 kHz, noise floor included.
        """
        y = super().noise(rng, kind, n, exclude_person)
        if not self._phone:
            return y
        y = resample(resample(y, RATE, 8000), 8000, RATE)
        y = y[:n] if y.size >= n else np.pad(y, (0, n - y.size))
        return scale_to_db(y, 0.0)

    def babble_pool(self) -> list[Speaker]:
        own = {self.family(s) for s in self._picked}
        pool = (*self.wide, *self.narrow, *self.klettres)
        return [s for s in pool if self.family(s) not in own]

    def _finish(
        self, audio: np.ndarray, labels: dict[str, Any]
    ) -> tuple[np.ndarray, dict[str, Any]]:
        ids = labels.get("speakers", [])
        labels["sexes"] = [self.speakers[i].sex for i in ids]
        if len(ids) == 2:
            a, b = (self.speakers[i] for i in ids)
            labels["self_perturbed_pair"] = self.family(a) == self.family(b)
        if self._phone:
            labels.update(band_limited=True, bandwidth_hz=PHONE_BANDWIDTH_HZ, codec="gsm")
        elif labels.get("bandwidth_hz") is None and ids:
            labels["bandwidth_hz"] = 8000  # every dev voice is wide-band at 16 kHz: all of it
        labels["klettres"] = sum(self.speakers[i].engine == "klettres" for i in ids)
        return audio, labels

    def clean(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        self._reset("clean")
        return self._finish(*super().clean(rng))

    def noisy(
        self, rng: np.random.Generator, kind: str, snr_db: float
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._reset("noisy")  # wide-band voices only: wide-band noise on a phone path is ambiguous
        return self._finish(*super().noisy(rng, kind, snr_db))

    def hum(
        self, rng: np.random.Generator, hz: float, snr_db: float
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._reset("hum")
        return self._finish(*super().hum(rng, hz, snr_db))

    def clipped(self, rng: np.random.Generator, hidden: bool) -> tuple[np.ndarray, dict[str, Any]]:
        self._reset("clipped")  # wide-band only: clipping a narrow-band voice widens its band
        return self._finish(*super().clipped(rng, hidden))

    def band_limited(
        self, rng: np.random.Generator, index: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._reset("band_limited")  # its own 8 kHz path (optionally µ-law), as in the test split
        return self._finish(*super().band_limited(rng, index))

    def two_alt(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        self._reset("pair")
        return self._finish(*super().two_alt(rng))

    def two_overlap(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        self._reset("pair")
        return self._finish(*super().two_overlap(rng))


def plan_dev(scale: float = 1.0) -> list[tuple[str, dict[str, Any]]]:
    """(kind, arguments) for every dev clip: weighted toward what speaker detectors need."""
    items: list[tuple[str, dict[str, Any]]] = []

    def count(n: int) -> int:
        return max(1, round(n * scale))

    items += [("clean", {}) for _ in range(count(45))]
    for noise, n in (("white", 3), ("pink", 3), ("babble", 2)):
        for snr in (0.0, 5.0, 10.0, 20.0, 30.0):
            items += [("noisy", {"kind": noise, "snr_db": snr}) for _ in range(count(n))]
    for snr in (10.0, 15.0, 20.0, 25.0, 30.0):
        items += [
            ("hum", {"hz": hz, "snr_db": snr}) for hz in (50.0, 60.0) for _ in range(count(1))
        ]
    items += [("clipped", {"hidden": False}) for _ in range(count(10))]
    items += [("band_limited", {"index": k}) for k in range(count(10))]
    items += [("two_alt", {}) for _ in range(count(50))]
    items += [("two_overlap", {}) for _ in range(count(35))]
    return items


# --- the set ------------------------------------------------------------------------------------


def plan(scale: float = 1.0) -> list[tuple[str, dict[str, Any]]]:
    """(kind, arguments) for every clip, in a fixed order."""
    items: list[tuple[str, dict[str, Any]]] = []

    def count(n: int) -> int:
        return max(1, round(n * scale))

    items += [("clean", {}) for _ in range(count(50))]
    for noise in ("white", "pink", "babble"):
        for snr in (0.0, 5.0, 10.0, 20.0, 30.0):
            items += [("noisy", {"kind": noise, "snr_db": snr}) for _ in range(count(4))]
    for snr in (10.0, 15.0, 20.0, 25.0, 30.0):
        items += [
            ("hum", {"hz": hz, "snr_db": snr}) for hz in (50.0, 60.0) for _ in range(count(2))
        ]
    items += [("two_alt", {}) for _ in range(count(30))]
    items += [("two_overlap", {}) for _ in range(count(20))]
    items += [("music", {"real": k % 3 == 0}) for k in range(count(15))]
    items += [("tone", {"index": k}) for k in range(count(12))]
    items += [("silence", {"index": k}) for k in range(count(10))]
    items += [("clipped", {"hidden": False}) for _ in range(count(20))]
    items += [("hidden_clipping", {"hidden": True}) for _ in range(count(12))]
    items += [("band_limited", {"index": k}) for k in range(count(24))]
    return items


def build(seed: int, scale: float, out_dir: str, split: str = "test") -> list[dict[str, Any]]:
    """Write every clip of ``split`` and labels.jsonl into ``out_dir``; return the labels."""
    import soundfile as sf

    if split == "dev":
        gen: Generator = DevGenerator(load_dev_banks(seed), seed)
        items = plan_dev(scale)
    else:
        gen = Generator(load_banks(seed), seed)
        items = plan(scale)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    labels_all = []
    for number, (kind, args) in enumerate(items):
        rng = np.random.default_rng([seed, number])  # each clip reproducible on its own
        method = {"hidden_clipping": "clipped", "noisy": "noisy"}.get(kind, kind)
        audio, labels = getattr(gen, method)(rng, **args)
        # Output rate: mostly 16 kHz; band-limited clips at 16 or 24 kHz; a few clean at 48 kHz.
        rate = RATE
        if kind == "band_limited" and rng.random() < 0.5:
            rate = 24_000
        elif kind == "clean" and rng.random() < 0.15:
            rate = 48_000
        if rate != RATE:
            audio = resample(audio, RATE, rate)
        if kind not in ("clipped", "hidden_clipping"):
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            assert peak < 0.999, f"clip {number} ({kind}) would clip: peak {peak:.3f}"
        name = f"{number:04d}_{kind}.wav"
        sf.write(os.path.join(out_dir, name), audio, rate, subtype="PCM_16")
        record: dict[str, Any] = {
            "path": name,
            "kind": kind,
            "rate": rate,
            "duration_s": round(audio.size / rate, 4),
            "has_speech": True,
            "snr_db": None,
            "noise_type": None,
            "noise_level_dbfs": None,
            "n_speakers": 1,
            "speaker_change_s": [],
            "clipped": False,
            "clipping_fraction": 0.0,
            "band_limited": False,
            "bandwidth_hz": None,
            "hum_hz": None,
        }
        record.update(labels)
        if record["bandwidth_hz"] is None and record["has_speech"]:
            record["bandwidth_hz"] = _content_bandwidth(record)
        labels_all.append(record)
    with open(os.path.join(out_dir, "labels.jsonl"), "w", encoding="utf-8") as fh:
        for record in labels_all:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return labels_all


def _content_bandwidth(record: dict[str, Any]) -> int:
    """Upper edge of the speech content: G.722 prompts ~7 kHz, espeak-ng (resampled) 8 kHz."""
    return 7000 if record.get("real_speech") else 8000


def _dev_summary(labels: list[dict[str, Any]]) -> str:
    """What a dev set holds, for its READY file: people, kinds, and how its pairs are made."""
    people = sorted({s for r in labels for s in r.get("speakers", [])})
    kinds = Counter(r["kind"] for r in labels)
    pairs = [r for r in labels if r["n_speakers"] == 2]
    singles = [r for r in labels if r["n_speakers"] == 1]
    return (
        f"kinds: {dict(kinds)}\n"
        f"people ({len(people)}): {', '.join(people)}\n"
        f"pairs: {len(pairs)}; a voice with its own perturbation "
        f"{sum(bool(r.get('self_perturbed_pair')) for r in pairs)}; mixed-sex "
        f"{sum(len(set(r.get('sexes', []))) == 2 for r in pairs)}; band-limited (GSM path) "
        f"{sum(bool(r['band_limited']) for r in pairs)} (single-speaker clips: "
        f"{sum(bool(r['band_limited']) for r in singles)} of {len(singles)})\n"
        f"KLettres (real wide-band) voices: single-speaker clips "
        f"{sum(bool(r.get('klettres')) for r in singles)} of {len(singles)}; pairs with two "
        f"{sum(r.get('klettres', 0) == 2 for r in pairs)}, with one "
        f"{sum(r.get('klettres', 0) == 1 for r in pairs)}, of {len(pairs)}; real-speech "
        f"single-speaker clips (hard negatives) {sum(bool(r.get('real_speech')) for r in singles)}"
        f", real-only pairs {sum(bool(r.get('real_speech')) for r in pairs)}\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--split",
        choices=("test", "dev"),
        default="test",
        help="test: the scored set (benchmarks/_work/eval); dev: other voices, for tuning "
        "(benchmarks/_work/eval-dev)",
    )
    parser.add_argument("--seed", type=int, default=None, help="default: 3 (test), 17 (dev)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every count (0.1: smoke)"
    )
    parser.add_argument("--out", default=None, help="default: the split's folder")
    args = parser.parse_args(argv)
    dev = args.split == "dev"
    if args.seed is None:
        args.seed = DEV_SEED if dev else 3
    if args.out is None:
        args.out = DEV_OUT_DIR if dev else OUT_DIR
    start = time.perf_counter()
    if dev:  # build aside and swap, so readers of the old set never see a half-written one
        tmp = args.out.rstrip("/") + ".part"
        with contextlib.suppress(FileNotFoundError):  # readers: the set is being rebuilt
            os.remove(os.path.join(args.out, "READY"))
        labels = build(args.seed, args.scale, tmp, "dev")
        with open(os.path.join(tmp, "READY"), "w", encoding="utf-8") as fh:
            fh.write(
                f"labels.jsonl complete: {len(labels)} clips, split dev, seed {args.seed}, "
                f"scale {args.scale}, built {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
                + _dev_summary(labels)
            )
        shutil.rmtree(args.out, ignore_errors=True)
        os.replace(tmp, args.out)
    else:
        labels = build(args.seed, args.scale, args.out)
    counts: dict[str, int] = {}
    for record in labels:
        counts[record["kind"]] = counts.get(record["kind"], 0) + 1
    hours = sum(r["duration_s"] for r in labels) / 3600
    real = sum(1 for r in labels if r.get("real_speech"))
    print(
        f"{len(labels)} clips ({hours * 60:.1f} min of audio, {real} with real human speech) "
        f"in {args.out} after {time.perf_counter() - start:.0f} s"
    )
    print("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
