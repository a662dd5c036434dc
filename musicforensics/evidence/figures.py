"""The summary figures of a report's flagged tracks: :func:`collect_figures` reads the audio of each flagged
track (through :mod:`.plot`) and returns PNG data or a note saying why there is none; the report formats only
consume these records."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

from ..errors import MusicForensicsError
from ..results import TrackReport
from .formats.texts import FigureRecord, flagged


def resolve_audio(label: str, search_dirs: Sequence[str | os.PathLike] = ()) -> Path | None:
    """The audio file a report's path points to: as given (absolute, or relative to the working folder),
    else relative to each of ``search_dirs`` (e.g. the folder of the JSON results); None when not found."""
    candidates = [Path(label)]
    if not os.path.isabs(label):
        candidates += [Path(d) / label for d in search_dirs]
    for c in candidates:
        try:
            if c.is_file():
                return c
        except OSError:
            continue
    return None


def collect_figures(reports: Sequence[TrackReport], *, config=None, search_dirs: Sequence[str | os.PathLike] = (),
                    max_figures: int = 50, dpi: int = 90,
                    on_figure: Callable[[TrackReport], None] | None = None) -> dict[str, FigureRecord]:
    """Summary figures of the flagged tracks, keyed by report path.

    A track whose audio is not reachable, or whose figure fails, gets a record with a ``note`` saying why;
    past ``max_figures`` the remaining flagged tracks get a note too. ``on_figure`` is called after each.
    """
    out: dict[str, FigureRecord] = {}
    made = 0
    for r in flagged(reports):
        if r.path in out:
            continue
        path = resolve_audio(r.path, search_dirs)
        if path is None:
            out[r.path] = FigureRecord(note="figure not available: the audio file is not reachable from here")
            continue
        if made >= max_figures:
            out[r.path] = FigureRecord(note=f"figure left out: more than {max_figures} flagged tracks (raise --max-figures)")
            continue
        from . import plot  # matplotlib loads only when a figure is drawn

        try:
            out[r.path] = FigureRecord(png=plot.summary_png(path, r, config=config, dpi=dpi))
            made += 1
        except MusicForensicsError as exc:
            out[r.path] = FigureRecord(note=f"figure not available: {exc}")
        except Exception as exc:  # a plotting bug must not lose the whole report
            out[r.path] = FigureRecord(note=f"figure failed: {type(exc).__name__}: {exc}")
        if on_figure is not None:
            on_figure(r)
    return out


__all__ = ["resolve_audio", "collect_figures", "FigureRecord"]
