"""``musicforensics train``: fit the AI model's decision on labelled manifests, with grouped cross-validation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import ForceOption, JobsOption, QuietOption, check_output_path, error_boundary, stderr_console


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        manifests: Annotated[list[Path], typer.Argument(
            metavar="MANIFEST...", help="Manifests (corpus or real-world layout) with AI labels.", show_default=False,
            exists=True, dir_okay=False)],
        output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Model JSON to write.",
                                             dir_okay=False)],
        split: Annotated[str, typer.Option(
            "--split", metavar="SPLIT",
            help="Rows of this split of a corpus manifest ('all' for every row); a manifest without a split column "
                 "gives all its rows.")] = "dev",
        base: Annotated[Path | None, typer.Option(
            "--base", metavar="FILE", help="Model whose gates and fakeprint part are kept (default: the shipped "
                                           "model).", exists=True, dir_okay=False)] = None,
        jobs: JobsOption = None,
        force: ForceOption = False,
        quiet: QuietOption = False,
    ) -> None:
        """Analyse the labelled files of MANIFEST... and fit the probability of the 'ai' verdict on them.

        The fit is checked by 5-fold cross-validation grouped by song (source_piece), and the model file records
        it with its provenance. Use the model with 'musicforensics ai --model FILE' or MUSICFORENSICS_AI_MODEL.

        Exit code: 0 written, 2 usage error (bad manifest, one class only, output exists).
        """
        from ..pipeline.engines import make_engine
        from ..pipeline.training import train_from_manifests

        console = stderr_console()
        with error_boundary():
            check_output_path(output, force=force)
            model = train_from_manifests([str(m) for m in manifests], split=split,
                                         base=None if base is None else str(base),
                                         engine=make_engine(jobs=jobs))
            model.save(output, force=force)
        if not quiet:
            t = model.provenance.get("training", {})
            console.print(f"wrote {output}: {t.get('n')} files ({t.get('n_ai')} AI), slope {model.rule.slope:.3f}",
                          markup=False, highlight=False)
            for name, cv in model.provenance["cross_validation"]["per_manifest"].items():
                console.print(f"  held out ({name}): {cv}", markup=False, highlight=False)
