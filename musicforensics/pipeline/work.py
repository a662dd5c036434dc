"""The unit of work every engine runs: one :class:`ScanItem` analysed in the current process.

Importing this module is cheap (no NumPy, numba or scipy): the process that only plans a scan (discovery, a
rescan answered from a result store, the parent of a worker pool) never loads the analysis. The analysis loads
on the first file this process analyses itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import AnalysisConfig
from ..results import STATUS_ERROR, TrackReport


@dataclass(frozen=True)
class ScanItem:
    """One file to analyse: ``label`` is the path as reported, ``path`` what is opened, ``error`` a
    discovery-time failure (the file is then reported, not analysed)."""

    label: str
    path: str
    error: str | None = None


def analyse_item(item: ScanItem, config: AnalysisConfig) -> TrackReport:
    """Analyse one item in the current process (the unit of work every engine runs); the report comes back
    without its in-memory spectrum, so it travels light between processes."""
    if item.error:
        return TrackReport(path=item.label, status=STATUS_ERROR, error=item.error, config_key=config.cache_key())
    from .analysis import analyze_file

    return analyze_file(item.path, config=config, label=item.label).without_memory()

