"""The ``musicforensics`` Typer application.

Commands live in ``cmd_*.py`` modules beside this one, each exposing ``register(app)`` and an ``ORDER``;
they are registered automatically, so a new command is a new module. Importing this loads typer and
rich only: no numba kernels, no matplotlib (``musicforensics --help`` stays fast).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from .._version import __version__

app = typer.Typer(
    name="musicforensics",
    help="Forensics for music audio: was this 'lossless' file ever lossy, is it fake hi-res, "
    "was it made by a neural generator? Every verdict comes with evidence you can check.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"musicforensics {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", callback=_version_callback, is_eager=True),
) -> None:
    """Forensics for music audio."""


def _register_commands() -> None:
    from . import __path__ as pkg_path

    modules = []
    for mod in pkgutil.iter_modules(pkg_path):
        if mod.name.startswith("cmd_"):
            modules.append(importlib.import_module(f"{__package__}.{mod.name}"))
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="musicforensics")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
