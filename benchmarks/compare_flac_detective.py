"""Side by side with FLAC Detective (PyPI ``flac-detective``) on the same corpus files.

Usage::

    pip install flac-detective        # a benchmark tool only, never a dependency of musicforensics
    python -m benchmarks.compare_flac_detective MANIFEST [--split eval] [--jobs 2] [--limit N]
        [--markdown FILE] [--json FILE]

Both tools run on the FLAC rows of the manifest's split (FLAC Detective reads FLAC only), each as its own
command-line program with the same number of workers, timed by wall clock from launch to exit:

- ``musicforensics evaluate`` on a temporary manifest listing those rows with absolute paths;
- ``flac-detective --format json --work-dir TMP --output TMP/report.json --no-update-check --workers N FILES``
  (``--work-dir`` keeps its progress file, log and report out of the corpus; the script checks afterwards that
  no file under the corpus folder was added or modified).

FLAC Detective's verdicts (AUTHENTIC < WARNING < SUSPICIOUS < FAKE_CERTAIN; ERROR, UNKNOWN) map to "lossy" at two
operating points: ``strict`` = FAKE_CERTAIN, ``lenient`` = FAKE_CERTAIN or SUSPICIOUS, ``any flag`` = also WARNING
(which FLAC Detective presents as "review"). Its 0-150 ``score``
gives its ROC AUC. Its ``is_upsampled`` and ``is_fake_high_res`` flags are scored against the upsampled and
bitpadded labels. ERROR counts as an error, UNKNOWN as inconclusive. Tables use the same code as
``musicforensics evaluate`` (rates over decided files, Wilson 95 % intervals).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from musicforensics.pipeline import evaluation as ev
from musicforensics.pipeline import manifest as mf
from musicforensics.pipeline import metrics
from musicforensics.results import STATUS_ERROR, STATUS_OK, Finding, TrackReport

FD_STRICT = frozenset({"FAKE_CERTAIN"})
FD_LENIENT = frozenset({"FAKE_CERTAIN", "SUSPICIOUS"})
FD_ANY = frozenset({"FAKE_CERTAIN", "SUSPICIOUS", "WARNING"})
FD_SCORE_MAX = 150.0  # scores are clipped here to map them to [0, 1] for the shared tables (AUC uses raw scores)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under ``root``: to prove a tool wrote nothing there."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            try:
                st = os.stat(p)
            except OSError:
                continue
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


def select_rows(manifest: mf.Manifest, limit: int | None) -> list[mf.ManifestRow]:
    rows = [r for r in manifest.rows if r.path.lower().endswith(".flac") and manifest.resolve(r).is_file()]
    if limit:
        # keep every class represented: round-robin over classes
        by_class: dict[str, list] = {}
        for r in rows:
            by_class.setdefault(r.cls, []).append(r)
        picked, i = [], 0
        while len(picked) < min(limit, len(rows)):
            for lst in by_class.values():
                if i < len(lst) and len(picked) < limit:
                    picked.append(lst[i])
            i += 1
        rows = picked
    return rows


def write_abs_manifest(path: Path, manifest: mf.Manifest, rows: list[mf.ManifestRow]) -> None:
    cols = ["path", "split", "class", "family", "codec", "setting", "architecture", "weights", "expected_delta_hz",
            "postprocess"] + [f"label_{k}" for k in mf.KINDS]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([str(manifest.resolve(r)), r.split, r.cls, r.family, r.codec, r.setting, r.architecture,
                        r.weights, "" if r.expected_delta_hz is None else r.expected_delta_hz, r.postprocess,
                        *[r.labels[k] for k in mf.KINDS]])


def run_ours(manifest_path: Path, jobs: int, tmp: Path) -> tuple[dict, float]:
    exe = shutil.which("musicforensics")
    cmd = ([exe] if exe else [sys.executable, "-m", "musicforensics"]) + [
        "evaluate", str(manifest_path), "--split", "all", "--jobs", str(jobs), "--json", "--quiet",
        "--results-out", str(tmp / "ours.jsonl")]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode not in (0, 3):
        raise SystemExit(f"musicforensics evaluate failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout), wall


def fd_version() -> str:
    out = subprocess.run(["flac-detective", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip()


def load_fd_report(path: Path) -> dict[str, dict]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {os.path.realpath(r["filepath"]): r for r in data.get("results", [])}


def run_fd(paths: list[str], jobs: int, tmp: Path, keep: Path | None = None) -> tuple[dict[str, dict], float]:
    work = tmp / "fd_work"
    work.mkdir()
    report = work / "report.json"
    cmd = ["flac-detective", "--format", "json", "--work-dir", str(work), "--output", str(report),
           "--no-update-check", "--workers", str(jobs), *paths]
    env = dict(os.environ, FLAC_DETECTIVE_NO_UPDATE_CHECK="1")
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    if not report.exists():
        raise SystemExit(f"flac-detective wrote no report (exit {out.returncode}):\n{out.stderr[-2000:]}")
    if keep is not None:
        shutil.copyfile(report, keep)
    return load_fd_report(report), wall


def fd_reports(rows_abs: list[mf.ManifestRow], fd: dict[str, dict], fake: frozenset) -> list[TrackReport]:
    reports = []
    for r in rows_abs:
        res = fd.get(os.path.realpath(r.path))
        if res is None:
            reports.append(TrackReport(path=r.path, status=STATUS_ERROR, error="no result from flac-detective"))
            continue
        verdict = res.get("verdict")
        if verdict == "ERROR" or res.get("is_corrupted"):
            reports.append(TrackReport(path=r.path, status=STATUS_ERROR, error=f"flac-detective: {res.get('reason')}"))
            continue
        rep = TrackReport(path=r.path, status=STATUS_OK)
        score = float(res.get("score") or 0.0)
        ev_lossy = {"verdict": verdict, "score": score, "cutoff_hz": res.get("cutoff_freq")}
        if verdict == "UNKNOWN":
            rep.verdicts["lossy"] = Finding.undecided("lossy", "flac-detective: UNKNOWN", evidence=ev_lossy)
        else:
            rep.verdicts["lossy"] = Finding("lossy", verdict in fake, min(score, FD_SCORE_MAX) / FD_SCORE_MAX, ev_lossy)
        up = bool(res.get("is_upsampled"))
        rep.verdicts["upsampled"] = Finding("upsampled", up, float(up), {})
        pad = bool(res.get("is_fake_high_res"))
        rep.verdicts["bitpadded"] = Finding("bitpadded", pad, float(pad), {})
        reports.append(rep)
    return reports


def fd_auc(rows_abs, fd) -> float | None:
    y, s = [], []
    for r in rows_abs:
        res = fd.get(os.path.realpath(r.path))
        if res and res.get("verdict") not in ("ERROR", "UNKNOWN", None):
            y.append(r.labels["lossy"])
            s.append(float(res.get("score") or 0.0))
    auc = metrics.roc_auc(y, s) if y else float("nan")
    return None if math.isnan(auc) else auc


def _cell(g: dict | None) -> str:
    if g is None:
        return "-"
    rate = g["rate"]
    if rate["rate"] is None:
        return f"- ({g['errors']} err, {g['inconclusive']} inc)" if g["files"] else "-"
    lo, hi = rate["ci95"]
    extra = f", {g['inconclusive']} inc" if g["inconclusive"] else ""
    extra += f", {g['errors']} err" if g["errors"] else ""
    return f"{rate['k']}/{rate['n']} = {100 * rate['rate']:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]{extra}"


def side_by_side(docs: dict[str, dict], kind: str, section: str) -> list[list[str]]:
    keyed: dict[str, dict[str, dict]] = {}
    order: list[str] = []
    for tool, doc in docs.items():
        for g in doc["kinds"][kind][section]:
            key = " / ".join(v for v in g["group"].values() if v not in ("", "none")) or "-"
            if key not in keyed:
                keyed[key] = {}
                order.append(key)
            keyed[key][tool] = g
    return [[key, str(max(g["files"] for g in keyed[key].values()))] + [_cell(keyed[key].get(t)) for t in docs]
            for key in order]


def summary_rows(docs: dict[str, dict], aucs: dict[str, float | None], walls: dict[str, float], n: int) -> list[list[str]]:
    rows = []
    for tool, doc in docs.items():
        lossy = doc["kinds"]["lossy"]
        auc = aucs.get(tool)
        rows.append([tool, "yes" if lossy["scored"] else "no", _cell(lossy["positives"]), _cell(lossy["negatives"]),
                     "-" if auc is None else f"{auc:.3f}",
                     _cell(doc["kinds"]["upsampled"]["positives"]), _cell(doc["kinds"]["bitpadded"]["positives"]),
                     f"{walls[tool]:.1f}" if tool in walls else "-",
                     f"{walls[tool] / n:.2f}" if tool in walls and n else "-"])
    return rows


def render(title, header, rows, *, markdown) -> str:
    if markdown:
        out = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out) + "\n"
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([title, fmt.format(*header), fmt.format(*["-" * w for w in widths])]
                     + [fmt.format(*r) for r in rows]) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--split", default="eval", choices=mf.SPLITS)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, help="At most this many files (round-robin over classes).")
    ap.add_argument("--markdown", type=Path, help="Also write the tables as markdown here.")
    ap.add_argument("--save-fd-report", type=Path, help="Keep FLAC Detective's JSON report here.")
    ap.add_argument("--fd-report", type=Path,
                    help="Re-score a saved FLAC Detective report instead of running it (its wall time is then unknown).")
    ap.add_argument("--json", type=Path, help="Also write both evaluation documents and timings as JSON here.")
    args = ap.parse_args(argv)
    if shutil.which("flac-detective") is None:
        raise SystemExit("flac-detective is not installed: pip install flac-detective")
    manifest = mf.load_manifest(args.manifest, split=args.split)
    rows = select_rows(manifest, args.limit)
    if not rows:
        raise SystemExit(f"no existing FLAC rows in split {args.split!r} of {args.manifest}")
    before = snapshot(manifest.root)
    with tempfile.TemporaryDirectory(prefix="mf_vs_fd_") as tmpdir:
        tmp = Path(tmpdir)
        abs_manifest = tmp / "manifest.csv"
        write_abs_manifest(abs_manifest, manifest, rows)
        rows_abs = mf.load_manifest(abs_manifest, split="all").rows
        print(f"{len(rows)} FLAC files; running musicforensics --jobs {args.jobs} ...", file=sys.stderr)
        ours, ours_wall = run_ours(abs_manifest, args.jobs, tmp)
        print(f"  {ours_wall:.1f} s" + ("" if args.fd_report else f"; running flac-detective --workers {args.jobs} ..."),
              file=sys.stderr)
        if args.fd_report:
            fd, fd_wall = load_fd_report(args.fd_report), None
        else:
            fd, fd_wall = run_fd([r.path for r in rows_abs], args.jobs, tmp, args.save_fd_report)
            print(f"  {fd_wall:.1f} s", file=sys.stderr)
    after = snapshot(manifest.root)
    changed = sorted(p for p in after if before.get(p) != after[p])
    removed = sorted(set(before) - set(after))
    fd_version_text = fd_version()
    from musicforensics import __version__

    docs = {f"musicforensics {__version__}": ours}
    for name, fake in (("FLAC Detective (strict)", FD_STRICT), ("FLAC Detective (lenient)", FD_LENIENT),
                       ("FLAC Detective (any flag)", FD_ANY)):
        docs[name] = ev.evaluate(rows_abs, fd_reports(rows_abs, fd, fake), kinds=mf.KINDS)
    tools = list(docs)
    aucs = {tools[0]: ours["kinds"]["lossy"]["roc"]["auc"], **{t: fd_auc(rows_abs, fd) for t in tools[1:]}}
    walls = {tools[0]: ours_wall} | ({tools[1]: fd_wall} if fd_wall is not None else {})
    verdicts: dict[str, Counter] = {}
    for r in rows_abs:
        res = fd.get(os.path.realpath(r.path))
        verdicts.setdefault(f"{r.cls}", Counter())[res.get("verdict") if res else "(no result)"] += 1
    names = sorted({v for c in verdicts.values() for v in c})
    verdict_rows = [[cls, *[str(c.get(v, 0)) for v in names]] for cls, c in sorted(verdicts.items())]
    n = len(rows)
    tables = [
        (f"Summary: {n} FLAC files, split {args.split}, --jobs/--workers {args.jobs} ({fd_version_text})",
         ["tool", "lossy scored", "lossy detected", "lossy false positives", "lossy ROC AUC", "upsampled detected",
          "bitpadded detected", "wall s", "s/file"], summary_rows(docs, aucs, walls, n)),
        ("Lossy detection by codec / setting (and other lossy-labelled files)", ["group", "files", *tools],
         side_by_side(docs, "lossy", "detection_by_group")),
        ("Lossy false positives by genuine family", ["family", "files", *tools],
         side_by_side(docs, "lossy", "false_positives_by_family")),
        ("Lossy false positives on other negatives (class / family)", ["group", "files", *tools],
         side_by_side(docs, "lossy", "false_positives_other")),
        ("FLAC Detective verdicts by manifest class", ["class", *names], verdict_rows),
    ]
    selected = {str(manifest.resolve(r)) for r in rows}
    touched_inputs = sorted(p for p in selected if before.get(p) != after.get(p))
    other = sorted(p for p in (set(changed) | set(removed)) if p not in selected)
    untouched = not touched_inputs and not other
    note = (f"Analysed files unchanged: {not touched_inputs}. Other files added/changed/removed under "
            f"{manifest.root} during the run (by the tools or by any other writer): {len(other)}"
            + (f", e.g. {other[:5]!r}" if other else "") + ".")
    for t in tables:
        print(render(*t, markdown=False))
    print(note)
    if args.markdown:
        args.markdown.write_text("\n".join(render(*t, markdown=True) for t in tables) + "\n" + note + "\n",
                                 encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"tools": docs, "wall_seconds": walls, "lossy_auc": aucs, "files": n,
                                         "flac_detective_verdicts": {k: dict(v) for k, v in verdicts.items()},
                                         "flac_detective_version": fd_version_text, "corpus_untouched": untouched, "changed_inputs": touched_inputs, "other_changes": other},
                                        indent=1, allow_nan=False), encoding="utf-8")
    return 0 if not touched_inputs else 1


if __name__ == "__main__":
    sys.exit(main())
