"""JSON Lines: one self-describing track record per line (each carries ``schema_version``)."""

from __future__ import annotations

import json


def record(report) -> str:
    """One line (with its newline) for one report; a stored report under the path it was stored with is
    written as the text it was read from (the same bytes: the store writes this same form)."""
    source = getattr(report, "source_json", None)
    if source is not None and source[1].get("path") == report.path:
        return source[0] + "\n"
    return json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def render(reports, *, summary: dict, meta: dict) -> str:
    return "".join(record(r) for r in reports)
