"""Executors: where per-clip work runs — a local process pool or a Dask distributed cluster.

Both run ``fn(state, item)`` for every item and yield the results in completion order, with at
most ``max_in_flight`` items submitted and not yet collected, so a batch of any size never has
all its results in memory at once. ``state`` (the pipeline, with whatever its stages load) is
shipped to each worker once, not with every item: the local pool passes it to the pool's
initializer; on Dask a worker plugin installs it on every worker, including workers that join
or are restarted mid-run.

On Dask, a task whose worker dies is rescheduled on another worker by the scheduler; a task
that raises is retried ``retries`` times. A task that still fails (for example a file that
crashes every worker that opens it, ``KilledWorker``) goes to ``on_error`` when given, so the
batch carries on.

    >>> from distributed import Client                      # doctest: +SKIP
    >>> Pipeline.for_profile("aliyun-voice").run(            # doctest: +SKIP
    ...     ["s3://bucket/session/*.wav"], out="out/", executor=Client("tcp://head:8786"))
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sized
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.errors import ConfigurationError

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["DaskExecutor", "Executor", "LocalPool", "resolve_executor"]

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Per-process state installed by the pool initializer or the Dask worker plugin, by run key.
_STATE: dict[str, Any] = {}


class Executor(ABC):
    """Runs ``fn(state, item)`` over items somewhere and streams the results back."""

    @property
    @abstractmethod
    def slots(self) -> int:
        """How many items can run at the same time (processes or worker threads)."""

    @abstractmethod
    def imap_unordered(
        self,
        fn: Callable[[S, T], R],
        items: Iterable[T],
        *,
        state: S,
        max_in_flight: int | None = None,
        on_error: Callable[[T, BaseException], R] | None = None,
    ) -> Iterator[R]:
        """``fn(state, item)`` for every item, yielded as each finishes.

        ``fn`` must be a module-level function (it is pickled by reference). At most
        ``max_in_flight`` items (default: three per slot) are submitted and uncollected.
        A task that fails goes to ``on_error(item, exc)`` when given; otherwise it raises.
        """

    def close(self) -> None:  # noqa: B027 - optional hook; most executors own nothing
        """Release what this executor started (a cluster it created); a no-op otherwise."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LocalPool(Executor):
    """A `ProcessPoolExecutor` of ``workers`` processes; one worker runs in this process."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ConfigurationError("workers must be at least 1")

    @property
    def slots(self) -> int:
        return self.workers

    def imap_unordered(
        self,
        fn: Callable[[S, T], R],
        items: Iterable[T],
        *,
        state: S,
        max_in_flight: int | None = None,
        on_error: Callable[[T, BaseException], R] | None = None,
    ) -> Iterator[R]:
        workers = self.workers
        if isinstance(items, Sized):
            workers = min(workers, len(items))  # never more processes than files
        if workers <= 1:
            for item in items:
                yield _guarded(fn, state, item, on_error)
            return
        yield from _ProcessPoolRun(workers, fn, state, on_error).run(
            items, max_in_flight or workers * 3
        )


class _ProcessPoolRun:
    """One `LocalPool.imap_unordered` call: a process pool that survives its workers dying.

    When a worker dies (the OOM killer, a decoder crash), the pool breaks and every item in
    flight fails with it. The pool is then replaced, and those items run again one at a time:
    an item that breaks a pool while running alone is the one that kills workers, and goes to
    ``on_error`` (the runner reports it as ``worker_lost``); the others just finish.
    """

    def __init__(
        self,
        workers: int,
        fn: Callable[[Any, Any], Any],
        state: Any,
        on_error: Callable[[Any, BaseException], Any] | None,
    ) -> None:
        self.workers = workers
        self.fn = fn
        self.state = state
        self.on_error = on_error
        self.key = _run_key()

    def _new_pool(self) -> Any:
        # Imported here: the process pool's machinery is ~17 ms of every CLI start-up, and one
        # file or one worker never needs it.
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            self.workers, initializer=_start_worker, initargs=(self.key, self.state)
        )

    def run(self, items: Iterable[Any], window: int) -> Iterator[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        pool = self._new_pool()
        pending: dict[Future[Any], Any] = {}
        suspects: list[Any] = []  # in flight when a worker died: each runs again alone
        queue = iter(items)
        try:
            while True:
                batch: list[Any] = []
                if suspects:
                    if not pending:
                        batch.append(suspects.pop())
                else:
                    batch.extend(itertools.islice(queue, window - len(pending)))
                try:
                    for item in batch:
                        pending[pool.submit(_call, self.key, self.fn, item)] = item
                except BrokenProcessPool:  # a worker died since the last wait
                    suspects.extend(item for item in batch if item not in pending.values())
                    pool = self._replace(pool, pending, suspects)
                    continue
                if not pending:
                    return
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                alone = len(pending) == 1
                broken = False
                for future in finished:
                    item = pending.pop(future)
                    exc = future.exception()
                    if not isinstance(exc, BrokenProcessPool):
                        yield _result(future, item, self.on_error)
                    elif not alone:
                        suspects.append(item)
                        broken = True
                    elif self.on_error is not None:  # it killed a worker on its own
                        yield self.on_error(item, exc)
                        broken = True
                    else:
                        raise exc
                if broken:
                    pool = self._replace(pool, pending, suspects)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _replace(self, pool: Any, pending: dict[Future[Any], Any], suspects: list[Any]) -> Any:
        """A new pool for a broken one; what was still in flight becomes a suspect."""
        suspects.extend(pending.values())
        pending.clear()
        pool.shutdown(wait=False, cancel_futures=True)
        return self._new_pool()


class DaskExecutor(Executor):
    """Runs items as tasks on a Dask distributed cluster through ``client``.

    Use `DaskExecutor.connect` to start a `LocalCluster` or reach a scheduler by address; an
    executor made that way closes its client (and cluster) on `close`. Every worker must have
    voiceprep and its extras installed, and be able to read the inputs (shared paths or URLs).
    """

    def __init__(self, client: Any, *, retries: int = 2, own_client: bool = False) -> None:
        self.client = client
        self.retries = retries
        self._own = own_client

    @classmethod
    def connect(
        cls, address: str | None = None, *, n_workers: int | None = None, retries: int = 2
    ) -> DaskExecutor:
        """A client of the scheduler at ``address``, or of a new local cluster of ``n_workers``.

        The local cluster has one single-threaded worker process per core (or ``n_workers``),
        the same shape as `LocalPool`, and no dashboard.
        """
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigurationError(
                "the dask executor needs the dask extra: pip install 'voiceprep[dask]'"
            ) from None
        if address:
            try:
                client = Client(address, timeout="20s")
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot reach the Dask scheduler at {address} ({exc}); check the address "
                    "and that `dask scheduler` is running there"
                ) from None
        else:
            import dask

            # The workers' statistical profiler samples every thread each 10 ms: measurable
            # CPU on a small machine, and nobody reads it without a dashboard.
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                cluster = LocalCluster(
                    n_workers=n_workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # The scheduler serves HTTP (health checks) even without a dashboard, on
                    # :8787 unless told otherwise: a second run would warn "Port 8787 is
                    # already in use". No dashboard, and any free port on loopback only.
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                )
            client = Client(cluster)
        return cls(client, retries=retries, own_client=True)

    @property
    def slots(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def imap_unordered(
        self,
        fn: Callable[[S, T], R],
        items: Iterable[T],
        *,
        state: S,
        max_in_flight: int | None = None,
        on_error: Callable[[T, BaseException], R] | None = None,
    ) -> Iterator[R]:
        from distributed import as_completed

        from pipeline._dask_plugin import StatePlugin

        key = _run_key()
        self.client.register_plugin(StatePlugin(key, state), name=key)
        window = max_in_flight or self.slots * 3
        pending: dict[str, T] = {}
        done = as_completed()
        queue = iter(items)

        def submit(item: T) -> None:
            future = self.client.submit(
                _call,
                key,
                fn,
                item,
                pure=False,
                retries=self.retries,
                key=f"{key}-{uuid.uuid4().hex}",
            )
            pending[future.key] = item
            done.add(future)

        try:
            for item in itertools.islice(queue, window):
                submit(item)
            for future in done:
                item = pending.pop(future.key)
                result = _result(future, item, on_error)
                future.release()  # the cluster forgets the result: memory stays bounded
                following = next(queue, _DONE)
                if following is not _DONE:
                    submit(following)
                yield result
        finally:
            leftover = list(done.futures)
            done.clear()
            with contextlib.suppress(Exception):  # never hide the error that got us here
                if leftover:
                    self.client.cancel(leftover)
                self.client.unregister_worker_plugin(key)

    def close(self) -> None:
        if not self._own:
            return
        cluster = getattr(self.client, "cluster", None)
        self.client.close()
        if cluster is not None:
            cluster.close()


def resolve_executor(executor: Any, *, workers: int | None = None) -> tuple[Executor, bool]:
    """An `Executor` for what the caller passed, and whether the caller must close it.

    Accepts an `Executor`, a ``distributed.Client``, ``"local"``, ``"dask"`` (a new
    `LocalCluster` of ``workers`` processes) or None (``"local"``).
    """
    if executor is None or executor == "local":
        return LocalPool(workers), False
    if executor == "dask":
        return DaskExecutor.connect(n_workers=workers), True
    if isinstance(executor, Executor):
        return executor, False
    if type(executor).__name__ == "Client" and hasattr(executor, "submit"):
        return DaskExecutor(executor), False
    raise ConfigurationError(
        f"unknown executor {executor!r}; pass 'local', 'dask', a distributed.Client or an Executor"
    )


class _Done:
    pass


_DONE: Any = _Done()


def _run_key() -> str:
    return f"voiceprep-{uuid.uuid4().hex[:16]}"


def _install_state(key: str, state: Any) -> None:
    _STATE[key] = state


def _start_worker(key: str, state: Any) -> None:
    """Pool initializer: install the run's state, and die with the process that started us."""
    _die_with_parent()
    _install_state(key, state)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when its parent dies, so no orphan keeps running.

    Without it, workers of a run killed with SIGKILL (or the OOM killer) wait forever on the
    pool's queue and hold the terminal's pipes open. The OS parent is the run itself under
    the fork start method, and the forkserver (which exits with the run) under forkserver.
    Elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import multiprocessing
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    run = multiprocessing.parent_process()
    if run is not None and not run.is_alive():  # it died before the request took hold
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _call(key: str, fn: Callable[[Any, T], R], item: T) -> R:
    try:
        state = _STATE[key]
    except KeyError:
        raise RuntimeError(
            f"this worker has no state for run {key}: it joined without the run's plugin; "
            "the task will be retried elsewhere"
        ) from None
    return fn(state, item)


def _guarded(
    fn: Callable[[S, T], R], state: S, item: T, on_error: Callable[[T, BaseException], R] | None
) -> R:
    try:
        return fn(state, item)
    except Exception as exc:
        if on_error is None:
            raise
        return on_error(item, exc)


def _result(future: Any, item: T, on_error: Callable[[T, BaseException], R] | None) -> R:
    try:
        result: R = future.result()
    except Exception as exc:
        if on_error is None:
            raise
        return on_error(item, exc)
    return result
