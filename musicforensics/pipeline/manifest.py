"""Labelled manifests: the CSV files ``evaluate`` and ``train`` read (the format ``benchmarks/corpus`` writes).

A manifest's ``path`` column is relative to the manifest's folder; the columns read are ``path, split, class,
family, codec, setting, architecture, weights, expected_delta_hz, postprocess`` and one ``label_<kind>`` column
(0/1) per finding kind. Missing optional columns default to empty.

The corpus's evasion layer adds ``evasion`` (which test a row belongs to), ``ai_segments`` (generated time
ranges, ``"20.00-45.00;60.00-70.00"`` seconds), ``mix_db`` and ``speed_factor``; they are read when present.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ParameterError

#: Finding kinds the corpus labels.
KINDS = ("lossy", "upsampled", "bitpadded", "ai")
#: Values of ``--split``.
SPLITS = ("eval", "dev", "all")
#: Columns a manifest must have.
REQUIRED_COLUMNS = ("path", "split", "class", "family")


@dataclass(frozen=True)
class ManifestRow:
    """One labelled file of a manifest.

    Attributes
    ----------
    path : str
        Path as written in the manifest (relative to the manifest's folder unless absolute); the join key.
    split, cls, family, codec, setting, architecture, weights, postprocess : str
        Manifest columns (``cls`` is the ``class`` column).
    expected_delta_hz : float or None
        Expected comb spacing of AI output, Hz.
    labels : dict
        ``{kind: 0 or 1}`` for every kind in :data:`KINDS`.
    evasion : str
        The evasion-layer test of the row (``splice``, ``stem``, ``whole``, ``speed_pitch``, ``codec_noise``).
    ai_segments : tuple of (float, float)
        Generated time ranges, seconds (empty: none).
    mix_db, speed_factor : float or None
        Generated stem level relative to the genuine mix (dB); factor the comb's frequencies were scaled by.
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
    evasion: str = ""
    ai_segments: tuple = ()
    mix_db: float | None = None
    speed_factor: float | None = None

    def column(self, name: str) -> str:
        """Value of a manifest column by its CSV name."""
        return self.cls if name == "class" else str(getattr(self, name))


@dataclass
class Manifest:
    """The rows of one manifest and the folder their paths are relative to."""

    root: Path
    rows: list[ManifestRow]
    source: str = ""

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


def _number(rec: dict, column: str, *, line: int, source: str) -> float | None:
    text = (rec.get(column) or "").strip()
    try:
        return float(text) if text else None
    except ValueError:
        raise ParameterError(f"{source!r} line {line}: {column}={text!r}: must be a number") from None


def parse_segments(text: str, *, line: int = 0, source: str = "") -> tuple:
    """``"20.00-45.00;60-70"`` -> ``((20.0, 45.0), (60.0, 70.0))``; empty text -> ``()``.

    >>> parse_segments("20.00-45.00;60-70")
    ((20.0, 45.0), (60.0, 70.0))
    """
    out = []
    for part in (p.strip() for p in (text or "").split(";")):
        if not part:
            continue
        try:
            start, end = (float(v) for v in part.split("-"))
        except ValueError:
            raise ParameterError(f"{source!r} line {line}: ai_segments={text!r}: expected START-END[;START-END]") from None
        if end < start:
            raise ParameterError(f"{source!r} line {line}: ai_segments={text!r}: a range ends before it starts")
        out.append((start, end))
    return tuple(out)


def _evasion_fields(rec: dict, *, line: int, source: str) -> dict:
    """The evasion layer's optional columns of one record (defaults when absent)."""
    return {"evasion": (rec.get("evasion") or "").strip(),
            "ai_segments": parse_segments(rec.get("ai_segments") or "", line=line, source=source),
            "mix_db": _number(rec, "mix_db", line=line, source=source),
            "speed_factor": _number(rec, "speed_factor", line=line, source=source)}


def load_manifest(path: str | os.PathLike, *, split: str = "eval") -> Manifest:
    """Read a manifest CSV, keeping the rows of ``split`` (``eval``, ``dev`` or ``all``).

    Raises :class:`ParameterError` for a missing file, missing columns, a bad label or split value.
    """
    if split not in SPLITS:
        raise ParameterError(f"split={split!r}: choose from {list(SPLITS)!r}")
    p = Path(path)
    try:
        fh = open(p, newline="", encoding="utf-8")  # noqa: SIM115  (closed by the with below)
    except OSError as exc:
        raise ParameterError(f"manifest {str(p)!r}: cannot open: {exc.strerror or exc}") from None
    rows: list[ManifestRow] = []
    with fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ParameterError(f"manifest {str(p)!r}: missing column(s) {missing!r}; has {columns!r}")
        if not any(f"label_{k}" in columns for k in KINDS):
            raise ParameterError(f"manifest {str(p)!r}: no label column; expected some of "
                                 f"{[f'label_{k}' for k in KINDS]!r}")
        for line, rec in enumerate(reader, start=2):
            row_split = (rec.get("split") or "").strip()
            if split != "all" and row_split != split:
                continue
            delta_text = (rec.get("expected_delta_hz") or "").strip()
            try:
                delta = float(delta_text) if delta_text else None
            except ValueError:
                raise ParameterError(f"{str(p)!r} line {line}: expected_delta_hz={delta_text!r}: must be a number") from None
            rows.append(ManifestRow(
                path=(rec.get("path") or "").strip(), split=row_split, cls=(rec.get("class") or "").strip(),
                family=(rec.get("family") or "").strip(), codec=(rec.get("codec") or "").strip(),
                setting=(rec.get("setting") or "").strip(), architecture=(rec.get("architecture") or "").strip(),
                weights=(rec.get("weights") or "").strip(), postprocess=(rec.get("postprocess") or "").strip(),
                expected_delta_hz=delta,
                labels={k: _label(rec.get(f"label_{k}", ""), column=f"label_{k}", line=line, source=str(p))
                        for k in KINDS},
                **_evasion_fields(rec, line=line, source=str(p)),
            ))
    return Manifest(root=p.resolve().parent, rows=rows, source=str(p))
