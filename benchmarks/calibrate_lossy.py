"""Refit the constants of the lossy / upsampled detectors from a corpus manifest, and measure them.

    python -m benchmarks.calibrate_lossy --manifest /tmp/corpus_full/manifest.csv [MORE.csv ...] [--jobs 2]

1. analyses every row (``lossy`` and ``hires`` detectors) and stores the measured evidence in
   ``lossy_features.json`` next to each manifest (reused when present, so refits are instant; delete it after
   changing a measurement);
2. on ``split=dev`` rows only: fits the logistic model of musicforensics.detectors.lossy (L2-regularised,
   Newton steps) on x = (drop/10, floor/10, log10 hole rate + 4), the codec-family centroids on dev
   transcodes, and prints the constants to paste into the module;
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

import numpy as np

LAMBDA = 0.1


def _analyse(args):
    root, row = args
    from musicforensics.analysis import analyze_file
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


def fit_logistic(X: np.ndarray, y: np.ndarray, lam: float = LAMBDA, steps: int = 2000) -> np.ndarray:
    """Newton-Raphson for L2-regularised logistic regression (intercept not penalised)."""
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    w = np.zeros(A.shape[1])
    reg = lam * np.eye(A.shape[1])
    reg[0, 0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(A @ w, -60, 60)))
        g = A.T @ (p - y) + reg @ w
        H = A.T @ (A * (p * (1 - p))[:, None]) + reg + 1e-9 * np.eye(A.shape[1])
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def _codec(row) -> str:
    c = row["codec"]
    if "+" in c:  # double encode: the last (lowest-quality wall is usually the first) -- use the first codec
        c = c.split("+")[0]
    return c


def grid_report(data: dict) -> None:
    """Frame-grid z on dev rows: the largest genuine / hard-negative z (GRID_Z_LOSSY is 1.5 x it) and, per
    codec, how often the grid names the right codec."""
    gen, per = [], defaultdict(list)
    for path, (row, res) in data.items():
        if row["split"] != "dev" or res["status"] == "error":
            continue
        ev = res["verdicts"].get("lossy", {}).get("evidence") or {}
        g = ev.get("grid") or {}
        if not g:
            continue
        if row["label_lossy"] == "0":
            gen.append((float(g.get("z") or 0.0), path))
        elif row["class"] == "lossy":
            per[_codec(row)].append((float(g.get("z") or 0.0), g.get("best")))
    gen.sort(reverse=True)
    print(f"# grid z, dev negatives: max {gen[0][0] if gen else 0:.2f} ({gen[0][1] if gen else '-'}); "
          f"top 5 {[round(z, 2) for z, _ in gen[:5]]}")
    for c, v in sorted(per.items()):
        zs = sorted(z for z, _ in v)
        right = sum(1 for z, b in v if b == c and z >= 5.0)
        print(f"#   {c:7s} n={len(v):3d} z min {zs[0]:.1f} median {zs[len(zs) // 2]:.1f}; named right at z>=5: {right}")


def refit(data: dict) -> None:
    from musicforensics.detectors import lossy as L

    X, y, fam_rows = [], [], defaultdict(list)
    for row, res in data.values():
        if row["split"] != "dev" or row["class"] not in ("genuine", "lossy") or res["status"] == "error":
            continue
        ev = res["verdicts"].get("lossy", {}).get("evidence") or {}
        if "x" not in ev or ev.get("container"):
            continue
        X.append(L.model_x(ev))
        y.append(1.0 if row["label_lossy"] == "1" else 0.0)
        if row["label_lossy"] == "1" and float((ev.get("grid") or {}).get("z") or 0.0) < L.GRID_Z_FAMILY:
            # centroids only for the transcodes the frame grid leaves to them
            fam_rows[_codec(row)].append(ev["family_x"])
    X, y = np.array(X), np.array(y)
    grid_report(data)
    w = fit_logistic(X, y)
    print(f"# dev rows: {len(y)} ({int(y.sum())} lossy)")
    print(f"LOGIT_INTERCEPT = {w[0]:.4f}")
    print(f"LOGIT_WEIGHTS = ({', '.join(f'{v:.4f}' for v in w[1:])})")
    fam_rows = {k: v for k, v in fam_rows.items() if len(v) >= 3}  # no centroid from one or two files
    allf = np.array([v for vs in fam_rows.values() for v in vs])
    scale = np.maximum(allf.std(axis=0), 0.25) if allf.size else np.ones(6)
    print("FAMILY_CENTROIDS = {")
    for fam, vs in sorted(fam_rows.items()):
        c = np.median(np.array(vs), axis=0)
        print(f"    {fam!r}: ({', '.join(f'{v:.3f}' for v in c)}),  # n={len(vs)}")
    print("}")
    print(f"FAMILY_SCALE = ({', '.join(f'{v:.3f}' for v in scale)})")


def evaluate(data: dict, split: str) -> None:
    from musicforensics.detectors import lossy as L

    genuine = defaultdict(lambda: [0, 0, 0])  # family -> [n, fp, inconclusive]
    lossy = defaultdict(lambda: [0, 0, 0])  # family/setting -> [n, detected, family right]
    ups = defaultdict(lambda: [0, 0])
    misses = []
    for path, (row, res) in sorted(data.items()):
        if row["split"] != split or res["status"] == "error":
            if row["split"] == split:
                misses.append(f"ERROR {path}: {res['error']}")
            continue
        v = res["verdicts"].get("lossy", {})
        ev = v.get("evidence") or {}
        # recompute the decision from stored features with the module's current constants
        if "x" in ev and not ev.get("container"):
            d = L.decide(ev)
            det, fam = d["detected"], d["family"]
        else:
            det = bool(v.get("detected"))
            fam = (ev.get("codec_family") or {}).get("estimate")
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
            s[2] += int(det and fam == _codec(row))
            if not det:
                misses.append(f"MISS lossy {path} x={ev.get('x')}")
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
    print(f"  total detected {td}/{tn} = {td / max(tn, 1):.1%}; family right {tf}/{td} = {tf / max(td, 1):.1%}")
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
    a = ap.parse_args(argv)
    data = {}
    for m in a.manifest:  # evidence cached next to each manifest as lossy_features.json
        data.update({f"{m.parent}/{k}": v for k, v in measure(m, m.with_name("lossy_features.json"), a.jobs).items()})
    if not a.no_fit:
        refit(data)
    evaluate(data, a.split)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
