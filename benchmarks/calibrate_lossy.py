"""Refit the lossy detector's models from corpus manifests, and measure them.

    python -m benchmarks.calibrate_lossy --manifest corpus_full/manifest.csv corpus_realworld/manifest.csv \\
        [--jobs 1] [--split eval] [--write-decision-model PATH] [--write-family-model PATH]

1. analyses every row (``lossy`` and ``hires`` detectors) and stores the measured evidence in
   ``lossy_features_v<detector version>.json`` next to each manifest (reused when present, so refits are instant;
   delete it after changing a measurement);
2. on the ``split=dev`` rows of every manifest together (the synthetic corpus and its real-world layer): fits the
   calibration model (L2-regularised logistic regression, :func:`musicforensics.fitting.fit_logistic`, on
   :class:`~musicforensics.lossy.evidence.LossyModelInput`: the largest grid z and which rule applied) and, with
   ``--write-family-model``, the codec-family model (multinomial logistic over
   ``lossy.decision.family_features``, classes: the codecs of the dev transcodes and ``unknown``, fitted on the
   edges of the dev genuine files) and the bitrate-class wall Gaussians (44.1 / 48 kHz single encodes);
3. on the rows of ``--split`` (eval by default), with the models currently in the package (or the ones just
   written): false positives per genuine family, detection per family / setting / postprocess, codec family
   accuracy, the probability's calibration, inconclusive counts and reasons, the rule that decided, and every
   miss and false positive.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np

#: L2 strength of the calibration model and of the codec-family model.
LAMBDA = 0.1
FAMILY_LAMBDA = 0.1
#: Settings whose encoder leaves no wall at 44.1 / 48 kHz (or one where genuine masters have theirs: Opus's
#: 20 kHz band edge), as the corpus's accuracy tables group them.
NO_WALL = {("mp3", "cbr320"), ("mp3", "v0"), ("aac", "256k"), ("aac", "320k"), ("vorbis", "q6"), ("vorbis", "q8"),
           ("opus", "64k"), ("opus", "96k"), ("opus", "128k"), ("opus", "192k")}


def _analyse(args):
    root, row = args
    from musicforensics.config import AnalysisConfig
    from musicforensics.pipeline.analysis import analyze_file

    rep = analyze_file(Path(root) / row["path"], config=AnalysisConfig(detectors=("lossy", "hires")))
    out = {"path": row["path"], "status": rep.status, "error": rep.error, "verdicts": {}}
    for kind, f in rep.verdicts.items():
        out["verdicts"][kind] = f.to_dict()
    return out


def features_file(manifest: Path) -> Path:
    """The evidence cache of a manifest, named after the lossy detector's version (an older cache stays)."""
    from musicforensics.lossy import SPEC

    return manifest.with_name(f"lossy_features_v{SPEC.version}.json")


def measure(manifest: Path, jobs: int) -> dict:
    with open(manifest, newline="") as fh:
        rows = list(csv.DictReader(fh))
    features = features_file(manifest)
    cache = json.loads(features.read_text()) if features.exists() else {}
    todo = [r for r in rows if r["path"] not in cache]
    if todo:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for i, res in enumerate(ex.map(_analyse, [(manifest.parent, r) for r in todo], chunksize=2)):
                cache[res["path"]] = res
                if (i + 1) % 50 == 0:
                    print(f"[measure] {manifest.parent.name}: {i + 1}/{len(todo)}", file=sys.stderr)
                    features.write_text(json.dumps(cache))
        features.write_text(json.dumps(cache))
    return {r["path"]: (r, cache[r["path"]]) for r in rows}


def _evidence(res: dict):
    """The typed lossy evidence of a cached result (None for an error, a container or an inconclusive track
    without evidence)."""
    from musicforensics.lossy.evidence import LossyEvidence

    if res["status"] == "error":
        return None
    ev = res["verdicts"].get("lossy", {}).get("evidence") or {}
    if "grid" not in ev or ev.get("container"):
        return None
    return LossyEvidence.from_dict(ev)


def _chain(row) -> set:
    """Every codec a transcode went through."""
    from musicforensics.pipeline.evaluation import codec_chain

    return codec_chain(SimpleNamespace(codec=row["codec"], setting=row["setting"]))


def _scored(row) -> bool:
    """Rows the lossy models are fitted and judged on: genuine and lossy files (not AI outputs, fake hi-res or
    reduced-depth files)."""
    return row["class"] in ("genuine", "lossy")


def refit(data: dict, manifests: list) -> dict:
    """Fit the calibration model on the dev rows; returns it in the form of ``models/lossy_decision.json``."""
    from musicforensics.fitting import fit_logistic
    from musicforensics.lossy import decision as L

    X, y, paths = [], [], []
    for path, (row, res) in data.items():
        if row["split"] != "dev" or not _scored(row):
            continue
        ev = _evidence(res)
        if ev is None:
            continue
        rule = L.apply_rules(ev)
        if rule.state == "inconclusive":
            continue
        X.append(L.model_input(ev, rule).vector())
        y.append(1.0 if row["label_lossy"] == "1" else 0.0)
        paths.append(path)
    X, y = np.array(X), np.array(y)
    w, b = fit_logistic(X, y, l2=LAMBDA, sample_weight=None)
    print(f"# calibration model: {len(y)} dev rows ({int(y.sum())} lossy); intercept {b:.4f}, weights "
          f"({', '.join(f'{v:.4f}' for v in w)})")
    return {
        "format": "musicforensics-lossy-decision", "format_version": 2,
        "fitted_by": "python -m benchmarks.calibrate_lossy --manifest " + " ".join(str(m) for m in manifests)
                     + " --write-decision-model musicforensics/models/lossy_decision.json",
        "training": {"split": "dev", "rows": len(y), "lossy_rows": int(y.sum()),
                     "corpora": [str(m) for m in manifests],
                     "method": f"L2-regularised logistic regression (lambda {LAMBDA}) on the model input of the "
                               "decided rows; the verdict itself comes from the rules (docs/lossy.md)"},
        "features": ["grid_log_z", "codec_wall", "opus_edge", "floor_step", "segments", "unknown_edge"],
        "intercept": round(float(b), 4), "weights": [round(float(v), 4) for v in w],
    }


#: Manifest setting -> bitrate-class label of musicforensics.lossy.codecs.BITRATE_CLASSES, per codec.
SETTING_CLASSES = {
    "mp3": {"cbr96": "<=96 kbps", "cbr128": "128 kbps / V5", "v5": "128 kbps / V5", "cbr160": "160 kbps",
            "cbr192": "192 kbps / V2", "v2": "192 kbps / V2", "cbr256": "256 kbps", "cbr320": "320 kbps / V0",
            "v0": "320 kbps / V0"},
    "aac": {"96k": "<=96 kbps", "128k": "128 kbps", "192k": "192 kbps", "256k": ">=256 kbps", "320k": ">=256 kbps"},
    "vorbis": {"q0": "q0-q1", "q1": "q0-q1", "q2": "q2-q3", "q3": "q2-q3", "q4": "q4", "q5": "q5", "q6": ">=q6",
               "q7": ">=q6", "q8": ">=q6"},
}
#: Smallest standard deviation of a bitrate class's wall (kHz): the 250 Hz-scale jitter of a wall estimate.
MIN_WALL_SD_KHZ = 0.15


def _plain_transcode(row) -> bool:
    """A single encode at the source's own 44.1 / 48 kHz rate, nothing else done to it."""
    return (row["class"] == "lossy" and row["family"] != "double" and row.get("postprocess", "none") == "none"
            and int(row["sample_rate"] or 0) in (44100, 48000))


def fit_family_model(data: dict, manifests: list) -> dict:
    """The codec-family model and the per-class wall Gaussians of the bitrate classes, from the dev rows: the
    transcodes labelled with their (last) codec, the genuine files whose spectrum has an edge labelled
    ``unknown`` (the reject class: an edge no codec explains)."""
    from musicforensics.fitting import fit_multinomial
    from musicforensics.lossy import decision as L
    from musicforensics.lossy.codecs import BITRATE_CLASSES

    feats, labels, walls = [], [], defaultdict(list)
    for row, res in data.values():
        if row["split"] != "dev" or not _scored(row):
            continue
        ev = _evidence(res)
        if ev is None:
            continue
        if row["class"] == "lossy":
            label = row["codec"]
        elif ev.wall_judgement is not None and ev.wall_judgement.kind != "none":
            label = L.UNKNOWN
        else:
            continue
        feats.append([L.family_features(ev)[f] for f in L.FAMILY_FEATURES])
        labels.append(label)
        cls = SETTING_CLASSES.get(row["codec"], {}).get(row["setting"])
        if cls is not None and _plain_transcode(row):
            walls[(row["codec"], cls)].append((ev.wall_hz or int(row["sample_rate"]) / 2) / 1000.0)
    families = sorted(set(labels))
    X = np.array(feats)
    mean, scale = X.mean(axis=0), np.maximum(X.std(axis=0), 1e-3)
    W, b = fit_multinomial((X - mean) / scale, np.array([families.index(c) for c in labels]), len(families),
                           l2=FAMILY_LAMBDA)
    classes = defaultdict(list)
    for (codec, label), v in walls.items():
        v = np.array(v)
        # robust: median and 1.4826 x MAD (a piece with no content near the wall must not widen the class)
        med = float(np.median(v))
        sd = 1.4826 * float(np.median(np.abs(v - med)))
        classes[codec].append({"label": label, "wall_khz_mean": round(med, 4),
                               "wall_khz_sd": round(max(sd, MIN_WALL_SD_KHZ), 4), "n": len(v)})
    for codec, table in BITRATE_CLASSES.items():  # keep the table's order (low to high bitrate)
        order = [lab for _, lab in table]
        classes[codec].sort(key=lambda c: order.index(c["label"]))
    return {
        "format": "musicforensics-lossy-family-model", "format_version": 2,
        "fitted_by": "python -m benchmarks.calibrate_lossy --manifest " + " ".join(str(m) for m in manifests)
                     + " --write-family-model musicforensics/models/lossy_family.json",
        "training": {"split": "dev", "rows": len(labels), "per_family": {f: labels.count(f) for f in families},
                     "label": "manifest codec (the last codec of a double encode); 'unknown': genuine files whose "
                              "spectrum has an edge (the reject class)", "lambda": FAMILY_LAMBDA,
                     "method": "multinomial logistic regression (musicforensics.fitting.fit_multinomial) on "
                               "standardised features"},
        "families": families, "features": list(L.FAMILY_FEATURES),
        "mean": [round(float(v), 6) for v in mean], "scale": [round(float(v), 6) for v in scale],
        "intercepts": [round(float(v), 6) for v in b], "weights": [[round(float(v), 6) for v in r] for r in W],
        "bitrate_classes": {k: v for k, v in sorted(classes.items())},
    }


def _group(row) -> str:
    """Report group of a lossy row: family / setting, with the postprocess (rate, band-limit) when there is one."""
    post = row.get("postprocess", "none")
    post = "" if post in ("none", "") else f" [{post.split('_')[0]}]"
    return f"{row['family']}/{row['setting']}{post}"


def _wall_kind(row) -> str:
    if row.get("postprocess", "none").startswith("bandlimited"):
        return "band-limited music"
    return "no wall" if (row["codec"], row["setting"]) in NO_WALL else "wall"


def evaluate(data: dict, split: str) -> None:
    from musicforensics.lossy import decision as L

    genuine = defaultdict(Counter)
    lossy = defaultdict(Counter)
    kinds = defaultdict(Counter)
    routes = Counter()
    reasons = Counter()
    probs = []
    misses = []
    for path, (row, res) in sorted(data.items()):
        if row["split"] != split or not _scored(row):
            continue
        if res["status"] == "error":
            misses.append(f"ERROR {path}: {res['error']}")
            continue
        ev = _evidence(res)
        if ev is None:
            continue
        d = L.decide(ev)  # re-decided from the stored evidence with the current models
        routes[(row["class"], d.via)] += 1
        if d.state == "inconclusive":
            reasons[(row["class"], d.via)] += 1
        if d.p is not None:
            probs.append((d.p, row["label_lossy"] == "1"))
        if row["label_lossy"] == "0":
            g = genuine[row["family"]]
            g["n"] += 1
            g[d.state] += 1
            if d.detected:
                misses.append(f"FP {path} via {d.via}: {d.reason[:150]}")
            continue
        s = lossy[_group(row)]
        s["n"] += 1
        s[d.state] += 1
        right = d.detected and d.family in _chain(row)
        s["family right"] += int(right)
        k = kinds[_wall_kind(row)]
        k["n"] += 1
        k[d.state] += 1
        k["family right"] += int(right)
        if not d.detected:
            misses.append(f"MISS ({d.state}) {path} via {d.via}: {d.reason[:150]}")
        elif not right:
            misses.append(f"FAMILY {path}: {d.family} (p {d.family_p.get(d.family)}) via {d.via}")
    print(f"== split {split}: genuine files (lossy false positives) ==")
    tot = Counter()
    for fam, g in sorted(genuine.items()):
        print(f"  {fam:28s} n={g['n']:4d} flagged={g['lossy']:3d} clean={g['clean']:4d} inconclusive={g['inconclusive']}")
        tot.update(g)
    print(f"  total flagged {tot['lossy']}/{tot['n']} = {tot['lossy'] / max(tot['n'], 1):.1%} "
          f"(inconclusive {tot['inconclusive']})")
    print("== lossy detection ==")
    for key, s in sorted(lossy.items()):
        print(f"  {key:44s} n={s['n']:3d} detected={s['lossy']:3d} inconclusive={s['inconclusive']} "
              f"family right={s['family right']}")
    for key, k in sorted(kinds.items()):
        print(f"  {key}: detected {k['lossy']}/{k['n']} = {k['lossy'] / max(k['n'], 1):.1%} (inconclusive "
              f"{k['inconclusive']}); family right {k['family right']}/{k['lossy']} = "
              f"{k['family right'] / max(k['lossy'], 1):.1%}")
    if probs:
        from musicforensics.pipeline.metrics import reliability_bins

        p = np.array([q for q, _ in probs])
        t = np.array([int(v) for _, v in probs])
        print(f"  probability: mean {p.mean():.3f} vs share lossy {t.mean():.3f} over {len(p)} decided files; "
              f"ECE {reliability_bins(t, p).ece:.3f}")
    print("== rule that decided (class, rule: files) ==")
    for (cls, via), n in sorted(routes.items()):
        print(f"  {cls:8s} {via:24s} {n}")
    print("== misses, false positives, family errors ==")
    for m in misses:
        print("  " + m)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", type=Path, required=True, nargs="+", help="one or more manifest.csv")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--split", default="eval", help="split to report on (default eval)")
    ap.add_argument("--no-fit", action="store_true")
    ap.add_argument("--write-decision-model", type=Path, default=None,
                    help="write the refitted calibration model here (JSON, the form of models/lossy_decision.json)")
    ap.add_argument("--write-family-model", type=Path, default=None,
                    help="fit the codec-family / bitrate-class model on dev and write it here (JSON)")
    a = ap.parse_args(argv)
    data = {}
    for m in a.manifest:
        data.update({f"{m.parent}/{k}": v for k, v in measure(m, a.jobs).items()})
    from musicforensics.lossy import decision as L

    if a.write_family_model is not None:
        model = fit_family_model(data, a.manifest)
        a.write_family_model.write_text(json.dumps(model, indent=1) + "\n")
        L.family_model.cache_clear()
        print(f"# wrote {a.write_family_model} ({model['training']['rows']} dev rows)")
    if not a.no_fit:
        decision = refit(data, a.manifest)
        if a.write_decision_model is not None:
            a.write_decision_model.write_text(json.dumps(decision, indent=1) + "\n")
            L.decision_model.cache_clear()
            print(f"# wrote {a.write_decision_model}")
    evaluate(data, a.split)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
