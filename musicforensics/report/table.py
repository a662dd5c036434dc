"""A plain-text table for terminals and logs (rich renders it; no colour unless the target is a terminal)."""

from __future__ import annotations

import io

from ..results import STATUS_ERROR, STATUS_INCONCLUSIVE


def describe_format(audio: dict | None) -> str:
    """'FLAC 44.1 kHz/16-bit 2 ch 30.0 s' from an audio record."""
    if not audio:
        return ""
    rate = audio.get("sample_rate") or 0
    bits = audio.get("bit_depth")
    depth = f"/{bits}-bit" if bits else ""
    if audio.get("lossy_codec"):
        depth = f" {audio['lossy_codec']}"
        if audio.get("bitrate_kbps"):
            depth += f" ~{audio['bitrate_kbps']:.0f} kbps"
    return f"{audio.get('container', '')} {rate / 1000:g} kHz{depth} {audio.get('channels', '')} ch {audio.get('duration_s', 0):.1f} s"


def describe_verdicts(report) -> str:
    """Short text of the positive findings with their probability and the headline evidence."""
    if report.status == STATUS_ERROR:
        return report.error or "error"
    parts = []
    for kind in report.findings:
        f = report.verdicts[kind]
        parts.append(f"{kind} p={f.probability:.2f}" + (f" ({f.reason})" if f.reason else ""))
    if not parts and report.status == STATUS_INCONCLUSIVE:
        return "inconclusive: " + "; ".join(report.reasons)
    return "; ".join(parts) if parts else "clean"


def build(reports):
    from rich.table import Table

    table = Table(show_lines=False, expand=False)
    table.add_column("path", overflow="fold")
    table.add_column("status")
    table.add_column("format", overflow="fold")
    table.add_column("verdict", overflow="fold")
    for r in reports:
        table.add_row(r.path, r.status, describe_format(r.audio), describe_verdicts(r))
    return table


def render(reports, *, summary: dict, meta: dict, width: int | None = None) -> str:
    from rich.console import Console

    buf = io.StringIO()
    # paths and reasons are never markup or emoji codes (music folders are full of brackets and colons)
    console = Console(file=buf, width=width or 160, no_color=True, color_system=None, highlight=False,
                      force_terminal=False, markup=False, emoji=False)
    console.print(build(reports))
    return buf.getvalue()
