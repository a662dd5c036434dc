"""``musicforensics ai``: AI-music detection only (the neural-decoder comb); ``peaks`` is its former name."""

from __future__ import annotations

import typer

from .cmd_scan import PathsArgument, run_scan
from .common import (
    FailOnOption, ForceOption, FormatOption, JobsOption, MaxSecondsOption, ModelOption, OutputOption, QuietOption,
    error_boundary,
)


def register(app: typer.Typer) -> None:
    def ai_command(
        paths: PathsArgument,
        model: ModelOption = None,
        jobs: JobsOption = None,
        fmt: FormatOption = "table",
        output: OutputOption = None,
        force: ForceOption = False,
        quiet: QuietOption = False,
        fail_on: FailOnOption = None,
        max_seconds: MaxSecondsOption = None,
    ) -> None:
        """Look for neural-decoder deconvolution peaks (AI-generated music) in every file under PATHS.

        Same outputs and options as scan, running only the AI detector: the comb spacing, the teeth that
        fired, the implied stride product and architecture family, and a calibrated probability.

        Exit code: 0 nothing found, 1 AI detected, 2 usage error, 3 some files could not be analysed.
        """
        with error_boundary():
            meta = {"ai_model": str(model)} if model is not None else {}
            code = run_scan(paths, command="ai", detectors="ai", jobs=jobs, fmt=fmt, output=output, force=force,
                            quiet=quiet, fail_on=fail_on, max_seconds=max_seconds, extra_meta=meta, ai_model=model)
        raise typer.Exit(code)

    app.command("ai")(ai_command)
    app.command("peaks", hidden=True, help="Former name of 'ai' (kept for scripts; use 'musicforensics ai').")(
        ai_command)
