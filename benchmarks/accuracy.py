"""How right is voiceprep's analysis? Score it against the labelled set of make_eval_set.py.

    python benchmarks/make_eval_set.py               # once (see its docstring for the labels)
    python benchmarks/accuracy.py                    # every clip, on one core: ~1–2 min
    python benchmarks/accuracy.py --limit 60 --json out.json
    python benchmarks/accuracy.py --eval benchmarks/_work/eval-dev --speakers neural  # tuning
    python benchmarks/accuracy.py --quality dnsmos   # with the dnsmos extra: ~6 min

Tune and calibrate on the dev split (``make_eval_set.py --split dev``: other people's voices);
the default set, benchmarks/_work/eval, is the test set: score on it, never tune on it.

The chain is the analysis part of the default pipeline without trimming or vendor checks:
``Decode → Normalize(16 kHz) → Vad → Analyze(thresholds of --profile)``, run clip by clip in
this process, pinned to one CPU, with numpy's thread pools limited to one thread. Speed is
"x real time" = seconds of audio / CPU seconds spent. Each check prints the issue-3 bar and
PASS/FAIL; a metric or finding that the analysis does not produce yet prints
"n/a — metric not produced", so the script runs on any stage of the work.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core means one core, before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
EVAL_DIR = os.path.join(HERE, "_work", "eval")
NA = "n/a — metric not produced"
NO_SPEECH_KINDS = ("music", "tone", "silence")


@dataclass
class Outcome:
    """What the analysis said about one labelled clip."""

    label: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # finding code -> severity
    messages: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    stage_cpu_s: dict[str, float] = field(default_factory=dict)

    def metric(self, name: str) -> Any:
        return self.metrics.get(name)

    @property
    def errors(self) -> list[str]:
        return [code for code, severity in self.codes.items() if severity == "error"]


# --- running the analysis -----------------------------------------------------------------------


def pin_to_one_core() -> None:
    """Run on the first CPU this process may use (Linux); elsewhere a no-op."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})


def analysis_chain(
    profile: str,
    vad_backend: str | None = None,
    speakers: str | None = None,
    quality: str | None = None,
) -> list[Any]:
    """The stages that analyse a clip, without trimming, encoding or vendor validation.

    ``speakers``: the speaker method `Analyze` uses ("default", "neural" or "none"); None keeps
    `Analyze`'s own default. ``quality``: "dnsmos" also scores DNSMOS (the extra).
    """
    from pipeline.profiles import load_profile
    from stages.decode import Decode
    from stages.normalize import Normalize

    chain: list[Any] = [Decode(), Normalize(sample_rate=16_000)]
    chain.append(make_vad(vad_backend))
    try:
        from stages.analyze import Analyze
    except ImportError:
        print("note: stages.analyze is not importable yet; scoring decode/normalize/vad only")
    else:
        options: dict[str, Any] = {}
        if speakers is not None:
            options["speakers"] = None if speakers == "none" else speakers
        if quality is not None:
            options["quality"] = quality
        chain.append(Analyze(thresholds=load_profile(profile).analysis, **options))
    return chain


def make_vad(backend: str | None) -> Any:
    """`Vad` with ``backend`` (None: its default); TypeError/ValueError if there is none such."""
    from stages.vad import Vad

    return Vad() if backend is None else Vad(backend=backend)


def run_chain(chain: Sequence[Any], path: str) -> tuple[Any, dict[str, float]]:
    """Mirror of `Pipeline.process`, timing each stage in CPU seconds."""
    from pipeline.clip import Clip, Severity

    clip = Clip(source=path, name=os.path.basename(path))
    cpu: dict[str, float] = {}
    for stage in chain:
        start = time.process_time()
        try:
            clip = stage(clip)
        except Exception as exc:
            clip.report(
                "internal_error", Severity.ERROR, stage.name, f"{type(exc).__name__}: {exc}"
            )
        cpu[stage.name] = time.process_time() - start
        if clip.failed:
            break
    return clip, cpu


def analyse(labels: list[dict[str, Any]], chain: Sequence[Any], folder: str) -> list[Outcome]:
    outcomes = []
    for index, label in enumerate(labels):
        clip, cpu = run_chain(chain, os.path.join(folder, label["path"]))
        outcomes.append(
            Outcome(
                label=label,
                metrics=dict(clip.metrics),
                codes={f.code: f.severity.value for f in clip.findings},
                messages=[f"{f.code}: {f.message}" for f in clip.findings],
                cpu_s=sum(cpu.values()),
                stage_cpu_s=cpu,
            )
        )
        if sys.stderr.isatty():
            print(f"\r{index + 1}/{len(labels)}", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return outcomes


# --- statistics ---------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else math.nan


def binary(truth: Sequence[bool], said: Sequence[bool]) -> dict[str, float]:
    """Precision, recall, accuracy and counts of a yes/no detector."""
    t, s = np.asarray(truth, bool), np.asarray(said, bool)
    tp, fp = int((t & s).sum()), int((~t & s).sum())
    fn, tn = int((t & ~s).sum()), int((~t & ~s).sum())
    return {
        "precision": tp / (tp + fp) if tp + fp else math.nan,
        "recall": tp / (tp + fn) if tp + fn else math.nan,
        "accuracy": (tp + tn) / max(1, t.size),
        "specificity": tn / (tn + fp) if tn + fp else math.nan,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def auc(truth: Sequence[bool], score: Sequence[float]) -> float:
    """Area under the ROC curve (probability a positive outscores a negative; ties count half)."""
    t = np.asarray(truth, bool)
    s = np.asarray(score, float)
    pos, neg = s[t], s[~t]
    if not pos.size or not neg.size:
        return math.nan
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


def best_recall(
    truth: Sequence[bool], score: Sequence[float], *, min_precision: float
) -> tuple[float, float]:
    """Highest recall of ``score >= threshold`` over all thresholds keeping ``min_precision``.

    An oracle figure: it says how separable the scores are, not what a shipped threshold
    gives. Choosing the threshold this way on the test split would be tuning on it.
    Returns ``(recall, threshold)``; ``(0.0, inf)`` when no threshold reaches the precision.
    """
    t = np.asarray(truth, bool)
    s = np.asarray(score, float)
    best, at = 0.0, math.inf
    if not t.any():
        return best, at
    for threshold in np.unique(s):
        said = s >= threshold
        precision = (said & t).sum() / said.sum()
        recall = (said & t).sum() / t.sum()
        if precision >= min_precision and recall > best:
            best, at = float(recall), float(threshold)
    return best, at


# --- the report ---------------------------------------------------------------------------------


class Report:
    """Collects lines and numbers; prints the table and (optionally) a JSON summary."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.figures: dict[str, Any] = {}

    def head(self, title: str) -> None:
        self.lines += ["", title, "-" * len(title)]

    def line(self, text: str) -> None:
        self.lines.append(text)

    def bar(self, key: str, text: str, value: float, ok: bool | None, bar: str) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        self.figures[key] = None if isinstance(value, float) and math.isnan(value) else value
        self.lines.append(f"  {text:<52} {_fmt(value):>8}   bar: {bar:<18} {verdict}")

    def na(self, text: str) -> None:
        self.lines.append(f"  {text:<52} {NA}")


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def produced(outcomes: Iterable[Outcome], name: str) -> bool:
    return any(o.metric(name) is not None for o in outcomes)


def said(outcome: Outcome, code: str) -> bool:
    return code in outcome.codes


def check_boundaries(rep: Report, outcomes: list[Outcome]) -> None:
    rep.head("Speech boundaries (clips with speech; |measured − true|, ms)")
    speech = [o for o in outcomes if o.label["has_speech"]]
    if not produced(speech, "speech_start_s"):
        rep.na("speech_start_s / speech_end_s")
        return
    missing = [o for o in speech if o.metric("speech_start_s") is None]
    errors: dict[str, list[float]] = defaultdict(list)
    for o in speech:
        if o.metric("speech_start_s") is None or o.metric("speech_end_s") is None:
            continue
        start = abs(o.metric("speech_start_s") - o.label["speech_start_s"]) * 1000
        end = abs(o.metric("speech_end_s") - o.label["speech_end_s"]) * 1000
        groups = ["all", o.label["kind"]]
        if o.label["kind"] == "noisy":
            groups.append(f"noisy@{o.label['snr_db']:02.0f}dB")
            # Per noise type too: babble is speech to a VAD, white noise is not.
            groups.append(f"{o.label['noise_type']}@{o.label['snr_db']:02.0f}dB")
        for group in groups:
            errors[f"{group}:start"].append(start)
            errors[f"{group}:end"].append(end)
    both = errors["all:start"] + errors["all:end"]
    rep.bar(
        "boundary_median_ms",
        "median over starts and ends",
        pct(both, 50),
        pct(both, 50) <= 50,
        "≤ 50 ms",
    )
    rep.bar("boundary_mae_ms", "mean absolute error", float(np.mean(both)), None, "")
    rep.bar("boundary_p90_ms", "90th percentile", pct(both, 90), None, "")
    rep.bar("boundary_missed", "speech clips where no speech was found", len(missing), None, "")
    rep.line(
        f"  {'by group':<24}{'start med':>10}{'start mean':>11}{'end med':>9}"
        f"{'end mean':>10}{'n':>5}"
    )
    for group in sorted({k.rsplit(":", 1)[0] for k in errors} - {"all"}):
        s, e = errors[f"{group}:start"], errors[f"{group}:end"]
        rep.line(
            f"  {group:<24}{pct(s, 50):>10.0f}{np.mean(s):>11.0f}{pct(e, 50):>9.0f}"
            f"{np.mean(e):>10.0f}{len(s):>5}"
        )


def check_snr(rep: Report, outcomes: list[Outcome]) -> None:
    rep.head("SNR (noisy and hum clips, true SNR 0–30 dB; measured − true, dB)")
    scored = [
        o
        for o in outcomes
        if o.label["kind"] in ("noisy", "hum")
        and o.label.get("snr_db") is not None
        and -0.5 <= o.label["snr_db"] <= 30.5
    ]
    if not produced(scored, "snr_db"):
        rep.na("snr_db")
        return
    err = [o.metric("snr_db") - o.label["snr_db"] for o in scored if o.metric("snr_db") is not None]
    absolute = [abs(e) for e in err]
    none = len(scored) - len(err)
    rep.bar(
        "snr_abs_err_median_db",
        "|error| median",
        pct(absolute, 50),
        pct(absolute, 50) <= 3,
        "≤ 3 dB",
    )
    rep.bar("snr_abs_err_p90_db", "|error| 90th percentile", pct(absolute, 90), None, "")
    rep.bar("snr_bias_db", "signed error median (bias)", pct(err, 50), None, "")
    rep.bar("snr_missing", "clips with no SNR estimate", none, None, "")
    groups: dict[str, list[float]] = defaultdict(list)
    cells: dict[str, list[float]] = defaultdict(list)  # noise type × nominal SNR (5 dB steps)
    for o in scored:
        if o.metric("snr_db") is None:
            continue
        e = o.metric("snr_db") - o.label["snr_db"]
        groups[f"{o.label['noise_type']}"].append(e)
        groups[f"  at {round(o.label['snr_db']):02d} dB"].append(e)
        nominal = 5 * round(o.label["snr_db"] / 5)
        cells[f"    {o.label['noise_type']} {nominal:02d} dB"].append(e)
    # A grader may judge each noise type at each level: the worst cell is the figure to watch.
    worst = max(cells, key=lambda k: abs(pct(cells[k], 50)))
    worst_err = abs(pct(cells[worst], 50))
    rep.bar(
        "snr_worst_cell_median_db",
        f"worst cell |median error| ({worst.strip()})",
        worst_err,
        worst_err <= 3,
        "≤ 3 dB",
    )
    rep.line(f"  {'by noise / true SNR':<24}{'bias':>7}{'|err| med':>10}{'|err| p90':>10}{'n':>5}")
    groups.update(cells)
    for name in sorted(groups, key=lambda k: (k.startswith("    "), k.startswith(" "), k)):
        g = groups[name]
        mag = [abs(e) for e in g]
        rep.line(
            f"  {name:<24}{pct(g, 50):>7.1f}{pct(mag, 50):>10.1f}{pct(mag, 90):>10.1f}{len(g):>5}"
        )
    clean = [o for o in outcomes if o.label["kind"] == "clean" and o.metric("snr_db") is not None]
    if clean:
        rep.line(
            "  clean clips (true 40–60 dB or no noise): measured median "
            f"{pct([o.metric('snr_db') for o in clean], 50):.1f} dB"
        )


def check_speakers(rep: Report, outcomes: list[Outcome]) -> None:
    rep.head("Single vs multiple speakers (clips with speech; positive = two people)")
    speech = [o for o in outcomes if o.label["has_speech"]]
    has_metric = produced(speech, "speaker_count")
    has_code = any(said(o, "multiple_speakers") for o in outcomes)
    if not has_metric and not has_code:
        rep.na("speaker_count / multiple_speakers")
        return
    truth = [o.label["n_speakers"] >= 2 for o in speech]
    pred = [said(o, "multiple_speakers") or (o.metric("speaker_count") or 1) >= 2 for o in speech]
    r = binary(truth, pred)
    ok = r["recall"] >= 0.9 and r["precision"] >= 0.9
    rep.bar("speaker_precision", "precision", r["precision"], ok, "≥ 0.9")
    rep.bar("speaker_recall", "recall", r["recall"], ok, "≥ 0.9")
    for kind in ("two_alt", "two_overlap"):
        sub = [p for o, p in zip(speech, pred, strict=True) if o.label["kind"] == kind]
        rep.bar(
            f"speaker_recall_{kind}",
            f"recall on {kind}",
            float(np.mean(sub)) if sub else math.nan,
            None,
            "",
        )
    false = Counter(
        o.label["kind"] for o, p, t in zip(speech, pred, truth, strict=True) if p and not t
    )
    rep.line(f"  false alarms by kind: {dict(false) or 'none'}")
    if produced(speech, "speaker_score"):
        # A clip the speaker check skipped (too little speech) was called one voice: score 0.
        scores = [o.metric("speaker_score") or 0.0 for o in speech]
        rep.bar("speaker_auc", "AUC of speaker_score", auc(truth, scores), None, "")
        real = [t or bool(o.label.get("real_speech")) for o, t in zip(speech, truth, strict=True)]
        rep.bar(
            "speaker_auc_real",
            "  AUC against real-voice negatives only",
            auc(
                [t for t, k in zip(truth, real, strict=True) if k],
                [s for s, k in zip(scores, real, strict=True) if k],
            ),
            None,
            "",
        )
        best, at = best_recall(truth, scores, min_precision=0.9)
        rep.bar(
            "speaker_best_recall_p90",
            f"  best recall at P ≥ 0.9 (oracle: at {at:.3g})",
            best,
            None,
            "",
        )
    else:
        rep.na("speaker_score (AUC)")
    changes = []
    for o in speech:
        got, want = o.metric("speaker_change_s"), o.label["speaker_change_s"]
        if got is None or not want:
            continue
        got = [got] if isinstance(got, (int, float)) else list(got)
        if got:
            changes.append(min(abs(g - want[0]) for g in got) * 1000)
    if changes:
        rep.bar(
            "speaker_change_err_ms",
            "first change time |error| median (ms)",
            pct(changes, 50),
            None,
            "",
        )


def check_binary(
    rep: Report,
    outcomes: list[Outcome],
    *,
    title: str,
    key: str,
    truth: Callable[[Outcome], bool],
    pred: Callable[[Outcome], bool],
    available: bool,
    breakdown: Callable[[Outcome], str] = lambda o: o.label["kind"],
) -> None:
    rep.head(title)
    if not available:
        rep.na(key)
        return
    t = [truth(o) for o in outcomes]
    p = [pred(o) for o in outcomes]
    if not any(t):  # e.g. the dev split has no music, tones or silence
        rep.line(f"  no such clips in this set; false alarms: {sum(p)} of {len(p)}")
        return
    r = binary(t, p)
    rep.bar(f"{key}_recall", "recall (share caught)", r["recall"], r["recall"] >= 0.95, "≥ 0.95")
    rep.bar(f"{key}_precision", "precision", r["precision"], None, "")
    rep.bar(f"{key}_false_alarm_rate", "false alarms / negatives", 1 - r["specificity"], None, "")
    rep.bar(f"{key}_accuracy", "accuracy (all clips)", r["accuracy"], None, "")
    misses = Counter(breakdown(o) for o, a, b in zip(outcomes, t, p, strict=True) if a and not b)
    false = Counter(breakdown(o) for o, a, b in zip(outcomes, t, p, strict=True) if b and not a)
    rep.line(
        f"  missed by kind: {dict(misses) or 'none'}; false alarms by kind: {dict(false) or 'none'}"
    )


def check_clean(rep: Report, outcomes: list[Outcome]) -> None:
    rep.head("False errors on clean single-speaker clips")
    clean = [o for o in outcomes if o.label["kind"] == "clean"]
    # A band_limited error is right on a clean clip through a phone path (the dev split has them).
    bad = [o for o in clean if [c for c in o.errors if not _labelled(o, c)]]
    rep.bar("clean_false_errors", "clean clips with an error finding", len(bad), not bad, "0")
    codes = Counter(code for o in bad for code in o.errors if not _labelled(o, code))
    warned = Counter(c for o in clean for c, sev in o.codes.items() if sev == "warning")
    rep.line(f"  error codes: {dict(codes) or 'none'}; warnings: {dict(warned) or 'none'}")
    for o in bad[:5]:
        rep.line(f"    {o.label['path']}: {'; '.join(o.messages)[:160]}")


def _labelled(o: Outcome, code: str) -> bool:
    """Whether finding ``code`` is what the clip's labels say it has (not a false error)."""
    return code == "band_limited" and bool(o.label.get("band_limited"))


def check_speed(rep: Report, outcomes: list[Outcome], args: argparse.Namespace) -> None:
    rep.head("Speed on one core (x real time = audio s / CPU s)")
    audio_s = sum(o.label["duration_s"] for o in outcomes)
    cpu_s = sum(o.cpu_s for o in outcomes)
    rt = audio_s / cpu_s if cpu_s else math.nan
    rep.bar("analysis_x_realtime", "default analysis, whole chain", rt, rt >= 200, "≥ 200×")
    stages: dict[str, float] = defaultdict(float)
    for o in outcomes:
        for name, seconds in o.stage_cpu_s.items():
            stages[name] += seconds
    for name, seconds in stages.items():
        rep.bar(
            f"stage_x_realtime_{name}",
            f"  {name} alone",
            audio_s / seconds if seconds else math.nan,
            None,
            "",
        )
    subset = [o.label for o in outcomes[:: max(1, len(outcomes) // args.speed_clips)]]
    decoded = _decoded(subset, args.eval)
    sub_audio = sum(c.duration_s for c in decoded)
    for backend in (None, "webrtc", "energy", "silero"):
        try:
            vad = make_vad(backend)
        except (TypeError, ValueError, ImportError) as exc:
            rep.line(
                f"  {'vad --vad ' + str(backend):<52} not available ({type(exc).__name__}: {exc})"[
                    :110
                ]
            )
            continue
        start = time.process_time()
        failed = 0
        for clip in decoded:
            try:
                vad.process(_copy(clip))
            except Exception:
                failed += 1
        spent = time.process_time() - start
        fails = f", {failed} failed" if failed else ""
        text = f"vad --vad {backend or '(default)'} ({len(decoded)} clips{fails})"
        rep.bar(
            f"vad_x_realtime_{backend or 'default'}",
            text,
            sub_audio / spent if spent else math.nan,
            None,
            "",
        )


def _decoded(labels: list[dict[str, Any]], folder: str) -> list[Any]:
    from pipeline.clip import Clip
    from stages.decode import Decode
    from stages.normalize import Normalize

    clips = []
    for label in labels:
        clip = Normalize(sample_rate=16_000)(
            Decode()(Clip(source=os.path.join(folder, label["path"])))
        )
        if not clip.failed:
            clips.append(clip)
    return clips


def _copy(clip: Any) -> Any:
    import copy

    fresh = copy.copy(clip)
    fresh.metrics, fresh.findings, fresh.segments = dict(clip.metrics), list(clip.findings), []
    return fresh


def report(outcomes: list[Outcome], args: argparse.Namespace) -> Report:
    rep = Report()
    n_speech = sum(o.label["has_speech"] for o in outcomes)
    rep.line(
        f"{len(outcomes)} clips ({sum(o.label['duration_s'] for o in outcomes) / 60:.1f} min), "
        f"{n_speech} with speech; profile thresholds: {args.profile}"
        + (f"; speakers: {args.speakers}" if getattr(args, "speakers", None) else "")
        + (f"; quality: {args.quality}" if getattr(args, "quality", None) else "")
    )
    crashed = [o for o in outcomes if "internal_error" in o.codes]
    if crashed:
        rep.line(f"WARNING: {len(crashed)} clips crashed a stage, e.g. {crashed[0].messages[:1]}")
    check_boundaries(rep, outcomes)
    check_snr(rep, outcomes)
    check_speakers(rep, outcomes)
    check_binary(
        rep,
        outcomes,
        title="No speech (music, tones, silence; finding no_speech)",
        key="no_speech",
        truth=lambda o: not o.label["has_speech"],
        pred=lambda o: said(o, "no_speech"),
        available=any(said(o, "no_speech") for o in outcomes),
    )
    check_binary(
        rep,
        outcomes,
        title="Clipping (clipped and hidden_clipping; finding clipping)",
        key="clipping",
        truth=lambda o: bool(o.label["clipped"]),
        pred=lambda o: said(o, "clipping"),
        available=any(said(o, "clipping") for o in outcomes)
        or produced(outcomes, "clipping_ratio"),
    )
    check_binary(
        rep,
        [o for o in outcomes if o.label["has_speech"]],
        title="Band-limited (clips with speech, ≤ 4 kHz content; finding band_limited)",
        key="band_limited",
        truth=lambda o: bool(o.label["band_limited"]),
        pred=lambda o: said(o, "band_limited"),
        available=any(said(o, "band_limited") for o in outcomes)
        or produced(outcomes, "bandwidth_hz"),
    )
    if produced(outcomes, "bandwidth_hz"):
        narrow = [
            o.metric("bandwidth_hz")
            for o in outcomes
            if o.label["band_limited"] and o.metric("bandwidth_hz")
        ]
        wide = [
            o.metric("bandwidth_hz")
            for o in outcomes
            if o.label["has_speech"] and not o.label["band_limited"] and o.metric("bandwidth_hz")
        ]
        rep.line(
            f"  bandwidth_hz median: band-limited {pct(narrow, 50):.0f} Hz, "
            f"others with speech {pct(wide, 50):.0f} Hz"
        )
    check_binary(
        rep,
        [o for o in outcomes if o.label["kind"] != "silence"],
        title="Hum (finding hum; silence clips excluded)",
        key="hum",
        truth=lambda o: o.label.get("hum_hz") is not None,
        pred=lambda o: said(o, "hum"),
        available=any(said(o, "hum") for o in outcomes) or produced(outcomes, "hum_hz"),
    )
    check_clean(rep, outcomes)
    check_speed(rep, outcomes, args)
    return rep


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", default=EVAL_DIR, help="folder with labels.jsonl")
    parser.add_argument("--profile", default="tencent-vod-voice", help="whose analysis thresholds")
    parser.add_argument("--vad", default=None, help="vad backend for the main run (default: Vad's)")
    parser.add_argument(
        "--speakers",
        choices=("default", "neural", "none"),
        default=None,
        help="speaker method of Analyze (default: Analyze's own); "
        "tune on --eval benchmarks/_work/eval-dev, never on the test set",
    )
    parser.add_argument(
        "--quality",
        choices=("dnsmos",),
        default=None,
        help="also score DNSMOS (extra voiceprep[dnsmos]; its interfering-talker gap joins "
        "the speaker check)",
    )
    parser.add_argument("--limit", type=int, default=0, help="score only every k-th clip to get ~N")
    parser.add_argument(
        "--speed-clips", type=int, default=40, help="clips for the per-backend timing"
    )
    parser.add_argument("--json", help="also write the figures and per-clip results here")
    args = parser.parse_args(argv)
    labels_path = os.path.join(args.eval, "labels.jsonl")
    if not os.path.exists(labels_path):
        dev = "eval-dev" in os.path.basename(os.path.normpath(args.eval))
        split = " --split dev" if dev else ""
        print(f"{labels_path} not found: run `python benchmarks/make_eval_set.py{split}` first")
        return 2
    with open(labels_path, encoding="utf-8") as fh:
        labels = [json.loads(line) for line in fh if line.strip()]
    if args.limit and args.limit < len(labels):
        labels = labels[:: math.ceil(len(labels) / args.limit)]
    pin_to_one_core()
    chain = analysis_chain(args.profile, args.vad, args.speakers, args.quality)
    outcomes = analyse(labels, chain, args.eval)
    rep = report(outcomes, args)
    print("\n".join(rep.lines))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "figures": rep.figures,
                    "clips": [
                        {"label": o.label, "metrics": o.metrics, "codes": o.codes, "cpu_s": o.cpu_s}
                        for o in outcomes
                    ],
                },
                fh,
                indent=1,
                default=str,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
