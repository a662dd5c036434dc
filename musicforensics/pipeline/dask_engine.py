"""The Dask engine: analyse files on a Dask distributed cluster (``scan --engine dask``).

The only module that imports ``distributed`` (optional extra ``musicforensics[dask]``). It implements the
:class:`~musicforensics.pipeline.engines.Engine` protocol exactly like the local pool: every item is analysed by
:func:`~musicforensics.pipeline.work.analyse_item` on some worker and yielded once as ``(index, report)``, so
progress, per-file errors, exit codes and output do not depend on the engine.

* Without a scheduler address a :class:`distributed.LocalCluster` is started with one single-threaded
  worker process per job and closed at the end.
* With an address (``tcp://host:8786``) the scan connects to that scheduler; workers must be able to import
  the same musicforensics version and open the same paths (a shared file system).
* Every worker loads the analysis and its kernels once, as it joins (the ``WarmKernels`` worker plugin; workers
  that join later warm up too), so no file pays for it and the scanning process never loads it.
* At most :data:`WINDOW_PER_THREAD` tasks per worker thread are submitted at a time, so a library of
  millions never puts millions of tasks on the scheduler.
* A worker lost mid-task: Dask reschedules its tasks on other workers. A file that kills
  ``distributed.scheduler.allowed-failures`` + 1 workers (default 3 + 1) becomes an error result, like the
  local pool's "crashed twice". Results are de-duplicated by index, so no file counts twice.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence

from ..config import AnalysisConfig
from ..errors import EngineError, ParameterError
from ..results import STATUS_ERROR, TrackReport
from .work import ScanItem, analyse_item

#: Dask's configuration of the environment its nannies give the worker processes.
PRE_SPAWN_ENVIRON = "distributed.nanny.pre-spawn-environ"
#: Tasks kept submitted per worker thread (enough to hide scheduling latency, few enough to stay light).
WINDOW_PER_THREAD = 2
#: Smallest submission window, for clusters whose workers have not joined yet.
MIN_WINDOW = 8
#: How often the window is re-sized to the workers currently connected, in seconds.
RESIZE_EVERY_S = 5.0
#: How long to wait for the scheduler to answer when connecting, in seconds.
DEFAULT_CONNECT_TIMEOUT_S = 30.0


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise ParameterError(
            "engine='dask' needs the optional dependency 'distributed': pip install 'musicforensics[dask]'"
        ) from None
    return distributed


def _warm_kernels_class():
    """``WarmKernels``, made when first asked for: its base comes from ``distributed``, which is optional."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class WarmKernels(WorkerPlugin):
        """Worker plugin: load the analysis and compile or load its kernels for ``config`` as the worker joins, in
        a thread (the worker keeps answering its scheduler meanwhile). Registering it waits until every connected
        worker has warmed up, so the first file on each worker is analysed at full speed."""

        name = "musicforensics-warm-kernels"

        def __init__(self, config: AnalysisConfig) -> None:
            self.config = config

        async def setup(self, worker) -> None:
            import asyncio

            from .analysis import warm_up

            try:
                await asyncio.get_running_loop().run_in_executor(None, warm_up, self.config)
            except Exception:  # noqa: BLE001 - a failed warm-up only means the first file loads the kernels
                pass

    WarmKernels.__qualname__ = "WarmKernels"
    WarmKernels.__module__ = __name__
    return WarmKernels


def __getattr__(name: str):
    # WarmKernels is importable by name (workers unpickle the plugin by reference), yet built only on demand
    if name == "WarmKernels":
        cls = globals()["WarmKernels"] = _warm_kernels_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DaskEngine:
    """Runs the analysis on a Dask distributed cluster.

    Parameters
    ----------
    scheduler : str, optional
        Scheduler address (``tcp://127.0.0.1:8786``). None: start a local cluster for the scan.
    workers : int, optional
        Worker processes of the local cluster (default: all cores). Ignored with ``scheduler``.
    connect_timeout : float
        Seconds to wait for the scheduler before raising :class:`~musicforensics.errors.EngineError`.
    """

    def __init__(self, *, scheduler: str | None = None, workers: int | None = None,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
        _require_distributed()
        self.scheduler = scheduler
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self.connect_timeout = float(connect_timeout)

    def _connect(self, config: AnalysisConfig):
        from distributed import Client, LocalCluster

        cluster = None
        try:
            if self.scheduler is None:
                import dask

                # loopback only, and a free port for the scheduler's HTTP endpoint (never a clash on 8787); the
                # workers without Dask's MALLOC_TRIM_THRESHOLD_ (its nannies set 64 KiB, which turns off glibc's
                # adaptive mmap threshold: every large NumPy temporary is then mapped and faulted in afresh, and
                # the analysis ran 2.3x slower in the workers than in the local pool)
                with dask.config.set({f"{PRE_SPAWN_ENVIRON}.MALLOC_TRIM_THRESHOLD_": None}):
                    cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                           silence_logs=logging.ERROR)
                address = cluster.scheduler_address
            else:
                address = self.scheduler
            client = Client(address, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, RuntimeError) as exc:
            if cluster is not None:
                cluster.close()
            where = self.scheduler or "a local cluster"
            raise EngineError(f"cannot reach the Dask scheduler at {where!r}: {exc}") from None
        return client, cluster

    @staticmethod
    def _window(client) -> int:
        try:
            threads = sum(client.nthreads().values())
        except Exception:  # noqa: BLE001 - scheduler busy or reconnecting: keep a modest window
            threads = 0
        return max(MIN_WINDOW, WINDOW_PER_THREAD * threads)

    def run(self, items: Sequence[ScanItem], config: AnalysisConfig) -> Iterator[tuple[int, TrackReport]]:
        from concurrent.futures import CancelledError

        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        if not items:
            return
        client, cluster = self._connect(config)
        try:
            client.register_plugin(getattr(sys.modules[__name__], "WarmKernels")(config))
        except BaseException:
            client.close()
            if cluster is not None:
                cluster.close()
            raise
        token = uuid.uuid4().hex[:12]
        key_index: dict[str, int] = {}
        done: set[int] = set()
        todo = iter(range(len(items)))
        futures = as_completed(loop=client.loop, with_results=False)
        try:
            window = self._window(client)
            resized = time.monotonic()

            def submit_more() -> None:
                while futures.count() < window:
                    i = next(todo, None)
                    if i is None:
                        return
                    key = f"musicforensics-analyse-{token}-{i}"
                    key_index[key] = i
                    futures.add(client.submit(analyse_item, items[i], config, key=key, pure=False))

            submit_more()
            for fut in futures:
                i = key_index.pop(fut.key)
                try:
                    report = fut.result()
                except CancelledError as exc:  # the scheduler went away: the scan cannot go on
                    raise EngineError(f"lost the Dask scheduler mid-scan ({exc}); "
                                      "with --store, run the same command again to resume") from None
                except KilledWorker:
                    report = TrackReport(path=items[i].label, status=STATUS_ERROR, config_key=config.cache_key(),
                                         error="the Dask workers analysing this file died repeatedly")
                except Exception as exc:  # noqa: BLE001 - a task failure is this file's error, not the scan's
                    report = TrackReport(path=items[i].label, status=STATUS_ERROR, config_key=config.cache_key(),
                                         error=f"analysis failed on a Dask worker: {type(exc).__name__}: {exc}")
                fut.release()
                if i not in done:  # a resubmitted task can only count once
                    done.add(i)
                    yield i, report
                if time.monotonic() - resized > RESIZE_EVERY_S:
                    window, resized = self._window(client), time.monotonic()
                submit_more()
        finally:
            futures.clear()
            client.close()
            if cluster is not None:
                cluster.close()


__all__ = ["DaskEngine"]
