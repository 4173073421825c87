"""What does running on Dask cost? The same batch through the local pool and a Dask LocalCluster.

    python benchmarks/dask_overhead.py --quick       # 16 files, 1 repeat: about half a minute
    python benchmarks/dask_overhead.py               # 60 files, 3 repeats
    python benchmarks/dask_overhead.py --files 120 --repeat 5 --workers 2 --json out.json

Both executors get the same number of single-threaded worker processes. Each repeat runs, in
turn: the full chain (`Pipeline.run(out=…)`, journal and results.jsonl included) on the local
pool and on the cluster (started as ``--executor dask`` starts it), then an empty task per
item on each (the pure cost of shipping a task and its result). The cluster is started once,
outside the timings (its start-up is reported on its own line); the local pool's process start
is inside them, as it is in every real run. Medians (min–max) of the repeats; "overhead per
clip" is (Dask wall − local wall) / clips. On a machine with few cores Dask cannot win: the
point is what it costs, not that it is faster.
"""

from __future__ import annotations

import argparse
import filecmp
import functools
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import WORK_DIR, fresh_dir, make_batch, median, timed

if TYPE_CHECKING:
    from pipeline.executors import Executor

PROFILE = "yeastar-prompt"


def _noop(state: Any, item: int) -> int:
    return item


def _drain(executor: Executor, items: list[int]) -> None:
    for _ in executor.imap_unordered(_noop, items, state=None):
        pass


def _spread(values: list[float]) -> str:
    return f"{median(values):8.2f}  ({min(values):.2f}–{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--noop-tasks", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="16 files, 1 repeat")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.repeat, args.noop_tasks = 16, 1, 100

    from pipeline.executors import DaskExecutor, LocalPool
    from pipeline.runner import Pipeline

    batch = make_batch(
        os.path.join(WORK_DIR, f"dask-batch-{args.files}"), files=args.files, min_s=3, max_s=15
    )
    paths = [b.path for b in batch]
    audio_s = sum(b.duration_s for b in batch)
    pipeline = Pipeline.for_profile(PROFILE)
    print(
        f"{len(paths)} files, {audio_s:.0f} s of audio, {args.workers} workers, "
        f"{args.repeat} repeat(s), profile {PROFILE}"
    )

    start = time.perf_counter()
    cluster = DaskExecutor.connect(n_workers=args.workers)  # as `--executor dask` starts it
    client = cluster.client
    startup_s = time.perf_counter() - start

    walls: dict[str, list[float]] = {"local": [], "dask": []}
    noop: dict[str, list[float]] = {"local": [], "dask": []}
    identical = True
    items = list(range(args.noop_tasks))
    try:
        for _ in range(args.repeat):
            outs = {}
            for name, executor in (
                ("local", LocalPool(args.workers)),
                ("dask", DaskExecutor(client)),
            ):
                out = outs[name] = fresh_dir(f"dask-{name}-")
                run = functools.partial(
                    pipeline.run, paths, out=out, executor=executor, progress=False
                )
                walls[name].append(timed(run))
            for name, executor in (
                ("local", LocalPool(args.workers)),
                ("dask", DaskExecutor(client)),
            ):
                seconds = timed(functools.partial(_drain, executor, items))
                noop[name].append(seconds / len(items) * 1000)
            wavs = sorted(f for f in os.listdir(outs["local"]) if f.endswith(".wav"))
            identical &= wavs == sorted(f for f in os.listdir(outs["dask"]) if f.endswith(".wav"))
            identical &= all(
                filecmp.cmp(os.path.join(outs["local"], f), os.path.join(outs["dask"], f), False)
                for f in wavs
            )
    finally:
        cluster.close()

    n = len(paths)
    per_clip = [(d - loc) / n * 1000 for loc, d in zip(walls["local"], walls["dask"], strict=True)]
    print(f"\ncluster start-up (once, not in the rows): {startup_s:.2f} s\n")
    print(f"{'executor':<10}{'wall s':>22}{'clips/s':>10}{'x real time':>13}{'empty task ms':>16}")
    for name in ("local", "dask"):
        wall = median(walls[name])
        print(
            f"{name:<10}{_spread(walls[name]):>22}{n / wall:>10.1f}{audio_s / wall:>13.1f}"
            f"{median(noop[name]):>16.2f}"
        )
    print(
        f"\nDask overhead per clip: {median(per_clip):.1f} ms "
        f"({min(per_clip):.1f}–{max(per_clip):.1f}); Dask/local wall: "
        f"{median(walls['dask']) / median(walls['local']):.2f}x"
    )
    print(f"outputs byte-identical between the two: {'yes' if identical else 'NO'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "files": n,
                    "audio_s": audio_s,
                    "workers": args.workers,
                    "cluster_startup_s": startup_s,
                    "wall_s": walls,
                    "noop_task_ms": noop,
                    "overhead_per_clip_ms": per_clip,
                    "identical": identical,
                },
                fh,
                indent=2,
            )
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
