"""Scan many files: analyse them on an engine, in discovery order, and tally the outcome.

The library side of ``musicforensics scan``: no terminal output here. Progress goes to an injected sink;
results come back in a deterministic order (the discovery order) whatever the engine or job count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from ..config import AnalysisConfig
from ..exit_codes import EXIT_CLEAN, EXIT_FAILURES, EXIT_FINDINGS
from ..results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, TrackReport
from .engines import Engine, SerialEngine
from .work import ScanItem


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
