"""Scan many files: discover audio under the given paths, analyse them on an engine, tally the outcome.

The library side of ``musicforensics scan``: no terminal output here. Progress goes to an injected sink;
results come back in a deterministic order (the discovery order) whatever the engine or job count.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from .config import AUDIO_EXTENSIONS, AnalysisConfig
from .results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, TrackReport

# Exit codes (docs/exit-codes.md): failure outranks findings.
EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_FAILURES = 3
#: Stopped from outside (128 + the signal's number, the shell's convention): Ctrl-C, SIGTERM, a closed pipe.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141


@dataclass(frozen=True)
class ScanItem:
    """One file to analyse: ``label`` is the path as reported, ``path`` what is opened, ``error`` a
    discovery-time failure (the file is then reported, not analysed)."""

    label: str
    path: str
    error: str | None = None


def _is_audio_name(name: str, extensions: Sequence[str]) -> bool:
    return os.path.splitext(name)[1].lower() in extensions


def discover(paths: Iterable[str], *, extensions: Sequence[str] = AUDIO_EXTENSIONS) -> list[ScanItem]:
    """List the files a scan of ``paths`` covers.

    A file named explicitly is always included (a non-audio file then gets a per-file error). Folders are
    walked recursively, following symbolic links but never entering the same real folder twice (so link
    loops end), keeping files whose extension is in ``extensions``. Labels join the argument as given with
    the path below it, so an absolute argument yields absolute labels. The same real file is listed once.
    Missing paths and unreadable folders become items carrying an error.
    """
    items: list[ScanItem] = []
    seen_files: set[str] = set()
    seen_dirs: set[str] = set()
    exts = tuple(e.lower() for e in extensions)

    def add(label: str, full: str) -> None:
        real = os.path.realpath(full)
        if real in seen_files:
            return
        seen_files.add(real)
        items.append(ScanItem(label=label, path=full))

    for arg in paths:
        arg = os.fspath(arg)
        try:
            st = os.stat(arg)
        except OSError as exc:
            items.append(ScanItem(label=arg, path=arg, error=f"cannot open: {exc.strerror or exc}"))
            continue
        if not stat.S_ISDIR(st.st_mode):
            add(arg, arg)
            continue
        for label, full, error in _walk(arg, exts, seen_dirs):
            if error:
                items.append(ScanItem(label=label, path=full, error=error))
            else:
                add(label, full)
    return items


def _walk(root: str, exts: tuple[str, ...], seen_dirs: set[str]) -> Iterator[tuple[str, str, str | None]]:
    """Depth-first, name-sorted walk yielding (label, path, error)."""
    real = os.path.realpath(root)
    if real in seen_dirs:
        return
    seen_dirs.add(real)
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield root, root, f"cannot list folder: {exc.strerror or exc}"
        return
    for entry in entries:
        full = os.path.join(root, entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(full, exts, seen_dirs)
        elif _is_audio_name(entry.name, exts):
            yield full, full, None


# -- engines -------------------------------------------------------------------------------------------

def analyse_item(item: ScanItem, config: AnalysisConfig) -> TrackReport:
    """Analyse one item in the current process (the unit of work every engine runs)."""
    from .analysis import analyze_file

    if item.error:
        return TrackReport(path=item.label, status=STATUS_ERROR, error=item.error, config_key=config.cache_key())
    report = analyze_file(item.path, config=config, label=item.label)
    report.__dict__.pop("spectrum", None)  # arrays stay in the worker; reports travel light
    return report


class Engine(Protocol):
    """Runs :func:`analyse_item` over items; yields (index, report) in any order, each index exactly once."""

    def run(self, items: Sequence[ScanItem], config: AnalysisConfig) -> Iterator[tuple[int, TrackReport]]: ...


class SerialEngine:
    """Everything in this process, in order."""

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
        import select

        select.select([fd], [], [])
        os._exit(0)

    def poll() -> None:
        import time

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


def _stop_now(pool) -> None:
    """Stop a ProcessPoolExecutor's workers at once (terminate, not wait for the files in flight)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except (OSError, ValueError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)


class ProcessPoolEngine:
    """A local process pool (the default engine).

    At most ``2 * jobs`` files are in flight, so a library of millions never queues millions of futures.
    If a worker process dies (e.g. a decoder crash on a corrupt file), the pool is rebuilt and unfinished
    files are retried; a file in flight during two crashes is reported as an error, not retried forever.
    When the run stops early (Ctrl-C, a closed pipe, the consumer gone), files that had already finished are
    still delivered when the stop was raised inside the engine, and the workers are terminated at once; a
    worker also exits by itself when the scanning process dies (:func:`watch_parent`).
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))

    def run(self, items, config):
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        from .analysis import warm_up

        warm_up()  # compile/load kernels once; forkserver workers then load them from numba's cache
        ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else mp.get_context("spawn")
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
    from .errors import ParameterError

    if scheduler is not None and engine != "dask":
        raise ParameterError(f"scheduler={scheduler!r} needs engine='dask' (got engine={engine!r})")
    if engine == "local":
        n = jobs or os.cpu_count() or 1
        return SerialEngine() if n == 1 else ProcessPoolEngine(n)
    if engine == "dask":
        from .dask_engine import DaskEngine

        return DaskEngine(scheduler=scheduler, workers=jobs)
    raise ParameterError(f"engine={engine!r}: choose from ['local', 'dask']")


# -- progress and tally -------------------------------------------------------------------------------

class ProgressSink(Protocol):
    """Receives progress; the CLI adapts it to a progress bar. The library never draws anything."""

    def start(self, total: int) -> None: ...

    def advance(self, report: TrackReport) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, report: TrackReport) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class Tally:
    """Counts of outcomes; the single place the exit code comes from."""

    files: int = 0
    statuses: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, report: TrackReport) -> None:
        self.files += 1
        self.statuses[report.status] += 1
        for kind in report.findings:
            self.findings[kind] += 1
        self.seconds += report.seconds

    def exit_code(self, fail_on: Sequence[str] | None = None) -> int:
        """3 if any file failed, else 1 if a finding of a kind in ``fail_on`` (all kinds when None), else 0."""
        if self.statuses[STATUS_ERROR]:
            return EXIT_FAILURES
        kinds = self.findings if fail_on is None else {k: v for k, v in self.findings.items() if k in set(fail_on)}
        return EXIT_FINDINGS if any(kinds.values()) else EXIT_CLEAN

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "ok": self.statuses[STATUS_OK],
            "inconclusive": self.statuses[STATUS_INCONCLUSIVE],
            "error": self.statuses[STATUS_ERROR],
            "findings": dict(sorted(self.findings.items())),
        }


def scan(
    items: Sequence[ScanItem],
    *,
    config: AnalysisConfig,
    engine: Engine | None = None,
    progress: ProgressSink | None = None,
    on_result: Callable[[TrackReport], None] | None = None,
) -> tuple[list[TrackReport], Tally]:
    """Analyse ``items``; ``on_result`` sees each report in discovery order as soon as its turn comes.

    Returns the reports in discovery order and their :class:`Tally`.
    """
    engine = engine or SerialEngine()
    progress = progress or NullProgress()
    tally = Tally()
    results: list[TrackReport | None] = [None] * len(items)
    next_out = 0
    progress.start(len(items))
    runs = iter(engine.run(items, config))
    try:
        for i, report in runs:
            if results[i] is not None:  # an engine retried a file that had already finished: keep the first
                continue
            results[i] = report
            tally.add(report)
            progress.advance(report)
            while next_out < len(results) and results[next_out] is not None:
                if on_result:
                    on_result(results[next_out])
                next_out += 1
    finally:
        close = getattr(runs, "close", None)  # an early stop (a closed pipe, Ctrl-C) stops the engine's workers
        if close is not None:                  # now, not when the generator is collected
            close()
        progress.finish()
    missing = [items[i].label for i, r in enumerate(results) if r is None]
    if missing:  # an engine must return every item; never drop one silently
        for i, r in enumerate(results):
            if r is None:
                results[i] = TrackReport(path=items[i].label, status=STATUS_ERROR, error="no result returned by the engine")
                tally.add(results[i])
                if on_result:
                    on_result(results[i])
    return [r for r in results if r is not None], tally
