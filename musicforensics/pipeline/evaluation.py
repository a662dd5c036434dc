"""Score musicforensics against a labelled corpus: analyse a manifest, compute per-kind metrics.

The library side of ``musicforensics evaluate``. A manifest is a CSV whose ``path`` column is relative to the
manifest's folder: the synthetic corpus's (written by ``python -m benchmarks.corpus.build``, with ``label_<kind>``
columns) or the real-world development set's (labels derived from what each file is); see
:mod:`musicforensics.pipeline.manifest` for both layouts.

How files count, for each finding kind ``k`` (``lossy``, ``upsampled``, ``bitpadded``, ``ai``):

- a file is a *positive* when ``label_k == 1``, a *negative* when it is 0, and *unknown* when the manifest cannot
  say (real-world rows): unknown files are counted as such and left out of rates and ROC; negatives are
  reported per genuine family (``class == genuine``) and, separately, per class for labelled files of other
  kinds;
- a file whose analysis failed (missing, unreadable) is an *error* (listed, never a crash);
- a file whose ``k`` verdict is INCONCLUSIVE is counted as *inconclusive* and left out of the rates and of the
  ROC; rates are ``detected / decided`` with Wilson 95 % intervals, and the inconclusive count is shown beside;
- a kind no selected detector reports is marked ``scored: false``;
- every count is also given per duration band (``<2 s``, ``2-5 s``, ``5-10 s``, ``>=10 s``) of the manifest's
  ``duration_s``, else of the analysed duration.

The ROC uses the verdict probabilities of decided files. The threshold for a target false-positive rate is
chosen on ``split == dev`` files when dev and eval files are both present and then applied to the eval files;
otherwise it is chosen on the files evaluated (and says so in ``fit_on``).

Why one module: every metric of one finding kind is computed over the same aligned (row, outcome) pairs
and assembled into one document; the tables that render it live in :mod:`musicforensics.evidence.evaluation_tables`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import posixpath
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .._version import __version__
from ..config import AnalysisConfig
from ..errors import ParameterError
from ..results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, MappingEvidence, TrackReport
from . import metrics
from .manifest import DURATION_BANDS, KINDS, Manifest, ManifestRow, load_manifest
from .registry import evidence_types
from .scan import scan
from .work import ScanItem

#: Version of the JSON document :func:`evaluate` returns (bump on incompatible changes).
EVALUATION_SCHEMA_VERSION = "1.1"
#: A comb spacing counts as right when within this many Hz of the manifest's ``expected_delta_hz``
#: (0.5 Hz is about a fifth of one 2.69 Hz analysis bin at n_fft 16384, 44.1 kHz).
DELTA_TOLERANCE_HZ = 0.5
#: Default false-positive rate the operating threshold is chosen for.
DEFAULT_TARGET_FPR = 0.01
#: Bins of the reliability diagram.
RELIABILITY_BINS = 10
#: Manifest columns that group the detection table of each kind (for files whose class is that kind).
GROUP_COLUMNS = {
    "lossy": ("codec", "setting"),
    "ai": ("architecture", "weights", "postprocess"),
    "upsampled": ("family",),
    "bitpadded": ("family",),
}
#: The same for real-world manifests: no encoder setting is known, so lossy files group by codec and source
#: (``family``); ``architecture`` is the generator.
REALWORLD_GROUP_COLUMNS = GROUP_COLUMNS | {"lossy": ("codec", "setting", "family")}
#: Detection grouping per manifest layout.
GROUP_COLUMNS_BY_LAYOUT = {"corpus": GROUP_COLUMNS, "realworld": REALWORLD_GROUP_COLUMNS}
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


# -- obtaining reports -------------------------------------------------------------------------------

def analyse_manifest(manifest: Manifest, *, config=None, engine=None, progress=None,
                     on_result: Callable[[TrackReport], None] | None = None) -> list[TrackReport]:
    """Analyse every row of ``manifest`` on a :mod:`musicforensics.scan` engine.

    Reports carry the manifest path as their ``path`` (so stored results join back to the manifest) and come
    back in manifest order. A missing file becomes an error report, not an exception.
    """
    config = config or AnalysisConfig()
    items = []
    for row in manifest.rows:
        full = manifest.resolve(row)
        error = None if full.is_file() else f"missing file: {str(full)!r} does not exist"
        items.append(ScanItem(label=row.path, path=str(full), error=error))
    reports, _ = scan(items, config=config, engine=engine, progress=progress, on_result=on_result)
    return reports


def load_results(path: str | os.PathLike) -> dict[str, TrackReport]:
    """Read stored JSON Lines results (``scan --format jsonl`` or ``evaluate --results-out``), keyed by path
    (normalised, so ``./a/b.flac`` of a scan run in the manifest's folder joins the row ``a/b.flac``).

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
                report = TrackReport.from_dict(data, evidence_types())
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ParameterError(f"results {str(p)!r} line {n}: not a track record ({type(exc).__name__}: {exc})") from None
            out[posixpath.normpath(report.path)] = report
    return out


def join_results(manifest: Manifest, stored: dict[str, TrackReport]) -> tuple[list[TrackReport], int]:
    """Stored reports in manifest order; a row without one gets an error report. Also returns how many
    stored records matched no manifest row (in the selected split)."""
    reports = []
    used = set()
    for row in manifest.rows:
        key = posixpath.normpath(row.path)
        rep = stored.get(key)
        if rep is None:
            rep = TrackReport(path=row.path, status=STATUS_ERROR, error="no stored result for this file")
        else:
            used.add(key)
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
    """The codec a finding names: the lossy evidence's ``codec_family.estimate``; for evidence kept as plain data
    (results of other versions), the ``codec_family``/``codec`` entry, a string or a mapping with an
    ``estimate`` (or ``name``/``family``) entry."""
    if finding is None:
        return None
    ev = finding.evidence
    if not isinstance(ev, (MappingEvidence, Mapping)):
        family = getattr(ev, "codec_family", None)
        return None if family is None else normalise_codec(family.estimate)
    for key in CODEC_EVIDENCE_KEYS:
        value = ev.get(key)
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
        ev = None if finding is None else finding.evidence
        value = ev.get("delta_hz") if isinstance(ev, (MappingEvidence, Mapping)) else getattr(ev, "delta_hz", None)
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
        if state == "decided" and row.labels[kind] is not None and (splits is None or row.split in splits):
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


def _by_label(pairs: list, kind: str) -> tuple[list, list, list]:
    """(positives, negatives, unknown) of ``kind``."""
    labels = [row.labels[kind] for row, _ in pairs]
    return tuple([p for p, label in zip(pairs, labels) if label == want] for want in (1, 0, None))


def _duration_bands(pairs: list, kind: str) -> list[dict]:
    """Positives, negatives and unknown-label files of ``kind`` per duration band, shortest first."""
    by_band: dict[str, list] = defaultdict(list)
    for pair in pairs:
        by_band[pair[0].duration_band].append(pair)
    order = [name for _, name in DURATION_BANDS] + ["unknown"]
    out = []
    for band in (b for b in order if b in by_band):
        positives, negatives, unknown = _by_label(by_band[band], kind)
        out.append({"band": band, "positives": _tally(positives), "negatives": _tally(negatives),
                    "unknown_label": _tally(unknown)})
    return out


def score_kind(rows: Sequence[ManifestRow], reports: Sequence[TrackReport], kind: str, *,
               target_fpr: float = DEFAULT_TARGET_FPR, delta_tolerance_hz: float = DELTA_TOLERANCE_HZ,
               group_columns: Mapping[str, Sequence[str]] = GROUP_COLUMNS) -> dict:
    """Every metric of one finding kind over aligned ``rows`` and ``reports`` (see the module doc); the
    detection table of the kind's own class groups by ``group_columns[kind]`` (default ``family``)."""
    pairs = [(row, _outcome(rep, kind)) for row, rep in zip(rows, reports)]
    positives, negatives, unknown = _by_label(pairs, kind)
    columns = tuple(group_columns.get(kind, ("family",)))
    own = [p for p in positives if p[0].cls == kind]
    cross = [p for p in positives if p[0].cls != kind]
    genuine = [p for p in negatives if p[0].cls == "genuine"]
    other_neg = [p for p in negatives if p[0].cls != "genuine"]
    section = {
        "kind": kind,
        "scored": any(out[0] not in ("not_scored", "error") for _, out in pairs),
        "positives": _tally(positives),
        "negatives": _tally(negatives),
        "unknown_label": _tally(unknown),
        "detection_columns": list(columns),
        "detection_by_group": _grouped(own, columns) + _grouped(cross, CROSS_GROUP_COLUMNS),
        "false_positives_by_family": _grouped(genuine, ("family",)),
        "false_positives_other": _grouped(other_neg, ("class", "family")),
        "by_duration_band": _duration_bands(pairs, kind),
        "roc": _roc_section([p for p in pairs if p[0].labels[kind] is not None], kind),
        "operating_point": _operating_point(pairs, kind, target_fpr),
    }
    if kind == "lossy":
        section["codec_accuracy"] = _codec_accuracy(pairs)
    if kind == "ai":
        section["delta_accuracy"] = _delta_accuracy(pairs, delta_tolerance_hz)
    return section


def _with_duration(row: ManifestRow, report: TrackReport) -> ManifestRow:
    """``row`` with the analysed duration where the manifest gives none."""
    analysed = (report.audio or {}).get("duration_s")
    if row.duration_s is not None or analysed is None:
        return row
    return dataclasses.replace(row, duration_s=float(analysed))


def evaluate(rows: Sequence[ManifestRow], reports: Sequence[TrackReport], *, kinds: Sequence[str] = KINDS,
             target_fpr: float = DEFAULT_TARGET_FPR, meta: dict | None = None,
             group_columns: Mapping[str, Sequence[str]] = GROUP_COLUMNS) -> dict:
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
    rows = [_with_duration(row, rep) for row, rep in zip(rows, reports)]
    return {
        "schema_version": EVALUATION_SCHEMA_VERSION,
        "meta": dict(meta or {}),
        "files": {"total": len(reports), "ok": statuses[STATUS_OK], "inconclusive": statuses[STATUS_INCONCLUSIVE],
                  "error": statuses[STATUS_ERROR],
                  "by_split": dict(sorted(Counter(r.split for r in rows).items())),
                  "by_class": dict(sorted(Counter(r.cls for r in rows).items())),
                  "analysis_seconds": round(sum(r.seconds for r in reports), 3)},
        "errors": [{"path": r.path, "error": r.error} for r in reports if r.status == STATUS_ERROR],
        "kinds": {k: score_kind(rows, reports, k, target_fpr=target_fpr, group_columns=group_columns) for k in kinds},
    }


def run_evaluation(manifest_path: str | os.PathLike, *, split: str = "eval", config=None, engine=None,
                   progress=None, from_results: str | os.PathLike | None = None,
                   target_fpr: float = DEFAULT_TARGET_FPR,
                   on_result: Callable[[TrackReport], None] | None = None) -> tuple[dict, list[TrackReport]]:
    """Load a manifest, analyse it (or read stored results), and score it.

    Returns the evaluation document and the reports (manifest order).
    """
    manifest = load_manifest(manifest_path, split=split)
    t0 = time.perf_counter()
    unmatched = 0
    if from_results is not None:
        reports, unmatched = join_results(manifest, load_results(from_results))
    else:
        reports = analyse_manifest(manifest, config=config, engine=engine, progress=progress, on_result=on_result)
    elapsed = time.perf_counter() - t0
    meta = {"tool": "musicforensics", "version": __version__, "manifest": str(manifest_path),
            "manifest_layout": manifest.layout, "split": split, "split_note": manifest.split_note or None,
            "from_results": None if from_results is None else str(from_results),
            "unmatched_stored_results": unmatched, "wall_seconds": round(elapsed, 3), "target_fpr": target_fpr}
    if config is not None and from_results is None:
        meta["config_key"] = config.cache_key()
    # provenance of the results actually scored (stored results may come from another version or config)
    meta["result_config_keys"] = sorted({r.config_key for r in reports if r.config_key})
    meta["result_analyzer_versions"] = sorted({r.analyzer_version for r in reports if r.analyzer_version
                                               and r.status != STATUS_ERROR})
    doc = evaluate(manifest.rows, reports, target_fpr=target_fpr, meta=meta,
                   group_columns=GROUP_COLUMNS_BY_LAYOUT[manifest.layout])
    return doc, reports
