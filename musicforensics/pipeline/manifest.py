"""Labelled manifests: the CSV files ``evaluate`` reads, in two layouts told apart by their columns.

- **Corpus** (the format ``benchmarks/corpus`` writes): ``path, split, class, family`` and at least one
  ``label_<kind>`` column (0/1) per finding kind; optional ``codec, setting, architecture, weights,
  expected_delta_hz, postprocess, source_piece, duration_s`` (missing ones default to empty).
- **Real-world** (the real-world development set): ``path, class, format`` and no ``label_<kind>`` column;
  labels, source, generator and groups are derived from ``class``, ``format``, ``eff_bits``, ``notes`` and the
  file name by the rules of :mod:`musicforensics.pipeline.realworld_manifest`. Some labels may be unknown.

``path`` is relative to the manifest's folder unless absolute. A manifest without a ``split`` column has one
split, ``all``: every row is kept whatever split is asked for, and :attr:`Manifest.split_note` says so.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ParameterError
from .realworld_manifest import REALWORLD_COLUMNS, realworld_fields

#: Finding kinds the corpus labels.
KINDS = ("lossy", "upsampled", "bitpadded", "ai")
#: Values of ``--split``.
SPLITS = ("eval", "dev", "all")
#: Columns a corpus-layout manifest must have (besides a ``label_<kind>`` column).
REQUIRED_COLUMNS = ("path", "class", "family")
#: Upper edges (s) and names of the duration bands the tables group by.
DURATION_BANDS = ((2.0, "<2 s"), (5.0, "2-5 s"), (10.0, "5-10 s"), (float("inf"), ">=10 s"))
#: Split of every row of a manifest without a ``split`` column.
NO_SPLIT = "all"


@dataclass(frozen=True)
class ManifestRow:
    """One labelled file of a manifest.

    Attributes
    ----------
    path : str
        Path as written in the manifest (relative to the manifest's folder unless absolute); the join key.
    split, cls, family, codec, setting, architecture, weights, postprocess : str
        Manifest columns (``cls`` is the ``class`` column). For real-world rows ``family`` is the source
        (publisher) and ``architecture`` the generator.
    expected_delta_hz : float or None
        Expected comb spacing of AI output, Hz.
    labels : dict
        ``{kind: 0, 1 or None}`` for every kind in :data:`KINDS`; None is an unknown label.
    source_piece : str
        Group id: rows of one piece or recording share it (grouped cross-validation keeps a group together).
    duration_s : float or None
        Duration, s (the manifest's, else the analysed one where the evaluation fills it in).
    """

    path: str
    split: str
    cls: str
    family: str
    codec: str = ""
    setting: str = ""
    architecture: str = ""
    weights: str = ""
    postprocess: str = ""
    expected_delta_hz: float | None = None
    labels: dict = field(default_factory=dict)
    source_piece: str = ""
    duration_s: float | None = None

    @property
    def duration_band(self) -> str:
        """Name of the :data:`DURATION_BANDS` band of :attr:`duration_s`; ``unknown`` without a duration."""
        if self.duration_s is None:
            return "unknown"
        return next(name for edge, name in DURATION_BANDS if self.duration_s < edge)

    def column(self, name: str) -> str:
        """Value of a manifest column by its CSV name."""
        return self.cls if name == "class" else str(getattr(self, name))


@dataclass
class Manifest:
    """The rows of one manifest, the folder their paths are relative to, and which layout it has.

    ``split_note`` is set when the manifest has no ``split`` column (every row is kept), else empty.
    """

    root: Path
    rows: list[ManifestRow]
    source: str = ""
    layout: str = "corpus"
    split_note: str = ""

    def resolve(self, row: ManifestRow) -> Path:
        p = Path(row.path)
        return p if p.is_absolute() else self.root / p


def _label(value: str, *, column: str, line: int, source: str) -> int:
    v = (value or "").strip().lower()
    if v in ("", "0", "false", "no"):
        return 0
    if v in ("1", "true", "yes"):
        return 1
    raise ParameterError(f"{source!r} line {line}: {column}={value!r}: must be 0 or 1")


def _number(text: str | None, *, column: str, line: int, source: str) -> float | None:
    text = (text or "").strip()
    try:
        return float(text) if text else None
    except ValueError:
        raise ParameterError(f"{source!r} line {line}: {column}={text!r}: must be a number") from None


def _corpus_row(rec: dict, *, split: str, line: int, source: str) -> ManifestRow:
    def text(column: str) -> str:
        return (rec.get(column) or "").strip()

    def number(column: str) -> float | None:
        return _number(rec.get(column), column=column, line=line, source=source)

    return ManifestRow(
        path=text("path"), split=split, cls=text("class"), family=text("family"), codec=text("codec"),
        setting=text("setting"), architecture=text("architecture"), weights=text("weights"),
        postprocess=text("postprocess"), expected_delta_hz=number("expected_delta_hz"),
        labels={k: _label(rec.get(f"label_{k}", ""), column=f"label_{k}", line=line, source=source) for k in KINDS},
        source_piece=text("source_piece"), duration_s=number("duration_s"),
    )


def _realworld_row(rec: dict, *, split: str, line: int, source: str) -> ManifestRow:
    duration = _number(rec.get("duration_s"), column="duration_s", line=line, source=source)
    return ManifestRow(split=split, duration_s=duration, **realworld_fields(rec))


def _layout(columns: list[str], source: str) -> str:
    """``corpus`` or ``realworld`` from a manifest's header; a :class:`ParameterError` naming what is missing."""
    if any(f"label_{k}" in columns for k in KINDS):
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ParameterError(f"manifest {source!r}: missing column(s) {missing!r}; has {columns!r}")
        return "corpus"
    if all(c in columns for c in REALWORLD_COLUMNS):
        return "realworld"
    raise ParameterError(
        f"manifest {source!r}: missing column(s): a corpus manifest needs {list(REQUIRED_COLUMNS)!r} and some "
        f"of {[f'label_{k}' for k in KINDS]!r}; a real-world manifest needs {list(REALWORLD_COLUMNS)!r}; "
        f"has {columns!r}")


def load_manifest(path: str | os.PathLike, *, split: str = "eval") -> Manifest:
    """Read a manifest CSV of either layout, keeping the rows of ``split`` (``eval``, ``dev`` or ``all``).

    Without a ``split`` column every row is kept and ``split_note`` says so. Raises :class:`ParameterError` for
    a missing file, missing columns, a bad label, number or split value.
    """
    if split not in SPLITS:
        raise ParameterError(f"split={split!r}: choose from {list(SPLITS)!r}")
    p = Path(path)
    try:
        fh = open(p, newline="", encoding="utf-8")  # noqa: SIM115  (closed by the with below)
    except OSError as exc:
        raise ParameterError(f"manifest {str(p)!r}: cannot open: {exc.strerror or exc}") from None
    with fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        layout = _layout(columns, str(p))
        make_row = _corpus_row if layout == "corpus" else _realworld_row
        has_split = "split" in columns
        rows = []
        for line, rec in enumerate(reader, start=2):
            row_split = (rec.get("split") or "").strip() if has_split else NO_SPLIT
            if not has_split or split in ("all", row_split):
                rows.append(make_row(rec, split=row_split, line=line, source=str(p)))
    note = "" if has_split else "the manifest has no split column: every row is evaluated"
    return Manifest(root=p.resolve().parent, rows=rows, source=str(p), layout=layout, split_note=note)
