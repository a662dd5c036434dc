"""``musicforensics evaluate``: score the detectors against a labelled manifest (corpus or real-world set)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    DetectorOption,
    ForceOption,
    JobsOption,
    MaxSecondsOption,
    QuietOption,
    RichProgress,
    build_config,
    check_output_path,
    error_boundary,
    stderr_console,
    stdout_console,
    write_output,
)


ManifestArgument = Annotated[Path, typer.Argument(metavar="MANIFEST", help="Labelled manifest CSV, corpus or real-world layout (paths relative to its folder).",
                                                  show_default=False, dir_okay=False)]
SplitOption = Annotated[str, typer.Option("--split", metavar="SPLIT", help="Rows to evaluate: eval, dev or all (a manifest without a split column: always all).")]
JsonOption = Annotated[bool, typer.Option("--json", metavar="", help="Print the evaluation as JSON on stdout instead of tables.")]
PlotOption = Annotated[Path | None, typer.Option("--plot", metavar="FILE", help="Write a PNG with ROC and reliability curves.", dir_okay=False)]
ResultsOutOption = Annotated[Path | None, typer.Option("--results-out", metavar="FILE", help="Also store every track result as JSON Lines (re-score later with --from-results).", dir_okay=False)]
FromResultsOption = Annotated[Path | None, typer.Option("--from-results", metavar="FILE", help="Re-score stored JSON Lines results instead of analysing.", dir_okay=False)]
TargetFprOption = Annotated[float, typer.Option("--target-fpr", metavar="RATE", min=0.0, max=1.0, help="False-positive rate the reported threshold is chosen for.")]


def print_tables(doc: dict) -> None:
    """Rich tables on a terminal; markdown tables otherwise (pipes, files, CI logs)."""
    from ..evidence.evaluation_tables import tables, to_markdown

    if not sys.stdout.isatty():
        sys.stdout.write(to_markdown(doc))
        sys.stdout.flush()
        return
    from rich import box
    from rich.table import Table

    console = stdout_console()
    for title, header, rows in tables(doc):
        table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_lines=False)
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
        for r in rows:
            table.add_row(*r)
        console.print(table, markup=False)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        manifest: ManifestArgument,
        split: SplitOption = "eval",
        jobs: JobsOption = None,
        json_out: JsonOption = False,
        plot: PlotOption = None,
        results_out: ResultsOutOption = None,
        from_results: FromResultsOption = None,
        target_fpr: TargetFprOption = 0.01,
        max_seconds: MaxSecondsOption = None,
        detectors: DetectorOption = None,
        force: ForceOption = False,
        quiet: QuietOption = False,
    ) -> None:
        """Score the detectors on a labelled MANIFEST: the corpus layout (benchmarks/corpus, label_* columns) or
        the real-world layout (class, format, notes: labels derived, see docs/usage.md).

        Prints detection rates per codec/setting, architecture (generator) and family (source), false-positive
        rates per genuine family (Wilson 95% intervals), counts per duration band, ROC AUC, calibration and the
        threshold for --target-fpr. INCONCLUSIVE verdicts and unknown labels are counted apart. Files that are
        missing or fail are counted and listed. Exit code: 0 done, 2 usage error, 3 some files failed.
        """
        with error_boundary():
            from ..errors import ParameterError
            from ..evidence.evaluation_tables import to_json
            from ..evidence.formats.jsonl import record
            from ..exit_codes import EXIT_CLEAN, EXIT_FAILURES
            from ..pipeline.engines import make_engine
            from ..pipeline.evaluation import run_evaluation
            from ..pipeline.manifest import SPLITS

            if split not in SPLITS:
                raise ParameterError(f"--split {split!r}: choose from {list(SPLITS)!r}")
            if from_results is not None and results_out is not None:
                raise ParameterError("--from-results and --results-out together would copy stored results; use one")
            for out in (plot, results_out):
                check_output_path(out, force=force)
            config = build_config(max_seconds=max_seconds, detectors=detectors)
            engine = None if from_results is not None else make_engine(jobs=jobs)
            doc, reports = run_evaluation(
                manifest, split=split, config=config, engine=engine, progress=RichProgress(enabled=not quiet),
                from_results=from_results, target_fpr=target_fpr,
            )
            if results_out is not None:
                write_output(results_out, "".join(record(r) for r in reports), force=force)
            if plot is not None:
                from ..evidence.plot_eval import evaluation_png

                write_output(plot, evaluation_png(doc), force=force)
            if json_out:
                sys.stdout.write(to_json(doc))
                sys.stdout.flush()
            else:
                print_tables(doc)
            if not quiet:
                f = doc["files"]
                stderr_console().print(
                    f"{f['total']} files ({doc['meta']['split_note'] or split}): {f['ok']} ok, {f['inconclusive']} inconclusive, "
                    f"{f['error']} error(s); {doc['meta']['wall_seconds']:.1f} s", markup=False, highlight=False)
            code = EXIT_FAILURES if doc["files"]["error"] else EXIT_CLEAN
        raise typer.Exit(code)
