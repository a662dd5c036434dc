"""A plain-text table for terminals and logs (rich renders it; no colour unless the target is a terminal)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from .texts import describe_format, describe_verdicts


def build(reports):
    table = Table(show_lines=False, expand=False)
    table.add_column("path", overflow="fold")
    table.add_column("status")
    table.add_column("format", overflow="fold")
    table.add_column("verdict", overflow="fold")
    for r in reports:
        table.add_row(r.path, r.status, describe_format(r.audio), describe_verdicts(r))
    return table


def render(reports, *, summary: dict, meta: dict, width: int | None = None) -> str:
    buf = io.StringIO()
    # paths and reasons are never markup or emoji codes (music folders are full of brackets and colons)
    console = Console(file=buf, width=width or 160, no_color=True, color_system=None, highlight=False,
                      force_terminal=False, markup=False, emoji=False)
    console.print(build(reports))
    return buf.getvalue()
