"""``musicforensics lossy``: lossy-origin, fake hi-res and padded bit-depth checks only (no AI detector)."""

from __future__ import annotations

import typer

from .cmd_scan import PathsArgument, run_scan
from .common import (
    FailOnOption, ForceOption, FormatOption, JobsOption, MaxSecondsOption, OutputOption, QuietOption, error_boundary,
)


#: Detectors this command runs (lossy origin, fake hi-res, padded bit depth).
LOSSY_DETECTORS = "lossy,hires,bitdepth"


def register(app: typer.Typer) -> None:
    @app.command("lossy")
    def lossy_command(
        paths: PathsArgument,
        jobs: JobsOption = None,
        fmt: FormatOption = "table",
        output: OutputOption = None,
        force: ForceOption = False,
        quiet: QuietOption = False,
        fail_on: FailOnOption = None,
        max_seconds: MaxSecondsOption = None,
    ) -> None:
        """Check every audio file under PATHS for lossy origin, fake hi-res and padded bit depth.

        Same outputs and options as scan. Exit code: 0 nothing found, 1 findings, 2 usage error,
        3 some files could not be analysed.
        """
        with error_boundary():
            code = run_scan(paths, command="lossy", detectors=LOSSY_DETECTORS, jobs=jobs, fmt=fmt, output=output,
                            force=force, quiet=quiet, fail_on=fail_on, max_seconds=max_seconds)
        raise typer.Exit(code)
