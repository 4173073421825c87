"""The Dask worker plugin that installs a run's state (the pipeline) once per worker.

Kept apart from `pipeline.executors` so that importing the executors does not import
``distributed`` (about 0.75 s): this module is imported only when a Dask run starts.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from pipeline.executors import _STATE, _install_state


class StatePlugin(WorkerPlugin):
    """Installs ``state`` under ``key`` on each worker, including workers that join later."""

    def __init__(self, key: str, state: Any) -> None:
        self.key = key
        self.name = key
        self.state = state

    def setup(self, worker: Any) -> None:
        _install_state(self.key, self.state)

    def teardown(self, worker: Any) -> None:
        _STATE.pop(self.key, None)
