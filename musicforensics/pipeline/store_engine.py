"""An engine that answers from a :class:`~.store.ResultStore` and saves every new result in it: resumable
scans, and rescans that analyse only new or changed files."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from ..config import AnalysisConfig
from ..errors import Interrupted, StoreError
from ..results import TrackReport
from .engines import prepare
from .store import FileStat, ResultStore, StoreStats, analyzer_key


class StoreEngine:
    """An engine that answers from a :class:`ResultStore` and saves results.

    Stored results are yielded first (with the path label of the current scan); the remaining items go to
    ``inner`` and each result is written to the store as it arrives, before it is yielded. Every index is
    yielded exactly once, even if ``inner`` repeats one.

    Parameters
    ----------
    inner : Engine
        What analyses the files that are not reusable (local pool, Dask, ...).
    store : ResultStore
    force : bool
        Analyse every file again (and overwrite its stored result).
    verify : bool
        Hash every stored file even when size and mtime are unchanged.
    retry_errors : bool
        Analyse files whose stored result is an error again (default).
    engine_name : str
        Recorded with the scan in the store's ``scans`` table.
    """

    def __init__(self, inner, store: ResultStore, *, force: bool = False, verify: bool = False,
                 retry_errors: bool = True, engine_name: str = "") -> None:
        self.inner = inner
        self.store = store
        self.force = force
        self.verify = verify
        self.retry_errors = retry_errors
        self.engine_name = engine_name or type(inner).__name__
        self.stats = StoreStats()
        self.scan_id: int | None = None
        self.plan_seconds = 0.0

    def prepare(self, config: AnalysisConfig) -> None:
        """Nothing yet: whether any file needs analysing is known only while planning (:meth:`run` prepares the
        inner engine at the first such file, so a rescan with nothing to analyse starts no worker)."""

    def run(self, items: Sequence, config: AnalysisConfig) -> Iterator[tuple[int, TrackReport]]:
        ckey, akey = config.cache_key(), analyzer_key(config)
        stats = self.stats = StoreStats()
        t0 = time.perf_counter()
        hits: list[tuple[int, TrackReport]] = []
        todo: list[int] = []
        stat_of: dict[int, FileStat] = {}
        prepared = False
        for i, item in enumerate(items):
            if item.error:  # discovery failure: reported, never stored
                todo.append(i)
                continue
            if self.force:
                try:
                    stat_of[i] = FileStat.of(item.path)
                except OSError:
                    pass
                stats.note("forced")
            else:
                report, st, reason = self.store.lookup(item.path, config_key=ckey, analyzer=akey,
                                                       verify=self.verify, retry_errors=self.retry_errors,
                                                       stats=stats)
                stats.note(reason)
                if report is not None:
                    report.path = item.label
                    hits.append((i, report))
                    continue
                if st is not None:
                    stat_of[i] = st
            todo.append(i)
            if not prepared:  # the first file to analyse: the inner engine starts its workers while we plan on
                prepare(self.inner, config)
                prepared = True
        self.plan_seconds = time.perf_counter() - t0
        self.scan_id = self.store.begin_scan(config, analyzer=akey, engine=self.engine_name, files=len(items))
        inner = None
        try:
            for i, report in hits:
                stats.reused += 1
                yield i, report
            seen: set[int] = set()
            if todo:
                inner = self.inner.run([items[i] for i in todo], config)
                for j, report in inner:
                    i = todo[j]
                    if i in seen:
                        continue
                    seen.add(i)
                    stats.analysed += 1
                    if i in stat_of:
                        self.store.put(report, stat_of[i], config_key=ckey, analyzer=akey, scan_id=self.scan_id)
                        stats.written += 1
                    yield i, report
        except BaseException:
            # stopped early (Ctrl-C, a closed pipe, a failing engine, the consumer gone): stop the inner engine's
            # workers, and record the scan as interrupted; every result yielded so far is already committed
            # the scan row first: stopping the workers can itself be interrupted (a second signal, or an
            # interrupt raised again after Python dropped it in a callback), and the row must not stay "running"
            try:
                self._record_interrupted(stats)
            finally:
                if inner is not None:
                    inner.close()
            raise
        self.store.end_scan(self.scan_id, stats)

    def _record_interrupted(self, stats: StoreStats) -> None:
        """Mark the scan interrupted; an interrupt that arrives while the row is written (a second signal, the
        pipe watcher after a failed write) is held back until it is, so the row never stays "running"."""
        pending: BaseException | None = None
        for _attempt in range(3):
            try:
                self.store.end_scan(self.scan_id, stats, state="interrupted")
                break
            except StoreError:
                break
            except Interrupted as exc:
                pending = exc
        if pending is not None:
            raise pending
