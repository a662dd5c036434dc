"""``musicforensics explain``: every measured fact about one track."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import DetectorOption, MaxSecondsOption, build_config, error_boundary, stdout_console

ORDER = 20


def _fmt_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        shown = ", ".join(_fmt_value(v) for v in value[:8])
        return f"[{shown}{', ...' if len(value) > 8 else ''}]" + (f" ({len(value)} items)" if len(value) > 8 else "")
    if isinstance(value, dict):
        return "; ".join(f"{k}={_fmt_value(v)}" for k, v in value.items())
    return str(value)


def render_explain(report) -> None:
    """Readable terminal layout of one report (stdout: it is the result)."""
    from rich.panel import Panel
    from rich.table import Table

    from ..report.table import describe_format, describe_verdicts

    console = stdout_console()
    head = f"{report.path}\nstatus: {report.status}"
    if report.error:
        head += f"\nerror: {report.error}"
    if report.reasons:
        head += "\nreasons: " + "; ".join(report.reasons)
    head += f"\n{describe_format(report.audio)}\nverdict: {describe_verdicts(report)}"
    console.print(Panel(head, title="musicforensics explain", expand=False), markup=False)

    if report.audio:
        t = Table(title="container", show_header=False)
        for k, v in report.audio.items():
            t.add_row(k, _fmt_value(v))
        console.print(t)
    if report.facts:
        t = Table(title="measured facts", show_header=False)
        for k, v in report.facts.items():
            if k != "tracebacks":
                t.add_row(k, _fmt_value(v))
        console.print(t)
    for kind in sorted(report.verdicts):
        f = report.verdicts[kind]
        prob = "n/a" if f.probability is None else f"{f.probability:.4f}"
        state = "INCONCLUSIVE" if f.inconclusive else ("DETECTED" if f.detected else "not detected")
        t = Table(title=f"{kind}: {state} (p={prob}, detector {f.detector})", show_header=False)
        if f.reason:
            t.add_row("reason", f.reason)
        for k, v in f.evidence.items():
            t.add_row(k, _fmt_value(v))
        console.print(t)
    if report.detectors:
        t = Table(title="detectors")
        for col in ("name", "version", "status", "seconds"):
            t.add_column(col)
        for d in report.detectors:
            t.add_row(d.detector, d.version, d.status, f"{d.seconds:.3f}")
        console.print(t)


def register(app: typer.Typer) -> None:
    @app.command("explain")
    def explain_command(
        file: Annotated[Path, typer.Argument(help="One audio file.", show_default=False)],
        as_json: Annotated[bool, typer.Option("--json", help="Print the full JSON record instead of tables.")] = False,
        max_seconds: MaxSecondsOption = None,
        detectors: DetectorOption = None,
    ) -> None:
        """Show every measured fact and every verdict, with its evidence, for one track.

        Exit code: 0 nothing found, 1 findings, 3 the file could not be analysed.
        """
        from ..analysis import analyze_file
        from ..scan import Tally

        with error_boundary():
            config = build_config(max_seconds=max_seconds, detectors=detectors)
            report = analyze_file(file, config=config)
        if as_json:
            sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        else:
            render_explain(report)
        tally = Tally()
        tally.add(report)
        raise typer.Exit(tally.exit_code())
