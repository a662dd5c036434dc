"""``musicforensics peaks``: AI-music detection only (the deconvolution-comb detector)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .cmd_scan import PathsArgument, run_scan
from .common import (
    FailOnOption,
    ForceOption,
    FormatOption,
    JobsOption,
    MaxSecondsOption,
    OutputOption,
    QuietOption,
    error_boundary,
)

ORDER = 30

ModelOption = Annotated[Path | None, typer.Option(
    "--model", metavar="FILE", help="AI model JSON from 'musicforensics train' (default: the shipped model, or $MUSICFORENSICS_AI_MODEL).",
    dir_okay=False, exists=True,
)]


def register(app: typer.Typer) -> None:
    @app.command("peaks")
    def peaks_command(
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

        Same outputs and options as scan, running only the deconv detector: the comb spacing, the teeth that
        fired, the implied stride product and architecture family, and a calibrated probability.

        Exit code: 0 nothing found, 1 AI detected, 2 usage error, 3 some files could not be analysed.
        """
        with error_boundary():
            meta = {}
            if model is not None:
                from ..detectors.deconv import MODEL_ENV
                from ..learned import load_model

                load_model(model)  # validate before any work
                os.environ[MODEL_ENV] = str(model.resolve())  # inherited by worker processes
                meta["ai_model"] = str(model)
            code = run_scan(paths, command="peaks", detectors="deconv", jobs=jobs, fmt=fmt, output=output, force=force,
                            quiet=quiet, fail_on=fail_on, max_seconds=max_seconds, extra_meta=meta)
        raise typer.Exit(code)
