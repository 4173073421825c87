"""How fast is the default chain, against decode-only, the do-nothing-clever floor, sox and ffmpeg?

    python benchmarks/throughput.py              # 200 files, 3 repeats: a few minutes
    python benchmarks/throughput.py --quick      # 20 files, smoke run
    python benchmarks/throughput.py --files 400 --repeat 5 --json out.json

Everything is measured in this one run, on this machine, so the ratios mean something even on a
shared, noisy box: each repeat runs every method once, round-robin, and the tables quote medians.
"x real time" is seconds of audio processed per wall second. Generated audio and outputs live in
``benchmarks/_work/`` (git-ignored). See benchmarks/README.md for recorded figures.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (
    WORK_DIR,
    BatchFile,
    command_seconds,
    fresh_dir,
    link_copies,
    make_batch,
    median,
    speech_source,
    timed,
    voiceprep_script,
)

PROFILE = "yeastar-prompt"
OUT_RATE_HZ = 8_000
TARGET_LUFS = -16.0
PAD_S = 0.2  # the profile's trim pad, on each side


# --- the methods compared -----------------------------------------------------------------------


FAST = "chain, 1 worker, --vad energy --speakers off"


def decode_one(path: str) -> int:
    """Baseline (a): read the file into float32 and do nothing else."""
    import soundfile as sf

    data, _ = sf.read(path, dtype="float32")
    return len(data)


def floor_one(path: str, out_dir: str) -> str:
    """Baseline (b): read, downmix by adding columns, soxr to 8 kHz, write PCM16. No analysis."""
    import soundfile as sf
    import soxr

    data, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = data[:, 0].copy()
    for channel in range(1, data.shape[1]):
        mono += data[:, channel]
    mono *= np.float32(1.0 / data.shape[1])
    resampled = soxr.resample(mono, rate, OUT_RATE_HZ)
    out = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".wav")
    sf.write(out, resampled, OUT_RATE_HZ, subtype="PCM_16")
    return out


def _floor_star(job: tuple[str, str]) -> str:
    return floor_one(*job)


def timed_cpu(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (this process plus the pool workers it reaped) of ``fn()``."""

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    start_cpu, start = cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - start, cpu() - start_cpu


def run_decode(paths: Sequence[str]) -> None:
    for path in paths:
        decode_one(path)


def run_hash(paths: Sequence[str]) -> None:
    """What the runner's journal adds per input: a hash (XXH3-128) of the whole file."""
    from pipeline.journal import content_hash

    for path in paths:
        content_hash(path)


def run_floor(paths: Sequence[str], *, workers: int = 1) -> str:
    out = fresh_dir("floor-")
    if workers <= 1:
        for path in paths:
            floor_one(path, out)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_floor_star, [(p, out) for p in paths], chunksize=4))
    return out


def run_chain(paths: Sequence[str], *, workers: int, **options: Any) -> tuple[str, Any]:
    """The full default chain plus encode, written to a fresh folder (a journal would skip work).

    ``options``: `RunOptions` fields, e.g. the fast knobs ``vad="energy", speakers=None``.
    """
    from pipeline.runner import Pipeline

    out = fresh_dir("chain-")
    results = Pipeline.for_profile(PROFILE, **options).run(
        list(paths), out=out, workers=workers, progress=False
    )
    return out, results


def sox_argv(path: str, out: str) -> list[str]:
    """What a shell script would do: mono, 8 kHz, strip silence at 1 %, peak-normalise, pad."""
    return [
        "sox", path, "-b", "16", out,
        "channels", "1", "rate", "8k",
        "silence", "1", "0.1", "1%", "reverse", "silence", "1", "0.1", "1%", "reverse",
        "norm", "-1", "pad", str(PAD_S), str(PAD_S),
    ]  # fmt: skip


def ffmpeg_argv(path: str, out: str, *, loudnorm: bool) -> list[str]:
    import imageio_ffmpeg

    filters = ["-af", f"loudnorm=I={TARGET_LUFS:g}:TP=-1:LRA=11"] if loudnorm else []
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-i", path, *filters, "-ac", "1", "-ar", str(OUT_RATE_HZ), "-c:a", "pcm_s16le", out,
    ]  # fmt: skip


def run_tool(paths: Sequence[str], argv_for: Callable[[str, str], list[str]], prefix: str) -> str:
    out = fresh_dir(prefix)
    for path in paths:
        target = os.path.join(out, os.path.splitext(os.path.basename(path))[0] + ".wav")
        subprocess.run(argv_for(path, target), check=True, capture_output=True)
    return out


# --- accuracy of the outputs --------------------------------------------------------------------


def output_quality(batch: Sequence[BatchFile], outputs: dict[str, str | None]) -> dict[str, Any]:
    """Loudness of each output vs the target, and whether trimming kept all of the speech."""
    import pyloudnorm
    import soundfile as sf

    errors_lu, excess_s, lost, missing, quiet_lost = [], [], 0, 0, 0
    for item in batch:
        out = outputs.get(item.path)
        if not out or not os.path.exists(out):
            missing += 1
            continue
        data, rate = sf.read(out, dtype="float64")
        duration = len(data) / rate
        if duration < item.speech_s - 0.3:  # more than 0.3 s of speech cut away
            lost += 1
            quiet_lost += item.quiet
        excess_s.append(duration - item.speech_s)
        if duration >= 0.5:
            loudness = pyloudnorm.Meter(rate).integrated_loudness(data)
            if np.isfinite(loudness):
                errors_lu.append(loudness - TARGET_LUFS)
    err = np.asarray(errors_lu) if errors_lu else np.asarray([np.nan])
    return {
        "files": len(batch),
        "missing": missing,
        "lufs_error_median": float(np.median(err)),
        "lufs_error_abs_p90": float(np.percentile(np.abs(err), 90)),
        "within_1lu": int(np.sum(np.abs(err) <= 1.0)),
        "measured": len(errors_lu),
        "silence_kept_median_s": median(excess_s),
        "speech_lost": lost,
        "quiet_takes": sum(item.quiet for item in batch),
        "quiet_takes_lost": quiet_lost,
    }


def loudness_losses(batch: Sequence[BatchFile]) -> dict[str, float]:
    """Median LU lost by the downmix and by the 8 kHz band limit, relative to the stereo source.

    A normaliser that measures the stereo source (as ffmpeg's loudnorm does before ``-ac 1``)
    misses the target on the output by the sum of the two.
    """
    import pyloudnorm
    import soundfile as sf
    import soxr

    downmix, band = [], []
    for item in batch:
        data, rate = sf.read(item.path, dtype="float64", always_2d=True)
        mono = data.sum(axis=1) / data.shape[1]
        low = soxr.resample(mono, rate, OUT_RATE_HZ)
        src = pyloudnorm.Meter(rate).integrated_loudness(data)
        mid = pyloudnorm.Meter(rate).integrated_loudness(mono)
        downmix.append(mid - src)
        band.append(pyloudnorm.Meter(OUT_RATE_HZ).integrated_loudness(low) - mid)
    return {"downmix_lu": median(downmix), "band_limit_8k_lu": median(band)}


def tool_subset(batch: Sequence[BatchFile], n: int) -> list[BatchFile]:
    """The first ``n`` files, but with the quiet takes (up to a fifth) always among them."""
    quiet = [b for b in batch if b.quiet][: max(1, n // 5)]
    rest = [b for b in batch if not b.quiet][: n - len(quiet)]
    order = {b.path: i for i, b in enumerate(batch)}
    return sorted(quiet + rest, key=lambda b: order[b.path])


def outputs_by_stem(batch: Sequence[BatchFile], folder: str) -> dict[str, str | None]:
    return {
        item.path: os.path.join(folder, os.path.splitext(os.path.basename(item.path))[0] + ".wav")
        for item in batch
    }


def chain_outputs(results: Any) -> dict[str, str | None]:
    return {record["source"]: record["output"] for record in results}


# --- memory, start-up, profile ------------------------------------------------------------------


def memprobe(method: str, folder: str, workers: int) -> dict[str, float]:
    """Run one method over a folder in a fresh interpreter; its peak RSS and wall time."""
    argv = [
        sys.executable,
        os.path.abspath(__file__),
        "--memprobe",
        method,
        "--workers",
        str(workers),
        folder,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _memprobe_main(method: str, folder: str, workers: int) -> None:
    from pipeline.inputs import expand_inputs

    paths = expand_inputs([folder])
    start = time.perf_counter()
    if method == "chain":
        out, _ = run_chain(paths, workers=workers)
    else:
        out = run_floor(paths, workers=workers)
    wall = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    self_kb = _own_peak_kb()
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"self_mb": self_kb / 1024, "worker_mb": child_kb / 1024, "wall_s": wall}))


def _own_peak_kb() -> int:
    """This process's peak RSS. Linux's ru_maxrss survives exec, so it would report the peak of
    the benchmark process that forked us; VmHWM belongs to our own address space."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def import_profile(path: str, top: int = 8) -> dict[str, Any]:
    """First-file latency of a fresh interpreter and the slowest top-level imports on the way."""
    code = (
        f"from pipeline.runner import Pipeline; Pipeline.for_profile({PROFILE!r}).process({path!r})"
    )
    wall, _ = command_seconds([sys.executable, "-c", code], repeat=3)
    bare, _ = command_seconds([sys.executable, "-c", "pass"], repeat=3)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if match and not match.group(3):  # top-level imports only
            rows.append((int(match.group(2)) / 1000, match.group(4)))
    rows.sort(reverse=True)
    return {"first_file_s": wall, "python_bare_s": bare, "imports_ms": rows[:top]}


def stage_profile(paths: Sequence[str], *, repeat: int = 3, top: int = 15) -> dict[str, Any]:
    """Wall time per stage over ``paths`` (one worker, warm), and cProfile's busiest functions."""
    from pipeline.clip import Clip
    from pipeline.runner import Pipeline, single_threaded_blas

    out = fresh_dir("profile-")
    pipeline = Pipeline.for_profile(PROFILE).with_encoder(out)
    pipeline.process(paths[0])  # warm imports and caches
    shutil.rmtree(out)
    os.makedirs(out)
    # Wall time per stage without a profiler attached (median of `repeat` passes), then one
    # pass under cProfile for the function-level view.
    # BLAS limited as `Pipeline.process` limits it: OpenBLAS threads left spinning after a
    # matrix product would otherwise be billed to whichever stage runs next.
    passes: list[dict[str, float]] = []
    cpu_passes: list[dict[str, float]] = []
    for _ in range(repeat):
        seconds: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for path in paths:
            clip = Clip(source=path)
            with single_threaded_blas():
                for stage in pipeline.stages:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    clip = stage(clip)
                    cpu[stage.name] = cpu.get(stage.name, 0.0) + time.process_time() - start_cpu
                    seconds[stage.name] = seconds.get(stage.name, 0.0) + time.perf_counter() - start
                    if clip.failed:
                        break
        passes.append(seconds)
        cpu_passes.append(cpu)
    profiles = {stage.name: cProfile.Profile() for stage in pipeline.stages}
    for path in paths:
        clip = Clip(source=path)
        with single_threaded_blas():
            for stage in pipeline.stages:
                prof = profiles[stage.name]
                prof.enable()
                clip = stage(clip)
                prof.disable()
                if clip.failed:
                    break
    shutil.rmtree(out, ignore_errors=True)
    per_stage_top = {}
    combined: pstats.Stats | None = None
    for name, prof in profiles.items():
        per_stage_top[name] = _top_functions(pstats.Stats(prof), 8)
        combined = pstats.Stats(prof) if combined is None else combined.add(prof)
    assert combined is not None
    return {
        "stage_s": {name: median([p.get(name, 0.0) for p in passes]) for name in passes[0]},
        "stage_cpu_s": {
            name: median([p.get(name, 0.0) for p in cpu_passes]) for name in cpu_passes[0]
        },
        "per_stage_top": per_stage_top,
        "top": _top_functions(combined, top),
    }


def _top_functions(stats: pstats.Stats, n: int) -> list[tuple[float, float, int, str]]:
    """(cumulative s, own s, calls, function) of the ``n`` functions with most cumulative time."""
    rows = []
    for (filename, line, func), (_, calls, own, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        if func.startswith("<method 'enable'") or func == "<built-in method builtins.exec>":
            continue
        where = _short_path(filename)
        label = f"{where}:{line}({func})" if line else func
        rows.append((cum, own, calls, label))
    rows.sort(reverse=True)
    return rows[:n]


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def downmix_micro(rate: int = 48_000, seconds: float = 30.0, repeat: int = 7) -> dict[str, float]:
    """The known pitfall: ``x.mean(axis=1)`` on interleaved stereo vs adding the columns."""
    x = np.random.default_rng(0).standard_normal((int(rate * seconds), 2)).astype(np.float32)

    def by_mean() -> None:
        x.mean(axis=1)

    def by_columns() -> None:
        y = x[:, 0] + x[:, 1]
        y *= np.float32(0.5)

    mean_s = median([timed(by_mean) for _ in range(repeat)])
    add_s = median([timed(by_columns) for _ in range(repeat)])
    return {"mean_axis1_ms": mean_s * 1e3, "column_add_ms": add_s * 1e3, "ratio": mean_s / add_s}


# --- the run ------------------------------------------------------------------------------------


def chain_available() -> str | None:
    """None when the default chain imports; otherwise why not."""
    try:
        from pipeline.runner import Pipeline

        Pipeline.for_profile(PROFILE).with_encoder(WORK_DIR)
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.memprobe:
        _memprobe_main(args.memprobe, args.folder, args.workers)
        return 0
    # The chain tunes glibc's allocator in every process that runs it (pipeline.allocator);
    # do it here first so that decode-only and the floor run under the same allocator.
    from pipeline.allocator import keep_freed_memory

    keep_freed_memory()
    files = 20 if args.quick else args.files
    repeat = args.repeat or (1 if args.quick else 3)
    cores = args.workers or os.cpu_count() or 1
    report: dict[str, Any] = {"files": files, "repeat": repeat, "cores": cores}

    print(
        f"# voiceprep throughput — {files} files, {repeat} repeats, {cores} cores, "
        f"speech from {speech_source()}"
    )
    batch_dir = os.path.join(WORK_DIR, f"batch-{files}-s{args.seed}")
    gen_s = timed(lambda: make_batch(batch_dir, files=files, seed=args.seed))
    batch = make_batch(batch_dir, files=files, seed=args.seed)
    paths = [b.path for b in batch]
    audio_s = sum(b.duration_s for b in batch)
    kinds = Counter(f"{b.container}/{b.subtype.lower()}" for b in batch)
    print(
        f"batch: {audio_s / 60:.1f} min of audio, {dict(kinds)}, "
        f"{sum(b.quiet for b in batch)} quiet takes (generated/reused in {gen_s:.1f} s)"
    )
    report["audio_s"] = audio_s
    run_decode(paths)  # warm the page cache so the first method is not penalised

    missing_chain = chain_available()
    if missing_chain:
        print(f"\n!! default chain unavailable ({missing_chain}); chain rows are skipped")

    # CLI start-up
    cli = {
        "python -c pass": command_seconds([sys.executable, "-c", "pass"])[0],
        "voiceprep --help": command_seconds([voiceprep_script(), "--help"])[0],
        "voiceprep profiles": command_seconds([voiceprep_script(), "profiles"])[0],
    }
    if not missing_chain:
        short = min(batch, key=lambda b: b.duration_s).path
        cli[f"voiceprep check (1 file, {min(b.duration_s for b in batch):.1f} s)"] = (
            command_seconds(
                [
                    voiceprep_script(),
                    "check",
                    short,
                    "--profile",
                    PROFILE,
                    "--workers",
                    "1",
                    "--no-progress",
                ]
            )[0]
        )
    report["cli_s"] = cli
    print("\n## CLI start-up (median of 5, wall s)\n")
    print(_table(["command", "s"], [[k, f"{v:.3f}"] for k, v in cli.items()]))

    micro = downmix_micro()
    report["downmix"] = micro
    print(
        f"\ndownmix of 30 s 48 kHz stereo: mean(axis=1) {micro['mean_axis1_ms']:.1f} ms, "
        f"column add {micro['column_add_ms']:.2f} ms ({micro['ratio']:.0f}x)"
    )

    # Main table: every method once per repeat, round-robin.
    methods: dict[str, Callable[[], Any]] = {
        "decode only (sf.read)": lambda: run_decode(paths),
        "journal hash only (xxh3)": lambda: run_hash(paths),
        "floor, 1 worker": lambda: shutil.rmtree(run_floor(paths)),
        f"floor, {cores} workers": lambda: shutil.rmtree(run_floor(paths, workers=cores)),
    }
    if not missing_chain:
        _check_and_drop(run_chain(paths[:2], workers=1))  # warm imports in this process
        methods["chain, 1 worker"] = lambda: _check_and_drop(run_chain(paths, workers=1))
        methods[f"chain, {cores} workers"] = lambda: _check_and_drop(
            run_chain(paths, workers=cores)
        )
        # The knobs a user has today for big batches: --vad energy --speakers off.
        methods[FAST] = lambda: _check_and_drop(
            run_chain(paths, workers=1, vad="energy", speakers=None)
        )
    walls: dict[str, list[float]] = {name: [] for name in methods}
    cpus: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, fn in methods.items():
            wall, cpu = timed_cpu(fn)
            walls[name].append(wall)
            cpus[name].append(cpu)
    med = {name: median(w) for name, w in walls.items()}
    med_cpu = {name: median(c) for name, c in cpus.items()}
    report["wall_s"] = walls
    report["cpu_s"] = cpus
    floor_1 = med["floor, 1 worker"]
    floor_cpu = med_cpu["floor, 1 worker"]
    rows = []
    for name, wall in med.items():
        rows.append(
            [
                name,
                f"{audio_s / wall:.0f}x",
                f"{wall:.2f}",
                f"{wall / floor_1:.2f}",
                f"{min(walls[name]):.2f}–{max(walls[name]):.2f}",
                f"{med_cpu[name]:.2f}",
                f"{audio_s / med_cpu[name]:.0f}x",
                f"{med_cpu[name] / floor_cpu:.2f}",
            ]
        )
    print(f"\n## Throughput over the whole batch ({audio_s:.0f} s of audio, median of {repeat})\n")
    print(
        "CPU = this process and its (finished) pool workers: on a shared machine the CPU\n"
        "ratios are steadier than the wall ones; x real time per CPU s is 'per core'.\n"
    )
    print(
        _table(
            [
                "method",
                "x real time",
                "wall s",
                "÷ floor (1 worker)",
                "range s",
                "CPU s",
                "x real time per CPU s",
                "CPU ÷ floor",
            ],
            rows,
        )
    )
    if not missing_chain:
        one, many = med["chain, 1 worker"], med[f"chain, {cores} workers"]
        floor_n = med[f"floor, {cores} workers"]
        report["chain_vs_floor"] = one / floor_1
        report["chain_cpu_vs_floor"] = med_cpu["chain, 1 worker"] / floor_cpu
        report["chain_speedup"] = one / many
        print(
            f"\nchain ÷ floor on 1 worker: {one / floor_1:.2f} wall, "
            f"{med_cpu['chain, 1 worker'] / floor_cpu:.2f} CPU (goal ≤ 1.3); "
            f"{audio_s / med_cpu['chain, 1 worker']:.0f}x real time per core (goal ≥ 900x); "
            f"speed-up with {cores} workers: {one / many:.2f}x (floor: {floor_1 / floor_n:.2f}x)"
        )
        report["fast_chain_vs_floor"] = med[FAST] / floor_1
        print(f"{FAST} ÷ floor: {med[FAST] / floor_1:.2f} wall")

    # External tools on a subset (ffmpeg's loudnorm is slow), against the floor on the same files.
    if not args.skip_tools:
        _tools(tool_subset(batch, args.tool_files), report, bool(missing_chain), repeat)

    if not args.skip_memory:
        _memory(batch, files, cores, report, bool(missing_chain))

    if not missing_chain and not args.skip_profile:
        _profile(batch[: args.profile_files], report, max(repeat, 3))

    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1, default=str)
        print(f"\nfigures written to {args.json}")
    return 0


def _tools(
    subset: Sequence[BatchFile], report: dict[str, Any], no_chain: bool, repeat: int
) -> None:
    paths = [b.path for b in subset]
    audio_s = sum(b.duration_s for b in subset)
    tools: dict[str, Callable[[], str]] = {"floor, 1 worker": lambda: run_floor(paths)}
    outputs: dict[str, dict[str, str | None]] = {}
    if not no_chain:

        def chain() -> str:
            out, results = run_chain(paths, workers=1)
            outputs["chain, 1 worker"] = chain_outputs(results)
            return out

        tools["chain, 1 worker"] = chain
    notes = []
    sox_subset = [b for b in subset if b.container != "mp3"]
    sox_paths = [b.path for b in sox_subset]
    sox_ok = shutil.which("sox") is not None
    if sox_ok:
        tools["sox per file"] = lambda: run_tool(sox_paths, sox_argv, "sox-")
        if len(sox_paths) < len(paths):
            notes.append(
                f"sox here cannot read MP3: its row covers {len(sox_paths)} of {len(paths)} files"
            )
    else:
        notes.append("sox not installed: row skipped")
    tools["ffmpeg -ac 1 -ar 8000"] = lambda: run_tool(
        paths, lambda p, o: ffmpeg_argv(p, o, loudnorm=False), "ffplain-"
    )
    tools["ffmpeg loudnorm"] = lambda: run_tool(
        paths, lambda p, o: ffmpeg_argv(p, o, loudnorm=True), "fflnorm-"
    )
    walls: dict[str, list[float]] = {name: [] for name in tools}
    last_out: dict[str, str] = {}
    for rep in range(repeat):
        for name, fn in tools.items():
            if name == "ffmpeg loudnorm" and rep > 0:
                continue  # too slow to repeat; one run is enough to place it
            start = time.perf_counter()
            out = fn()
            walls[name].append(time.perf_counter() - start)
            if name in last_out:
                shutil.rmtree(last_out[name], ignore_errors=True)
            last_out[name] = out
    floor_rate = audio_s / median(walls["floor, 1 worker"])
    rows, quality_rows, report["tools"] = [], [], {}
    for name, wall_list in walls.items():
        seconds = sum(b.duration_s for b in sox_subset) if name == "sox per file" else audio_s
        rate = seconds / median(wall_list)
        rows.append([name, f"{rate:.0f}x", f"{floor_rate / rate:.2f}", str(len(wall_list))])
        files = sox_subset if name == "sox per file" else list(subset)
        mapping = outputs.get(name) or outputs_by_stem(files, last_out[name])
        quality = output_quality(files, mapping)
        report["tools"][name] = {"x_real_time": rate, "quality": quality}
        quality_rows.append(
            [
                name,
                f"{quality['lufs_error_median']:+.1f}",
                f"{quality['lufs_error_abs_p90']:.1f}",
                f"{quality['within_1lu']}/{quality['measured']}",
                f"{quality['silence_kept_median_s']:.2f}",
                f"{quality['speech_lost']}",
                f"{quality['quiet_takes_lost']}/{quality['quiet_takes']}",
            ]
        )
    for out in last_out.values():
        shutil.rmtree(out, ignore_errors=True)
    print(
        f"\n## One command per file vs the chain ({len(paths)} files, {audio_s:.0f} s, 1 worker)\n"
    )
    print(_table(["method", "x real time", "÷ floor", "runs"], rows))
    for note in notes:
        print(f"- {note}")
    print(
        f"\n## Output accuracy (target {TARGET_LUFS:g} LUFS, measured with pyloudnorm at 8 kHz)\n"
    )
    print(
        _table(
            [
                "method",
                "median LU off",
                "p90 abs LU off",
                "within ±1 LU",
                "silence kept s",
                "speech cut",
                "quiet takes cut",
            ],
            quality_rows,
        )
    )
    losses = loudness_losses(subset)
    report["loudness_losses"] = losses
    print(
        f"\nvs the stereo source, the column-add downmix changes loudness by "
        f"{losses['downmix_lu']:+.1f} LU and the 8 kHz band limit by "
        f"{losses['band_limit_8k_lu']:+.1f} LU (medians): a normaliser that measures before "
        "the downmix misses by their sum."
    )


def _memory(
    batch: Sequence[BatchFile], files: int, cores: int, report: dict[str, Any], no_chain: bool
) -> None:
    rows = []
    report["memory"] = {}
    folders = {n: link_copies(batch, os.path.join(WORK_DIR, f"mem-x{n}"), n) for n in (1, 2)}
    methods = ["floor"] + ([] if no_chain else ["chain"])
    for method in methods:
        for workers in sorted({1, cores}):
            for n in (1, 2):
                probe = memprobe(method, os.path.dirname(folders[n][0]), workers)
                report["memory"][f"{method}/{workers}w/{n * files}"] = probe
                rows.append(
                    [
                        method,
                        str(workers),
                        str(n * files),
                        f"{probe['self_mb']:.0f}",
                        f"{probe['worker_mb']:.0f}" if workers > 1 else "–",
                        f"{probe['wall_s']:.1f}",
                    ]
                )
    for n in (1, 2):
        shutil.rmtree(os.path.dirname(folders[n][0]), ignore_errors=True)
    print("\n## Peak RSS, batch of N vs 2N files (fresh interpreter each)\n")
    print(_table(["method", "workers", "files", "main MB", "largest worker MB", "wall s"], rows))


def _profile(subset: Sequence[BatchFile], report: dict[str, Any], repeat: int) -> None:
    paths = [b.path for b in subset]
    audio_s = sum(b.duration_s for b in subset)
    cold = import_profile(min(subset, key=lambda b: b.duration_s).path)
    report["cold_start"] = cold
    print(
        f"\n## Cold start: fresh interpreter, import + one file: {cold['first_file_s']:.2f} s "
        f"(bare python {cold['python_bare_s']:.2f} s)\n"
    )
    print(
        _table(
            ["top-level import", "cumulative ms"],
            [[name, f"{ms:.0f}"] for ms, name in cold["imports_ms"]],
        )
    )
    prof = stage_profile(paths, repeat=repeat)
    report["profile"] = prof
    total = sum(prof["stage_s"].values())
    total_cpu = sum(prof["stage_cpu_s"].values())
    print(
        f"\n## Where one worker spends its time ({len(paths)} files, {audio_s:.0f} s of audio, "
        f"{audio_s / total:.0f}x real time inside the stages, {audio_s / total_cpu:.0f}x per "
        "CPU second; median of the passes)\n"
    )
    print(
        _table(
            ["stage", "wall s", "CPU s", "CPU share", "x real time per CPU s"],
            [
                [
                    name,
                    f"{s:.3f}",
                    f"{prof['stage_cpu_s'][name]:.3f}",
                    f"{prof['stage_cpu_s'][name] / total_cpu:.0%}",
                    f"{audio_s / max(prof['stage_cpu_s'][name], 1e-9):.0f}x",
                ]
                for name, s in sorted(prof["stage_s"].items(), key=lambda kv: -kv[1])
            ],
        )
    )
    print("\n### Top 15 functions by cumulative time (all stages)\n")
    print(
        _table(
            ["cum s", "own s", "calls", "function"],
            [[f"{c:.3f}", f"{o:.3f}", str(n), f"`{f}`"] for c, o, n, f in prof["top"]],
        )
    )
    for name, top in prof["per_stage_top"].items():
        print(f"\n### {name}: top 8 by cumulative time\n")
        print(
            _table(
                ["cum s", "own s", "calls", "function"],
                [[f"{c:.3f}", f"{o:.3f}", str(n), f"`{f}`"] for c, o, n, f in top],
            )
        )


def _check_and_drop(result: tuple[str, Any]) -> None:
    """Remove a chain run's outputs; warn when clips failed (a fast failure is not throughput)."""
    out, results = result
    summary = results.summary
    if summary.failed:
        codes = ", ".join(f"{code}×{n}" for code, n in summary.errors.most_common(4))
        print(f"   (chain: {summary.failed}/{summary.total} clips failed: {codes})")
    shutil.rmtree(out, ignore_errors=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--files", type=int, default=200, help="batch size (default 200)")
    p.add_argument("--quick", action="store_true", help="20-file smoke run, 1 repeat")
    p.add_argument("--repeat", type=int, help="repeats per method (default 3; 1 with --quick)")
    p.add_argument("--workers", type=int, help="the 'all cores' worker count (default: all)")
    p.add_argument("--seed", type=int, default=0, help="batch generator seed")
    p.add_argument(
        "--tool-files",
        type=int,
        default=30,
        help="files for the sox/ffmpeg comparison (default 30)",
    )
    p.add_argument("--profile-files", type=int, default=20, help="files to profile (default 20)")
    p.add_argument("--skip-tools", action="store_true", help="no sox/ffmpeg rows")
    p.add_argument("--skip-memory", action="store_true", help="no N vs 2N peak-RSS runs")
    p.add_argument("--skip-profile", action="store_true", help="no cProfile of the stages")
    p.add_argument("--json", metavar="PATH", help="also write every figure to this JSON file")
    p.add_argument("--memprobe", choices=["chain", "floor"], help=argparse.SUPPRESS)
    p.add_argument("folder", nargs="?", help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    sys.exit(main())
