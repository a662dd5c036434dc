"""``musicforensics report``: a self-contained HTML (or Markdown) report of a scan, with figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import (
    DetectorOption, ForceOption, JobsOption, MaxSecondsOption, QuietOption, RichProgress, build_config,
    check_output_path, error_boundary, stderr_console, emit,
)


REPORT_FORMATS = ("html", "md")


def load_results(path: Path):
    """Reports and run metadata from ``scan --format json`` (a document with ``results``) or JSON Lines."""
    from ..errors import ParameterError
    from ..pipeline.registry import evidence_types
    from ..results import TrackReport

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"INPUT {str(path)!r}: cannot read results: {exc}") from None
    stripped = text.lstrip()
    records, meta = [], {}
    try:
        doc = json.loads(stripped) if stripped.startswith("{") and path.suffix.lower() != ".jsonl" else None
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("results"), list):
        records, meta = doc["results"], dict(doc.get("run") or {})
    elif isinstance(doc, dict) and "path" in doc:
        records = [doc]
    elif isinstance(doc, dict):
        raise ParameterError(f"INPUT {str(path)!r}: a JSON document without a 'results' list: not musicforensics "
                             "results (write them with 'musicforensics scan -f json')")
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ParameterError(f"INPUT {str(path)!r} line {n}: not JSON ({exc.msg})") from None
    reports = []
    for n, rec in enumerate(records, 1):
        try:
            reports.append(TrackReport.from_dict(rec, evidence_types()))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ParameterError(f"INPUT {str(path)!r} record {n}: not a track record ({exc!r})") from None
    return reports, meta


def _config_from_meta(meta: dict):
    """The analysis configuration recorded in a results document (defaults when absent or unreadable)."""
    from ..config import AnalysisConfig
    from ..errors import ParameterError

    cfg = meta.get("config")
    if not isinstance(cfg, dict):
        return AnalysisConfig()
    fields = set(AnalysisConfig.__dataclass_fields__)
    values = {k: v for k, v in cfg.items() if k in fields}
    if "detectors" in values:
        values["detectors"] = tuple(values["detectors"] or ())
    try:
        return AnalysisConfig(**values)
    except (ParameterError, TypeError):
        return AnalysisConfig()


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="A folder or audio file to scan, or JSON/JSONL results written by 'musicforensics scan'.", show_default=False)],
        output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", help="Report file to write (refuses to overwrite without --force; default: stdout).", dir_okay=False)] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="html (one self-contained file, figures embedded) or md (Markdown; figures written beside it).")] = "html",
        force: ForceOption = False,
        figures: Annotated[bool, typer.Option("--figures/--no-figures", metavar="", help="Draw the summary figure of every flagged track whose audio is reachable.")] = True,
        max_figures: Annotated[int, typer.Option("--max-figures", metavar="N", min=0, help="Draw at most this many figures.")] = 50,
        jobs: JobsOption = None,
        max_seconds: MaxSecondsOption = None,
        detectors: DetectorOption = None,
        quiet: QuietOption = False,
    ) -> None:
        """Write a report people can read: counts per verdict, a sortable table of tracks, evidence and
        figures for flagged tracks, method notes and known limits, and run metadata.

        Exit code: 0 nothing found, 1 findings, 2 usage error, 3 some files could not be analysed.
        """
        from ..evidence.formats import run_metadata
        from ..pipeline.scan import Tally

        with error_boundary():
            if fmt not in REPORT_FORMATS:
                from ..errors import ParameterError

                raise ParameterError(f"--format {fmt!r}: choose from {list(REPORT_FORMATS)!r}")
            check_output_path(output, force=force)
            is_results = input_path.is_file() and (
                input_path.suffix.lower() in (".json", ".jsonl", ".ndjson"))
            search_dirs: list[str] = []
            if is_results:
                reports, meta = load_results(input_path)
                config = _config_from_meta(meta)
                search_dirs = [str(input_path.parent)]
                tally = Tally()
                for r in reports:
                    tally.add(r)
                meta = dict(meta) | {"report_created": run_metadata(config, command="report")["created"]}
            else:
                from ..pipeline.discovery import discover
                from ..pipeline.engines import make_engine
                from ..pipeline.scan import scan

                if not input_path.exists():
                    from ..errors import ParameterError

                    raise ParameterError(f"INPUT {str(input_path)!r} does not exist")
                config = build_config(max_seconds=max_seconds, detectors=detectors)
                items = discover([str(input_path)])
                reports, tally = scan(items, config=config, engine=make_engine(jobs=jobs),
                                      progress=RichProgress(enabled=not quiet))
                meta = run_metadata(config, command="report")
            meta["input"] = str(input_path)

            fig_records = {}
            if figures and max_figures > 0:
                from ..evidence.figures import collect_figures
                from ..evidence.formats.texts import flagged

                n = len(flagged(reports))
                if n and not quiet:
                    stderr_console().print(f"drawing figures for {min(n, max_figures)} flagged track(s)...", markup=False)
                fig_records = collect_figures(reports, config=config, search_dirs=search_dirs, max_figures=max_figures)

            if fmt == "html":
                from ..evidence.formats import html

                text = html.render(reports, summary=tally.to_dict(), meta=meta, figures=fig_records)
            else:
                text = _markdown(reports, tally, meta, fig_records, output, force=force)
            emit(text, output, force=force)
        if not quiet and output is not None:
            stderr_console().print(f"wrote {output}", markup=False)
        raise typer.Exit(tally.exit_code())


def _markdown(reports, tally, meta, fig_records, output: Path | None, *, force: bool) -> str:
    """Render Markdown; with an output file, figures go into ``<output stem>_figures/`` beside it."""
    from ..evidence.formats import markdown
    from ..evidence.plot import safe_stem
    from ..io.files import write_unique

    links, notes = {}, {}
    fig_dir = None
    for path, rec in fig_records.items():
        if rec.png and output is not None:
            if fig_dir is None:
                fig_dir = output.parent / f"{output.stem}_figures"
                fig_dir.mkdir(exist_ok=True)
            target = write_unique(fig_dir, f"{safe_stem(path)}.summary.png", rec.png)
            links[path] = f"{fig_dir.name}/{target.name}"
        elif rec.png:
            notes[path] = "figure not written: Markdown on stdout has nowhere to put it (use -o FILE or --format html)"
        elif rec.note:
            notes[path] = rec.note
    return markdown.render(reports, summary=tally.to_dict(), meta=meta, figure_links=links, figure_notes=notes)
