"""What every command shares: consoles, the error boundary, safe output files, progress, common options."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..config import AnalysisConfig
from ..errors import AudioReadError, MusicForensicsError, OutputExistsError, ParameterError
from ..exit_codes import EXIT_FAILURES, EXIT_USAGE
from ..io.files import check_new, write_new

_DEFAULTS = AnalysisConfig()
#: Console width when stdout is not a terminal: wide enough that rich never folds a line of a table or panel.
UNWRAPPED_WIDTH = 100_000

# -- shared options (defaults come from AnalysisConfig; tests/test_cli.py checks they match) -----------
JobsOption = Annotated[Optional[int], typer.Option("--jobs", "-j", metavar="N", min=1, help="Worker processes (default: all cores).")]
FormatOption = Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="Output format: table, json, jsonl or csv.")]
OutputOption = Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Write results to this file instead of stdout (refuses to overwrite without --force).", dir_okay=False)]
ForceOption = Annotated[bool, typer.Option("--force", metavar="", help="Allow --output to replace an existing file.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress bar or summary on stderr.")]
FailOnOption = Annotated[Optional[str], typer.Option("--fail-on", metavar="KINDS", help="Comma-separated finding kinds that make the exit code 1 (default: every kind), or 'none'.")]
MaxSecondsOption = Annotated[Optional[float], typer.Option("--max-seconds", metavar="SECONDS", min=0.1, help="Analyse only the first N seconds of each file (default: whole file).")]
ModelOption = Annotated[Optional[Path], typer.Option(
    "--model", metavar="FILE", dir_okay=False, exists=True,
    help="AI model JSON from 'musicforensics train' (default: $MUSICFORENSICS_AI_MODEL, else the shipped model).")]
DetectorOption = Annotated[Optional[str], typer.Option("--detectors", metavar="NAMES", help="Comma-separated detector names to run (default: all).")]


def stdout_console():
    """Console for results: plain text when stdout is not a terminal; NO_COLOR honoured (rich reads it).

    Text is never read as rich markup or emoji codes (file names are full of brackets and colons), and when
    stdout is not a terminal nothing is wrapped to a guessed width: pipes and files get whole lines.
    """
    from rich.console import Console

    console = Console(file=sys.stdout, highlight=False, soft_wrap=False, markup=False, emoji=False)
    if not console.is_terminal:
        console.width = UNWRAPPED_WIDTH
    return console


def output_width(output: Path | None) -> int:
    """Width for a rendered table: the terminal's when results go to a terminal, else unlimited (files and
    pipes get whole lines, never a fold at a guessed 80 columns)."""
    if output is None and sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return UNWRAPPED_WIDTH


def stderr_console():
    """Console for humans: progress, summaries, warnings, errors. No markup, no emoji codes, and messages are
    never hard-wrapped (logs and scripts get one line per message)."""
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True, markup=False, emoji=False)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``message`` on stderr (as plain text: a file name is never markup) and return the Exit to raise."""
    from rich.text import Text

    stderr_console().print(Text.assemble(("error:", "bold red"), " ", str(message)))
    return typer.Exit(code)


@contextmanager
def error_boundary():
    """Map library errors to exit codes at the CLI edge: usage problems 2, unreadable input 3."""
    try:
        yield
    except OutputExistsError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except ParameterError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except AudioReadError as exc:
        raise fail(str(exc), EXIT_FAILURES) from None
    except MusicForensicsError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


#: Environment variable naming an AI model file to use instead of the shipped one (``--model`` wins).
AI_MODEL_ENV = "MUSICFORENSICS_AI_MODEL"


def build_config(*, max_seconds: float | None = None, detectors: str | None = None,
                 ai_model: Path | str | None = None) -> AnalysisConfig:
    """AnalysisConfig from CLI options (unset options keep the library defaults). The AI model comes from
    ``--model`` or, failing that, ``$MUSICFORENSICS_AI_MODEL``; it is checked before any work."""
    from ..pipeline.registry import select_specs

    changes: dict = {}
    if max_seconds is not None:
        changes["max_seconds"] = max_seconds
    if detectors:
        names = tuple(n.strip() for n in detectors.split(",") if n.strip())
        select_specs(names)  # validates the names
        changes["detectors"] = names
    model = ai_model or os.environ.get(AI_MODEL_ENV) or None
    if model:
        from ..ai.model import load_model

        load_model(model)  # a bad model file is a usage error now, not a per-file error later
        changes["ai_model"] = str(Path(model).resolve())
    return _DEFAULTS.with_(**changes) if changes else _DEFAULTS


def parse_fail_on(value: str | None) -> list[str] | None:
    """None (every kind), [] ('none'), or the validated list of kinds."""
    if value is None:
        return None
    if value.strip().lower() == "none":
        return []
    from ..pipeline.registry import kinds

    wanted = [k.strip() for k in value.split(",") if k.strip()]
    unknown = sorted(set(wanted) - set(kinds()))
    if unknown:
        raise ParameterError(f"--fail-on {value!r}: unknown kind(s) {unknown!r}; known: {list(kinds())!r}")
    return wanted


def check_output_path(path: Path | None, *, force: bool) -> None:
    """Fail early (before any work) when ``path`` exists and ``force`` is off, or its folder is missing."""
    check_new(path, force=force)


def write_output(path: Path, text: str | bytes, *, force: bool) -> None:
    """Write ``text`` (or bytes, e.g. a PNG) to ``path`` atomically; never replaces an existing file unless
    ``force`` (:func:`musicforensics.io.files.write_new`)."""
    write_new(path, text, force=force)


def emit(text: str, output: Path | None, *, force: bool) -> None:
    """Results go to ``output`` (atomic, never clobbering without ``force``) or, when None, to stdout."""
    if output is not None:
        write_output(output, text, force=force)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


class RichProgress:
    """Adapts the library's progress sink to a rich progress bar on stderr (off when not a terminal)."""

    def __init__(self, *, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self._progress = None
        self._task = None

    def start(self, total: int) -> None:
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=stderr_console(), transient=True,
            # results stream to stdout while the bar draws on stderr: never let the bar capture them
            redirect_stdout=False, redirect_stderr=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("analysing", total=total)

    def advance(self, report) -> None:
        if self._progress is not None:
            from rich.markup import escape

            name = escape(Path(report.path).name[:40])  # the column renders markup: a name is never markup
            self._progress.update(self._task, advance=1, description=f"analysing {name}")

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
