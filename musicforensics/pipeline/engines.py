"""Engines: where the files of a scan are analysed (this process, a local process pool, a Dask cluster).

Every engine runs :func:`~musicforensics.pipeline.work.analyse_item` over the items and yields
``(index, report)`` once per item in any order; :func:`musicforensics.pipeline.scan.scan` puts them back in
discovery order. Stopping early (Ctrl-C, a closed pipe) stops the workers at once.

Nothing here loads the analysis: the scanning process of a pool never imports numba or scipy, and an engine
whose files all come from a result store starts no worker at all. The pool's workers are forked from a fork
server that loaded the analysis and its kernels once (:mod:`.preload`), so each worker is ready at once.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import select
import signal
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator, Protocol, Sequence

from ..config import AnalysisConfig
from ..errors import ParameterError
from ..results import STATUS_ERROR, TrackReport
from .work import ScanItem, analyse_item

#: The module the fork server imports before forking workers (the analysis and its kernels, loaded once).
PRELOAD_MODULE = "musicforensics.pipeline.preload"


class Engine(Protocol):
    """Runs :func:`analyse_item` over items; yields (index, report) in any order, each index exactly once.

    An engine may also have ``prepare(config)``, which says files are coming: it may start its workers then (it
    must not block), so they warm up while the caller still discovers files or answers others from a result
    store. :func:`prepare` calls it where it exists.
    """

    def run(self, items: Sequence[ScanItem], config: AnalysisConfig) -> Iterator[tuple[int, TrackReport]]: ...


class SerialEngine:
    """Everything in this process, in order (the analysis loads with the first file)."""

    def prepare(self, config):
        pass

    def run(self, items, config):
        for i, item in enumerate(items):
            yield i, analyse_item(item, config)


def watch_parent(parent_pid: int) -> None:
    """Exit this process as soon as process ``parent_pid`` ends (a daemon thread waits for it).

    Worker processes call this at start, so a scan killed with SIGKILL (no chance to clean up) leaves no worker
    behind: with the forkserver start method the workers are not even children of the scan, so the kernel's
    parent-death signal would not reach them. Linux: a pidfd becomes readable when the process exits (no PID
    reuse race); elsewhere the parent's existence is polled twice a second.
    """

    def wait_pidfd(fd: int) -> None:
        select.select([fd], [], [])
        os._exit(0)

    def poll() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # alive, owned by someone else (cannot happen for our own parent)
                pass

    try:
        fd = os.pidfd_open(parent_pid)
    except ProcessLookupError:
        os._exit(0)  # the scan is already gone
    except (AttributeError, OSError):
        threading.Thread(target=poll, name="musicforensics-parent-watch", daemon=True).start()
        return
    threading.Thread(target=wait_pidfd, args=(fd,), name="musicforensics-parent-watch", daemon=True).start()


def _worker_start(parent_pid: int) -> None:
    """Initializer of every worker process: Ctrl-C is the parent's to handle (a terminal sends SIGINT to the
    whole process group; the parent then stops the workers itself), and the worker dies with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent(parent_pid)


#: Longest wait (s) for a stopped pool's manager thread to wind down (it does in milliseconds once the workers
#: are gone).
STOP_JOIN_SECONDS = 2.0


def _stop_now(pool) -> None:
    """Stop a ProcessPoolExecutor's workers at once (terminate, not wait for the files in flight).

    Before Python 3.14 the pool's manager thread is then given up to STOP_JOIN_SECONDS to wind down: it closes
    its wake-up pipe as it goes, while ``concurrent.futures``' exit hook writes to that pipe unguarded, so an
    exit during its clean-up printed ``OSError: [Errno 9] Bad file descriptor`` (CPython guards that pipe with a
    lock since late 2024, python/cpython gh-125451, which not every supported release has, 3.11 among them; once
    the thread has finished, the hook sees the pipe closed and skips it)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except (OSError, ValueError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    if manager is not None and manager.is_alive():
        manager.join(timeout=STOP_JOIN_SECONDS)


def prepare(engine: Engine, config: AnalysisConfig) -> None:
    """Tell ``engine`` that files are coming (its ``prepare``, when it has one)."""
    hook = getattr(engine, "prepare", None)
    if hook is not None:
        hook(config)


def pool_context() -> mp.context.BaseContext:
    """The start method of the local pool: ``forkserver`` preloading :data:`PRELOAD_MODULE` where the platform
    has it, else ``spawn``.

    Why a fork server: forking the scanning process itself would copy its threads' state (the standard-output
    watcher, a Dask client) and its open result store into every worker, and it has not loaded the analysis;
    ``spawn`` makes every worker import and load everything again. The fork server is a fresh, single-threaded
    process that loads the analysis once; each worker is a fork of it, its kernels already compiled. Setting the
    preload affects only a fork server started from now on (one already running is used as it is).
    """
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([PRELOAD_MODULE])
    return ctx


def start_pool_server() -> None:
    """Start the fork server now, without waiting for it (it warms up in the background); no-op where the start
    method is not ``forkserver`` or the server already runs."""
    if pool_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


class ProcessPoolEngine:
    """A local process pool (the default engine).

    Workers are forked from a fork server that has loaded the analysis and its kernels (:func:`pool_context`):
    they start analysing at once. :meth:`prepare` starts that server early, so it warms up while the scanning
    process still discovers files (or answers them from a store). At most ``2 * jobs`` files are in flight, so a
    library of millions never queues millions of futures.
    If a worker process dies (e.g. a decoder crash on a corrupt file), the pool is rebuilt and unfinished
    files are retried; a file in flight during two crashes is reported as an error, not retried forever.
    When the run stops early (Ctrl-C, a closed pipe, the consumer gone), files that had already finished are
    still delivered when the stop was raised inside the engine, and the workers are terminated at once; a
    worker also exits by itself when the scanning process dies (:func:`watch_parent`).
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))

    def prepare(self, config):
        start_pool_server()

    def run(self, items, config):
        if not items:
            return
        ctx = pool_context()
        pending = list(range(len(items)))[::-1]  # stack, next index at the end
        crashes: Counter = Counter()
        while pending:
            pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx, initializer=_worker_start,
                                       initargs=(os.getpid(),))
            running: dict = {}
            broken = False
            finished = False
            try:
                while pending or running:
                    while pending and len(running) < 2 * self.jobs:
                        i = pending.pop()
                        running[pool.submit(analyse_item, items[i], config)] = i
                    try:
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                    except GeneratorExit:
                        raise
                    except BaseException:
                        # stopped while waiting (Ctrl-C, SIGTERM): hand over what finished, then stop
                        for fut, i in list(running.items()):
                            if fut.done() and not fut.cancelled() and fut.exception() is None:
                                yield i, fut.result()
                        raise
                    for fut in done:
                        i = running.pop(fut)
                        try:
                            report = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            crashes[i] += 1
                            if crashes[i] >= 2:
                                yield i, TrackReport(path=items[i].label, status=STATUS_ERROR,
                                                     error="the analysing process crashed on this file (twice)",
                                                     config_key=config.cache_key())
                            else:
                                pending.append(i)
                            continue
                        yield i, report
                    if broken:
                        for fut, i in running.items():
                            crashes[i] += 1
                            pending.append(i)
                        running.clear()
                        break
                finished = True
            finally:
                if finished or broken:
                    pool.shutdown(wait=not broken, cancel_futures=True)
                else:
                    _stop_now(pool)


def make_engine(*, jobs: int | None = None, engine: str = "local", scheduler: str | None = None) -> Engine:
    """The engine for a scan: ``local`` (process pool, or in-process when jobs == 1) or ``dask`` (a Dask
    cluster at ``scheduler``, or a local Dask cluster of ``jobs`` worker processes when None)."""
    if scheduler is not None and engine != "dask":
        raise ParameterError(f"scheduler={scheduler!r} needs engine='dask' (got engine={engine!r})")
    if engine == "local":
        n = jobs or os.cpu_count() or 1
        return SerialEngine() if n == 1 else ProcessPoolEngine(n)
    if engine == "dask":
        from .dask_engine import DaskEngine  # the optional 'distributed' dependency loads only when asked for

        return DaskEngine(scheduler=scheduler, workers=jobs)
    raise ParameterError(f"engine={engine!r}: choose from ['local', 'dask']")
