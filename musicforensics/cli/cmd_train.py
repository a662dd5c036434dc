"""``musicforensics train``: fit an AI-detection model (fakeprint logistic regression + combiner)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import ForceOption, QuietOption, check_output_path, error_boundary, stderr_console



def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        manifest: Annotated[Path, typer.Argument(metavar="MANIFEST", help="CSV with columns path, label_ai (and split).", show_default=False,
                                                 exists=True, dir_okay=False)],
        output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Model JSON to write.", dir_okay=False)],
        split: Annotated[str, typer.Option("--split", metavar="SPLIT", help="Rows of this split only ('all' for every row).")] = "dev",
        l2: Annotated[float, typer.Option("--l2", metavar="STRENGTH", min=0.0, help="L2 strength of the fakeprint logistic regression.")] = 100.0,
        fp_target: Annotated[float, typer.Option("--fp-target", metavar="RATE", min=0.0, max=0.5, help="False-positive rate allowed on the training rows when placing the threshold.")] = 0.005,
        comb_only: Annotated[bool, typer.Option("--comb-only", metavar="", help="Calibrate the comb score alone (no fakeprint model).")] = False,
        force: ForceOption = False,
        quiet: QuietOption = False,
    ) -> None:
        """Fit a logistic model on the fakeprints of MANIFEST's labelled files (label_ai) and save it as JSON.

        The model file records its provenance (manifest, split, counts, training figures). Use it with
        'musicforensics ai --model FILE' or MUSICFORENSICS_AI_MODEL=FILE.

        Exit code: 0 written, 2 usage error (bad manifest, one class only, output exists).
        """
        from ..pipeline.training import train_from_manifest

        console = stderr_console()
        with error_boundary():
            check_output_path(output, force=force)

            def progress(i, n, path):
                if not quiet:
                    console.print(f"[{i + 1}/{n}] {path}", markup=False, highlight=False)

            model = train_from_manifest(manifest, split=None if split == "all" else split, l2=l2, fp_target=fp_target,
                                        progress=progress, use_fakeprint=not comb_only)
            model.save(output, force=force)
        if not quiet:
            t = model.provenance.get("training", {})
            console.print(f"wrote {output}: {t.get('n')} files ({t.get('n_ai')} AI), threshold {model.threshold:.3f}, "
                          f"train detection {t.get('train_detection_rate')}, train FP {t.get('train_false_positive_rate')}",
                          markup=False, highlight=False)
