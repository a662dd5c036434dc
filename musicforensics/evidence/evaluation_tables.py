"""The evaluation document as tables: rows of strings for the terminal, Markdown for pipes and files, JSON."""

from __future__ import annotations

import json


def _pct(rate: dict | None) -> str:
    if not rate or rate.get("rate") is None:
        return "-"
    lo, hi = rate["ci95"]
    return f"{100 * rate['rate']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _num(v, fmt="{:.3f}") -> str:
    return "-" if v is None else fmt.format(v)


def _duration_table(kind: str, sec: dict) -> tuple[str, list[str], list[list[str]]]:
    rows = []
    for b in sec["by_duration_band"]:
        pos, neg, unknown = b["positives"], b["negatives"], b["unknown_label"]
        rows.append([b["band"], str(pos["files"]), str(pos["detected"]), str(pos["inconclusive"]),
                     _pct(pos["rate"]), str(neg["files"]), str(neg["detected"]), str(neg["inconclusive"]),
                     _pct(neg["rate"]), str(unknown["files"]), str(pos["errors"] + neg["errors"] + unknown["errors"])])
    return (f"{kind}: by duration band (positives, then negatives; unknown-label files counted apart)",
            ["duration", "positives", "detected", "inconclusive", "detection rate", "negatives", "flagged",
             "inconclusive", "false-positive rate", "unknown label", "errors"], rows)


def tables(doc: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """The evaluation as (title, header, rows) tables of strings, in print order."""
    out = []
    f = doc["files"]
    splits = ", ".join(f"{k}: {v}" for k, v in f["by_split"].items()) or "-"
    if doc["meta"].get("split_note"):
        splits += f" ({doc['meta']['split_note']})"
    out.append(("Files", ["total", "ok", "inconclusive", "error", "splits", "analysis time (s)"],
                [[str(f["total"]), str(f["ok"]), str(f["inconclusive"]), str(f["error"]), splits,
                  f"{f['analysis_seconds']:.1f}"]]))
    summary, ops = [], []
    # the unknown-label column only where some label is unknown (a corpus manifest labels every file)
    unknown = any(sec["unknown_label"]["files"] for sec in doc["kinds"].values())
    for kind, sec in doc["kinds"].items():
        roc = sec["roc"]
        summary.append([kind, "yes" if sec["scored"] else "no", _pct(sec["positives"]["rate"]),
                        _pct(sec["negatives"]["rate"]), str(roc["n_pos"]), str(roc["n_neg"]), str(roc["inconclusive"]),
                        *([str(sec["unknown_label"]["files"])] if unknown else []),
                        str(sec["positives"]["errors"] + sec["negatives"]["errors"]),
                        _num(roc["auc"]), _num(roc["brier"]), _num(roc["ece"])])
        op = sec["operating_point"]
        if op is not None:
            ops.append([kind, "none (nothing flagged)" if op["threshold"] is None else f"{op['threshold']:.4g}",
                        op["fit_on"], f"{100 * op['fit_fpr']:.1f}%", f"{100 * op['fit_tpr']:.1f}%",
                        _pct(op["fpr"]) if op["applied_to"] else "-", _pct(op["tpr"]) if op["applied_to"] else "-"])
    out.append(("Per kind (rates over decided files at the detectors' own verdicts, Wilson 95% interval)",
                ["kind", "scored", "detection rate", "false-positive rate", "pos", "neg", "inconclusive",
                 *(["unknown label"] if unknown else []), "errors", "ROC AUC", "Brier", "ECE"], summary))
    if ops:
        target = next(s["operating_point"]["target_fpr"] for s in doc["kinds"].values() if s["operating_point"])
        out.append((f"Probability threshold for a false-positive rate <= {target:g} (call positive when p >= threshold)",
                    ["kind", "threshold", "chosen on", "FPR there", "TPR there", "FPR on eval", "TPR on eval"], ops))
    for kind, sec in doc["kinds"].items():
        if not sec["scored"]:
            continue
        if sec["detection_by_group"]:
            rows = []
            for g in sec["detection_by_group"]:
                label = " / ".join(f"{v}" for v in g["group"].values() if v not in ("", "none")) or "-"
                rows.append([label, str(g["files"]), str(g["detected"]), str(g["inconclusive"]), str(g["errors"]),
                             _pct(g["rate"])])
            out.append((f"{kind}: detection rate by {' / '.join(sec['detection_columns'])}",
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
        out.append(_duration_table(kind, sec))
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


