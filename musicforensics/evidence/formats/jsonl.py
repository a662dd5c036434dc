"""JSON Lines: one self-describing track record per line (each carries ``schema_version``)."""

from __future__ import annotations

import json


def record(report) -> str:
    """One line (with its newline) for one report."""
    return json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def render(reports, *, summary: dict, meta: dict) -> str:
    return "".join(record(r) for r in reports)
