"""``musicforensics scan``: analyse every audio file under the given paths."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import (
    DetectorOption, FailOnOption, ForceOption, FormatOption, JobsOption, MaxSecondsOption, OutputOption,
    ModelOption, QuietOption, RichProgress, build_config, check_output_path, error_boundary, output_width, parse_fail_on,
    stderr_console, emit,
)
from ..errors import Interrupted, ParameterError
from ..exit_codes import EXIT_BROKEN_PIPE


PathsArgument = Annotated[list[Path], typer.Argument(metavar="PATHS", help="Files or folders (searched recursively).", show_default=False)]
StoreOption = Annotated[Optional[Path], typer.Option("--store", metavar="FILE", help="SQLite result store (created if missing): finished files are saved as they complete, an interrupted scan resumes, and unchanged files are answered from it. Nothing is written anywhere else.", dir_okay=False)]
EngineOption = Annotated[str, typer.Option("--engine", metavar="ENGINE", help="local (process pool on this machine) or dask (Dask distributed; needs the optional dask extra).")]
SchedulerOption = Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --engine dask; default: a local Dask cluster of --jobs workers).")]
ForceReanalyseOption = Annotated[bool, typer.Option("--force-reanalyse", metavar="", help="With --store: analyse every file again and replace its stored result.")]
PlotsOption = Annotated[Optional[Path], typer.Option("--plots", metavar="DIR", help="Write the summary figure (PNG) of every flagged file into this folder (created if needed; existing files are never overwritten).", file_okay=False)]
VerifyHashOption = Annotated[bool, typer.Option("--verify-hash", metavar="", help="With --store: check the content hash of every stored file, not only of those whose size or mtime changed.")]


def print_summary(tally, elapsed: float, *, quiet: bool) -> None:
    """Counts and timing on stderr, for humans."""
    if quiet:
        return
    console = stderr_console()
    s = tally.to_dict()
    found = ", ".join(f"{k}: {v}" for k, v in s["findings"].items()) or "none"
    rate = s["files"] / elapsed if elapsed > 0 else 0.0
    console.print(
        f"{s['files']} files: {s['ok']} ok, {s['inconclusive']} inconclusive, {s['error']} error(s); "
        f"findings: {found}; {elapsed:.1f} s ({rate:.1f} files/s)", highlight=False, markup=False, soft_wrap=True,
    )


def run_scan(
    paths: list[Path], *, command: str, detectors: str | None, jobs: int | None, fmt: str, output: Path | None,
    force: bool, quiet: bool, fail_on: str | None, max_seconds: float | None, extra_meta: dict | None = None,
    on_report=None, store: Path | None = None, engine: str = "local", scheduler: str | None = None,
    force_reanalyse: bool = False, verify_hash: bool = False, ai_model: Path | None = None,
) -> int:
    """Shared body of scan-like commands; returns the exit code."""
    from ..evidence.formats import FORMATS, render, run_metadata
    from ..evidence.formats.jsonl import record
    from ..pipeline.discovery import discover
    from ..pipeline.engines import make_engine, prepare
    from ..pipeline.scan import scan

    if fmt not in FORMATS:
        raise ParameterError(f"--format {fmt!r}: choose from {list(FORMATS)!r}")
    config = build_config(max_seconds=max_seconds, detectors=detectors, ai_model=ai_model)
    kinds_failing = parse_fail_on(fail_on)
    check_output_path(output, force=force)
    if (force_reanalyse or verify_hash) and store is None:
        raise ParameterError("--force-reanalyse and --verify-hash need --store PATH")
    engine_name = engine
    engine = make_engine(jobs=jobs, engine=engine, scheduler=scheduler)
    result_store = None
    if store is not None:
        from ..pipeline.store import ResultStore
        from ..pipeline.store_engine import StoreEngine

        result_store = ResultStore(store)
        engine = StoreEngine(engine, result_store, force=force_reanalyse, verify=verify_hash, engine_name=engine_name)
    prepare(engine, config)  # workers warm up while the files are found (with a store: once one needs analysing)
    items = discover([str(p) for p in paths])
    if not items and not quiet:
        stderr_console().print(f"no audio files found under {', '.join(map(str, paths))}", markup=False)
    stream = fmt == "jsonl" and output is None

    def on_result(report):
        if on_report is not None:
            on_report(report)
        if stream:
            sys.stdout.write(record(report))
            sys.stdout.flush()

    t0 = time.perf_counter()
    done = [0]

    def counted(report):
        done[0] += 1
        on_result(report)

    try:
        reports, tally = scan(items, config=config, engine=engine, progress=RichProgress(enabled=not quiet),
                              on_result=counted)
    except Interrupted as exc:
        if not quiet and exc.exit_code != EXIT_BROKEN_PIPE:
            kept = " (kept in the store: run the same command again to resume)" if result_store is not None else ""
            stderr_console().print(f"stopped after {done[0]} of {len(items)} files{kept}")
        raise
    finally:
        if result_store is not None:
            result_store.close()
    elapsed = time.perf_counter() - t0
    meta = run_metadata(config, command=command) | (extra_meta or {})
    if result_store is not None:
        meta["store"] = {"path": str(store), **engine.stats.to_dict()}
    if not stream:
        text = render(fmt, reports, summary=tally.to_dict(), meta=meta, width=output_width(output))
        emit(text, output, force=force)
    print_summary(tally, elapsed, quiet=quiet)
    if result_store is not None and not quiet:
        s = engine.stats
        stderr_console().print(f"store {str(store)!r}: {s.reused} reused, {s.analysed} analysed, {s.hashed} hashed",
                               highlight=False, markup=False, soft_wrap=True)
    return tally.exit_code(kinds_failing)


def _plot_writer(plots: Path | None, *, max_seconds, detectors, quiet: bool, model: Path | None = None):
    """The ``--plots`` hook: a summary PNG for every flagged file (matplotlib loads only when asked)."""
    if plots is None:
        return None
    from ..evidence.plot import FlaggedPlotWriter

    console = stderr_console()
    return FlaggedPlotWriter(plots, config=build_config(max_seconds=max_seconds, detectors=detectors, ai_model=model),
                             on_error=lambda msg: console.print(f"warning: {msg}", markup=False, highlight=False))


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan_command(
        paths: PathsArgument,
        jobs: JobsOption = None,
        fmt: FormatOption = "table",
        output: OutputOption = None,
        force: ForceOption = False,
        quiet: QuietOption = False,
        fail_on: FailOnOption = None,
        max_seconds: MaxSecondsOption = None,
        detectors: DetectorOption = None,
        store: StoreOption = None,
        engine: EngineOption = "local",
        scheduler: SchedulerOption = None,
        force_reanalyse: ForceReanalyseOption = False,
        verify_hash: VerifyHashOption = False,
        plots: PlotsOption = None,
        model: ModelOption = None,
    ) -> None:
        """Analyse every audio file under PATHS with every detector.

        Exit code: 0 nothing found, 1 findings, 2 usage error, 3 some files could not be analysed.
        """
        with error_boundary():
            plot_writer = _plot_writer(plots, max_seconds=max_seconds, detectors=detectors, quiet=quiet, model=model)
            code = run_scan(paths, command="scan", detectors=detectors, jobs=jobs, fmt=fmt, output=output, force=force,
                            quiet=quiet, fail_on=fail_on, max_seconds=max_seconds, store=store, engine=engine,
                            scheduler=scheduler, force_reanalyse=force_reanalyse, verify_hash=verify_hash,
                            ai_model=model,
                            on_report=plot_writer)
        if plot_writer is not None and not quiet:
            stderr_console().print(f"plots: {len(plot_writer.written)} written to {str(plots)!r}, "
                                   f"{plot_writer.failed} failed", markup=False, highlight=False)
        raise typer.Exit(code)
