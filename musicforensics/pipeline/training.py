"""Training the AI model from a labelled manifest (``musicforensics train``): measure every row with the same
analysis a scan runs, then fit (:func:`musicforensics.ai.model.train`)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._version import __version__
from ..ai.detector import measure_spectrum
from ..ai.model import DEFAULT_FP_TARGET, DEFAULT_L2, AIModel, train
from ..config import AnalysisConfig
from ..errors import ParameterError
from .analysis import analyze_file


def read_manifest(path: str | os.PathLike, *, split: str | None = "dev") -> list[dict]:
    """Rows of a corpus manifest (``path``, ``label_ai``, ``split``, ...) with ``path`` made absolute.

    Raises :class:`ParameterError` when the file lacks the ``path`` or ``label_ai`` column.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ParameterError(f"manifest {str(path)!r}: cannot read ({exc.strerror or exc})") from None
    if not rows:
        raise ParameterError(f"manifest {str(path)!r}: no rows")
    for col in ("path", "label_ai"):
        if col not in rows[0]:
            raise ParameterError(f"manifest {str(path)!r}: missing column {col!r} (have {sorted(rows[0])!r})")
    out = []
    for r in rows:
        if split and r.get("split", split) != split:
            continue
        r = dict(r)
        r["path"] = str((path.parent / r["path"]).resolve())
        r["label_ai"] = int(float(r["label_ai"] or 0))
        out.append(r)
    return out


def _counts(rows: list[dict], column: str) -> dict:
    """Rows per value of ``column`` (empty when the manifest has no such column)."""
    out: dict = {}
    for r in rows:
        if r.get(column):
            out[r[column]] = out.get(r[column], 0) + 1
    return dict(sorted(out.items()))


def train_from_manifest(manifest: str | os.PathLike, *, split: str | None = "dev", l2: float = DEFAULT_L2,
                        fp_target: float = DEFAULT_FP_TARGET, progress: Callable[[int, int, str], None] | None = None,
                        use_fakeprint: bool = True) -> AIModel:
    """Measure every row of ``manifest`` (the given split) and :func:`train` on it.

    Features come from the same long-term spectrum the scan computes (:mod:`musicforensics.pipeline.analysis`), through
    :func:`musicforensics.ai.detector.measure_spectrum`, so training and detection see the same numbers.
    Unreadable files are skipped and counted in the provenance.
    """
    rows = read_manifest(manifest, split=split)
    cfg = AnalysisConfig(detectors=("bitdepth",))
    feats, zs, labels, skipped = [], [], [], []
    for i, r in enumerate(rows):
        if progress is not None:
            progress(i, len(rows), r["path"])
        report = analyze_file(r["path"], config=cfg)
        spectrum = getattr(report, "spectrum", None)
        if report.status == "error" or spectrum is None or spectrum.n_active_frames == 0:
            skipped.append(r["path"])
            continue
        m = measure_spectrum(spectrum)
        feats.append(m.fakeprint)
        zs.append(m.comb.z)
        labels.append(r["label_ai"])
    if not labels:
        raise ParameterError(f"manifest {str(manifest)!r}: no readable rows in split {split!r}")
    used = [r for r in rows if r["path"] not in set(skipped)]
    prov = {"manifest": str(manifest), "split": split, "skipped": len(skipped), "package_version": __version__,
            "features": "fakeprint from the scan's long-term spectrum (see docs/ai-detection.md)",
            "classes": _counts(used, "class"), "architectures": _counts([r for r in used if r["label_ai"]], "architecture")}
    return train(np.array(feats), np.array(zs), np.array(labels), l2=l2, fp_target=fp_target, provenance=prov,
                 use_fakeprint=use_fakeprint)
