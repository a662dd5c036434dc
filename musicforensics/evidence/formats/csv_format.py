"""CSV: one row per track, fixed columns (the finding kinds of the registered detectors)."""

from __future__ import annotations

import csv
import io

from ...pipeline.registry import kinds as registered_kinds

BASE_COLUMNS = [
    "path", "status", "error", "reasons", "findings", "container", "subtype", "sample_rate", "bit_depth",
    "channels", "duration_s",
]


def columns(kinds) -> list[str]:
    cols = list(BASE_COLUMNS)
    for kind in kinds:
        cols += [f"{kind}_detected", f"{kind}_probability", f"{kind}_status"]
    return cols


def row(report, kinds) -> dict:
    audio = report.audio or {}
    out = {
        "path": report.path, "status": report.status, "error": report.error or "",
        "reasons": "; ".join(report.reasons), "findings": ";".join(report.findings),
        "container": audio.get("container", ""), "subtype": audio.get("subtype", ""),
        "sample_rate": audio.get("sample_rate", ""), "bit_depth": audio.get("bit_depth") or "",
        "channels": audio.get("channels", ""), "duration_s": audio.get("duration_s", ""),
    }
    for kind in kinds:
        f = report.verdicts.get(kind)
        out[f"{kind}_detected"] = "" if f is None else str(bool(f.detected)).lower()
        out[f"{kind}_probability"] = "" if f is None or f.probability is None else f"{f.probability:.6f}"
        out[f"{kind}_status"] = "" if f is None else ("inconclusive" if f.inconclusive else "decided")
    return out


def render(reports, *, summary: dict, meta: dict) -> str:
    kinds = sorted(set(registered_kinds()) | {k for r in reports for k in r.verdicts})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(kinds), lineterminator="\n")
    writer.writeheader()
    for r in reports:
        writer.writerow(row(r, kinds))
    return buf.getvalue()
