"""Fitting the AI model on labelled files (``musicforensics train``) and checking it by grouped
cross-validation.

Every row of the given manifests (corpus or real-world layout, :mod:`.manifest`) is analysed with the AI
detector as a scan would; the decision's input ``z*`` (:attr:`musicforensics.ai.evidence.AIEvidence.unexplained_z`)
and the label are collected, the slope of the probability is fitted (:func:`musicforensics.ai.model.train`), and
the fit is checked by cross-validation over groups: all files of one song or source piece (``source_piece``)
fall in the same fold, so a song's versions never sit on both sides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .._version import __version__
from ..ai.model import AIModel, DecisionRule, load_model, train
from ..config import AnalysisConfig
from ..errors import ParameterError
from ..results import TrackReport
from .evaluation import analyse_manifest
from .manifest import load_manifest

#: Folds of the grouped cross-validation.
CV_FOLDS = 5


@dataclass(frozen=True)
class Example:
    """One labelled file: its manifest, path, group, label and the decision input z* (None: no verdict)."""

    manifest: str
    path: str
    group: str
    label: int
    z_star: float | None


def _z_star(report: TrackReport) -> float | None:
    finding = report.verdicts.get("ai")
    if finding is None or finding.inconclusive or finding.evidence is None:
        return None
    value = getattr(finding.evidence, "unexplained_z", None)
    if value is None and hasattr(finding.evidence, "get"):
        value = finding.evidence.get("unexplained_z")
    return None if value is None else float(value)


def collect_examples(manifests: Sequence[str | os.PathLike], *, split: str = "dev", engine=None,
                     progress: Callable | None = None, config: AnalysisConfig | None = None) -> list[Example]:
    """Analyse every row of ``manifests`` (``split`` of a corpus manifest; a manifest without a split column
    gives all its rows) and return the labelled examples."""
    cfg = config or AnalysisConfig(detectors=("ai",))
    out: list[Example] = []
    for path in manifests:
        manifest = load_manifest(path, split=split)
        reports = analyse_manifest(manifest, config=cfg, engine=engine, progress=progress)
        for row, report in zip(manifest.rows, reports):
            label = row.labels.get("ai")
            if label is None:
                continue
            group = f"{manifest.source}:{row.source_piece or row.path}"
            out.append(Example(manifest=str(path), path=row.path, group=group, label=int(label),
                               z_star=_z_star(report)))
    return out


def grouped_folds(groups: Sequence[str], k: int = CV_FOLDS, seed: int = 0) -> list[np.ndarray]:
    """Indices of ``k`` folds such that every group lies in exactly one fold (groups dealt at random)."""
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = {names[i]: j % k for j, i in enumerate(order)}
    idx = np.array([fold_of[g] for g in groups])
    return [np.nonzero(idx == f)[0] for f in range(k)]


def cross_validate(examples: Sequence[Example], rule: DecisionRule, k: int = CV_FOLDS) -> dict:
    """Held-out probabilities of a grouped k-fold cross-validation, summarised per manifest."""
    used = [e for e in examples if e.z_star is not None]
    z = np.array([e.z_star for e in used])
    y = np.array([e.label for e in used], dtype=float)
    held = np.full(len(used), np.nan)
    for fold in grouped_folds([e.group for e in used], k):
        train_idx = np.setdiff1d(np.arange(len(used)), fold)
        if len(set(y[train_idx].tolist())) < 2:
            continue
        fitted = train(z[train_idx], y[train_idx], rule=rule).rule
        held[fold] = [fitted.probability(v) for v in z[fold]]
    out = {}
    for name in sorted({e.manifest for e in used}):
        sel = np.array([e.manifest == name for e in used]) & ~np.isnan(held)
        p, t = held[sel], y[sel]
        out[name] = {
            "files": int(sel.sum()), "ai": int(t.sum()),
            "detection_rate": float((p[t == 1] >= 0.5).mean()) if t.sum() else None,
            "false_positive_rate": float((p[t == 0] >= 0.5).mean()) if (t == 0).sum() else None,
            "brier": float(((p - t) ** 2).mean()) if p.size else None,
        }
    return out


def train_from_manifests(manifests: Sequence[str | os.PathLike], *, split: str = "dev", base: str | None = None,
                         engine=None, progress: Callable | None = None) -> AIModel:
    """Fit the decision slope on the labelled rows of ``manifests``; gates and the fakeprint part come from
    ``base`` (a model file; None: the shipped model). The provenance records the grouped cross-validation."""
    examples = collect_examples(manifests, split=split, engine=engine, progress=progress)
    used = [e for e in examples if e.z_star is not None]
    if len({e.label for e in used}) < 2:
        raise ParameterError("training needs AI and non-AI files with a verdict (labels 0 and 1)")
    start = load_model(base)
    cv = cross_validate(used, start.rule)
    prov = {"manifests": [str(m) for m in manifests], "split": split, "package_version": __version__,
            "inconclusive_or_unlabelled": len(examples) - len(used), "groups": len({e.group for e in used}),
            "cross_validation": {"folds": CV_FOLDS, "grouped_by": "source_piece (song)", "per_manifest": cv},
            "gates_and_fakeprint_from": start.source}
    model = train(np.array([e.z_star for e in used]), np.array([e.label for e in used]), rule=start.rule,
                  provenance=prov)
    model.fakeprint = start.fakeprint
    return model
