"""``musicforensics explain``: every measured fact about one track."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import DetectorOption, MaxSecondsOption, ModelOption, build_config, error_boundary, stdout_console



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

    from ..evidence.formats.texts import describe_format, describe_verdicts

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
        for k, v in f.to_dict()["evidence"].items():
            t.add_row(k, _fmt_value(v))
        console.print(t)
    if report.detectors:
        t = Table(title="detectors")
        for col in ("name", "version", "status", "seconds"):
            t.add_column(col)
        for d in report.detectors:
            t.add_row(d.detector, d.version, d.status, f"{d.seconds:.3f}")
        console.print(t)


def _write_plots(file: Path, report, config, plot_dir: Path | None, *, log_freq: bool) -> None:
    """Write the PNG evidence of ``report`` (paths listed on stderr); a plotting failure is reported, not fatal."""
    from ..evidence import plot as plotting
    from .common import stderr_console

    console = stderr_console()
    if report.status == "error":
        console.print(f"no plots: {report.error}", markup=False)
        return
    out = plot_dir if plot_dir is not None else Path(plotting.DEFAULT_PLOT_DIR)
    with error_boundary():
        written = plotting.write_track_plots(file, report, out_dir=out, config=config,
                                             freq_scale="log" if log_freq else "linear")
    for path in written:
        console.print(f"wrote {path}", markup=False)


def register(app: typer.Typer) -> None:
    @app.command("explain")
    def explain_command(
        file: Annotated[Path, typer.Argument(metavar="FILE", help="One audio file.", show_default=False)],
        as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print the full JSON record instead of tables.")] = False,
        max_seconds: MaxSecondsOption = None,
        detectors: DetectorOption = None,
        plot: Annotated[bool, typer.Option("--plot", metavar="", help="Also write PNG evidence: spectrogram, long-term spectrum, comb view and a one-page summary.")] = False,
        plot_dir: Annotated[Optional[Path], typer.Option("--plot-dir", metavar="DIR", help="Folder for the PNGs (implies --plot; default ./musicforensics-plots). Existing files are never overwritten.", file_okay=False)] = None,
        model: ModelOption = None,
        log_freq: Annotated[bool, typer.Option("--log-freq", metavar="", help="Draw the spectrogram PNG on a log-frequency axis.")] = False,
    ) -> None:
        """Show every measured fact and every verdict, with its evidence, for one track.

        Exit code: 0 nothing found, 1 findings, 3 the file could not be analysed.
        """
        from ..pipeline.analysis import analyze_file
        from ..pipeline.scan import Tally

        with error_boundary():
            config = build_config(max_seconds=max_seconds, detectors=detectors, ai_model=model)
            report = analyze_file(file, config=config)
        if as_json:
            sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        else:
            render_explain(report)
        if plot or plot_dir is not None:
            _write_plots(file, report, config, plot_dir, log_freq=log_freq)
        tally = Tally()
        tally.add(report)
        raise typer.Exit(tally.exit_code())
