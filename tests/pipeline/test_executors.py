"""The local process pool: bounded work in flight, and a batch that survives dying workers."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline.executors import LocalPool


def _square_or_die(state, item):
    if item in state:  # this item kills the worker that runs it, every time
        os.kill(os.getpid(), signal.SIGKILL)
    return item * item


def _pid(state, item):
    return os.getpid()


def test_a_worker_killed_by_one_item_loses_only_that_item():
    lost = []

    def on_error(item, exc):
        lost.append(item)
        return None

    got = LocalPool(2).imap_unordered(
        _square_or_die, range(12), state={5}, max_in_flight=4, on_error=on_error
    )
    assert sorted(r for r in got if r is not None) == [i * i for i in range(12) if i != 5]
    assert lost == [5]


def test_items_in_flight_with_a_dying_worker_run_again():
    lost = []
    got = list(
        LocalPool(2).imap_unordered(
            _square_or_die, range(6), state={0, 4}, on_error=lambda item, exc: lost.append(item)
        )
    )
    assert sorted(lost) == [0, 4]
    assert sorted(r for r in got if r is not None) == [1, 4, 9, 25]


def test_without_on_error_a_killed_worker_raises():
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        list(LocalPool(2).imap_unordered(_square_or_die, range(4), state={2}))


def test_never_more_processes_than_items():
    pids = set(LocalPool(64).imap_unordered(_pid, range(2), state=None))
    assert len(pids) <= 2
    assert set(LocalPool(64).imap_unordered(_pid, range(1), state=None)) == {os.getpid()}


@pytest.mark.slow
def test_workers_die_with_a_killed_parent(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, sys, time
        sys.path.insert(0, {os.getcwd()!r})
        from pipeline.executors import LocalPool

        def nap(state, item):
            with open({str(tmp_path)!r} + f"/{{os.getpid()}}", "w"):
                pass
            time.sleep(60)

        list(LocalPool(2).imap_unordered(nap, range(2), state=None))
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(p.name) for p in tmp_path.iterdir()]
    assert len(workers) == 2
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except OSError:
        return False


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_the_pool_works_under_every_start_method(method):
    # Python 3.14 makes forkserver the default on Linux: a worker's OS parent is then the
    # forkserver, not the run.
    script = textwrap.dedent(
        f"""
        import multiprocessing, sys
        sys.path.insert(0, {os.getcwd()!r})
        from pipeline.executors import LocalPool
        from tests.pipeline.test_executors import _square_or_die

        if __name__ == "__main__":
            multiprocessing.set_start_method({method!r})
            got = LocalPool(2).imap_unordered(_square_or_die, range(4), state=set())
            print(sorted(got))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[0, 1, 4, 9]"
