"""Tables of the lossy, upsampled and bit-depth verdicts on a real-world set (a folder with ``manifest.csv`` laid out
like ``../shared/realworld``), from the JSON Lines of a scan of that folder.

    musicforensics scan REALWORLD -f jsonl --detectors lossy,hires,bitdepth -j 1 > scan.jsonl
    python -m benchmarks.realworld_table --manifest REALWORLD/manifest.csv scan.jsonl [--markdown]

Per class, per source (the publisher before ``__`` in the file name) and per length (< 2 s, 2-5 s, >= 5 s): files,
flagged lossy, decided clean, INCONCLUSIVE, and the reasons of the inconclusive ones; then every flagged file
with its reason (a flag on a genuine file is a question to answer with evidence). Lossy containers (MP3, Ogg,
AAC files) are counted apart: the question there is whether they show an earlier generation.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

LENGTHS = ((0.0, 2.0, "< 2 s"), (2.0, 5.0, "2-5 s"), (5.0, 1e9, ">= 5 s"))


def load(manifest: Path, results: list[Path]) -> list[tuple[dict, dict]]:
    """(manifest row, scan record) pairs, matched by the path relative to the manifest's folder."""
    with open(manifest, newline="") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    root = manifest.parent.resolve()
    out = []
    for res in results:
        for line in res.read_text().splitlines():
            rec = json.loads(line)
            path = Path(rec["path"])  # a scan stores absolute paths, evaluate's --results-out relative ones
            rel = str((path if path.is_absolute() else root / path).resolve().relative_to(root))
            if rel in rows:
                out.append((rows[rel], rec))
    return out


def verdict(rec: dict, kind: str) -> str:
    """``flagged``, ``clean``, ``inconclusive`` or ``error`` for one kind."""
    if rec["status"] == "error":
        return "error"
    v = rec["verdicts"].get(kind) or {}
    if v.get("status") == "inconclusive":
        return "inconclusive"
    return "flagged" if v.get("detected") else "clean"


def _reason_kind(reason: str) -> str:
    """The kind of an inconclusive reason, without its numbers."""
    for key in ("too short", "too little content", "no content", "too short for a verdict on the wall",
                "too short for the grid search", "too short to call"):
        if key in reason:
            return key
    return reason[:60]


def length_band(seconds: float) -> str:
    return next(name for lo, hi, name in LENGTHS if lo <= seconds < hi)


def _table(title: str, header: list[str], rows: list[list], markdown: bool) -> str:
    if markdown:
        lines = [f"#### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([title, fmt.format(*header)] + [fmt.format(*map(str, r)) for r in rows]) + "\n"


def summarise(pairs: list[tuple[dict, dict]], markdown: bool = False) -> str:
    out = []
    groups: dict[tuple, Counter] = defaultdict(Counter)
    reasons: dict[tuple, Counter] = defaultdict(Counter)
    for row, rec in pairs:
        container = bool((rec.get("audio") or {}).get("lossy_codec"))
        cls = row["class"] + (" (lossy container)" if container else "")
        source = Path(row["path"]).name.split("__")[0]
        band = length_band(float(row["duration_s"]))
        v = verdict(rec, "lossy")
        for key in ((cls, "all", "all"), (cls, "all", band), (cls, source, "all")):
            groups[key][v] += 1
            groups[key]["n"] += 1
        if v == "inconclusive":
            why = (rec["verdicts"].get("lossy") or {}).get("reason") or "; ".join(rec.get("reasons") or [])
            reasons[(cls,)][_reason_kind(why)] += 1
    header = ["class", "source", "length", "files", "flagged lossy", "clean", "inconclusive", "error"]
    rows = [[c, s, b, g["n"], g["flagged"], g["clean"], g["inconclusive"], g["error"]]
            for (c, s, b), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all", kv[0]))]
    out.append(_table("lossy verdicts", header, rows, markdown))
    rows = [[c[0], why, n] for c, cnt in sorted(reasons.items()) for why, n in cnt.most_common()]
    out.append(_table("inconclusive: why", ["class", "reason (start)", "files"], rows, markdown))
    for kind in ("upsampled", "bitpadded"):
        cnt = Counter((row["class"], verdict(rec, kind)) for row, rec in pairs)
        rows = [[c, v, n] for (c, v), n in sorted(cnt.items())]
        out.append(_table(f"{kind} verdicts", ["class", "verdict", "files"], rows, markdown))
    flagged = [[row["path"], row["class"], row["duration_s"], k, (rec["verdicts"][k].get("reason") or "")[:160]]
               for row, rec in pairs for k in ("lossy", "upsampled", "bitpadded")
               if verdict(rec, k) == "flagged"]
    out.append(_table("every flag", ["file", "class", "s", "kind", "reason"], flagged, markdown))
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path, nargs="+", help="JSON Lines of a scan of the set")
    ap.add_argument("--manifest", type=Path, required=True)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    print(summarise(load(a.manifest, a.results), markdown=a.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
