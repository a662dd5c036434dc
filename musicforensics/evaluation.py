"""Score musicforensics against a labelled corpus: load a manifest, analyse it, compute per-kind metrics.

The library side of ``musicforensics evaluate``. A manifest is a CSV whose ``path`` column is relative to the
manifest's folder (the format written by ``python -m benchmarks.corpus.build``); the columns read here are
``path, split, class, family, codec, setting, architecture, weights, expected_delta_hz, postprocess`` and one
``label_<kind>`` column (0/1) per finding kind. Missing optional columns default to empty.

How files count, for each finding kind ``k`` (``lossy``, ``upsampled``, ``bitpadded``, ``ai``):

- a file is a *positive* when ``label_k == 1`` and a *negative* otherwise; negatives are reported per genuine
  family (``class == genuine``) and, separately, per class for labelled files of other kinds;
- a file whose analysis failed (missing, unreadable) is an *error* (listed, never a crash);
- a file whose ``k`` verdict is INCONCLUSIVE is counted as *inconclusive* and left out of the rates and of the
  ROC; rates are ``detected / decided`` with Wilson 95 % intervals, and the inconclusive count is shown beside;
- a kind no selected detector reports is marked ``scored: false``.

The ROC uses the verdict probabilities of decided files. The threshold for a target false-positive rate is
chosen on ``split == dev`` files when dev and eval files are both present and then applied to the eval files;
otherwise it is chosen on the files evaluated (and says so in ``fit_on``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import metrics
from .errors import ParameterError
from .results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, TrackReport

#: Version of the JSON document :func:`evaluate` returns (bump on incompatible changes).
EVALUATION_SCHEMA_VERSION = "1.0"
#: Finding kinds the corpus labels.
KINDS = ("lossy", "upsampled", "bitpadded", "ai")
#: Values of ``--split``.
SPLITS = ("eval", "dev", "all")
#: A comb spacing counts as right when within this many Hz of the manifest's ``expected_delta_hz``
#: (0.5 Hz is about a fifth of one 2.69 Hz analysis bin at n_fft 16384, 44.1 kHz).
DELTA_TOLERANCE_HZ = 0.5
#: Default false-positive rate the operating threshold is chosen for.
DEFAULT_TARGET_FPR = 0.01
#: Bins of the reliability diagram.
RELIABILITY_BINS = 10
#: Columns a manifest must have.
REQUIRED_COLUMNS = ("path", "split", "class", "family")
#: Manifest columns that group the detection table of each kind (for files whose class is that kind).
GROUP_COLUMNS = {
    "lossy": ("codec", "setting"),
    "ai": ("architecture", "weights", "postprocess"),
    "upsampled": ("family",),
    "bitpadded": ("family",),
}
#: Columns that group positives of a kind found in files of another class (e.g. AI output sent through MP3).
CROSS_GROUP_COLUMNS = ("class", "family", "postprocess")
#: Evidence keys (in order of preference) where the lossy detector names the codec it recognised (a string, or
#: a mapping whose ``estimate`` names it).
CODEC_EVIDENCE_KEYS = ("codec_family", "codec")
#: Spellings of codec names normalised to the manifest's codec column values.
CODEC_ALIASES = {
    "mp3": "mp3", "lame": "mp3", "mpeg1_layer3": "mp3", "mpeg-1 layer 3": "mp3", "layer3": "mp3",
    "aac": "aac", "m4a": "aac", "mp4a": "aac", "fdk": "aac", "fdk-aac": "aac",
    "vorbis": "vorbis", "ogg": "vorbis", "opus": "opus", "celt": "opus",
    "mp2": "mp2", "mpeg1_layer2": "mp2", "layer2": "mp2", "twolame": "mp2",
}


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
            ))
    return Manifest(root=p.resolve().parent, rows=rows, source=str(p))


# -- obtaining reports -------------------------------------------------------------------------------

def analyse_manifest(manifest: Manifest, *, config=None, engine=None, progress=None,
                     on_result: Callable[[TrackReport], None] | None = None) -> list[TrackReport]:
    """Analyse every row of ``manifest`` on a :mod:`musicforensics.scan` engine.

    Reports carry the manifest path as their ``path`` (so stored results join back to the manifest) and come
    back in manifest order. A missing file becomes an error report, not an exception.
    """
    from .config import AnalysisConfig
    from .scan import ScanItem, scan

    config = config or AnalysisConfig()
    items = []
    for row in manifest.rows:
        full = manifest.resolve(row)
        error = None if full.is_file() else f"missing file: {str(full)!r} does not exist"
        items.append(ScanItem(label=row.path, path=str(full), error=error))
    reports, _ = scan(items, config=config, engine=engine, progress=progress, on_result=on_result)
    return reports


def load_results(path: str | os.PathLike) -> dict[str, TrackReport]:
    """Read stored JSON Lines results (``scan --format jsonl`` or ``evaluate --results-out``), keyed by path.

    Blank lines are skipped; a line that is not a track record raises :class:`ParameterError` naming it.
    """
    p = Path(path)
    out: dict[str, TrackReport] = {}
    try:
        fh = open(p, encoding="utf-8")  # noqa: SIM115  (closed by the with below)
    except OSError as exc:
        raise ParameterError(f"results {str(p)!r}: cannot open: {exc.strerror or exc}") from None
    with fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                report = TrackReport.from_dict(data)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ParameterError(f"results {str(p)!r} line {n}: not a track record ({type(exc).__name__}: {exc})") from None
            out[report.path] = report
    return out


def join_results(manifest: Manifest, stored: dict[str, TrackReport]) -> tuple[list[TrackReport], int]:
    """Stored reports in manifest order; a row without one gets an error report. Also returns how many
    stored records matched no manifest row (in the selected split)."""
    reports = []
    used = set()
    for row in manifest.rows:
        rep = stored.get(row.path)
        if rep is None:
            rep = TrackReport(path=row.path, status=STATUS_ERROR, error="no stored result for this file")
        else:
            used.add(row.path)
        reports.append(rep)
    return reports, len(set(stored) - used)


# -- scoring -----------------------------------------------------------------------------------------

def _outcome(report: TrackReport, kind: str):
    """('error'|'not_scored'|'inconclusive'|'decided', detected, score, finding) for one kind of one file."""
    if report.status == STATUS_ERROR:
        return "error", False, None, None
    f = report.verdicts.get(kind)
    if f is None:
        return "not_scored", False, None, None
    if f.inconclusive:
        return "inconclusive", False, None, f
    score = f.probability
    if score is None or not math.isfinite(float(score)):
        score = 1.0 if f.detected else 0.0
    return "decided", bool(f.detected), float(score), f


def _rate(k: int, n: int) -> dict:
    lo, hi = metrics.wilson_interval(k, n)
    return {"k": k, "n": n, "rate": (k / n) if n else None,
            "ci95": [None if math.isnan(lo) else lo, None if math.isnan(hi) else hi]}


def _tally(pairs: Iterable[tuple[ManifestRow, tuple]]) -> dict:
    c = Counter()
    for _, (state, detected, _, _) in pairs:
        c["files"] += 1
        c[state] += 1
        if state == "decided" and detected:
            c["detected"] += 1
    decided = c["decided"]
    return {"files": c["files"], "decided": decided, "detected": c["detected"], "inconclusive": c["inconclusive"],
            "errors": c["error"], "not_scored": c["not_scored"], "rate": _rate(c["detected"], decided)}


def _grouped(pairs: list, columns: Sequence[str]) -> list[dict]:
    groups: dict[tuple, list] = defaultdict(list)
    for row, out in pairs:
        groups[tuple(row.column(c) for c in columns)].append((row, out))
    return [{"group": dict(zip(columns, key)), **_tally(groups[key])} for key in sorted(groups)]


def normalise_codec(name) -> str | None:
    """A codec name as the manifest spells it (``mp3``, ``aac``, ``vorbis``, ``opus``, ``mp2``), or the
    lower-cased input when unknown; None for no name."""
    if name is None:
        return None
    text = str(name).strip().lower()
    if not text:
        return None
    if text in CODEC_ALIASES:
        return CODEC_ALIASES[text]
    for alias in sorted(CODEC_ALIASES, key=len, reverse=True):  # e.g. "mp3_cbr" -> mp3
        if text.startswith(alias):
            return CODEC_ALIASES[alias]
    return text


def _codec_guess(finding) -> str | None:
    """The codec a finding names: evidence ``codec_family``/``codec``, either a string or a mapping with an
    ``estimate`` (or ``name``/``family``) entry, as ``detectors/lossy.py`` writes it."""
    if finding is None:
        return None
    for key in CODEC_EVIDENCE_KEYS:
        value = finding.evidence.get(key)
        if isinstance(value, dict):
            value = next((value[k] for k in ("estimate", "name", "family", "codec") if value.get(k)), None)
        if value:
            return normalise_codec(value)
    return None


def codec_chain(row) -> set:
    """Every codec a transcode went through: the manifest codec, plus each codec of a double encode whose
    ``setting`` names its chain (``first_rate+second_rate``, e.g. ``aac_128+mp3_320``)."""
    out = {normalise_codec(row.codec) or "?"}
    if "+" in row.setting:
        out |= {c for c in (normalise_codec(part) for part in row.setting.split("+")) if c}
    return out


def _codec_accuracy(pairs: list) -> dict:
    """Among detected lossy files of class lossy: how often the named codec is one the file went through
    (``correct``: any codec of a double encode's chain, since each left its scars; ``correct_last``: the
    manifest codec only, i.e. the last encode)."""
    by_codec: dict[str, Counter] = defaultdict(Counter)
    confusion: dict[str, Counter] = defaultdict(Counter)
    for row, (state, detected, _, finding) in pairs:
        if row.cls != "lossy" or state != "decided" or not detected:
            continue
        truth = normalise_codec(row.codec) or "?"
        guess = _codec_guess(finding)
        by_codec[truth]["detected"] += 1
        if guess is None:
            continue
        by_codec[truth]["named"] += 1
        by_codec[truth]["correct"] += int(guess in codec_chain(row))
        by_codec[truth]["correct_last"] += int(guess == truth)
        confusion[truth][guess] += 1
    rows = [{"codec": c, "detected": v["detected"], "named": v["named"], "correct": v["correct"],
             "accuracy": _rate(v["correct"], v["named"]), "correct_last": v["correct_last"],
             "accuracy_last": _rate(v["correct_last"], v["named"]), "named_as": dict(sorted(confusion[c].items()))}
            for c, v in sorted(by_codec.items())]
    total = Counter()
    for v in by_codec.values():
        total.update(v)
    return {"detected": total["detected"], "named": total["named"], "correct": total["correct"],
            "accuracy": _rate(total["correct"], total["named"]), "correct_last": total["correct_last"],
            "accuracy_last": _rate(total["correct_last"], total["named"]), "by_codec": rows,
            "evidence_keys": list(CODEC_EVIDENCE_KEYS)}


def _delta_accuracy(pairs: list, tolerance_hz: float) -> dict:
    """Among detected AI files with an expected spacing: how often evidence ``delta_hz`` is within tolerance."""
    by_arch: dict[str, Counter] = defaultdict(Counter)
    errors: dict[str, list] = defaultdict(list)
    for row, (state, detected, _, finding) in pairs:
        if row.expected_delta_hz is None or state != "decided" or not detected:
            continue
        arch = row.architecture or row.family
        by_arch[arch]["detected"] += 1
        value = finding.evidence.get("delta_hz") if finding is not None else None
        try:
            value = None if value is None else float(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not math.isfinite(value):
            continue
        by_arch[arch]["measured"] += 1
        ok = abs(value - row.expected_delta_hz) <= tolerance_hz
        by_arch[arch]["within"] += int(ok)
        errors[arch].append(value - row.expected_delta_hz)
    rows = []
    for arch, v in sorted(by_arch.items()):
        err = np.abs(np.asarray(errors[arch], dtype=float))
        rows.append({"architecture": arch, "detected": v["detected"], "measured": v["measured"],
                     "within": v["within"], "accuracy": _rate(v["within"], v["measured"]),
                     "median_abs_error_hz": float(np.median(err)) if err.size else None})
    total = Counter()
    for v in by_arch.values():
        total.update(v)
    return {"tolerance_hz": tolerance_hz, "detected": total["detected"], "measured": total["measured"],
            "within": total["within"], "accuracy": _rate(total["within"], total["measured"]), "by_architecture": rows}


def _scores(pairs: list, kind: str, splits: set | None = None) -> tuple[np.ndarray, np.ndarray]:
    y, s = [], []
    for row, (state, _, score, _) in pairs:
        if state == "decided" and (splits is None or row.split in splits):
            y.append(row.labels[kind])
            s.append(score)
    return np.asarray(y, dtype=int), np.asarray(s, dtype=float)


def _roc_section(pairs: list, kind: str) -> dict:
    y, s = _scores(pairs, kind)
    inconclusive = sum(1 for _, out in pairs if out[0] == "inconclusive")
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    out = {"n_pos": n_pos, "n_neg": n_neg, "inconclusive": inconclusive, "auc": None, "curve": None,
           "brier": None, "ece": None, "reliability": None}
    if y.size:
        probs = np.clip(s, 0.0, 1.0)
        out["brier"] = metrics.brier_score(y, probs)
        rel = metrics.reliability_bins(y, probs, n_bins=RELIABILITY_BINS)
        out["ece"] = rel.ece
        out["reliability"] = {
            "edges": rel.edges.tolist(), "counts": rel.counts.tolist(),
            "mean_predicted": [None if math.isnan(v) else float(v) for v in rel.mean_predicted],
            "observed": [None if math.isnan(v) else float(v) for v in rel.observed],
        }
    if n_pos and n_neg:
        out["auc"] = metrics.roc_auc(y, s)
        curve = metrics.roc_curve(y, s)
        out["curve"] = {"fpr": curve.fpr.tolist(), "tpr": curve.tpr.tolist(),
                        "thresholds": [None if not math.isfinite(t) else float(t) for t in curve.thresholds]}
    return out


def _operating_point(pairs: list, kind: str, target_fpr: float) -> dict | None:
    present = {row.split for row, out in pairs if out[0] == "decided"}
    fit_on = {"dev"} if {"dev", "eval"} <= present else None
    y_fit, s_fit = _scores(pairs, kind, fit_on)
    if not (y_fit.sum() and (y_fit.size - y_fit.sum())):
        return None
    op = metrics.threshold_for_fpr(y_fit, s_fit, target_fpr)
    result = {"target_fpr": target_fpr, "threshold": op.threshold if math.isfinite(op.threshold) else None,
              "fit_on": "dev" if fit_on else "evaluated files", "fit_fpr": op.fpr, "fit_tpr": op.tpr,
              "applied_to": None, "fpr": None, "tpr": None}
    if fit_on:
        y_ev, s_ev = _scores(pairs, kind, {"eval"})
        called = s_ev >= op.threshold
        pos, neg = y_ev == 1, y_ev == 0
        result.update(applied_to="eval",
                      fpr=_rate(int((called & neg).sum()), int(neg.sum())),
                      tpr=_rate(int((called & pos).sum()), int(pos.sum())))
    return result


def score_kind(rows: Sequence[ManifestRow], reports: Sequence[TrackReport], kind: str, *,
               target_fpr: float = DEFAULT_TARGET_FPR, delta_tolerance_hz: float = DELTA_TOLERANCE_HZ) -> dict:
    """Every metric of one finding kind over aligned ``rows`` and ``reports`` (see the module doc)."""
    pairs = [(row, _outcome(rep, kind)) for row, rep in zip(rows, reports)]
    positives = [p for p in pairs if p[0].labels[kind] == 1]
    negatives = [p for p in pairs if p[0].labels[kind] == 0]
    own = [p for p in positives if p[0].cls == kind]
    cross = [p for p in positives if p[0].cls != kind]
    genuine = [p for p in negatives if p[0].cls == "genuine"]
    other_neg = [p for p in negatives if p[0].cls != "genuine"]
    section = {
        "kind": kind,
        "scored": any(out[0] not in ("not_scored", "error") for _, out in pairs),
        "positives": _tally(positives),
        "negatives": _tally(negatives),
        "detection_by_group": _grouped(own, GROUP_COLUMNS.get(kind, ("family",)))
        + _grouped(cross, CROSS_GROUP_COLUMNS),
        "false_positives_by_family": _grouped(genuine, ("family",)),
        "false_positives_other": _grouped(other_neg, ("class", "family")),
        "roc": _roc_section(pairs, kind),
        "operating_point": _operating_point(pairs, kind, target_fpr),
    }
    if kind == "lossy":
        section["codec_accuracy"] = _codec_accuracy(pairs)
    if kind == "ai":
        section["delta_accuracy"] = _delta_accuracy(pairs, delta_tolerance_hz)
    return section


def evaluate(rows: Sequence[ManifestRow], reports: Sequence[TrackReport], *, kinds: Sequence[str] = KINDS,
             target_fpr: float = DEFAULT_TARGET_FPR, meta: dict | None = None) -> dict:
    """Score aligned manifest rows and reports; returns the JSON-ready evaluation document.

    Keys: ``schema_version``, ``meta``, ``files`` (counts by status), ``errors`` (path and error of every
    failed file), ``kinds`` (``{kind: score_kind(...)}``).
    """
    if len(rows) != len(reports):
        raise ParameterError(f"{len(rows)} manifest rows but {len(reports)} reports: they must align")
    if not 0.0 <= target_fpr <= 1.0:
        raise ParameterError(f"target_fpr={target_fpr!r}: must be within [0, 1]")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ParameterError(f"unknown kind(s) {unknown!r}; choose from {list(KINDS)!r}")
    statuses = Counter(r.status for r in reports)
    return {
        "schema_version": EVALUATION_SCHEMA_VERSION,
        "meta": dict(meta or {}),
        "files": {"total": len(reports), "ok": statuses[STATUS_OK], "inconclusive": statuses[STATUS_INCONCLUSIVE],
                  "error": statuses[STATUS_ERROR],
                  "by_split": dict(sorted(Counter(r.split for r in rows).items())),
                  "by_class": dict(sorted(Counter(r.cls for r in rows).items())),
                  "analysis_seconds": round(sum(r.seconds for r in reports), 3)},
        "errors": [{"path": r.path, "error": r.error} for r in reports if r.status == STATUS_ERROR],
        "kinds": {k: score_kind(rows, reports, k, target_fpr=target_fpr) for k in kinds},
    }


# -- rendering (plain text; the CLI draws the same tables with rich on a terminal) ----------------------

def _pct(rate: dict | None) -> str:
    if not rate or rate.get("rate") is None:
        return "-"
    lo, hi = rate["ci95"]
    return f"{100 * rate['rate']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _num(v, fmt="{:.3f}") -> str:
    return "-" if v is None else fmt.format(v)


def tables(doc: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """The evaluation as (title, header, rows) tables of strings, in print order."""
    out = []
    f = doc["files"]
    out.append(("Files", ["total", "ok", "inconclusive", "error", "splits", "analysis time (s)"],
                [[str(f["total"]), str(f["ok"]), str(f["inconclusive"]), str(f["error"]),
                  ", ".join(f"{k}: {v}" for k, v in f["by_split"].items()) or "-", f"{f['analysis_seconds']:.1f}"]]))
    summary, ops = [], []
    for kind, sec in doc["kinds"].items():
        roc = sec["roc"]
        summary.append([kind, "yes" if sec["scored"] else "no", _pct(sec["positives"]["rate"]),
                        _pct(sec["negatives"]["rate"]), str(roc["n_pos"]), str(roc["n_neg"]), str(roc["inconclusive"]),
                        str(sec["positives"]["errors"] + sec["negatives"]["errors"]),
                        _num(roc["auc"]), _num(roc["brier"]), _num(roc["ece"])])
        op = sec["operating_point"]
        if op is not None:
            ops.append([kind, "none (nothing flagged)" if op["threshold"] is None else f"{op['threshold']:.4g}",
                        op["fit_on"], f"{100 * op['fit_fpr']:.1f}%", f"{100 * op['fit_tpr']:.1f}%",
                        _pct(op["fpr"]) if op["applied_to"] else "-", _pct(op["tpr"]) if op["applied_to"] else "-"])
    out.append(("Per kind (rates over decided files at the detectors' own verdicts, Wilson 95% interval)",
                ["kind", "scored", "detection rate", "false-positive rate", "pos", "neg", "inconclusive", "errors",
                 "ROC AUC", "Brier", "ECE"], summary))
    if ops:
        target = next(s["operating_point"]["target_fpr"] for s in doc["kinds"].values() if s["operating_point"])
        out.append((f"Probability threshold for a false-positive rate <= {target:g} (call positive when p >= threshold)",
                    ["kind", "threshold", "chosen on", "FPR there", "TPR there", "FPR on eval", "TPR on eval"], ops))
    for kind, sec in doc["kinds"].items():
        if not sec["scored"]:
            continue
        if sec["detection_by_group"]:
            cols = list(sec["detection_by_group"][0]["group"])
            rows = []
            for g in sec["detection_by_group"]:
                label = " / ".join(f"{v}" for v in g["group"].values() if v not in ("", "none")) or "-"
                rows.append([label, str(g["files"]), str(g["detected"]), str(g["inconclusive"]), str(g["errors"]),
                             _pct(g["rate"])])
            out.append((f"{kind}: detection rate by {' / '.join(GROUP_COLUMNS.get(kind, cols))}",
                        ["group", "files", "detected", "inconclusive", "errors", "detection rate"], rows))
        fp_rows = [[g["group"]["family"], str(g["files"]), str(g["detected"]), str(g["inconclusive"]), str(g["errors"]),
                    _pct(g["rate"])] for g in sec["false_positives_by_family"]]
        fp_rows += [[f"({g['group']['class']}) {g['group']['family']}", str(g["files"]), str(g["detected"]),
                     str(g["inconclusive"]), str(g["errors"]), _pct(g["rate"])] for g in sec["false_positives_other"]]
        if fp_rows:
            out.append((f"{kind}: false positives by genuine family (then other negatives, class in brackets)",
                        ["family", "files", "flagged", "inconclusive", "errors", "false-positive rate"], fp_rows))
        if kind == "lossy" and sec["codec_accuracy"]["by_codec"]:
            ca = sec["codec_accuracy"]
            rows = [[c["codec"], str(c["detected"]), str(c["named"]), str(c["correct"]), _pct(c["accuracy"]),
                     _pct(c["accuracy_last"]), ", ".join(f"{k}: {v}" for k, v in c["named_as"].items()) or "-"]
                    for c in ca["by_codec"]]
            rows.append(["all", str(ca["detected"]), str(ca["named"]), str(ca["correct"]), _pct(ca["accuracy"]),
                         _pct(ca["accuracy_last"]), ""])
            out.append(("lossy: codec named for detected transcodes (evidence codec_family/codec vs the codecs the "
                        "file went through; 'last codec only' counts a double encode right only for its last codec)",
                        ["manifest codec", "detected", "named", "correct", "accuracy", "last codec only", "named as"],
                        rows))
        if kind == "ai" and sec["delta_accuracy"]["by_architecture"]:
            da = sec["delta_accuracy"]
            rows = [[a["architecture"], str(a["detected"]), str(a["measured"]), str(a["within"]), _pct(a["accuracy"]),
                     _num(a["median_abs_error_hz"], "{:.2f}")] for a in da["by_architecture"]]
            rows.append(["all", str(da["detected"]), str(da["measured"]), str(da["within"]), _pct(da["accuracy"]), ""])
            out.append((f"ai: comb spacing within {da['tolerance_hz']} Hz of expected_delta_hz (detected files)",
                        ["architecture", "detected", "with delta_hz", "within", "accuracy", "median |error| (Hz)"], rows))
    if doc["errors"]:
        out.append((f"Errors ({len(doc['errors'])} files)", ["path", "error"],
                    [[e["path"], e["error"] or ""] for e in doc["errors"]]))
    return out


def to_markdown(doc: dict) -> str:
    """The evaluation tables as GitHub-flavoured markdown (the plain output when stdout is not a terminal)."""
    parts = []
    for title, header, rows in tables(doc):
        parts.append(f"### {title}\n")
        parts.append("| " + " | ".join(header) + " |")
        parts.append("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            parts.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        parts.append("")
    return "\n".join(parts) + "\n"


def to_json(doc: dict) -> str:
    """The evaluation document as JSON text (no NaN: undefined values are null)."""
    return json.dumps(doc, indent=2, allow_nan=False, sort_keys=False) + "\n"


def run_evaluation(manifest_path: str | os.PathLike, *, split: str = "eval", config=None, engine=None,
                   progress=None, from_results: str | os.PathLike | None = None,
                   target_fpr: float = DEFAULT_TARGET_FPR,
                   on_result: Callable[[TrackReport], None] | None = None) -> tuple[dict, list[TrackReport]]:
    """Load a manifest, analyse it (or read stored results), and score it.

    Returns the evaluation document and the reports (manifest order).
    """
    from ._version import __version__

    manifest = load_manifest(manifest_path, split=split)
    t0 = time.perf_counter()
    unmatched = 0
    if from_results is not None:
        reports, unmatched = join_results(manifest, load_results(from_results))
    else:
        reports = analyse_manifest(manifest, config=config, engine=engine, progress=progress, on_result=on_result)
    elapsed = time.perf_counter() - t0
    meta = {"tool": "musicforensics", "version": __version__, "manifest": str(manifest_path), "split": split,
            "from_results": None if from_results is None else str(from_results),
            "unmatched_stored_results": unmatched, "wall_seconds": round(elapsed, 3), "target_fpr": target_fpr}
    if config is not None and from_results is None:
        meta["config_key"] = config.cache_key()
    # provenance of the results actually scored (stored results may come from another version or config)
    meta["result_config_keys"] = sorted({r.config_key for r in reports if r.config_key})
    meta["result_analyzer_versions"] = sorted({r.analyzer_version for r in reports if r.analyzer_version
                                               and r.status != STATUS_ERROR})
    return evaluate(manifest.rows, reports, target_fpr=target_fpr, meta=meta), reports
