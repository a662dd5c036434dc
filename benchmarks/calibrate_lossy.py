"""Refit the constants of the lossy / upsampled detectors from a corpus manifest, and measure them.

    python -m benchmarks.calibrate_lossy --manifest /tmp/corpus_full/manifest.csv [MORE.csv ...] [--jobs 2]

1. analyses every row (``lossy`` and ``hires`` detectors) and stores the measured evidence in
   ``lossy_features.json`` next to each manifest (reused when present, so refits are instant; delete it after
   changing a measurement);
2. on ``split=dev`` rows only: fits the lossy decision model (L2-regularised logistic regression,
   :func:`musicforensics.fitting.fit_logistic`) on the model input (drop/10, floor/10, log10 hole rate + 4,
   grid z/10) and prints it; ``--write-decision-model PATH`` writes it as ``musicforensics/models/
   lossy_decision.json`` does. With ``--write-family-model PATH`` it also fits the codec-family model (multinomial
   logistic over ``lossy.decision.family_features``) and the bitrate-class wall Gaussians on the dev transcodes.
   Measuring runs the detector, which loads the shipped models, so after changing ``FAMILY_FEATURES`` first refit
   from the old cache (a new feature reads as absent), then delete the cache and run again;
3. on ``split=eval`` rows: reports, with the constants currently in the modules, false positives per genuine
   family, detection per lossy family/setting, family accuracy and upsampled detection, misses listed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np

LAMBDA = 0.1
#: L2 strength of the codec-family model (0.1, 1, 3, 10 tried on dev, in-sample; 0.1 fitted dev best).
FAMILY_LAMBDA = 0.1


def _analyse(args):
    root, row = args
    from musicforensics.pipeline.analysis import analyze_file
    from musicforensics.config import AnalysisConfig

    rep = analyze_file(Path(root) / row["path"], config=AnalysisConfig(detectors=("lossy", "hires")))
    out = {"path": row["path"], "status": rep.status, "error": rep.error, "verdicts": {}}
    for kind, f in rep.verdicts.items():
        out["verdicts"][kind] = f.to_dict()
    return out


def measure(manifest: Path, features: Path, jobs: int) -> dict:
    with open(manifest, newline="") as fh:
        rows = list(csv.DictReader(fh))
    cache = json.loads(features.read_text()) if features.exists() else {}
    todo = [r for r in rows if r["path"] not in cache]
    if todo:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for i, res in enumerate(ex.map(_analyse, [(manifest.parent, r) for r in todo], chunksize=2)):
                cache[res["path"]] = res
                if (i + 1) % 20 == 0:
                    print(f"[measure] {i + 1}/{len(todo)}", file=sys.stderr)
        features.write_text(json.dumps(cache))
    return {r["path"]: (r, cache[r["path"]]) for r in rows}


def _evidence(res: dict):
    """The typed lossy evidence of a cached result (None for an error, a container or evidence without a model
    input)."""
    from musicforensics.lossy.evidence import LossyEvidence

    if res["status"] == "error":
        return None
    ev = res["verdicts"].get("lossy", {}).get("evidence") or {}
    if "x" not in ev or ev.get("container"):
        return None
    return LossyEvidence.from_dict(ev)


def _codec(row) -> str:
    """The manifest's codec (for a double encode, the last codec of the chain)."""
    return row["codec"]


def _chain(row) -> set:
    """Every codec a transcode went through (``musicforensics.evaluation.codec_chain`` on a manifest dict row)."""
    from musicforensics.pipeline.evaluation import codec_chain

    return codec_chain(SimpleNamespace(codec=row["codec"], setting=row["setting"]))


def grid_report(data: dict) -> None:
    """Frame-grid z on dev rows: the largest genuine / hard-negative z (GRID_Z_LOSSY is 1.5 x it) and, per
    codec, how often the grid names the right codec."""
    gen, per = [], defaultdict(list)
    for path, (row, res) in data.items():
        if row["split"] != "dev" or res["status"] == "error":
            continue
        ev = _evidence(res)
        if ev is None:
            continue
        if row["label_lossy"] == "0" and row["class"] != "ai":
            gen.append((float(ev.grid.z), path))
        elif row["class"] == "lossy":
            per[_codec(row)].append((float(ev.grid.z), ev.grid.best))
    gen.sort(reverse=True)
    print(f"# grid z, dev negatives: max {gen[0][0] if gen else 0:.2f} ({gen[0][1] if gen else '-'}); "
          f"top 5 {[round(z, 2) for z, _ in gen[:5]]}")
    for c, v in sorted(per.items()):
        zs = sorted(z for z, _ in v)
        right = sum(1 for z, b in v if b == c and z >= 5.0)
        print(f"#   {c:7s} n={len(v):3d} z min {zs[0]:.1f} median {zs[len(zs) // 2]:.1f}; named right at z>=5: {right}")


def refit(data: dict) -> dict:
    """Fit the decision model on the dev rows; returns it in the form of ``models/lossy_decision.json``."""
    from musicforensics.fitting import fit_logistic
    from musicforensics.lossy import decision as L

    X, y, paths = [], [], []
    for path, (row, res) in data.items():
        if row["split"] != "dev" or row["class"] not in ("genuine", "lossy"):
            continue
        ev = _evidence(res)
        if ev is None:
            continue
        X.append(L.model_input(ev).vector())
        y.append(1.0 if row["label_lossy"] == "1" else 0.0)
        paths.append(path)
    X, y = np.array(X), np.array(y)
    grid_report(data)
    w, b = fit_logistic(X, y, l2=LAMBDA, sample_weight=None)
    print(f"# dev rows: {len(y)} ({int(y.sum())} lossy)")
    print(f"# intercept {b:.4f}, weights ({', '.join(f'{v:.4f}' for v in w)})")
    logits = X @ w + b
    p_neg = sorted(((1 / (1 + np.exp(-v)), p) for v, t, p in zip(logits, y, paths) if t == 0), reverse=True)
    print(f"# highest dev-negative model probability with these weights: {p_neg[0][0]:.3f} ({p_neg[0][1]})")
    model = dict(L.decision_model())
    model.update(intercept=round(float(b), 4), weights=[round(float(v), 4) for v in w])
    return model


#: Manifest setting -> bitrate-class label of musicforensics.detectors.lossy.BITRATE_CLASSES, per codec.
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


def fit_family_model(data: dict, manifests: list) -> dict:
    """The codec-family model (multinomial logistic over lossy.family_features) and the per-class wall
    Gaussians of the bitrate classes, from the dev transcodes (label: the manifest's codec, i.e. the last codec
    of a double encode)."""
    from musicforensics.fitting import fit_multinomial
    from musicforensics.lossy import decision as L
    from musicforensics.lossy.codecs import BITRATE_CLASSES

    feats, labels, walls = [], [], defaultdict(list)
    for row, res in data.values():
        if row["split"] != "dev" or row["class"] != "lossy":
            continue
        ev = _evidence(res)
        if ev is None:
            continue
        feats.append([L.family_features(ev)[f] for f in L.FAMILY_FEATURES])
        labels.append(_codec(row))
        label = SETTING_CLASSES.get(_codec(row), {}).get(row["setting"])
        if label is not None and row["family"] != "double":
            walls[(_codec(row), label)].append(ev.family_x[0])
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
        "format": "musicforensics-lossy-family-model", "format_version": 1,
        "fitted_by": "python -m benchmarks.calibrate_lossy --manifest " + " ".join(str(m) for m in manifests)
                     + " --write-family-model musicforensics/models/lossy_family.json",
        "training": {"split": "dev", "rows": len(labels), "per_family": {f: labels.count(f) for f in families},
                     "label": "manifest codec (the last codec of a double encode)", "lambda": FAMILY_LAMBDA,
                     "method": "multinomial logistic regression (musicforensics.fitting.fit_multinomial) on standardised "
                                "features"},
        "families": families, "features": list(L.FAMILY_FEATURES),
        "mean": [round(float(v), 6) for v in mean], "scale": [round(float(v), 6) for v in scale],
        "intercepts": [round(float(v), 6) for v in b], "weights": [[round(float(v), 6) for v in r] for r in W],
        "bitrate_classes": {k: v for k, v in sorted(classes.items())},
    }


def evaluate(data: dict, split: str) -> None:
    from musicforensics.lossy import decision as L

    genuine = defaultdict(lambda: [0, 0, 0])  # family -> [n, fp, inconclusive]
    lossy = defaultdict(lambda: [0, 0, 0])  # family/setting -> [n, detected, family right]
    ups = defaultdict(lambda: [0, 0])
    fam_conf = []  # (probability of the named family, named right) for detected transcodes
    rate_stats = [0, 0, 0.0]  # single-encode transcodes detected, bitrate class right, sum of its probability
    misses = []
    for path, (row, res) in sorted(data.items()):
        if row["split"] != split or res["status"] == "error":
            if row["split"] == split:
                misses.append(f"ERROR {path}: {res['error']}")
            continue
        v = res["verdicts"].get("lossy", {})
        ev = _evidence(res)
        # recompute the decision from stored features with the current models
        if ev is not None:
            d = L.decide(ev)
            det, fam = d.detected, d.family
        else:
            det = bool(v.get("detected"))
            fam = ((v.get("evidence") or {}).get("codec_family") or {}).get("estimate")
        inc = v.get("status") == "inconclusive" and not det
        if row["class"] == "genuine" or (row["class"] in ("bitpadded",) and row["label_lossy"] == "0"):
            g = genuine[row["family"]]
            g[0] += 1
            g[1] += int(det)
            g[2] += int(inc)
            if det:
                misses.append(f"FP lossy {path} p={v.get('probability')}")
        if row["label_lossy"] == "1":
            key = f"{row['family']}/{row['setting']}"
            s = lossy[key]
            s[0] += 1
            s[1] += int(det)
            s[2] += int(det and fam in _chain(row))
            if det and row["class"] == "lossy" and ev is not None:
                fam_conf.append((d.family_p[fam], fam in _chain(row)))
            label = SETTING_CLASSES.get(_codec(row), {}).get(row["setting"])
            if det and label is not None and row["family"] != "double" and ev is not None:
                rates = L.bitrate_probabilities(_codec(row), ev.family_x[0])
                rate_stats[0] += 1
                rate_stats[1] += int(max(rates, key=rates.get) == label)
                rate_stats[2] += rates.get(label, 0.0)
            if not det:
                misses.append(f"MISS lossy {path} x={None if ev is None else ev.x}")
        if row["class"] in ("upsampled",) or row["family"] == "hires" or (row["class"] == "genuine" and int(row["sample_rate"] or 0) > 44100):
            u = res["verdicts"].get("upsampled", {})
            key = f"{row['class']}/{row['family']}"
            ups[key][0] += 1
            ups[key][1] += int(bool(u.get("detected")))
            if bool(u.get("detected")) != (row["label_upsampled"] == "1"):
                misses.append(f"{'MISS' if row['label_upsampled'] == '1' else 'FP'} upsampled {path}")
    print(f"== split {split}: genuine / hard negatives (lossy FP) ==")
    n = fp = 0
    for k, (a, b, c) in sorted(genuine.items()):
        print(f"  {k:24s} n={a:3d} FP={b} inconclusive={c}")
        n += a
        fp += b
    print(f"  total FP {fp}/{n} = {fp / max(n, 1):.1%}")
    print("== lossy detection ==")
    tn = td = tf = 0
    for k, (a, b, c) in sorted(lossy.items()):
        print(f"  {k:28s} n={a:3d} detected={b} family_right={c}")
        tn, td, tf = tn + a, td + b, tf + c
    print(f"  total detected {td}/{tn} = {td / max(tn, 1):.1%}; family right {tf}/{td} = {tf / max(td, 1):.1%} "
          "(a double encode's family is right when it names either codec of the chain)")
    if fam_conf:
        from musicforensics.pipeline.metrics import reliability_bins

        conf = np.array([c for c, _ in fam_conf])
        right = np.array([int(r) for _, r in fam_conf])
        print(f"  family probability: mean {conf.mean():.3f} vs accuracy {right.mean():.3f} over {len(conf)} "
              f"transcodes; ECE {reliability_bins(right, conf).ece:.3f}")
    n_rate = max(rate_stats[0], 1)
    print(f"  bitrate class (given the true family, single encodes): right {rate_stats[1]}/{rate_stats[0]} = "
          f"{rate_stats[1] / n_rate:.1%}; mean probability of the true class {rate_stats[2] / n_rate:.3f}")
    print("== upsampled (label vs detected) ==")
    for k, (a, b) in sorted(ups.items()):
        print(f"  {k:28s} n={a:3d} detected={b}")
    print("== misses ==")
    for m in misses:
        print("  " + m)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", type=Path, required=True, nargs="+", help="one or more manifest.csv")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--split", default="eval", help="split to report on (default eval)")
    ap.add_argument("--no-fit", action="store_true")
    ap.add_argument("--write-decision-model", type=Path, default=None,
                    help="write the refitted decision model here (JSON, the form of models/lossy_decision.json)")
    ap.add_argument("--write-family-model", type=Path, default=None,
                    help="fit the codec-family / bitrate-class model on dev and write it here (JSON)")
    a = ap.parse_args(argv)
    data = {}
    for m in a.manifest:  # evidence cached next to each manifest as lossy_features.json
        data.update({f"{m.parent}/{k}": v for k, v in measure(m, m.with_name("lossy_features.json"), a.jobs).items()})
    if not a.no_fit:
        decision = refit(data)
        if a.write_decision_model is not None:
            a.write_decision_model.write_text(json.dumps(decision, indent=1) + "\n")
            print(f"# wrote {a.write_decision_model}")
    if a.write_family_model is not None:
        model = fit_family_model(data, a.manifest)
        a.write_family_model.write_text(json.dumps(model, indent=1) + "\n")
        from musicforensics.lossy import decision as L

        L.family_model.cache_clear()
        print(f"# wrote {a.write_family_model} ({model['training']['rows']} dev transcodes)")
    evaluate(data, a.split)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
