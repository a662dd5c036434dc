"""Renderers: turn :class:`~musicforensics.results.TrackReport` lists into output formats.

One module per format, each with ``render(reports, *, summary, meta) -> str``; JSON Lines can also be
streamed record by record with :func:`.jsonl.record`. Renderers consume results; they compute nothing.
"""

from __future__ import annotations

from typing import Sequence

from ..errors import ParameterError
from ..results import TrackReport

#: Formats ``scan --format`` writes, and the module that renders each.
FORMATS = ("table", "json", "jsonl", "csv")


def render(fmt: str, reports: Sequence[TrackReport], *, summary: dict, meta: dict, width: int | None = None) -> str:
    """Render ``reports`` as ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        from . import json_format as mod
    elif fmt == "jsonl":
        from . import jsonl as mod
    elif fmt == "csv":
        from . import csv_format as mod
    elif fmt == "table":
        from . import table as mod

        return mod.render(reports, summary=summary, meta=meta, width=width)
    else:
        raise ParameterError(f"format={fmt!r}: choose from {list(FORMATS)!r}")
    return mod.render(reports, summary=summary, meta=meta)


def run_metadata(config, *, command: str) -> dict:
    """Version, configuration and time of a run, for JSON documents and reports."""
    import datetime
    import platform

    from .._version import __version__
    from ..results import SCHEMA_VERSION

    return {
        "tool": "musicforensics",
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "config": config.to_dict(),
        "config_key": config.cache_key(),
        "python": platform.python_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
