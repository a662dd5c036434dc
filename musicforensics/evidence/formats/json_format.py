"""One JSON document: run metadata, summary counts and every track record."""

from __future__ import annotations

import json

from ...results import SCHEMA_VERSION


def render(reports, *, summary: dict, meta: dict) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run": meta,
        "summary": summary,
        "results": [r.to_dict() for r in reports],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
