"""``musicforensics store``: look into a result store and export it in any output format."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import ForceOption, FormatOption, OutputOption, check_output_path, error_boundary, emit


StoreArgument = Annotated[Path, typer.Argument(metavar="STORE", help="The result store (an SQLite file written by scan --store).",
                                               show_default=False, dir_okay=False)]
ConfigKeyOption = Annotated[str | None, typer.Option(
    "--config-key", metavar="KEY", help="Export results of this configuration key (default: the one of the latest scan; "
                         "'store info' lists them).")]
AnalyzerOption = Annotated[str | None, typer.Option(
    "--analyzer", metavar="KEY", help="Export results of this analyzer key (default: the newest one of the configuration).")]
JsonOption = Annotated[bool, typer.Option("--json", metavar="", help="Print the information as JSON.")]


def export_store(store: Path, *, fmt: str, output: Path | None, force: bool, config_key: str | None,
                 analyzer: str | None) -> int:
    """Render the stored reports of one configuration as ``fmt``; returns the exit code of the results
    (as a scan of them would: 0 clean, 1 findings, 3 some files failed)."""
    from ..config import AnalysisConfig
    from ..errors import ParameterError
    from ..evidence.formats import FORMATS, render, run_metadata
    from ..pipeline.scan import Tally
    from ..pipeline.store import ResultStore

    if fmt not in FORMATS:
        raise ParameterError(f"--format {fmt!r}: choose from {list(FORMATS)!r}")
    check_output_path(output, force=force)
    with ResultStore(store, create=False) as rs:
        keys = rs.keys()  # newest first
        latest = None
        if config_key is None:
            latest = rs.latest_key()
            if latest is None:
                raise ParameterError(f"store {str(store)!r} holds no results")
            config_key = latest[0]
        known = {k["config_key"] for k in keys}
        if config_key not in known:
            raise ParameterError(f"--config-key {config_key!r}: not in the store; known: {sorted(known)!r}")
        analyzers = [k["analyzer"] for k in keys if k["config_key"] == config_key]
        if analyzer is None:  # the latest scan's (else the newest) analyzer: one record per file
            analyzer = latest[1] if latest is not None and latest[1] in analyzers else analyzers[0]
        elif analyzer not in analyzers:
            raise ParameterError(f"--analyzer {analyzer!r}: no results of it for configuration {config_key!r}; "
                                 f"known: {analyzers!r}")
        reports = sorted(rs.reports(config_key=config_key, analyzer=analyzer), key=lambda r: r.path)
        config_dict = rs.config_for(config_key)
    tally = Tally()
    for r in reports:
        tally.add(r)
    meta = run_metadata(AnalysisConfig(), command="store export")
    meta["config"], meta["config_key"] = config_dict, config_key
    meta["store"] = {"path": str(store), "analyzer": analyzer}
    text = render(fmt, reports, summary=tally.to_dict(), meta=meta)
    emit(text, output, force=force)
    return tally.exit_code()


def _print_info(info: dict) -> None:
    from rich.table import Table

    from .common import stdout_console

    console = stdout_console()
    console.print(f"{info['path']}: {info['format']} schema {info['schema']}, {info['results']} results, "
                  f"{info['bytes'] / 1e6:.2f} MB, journal {info['journal_mode']}, created {info['created']} "
                  f"by {info['created_by']}", markup=False)
    keys = Table(title="results by configuration", title_justify="left")
    for col in ("config_key", "analyzer", "results", "statuses", "last stored"):
        keys.add_column(col)
    for k in info["keys"]:
        keys.add_row(k["config_key"], k["analyzer"], str(k["results"]),
                     ", ".join(f"{s}: {n}" for s, n in k["statuses"].items()), k["last_stored"])
    console.print(keys)
    scans = Table(title="recent scans", title_justify="left")
    for col in ("id", "started", "state", "config_key", "engine", "files", "reused", "analysed"):
        scans.add_column(col)
    for s in info["recent_scans"]:
        state = "unfinished (interrupted or running)" if s["state"] == "running" else s["state"]
        scans.add_row(str(s["id"]), s["started"], state, s["config_key"], s["engine"] or "",
                      *("" if s[c] is None else str(s[c]) for c in ("files", "reused", "analysed")))
    console.print(scans)


def register(app: typer.Typer) -> None:
    store_app = typer.Typer(help="Inspect and export a result store written by 'scan --store'.",
                            no_args_is_help=True)

    @store_app.command("info")
    def info_command(store: StoreArgument, as_json: JsonOption = False) -> None:
        """What a result store holds: results per configuration and status, and recent scans."""
        from ..pipeline.store import ResultStore

        with error_boundary(), ResultStore(store, create=False) as rs:
            info = rs.info()
        if as_json:
            sys.stdout.write(json.dumps(info, indent=2) + "\n")
        else:
            _print_info(info)

    @store_app.command("export")
    def export_command(
        store: StoreArgument,
        fmt: FormatOption = "json",
        output: OutputOption = None,
        force: ForceOption = False,
        config_key: ConfigKeyOption = None,
        analyzer: AnalyzerOption = None,
    ) -> None:
        """Write the stored results of one configuration in any output format (as 'scan --format' would).

        Exit code: 0 nothing found, 1 findings, 2 usage error, 3 some stored files had failed.
        """
        with error_boundary():
            code = export_store(store, fmt=fmt, output=output, force=force, config_key=config_key,
                                analyzer=analyzer)
        raise typer.Exit(code)

    app.add_typer(store_app, name="store")
