"""Output formats: turn :class:`~musicforensics.results.TrackReport` lists into text.

One module per format, each with ``render(reports, *, summary, meta) -> str``; JSON Lines can also be
streamed record by record with :func:`.jsonl.record`. Renderers consume results; they compute nothing. The HTML
and Markdown reports (:mod:`.html`, :mod:`.markdown`) share their wording through :mod:`.texts`.
"""

from __future__ import annotations

import datetime
import importlib
import platform
from typing import Sequence

from ..._version import __version__
from ...errors import ParameterError
from ...results import SCHEMA_VERSION, TrackReport

#: Formats ``scan --format`` writes, and the module that renders each (imported when used: the table's rich
#: loads only for a table).
RENDERERS = {"table": "table", "json": "json_format", "jsonl": "jsonl", "csv": "csv_format"}
FORMATS = tuple(RENDERERS)


def render(fmt: str, reports: Sequence[TrackReport], *, summary: dict, meta: dict, width: int | None = None) -> str:
    """Render ``reports`` as ``fmt`` (one of :data:`FORMATS`); ``width`` is the table's line width."""
    if fmt not in RENDERERS:
        raise ParameterError(f"format={fmt!r}: choose from {list(FORMATS)!r}")
    renderer = importlib.import_module(f"{__name__}.{RENDERERS[fmt]}")
    if fmt == "table":
        return renderer.render(reports, summary=summary, meta=meta, width=width)
    return renderer.render(reports, summary=summary, meta=meta)


def run_metadata(config, *, command: str) -> dict:
    """Version, configuration and time of a run, for JSON documents and reports."""
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
