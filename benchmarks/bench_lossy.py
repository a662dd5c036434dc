"""Cost of the ``lossy`` + ``hires`` detectors against decoding the same files, in one run.

    python -m benchmarks.bench_lossy --manifest /tmp/corpus_small/manifest.csv [--limit 40] [--long 180]

For each file: decode time (``soundfile.read`` of the whole file as float64, best of 2) and the time the two
detectors report for themselves (``DetectorResult.seconds``: excerpt decode, holes STFT, frame grid, wall
and segment tests; the spine's streamed STFT is shared with every detector and not counted). ``--long S``
also builds files of S seconds by concatenating corpus files (real track lengths: the detector costs are
mostly fixed per track, the decode grows with the length) in a temporary folder deleted at the end.
Prints per-part medians and the ratio detector / decode (median and total). Never a unit test: the numbers
depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def _decode_seconds(path: Path) -> float:
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        sf.read(path, dtype="float64")
        best = min(best, time.perf_counter() - t)
    return best


def _detector_seconds(path: Path) -> tuple[float, dict]:
    from musicforensics.pipeline.analysis import analyze_file
    from musicforensics.config import AnalysisConfig

    rep = analyze_file(path, config=AnalysisConfig(detectors=("lossy", "hires")))
    parts = {d.detector: d.seconds for d in rep.detectors}
    return sum(parts.values()), parts


def _long_files(paths: list[Path], seconds: float, out: Path, count: int) -> list[Path]:
    made = []
    by_rate: dict[int, list[Path]] = {}
    for p in paths:
        by_rate.setdefault(sf.info(p).samplerate, []).append(p)
    for rate, group in sorted(by_rate.items(), key=lambda kv: -len(kv[1])):
        for i in range(count):
            chunks, total = [], 0
            j = i
            while total < seconds * rate:
                y, _ = sf.read(group[j % len(group)], dtype="int16", always_2d=True)
                if y.shape[1] == 1:
                    y = np.repeat(y, 2, axis=1)
                chunks.append(y[:, :2])
                total += y.shape[0]
                j += 1
            dst = out / f"long_{rate}_{i}.flac"
            sf.write(dst, np.concatenate(chunks)[: int(seconds * rate)], rate, subtype="PCM_16")
            made.append(dst)
        break
    return made


def _report(name: str, rows: list[tuple[float, float, dict]]) -> None:
    dec = [r[0] for r in rows]
    det = [r[1] for r in rows]
    ratio = [b / a for a, b, _ in rows]
    print(f"== {name}: {len(rows)} files ==")
    print(f"  decode   median {statistics.median(dec) * 1000:8.1f} ms   total {sum(dec):7.2f} s")
    for part in sorted({k for r in rows for k in r[2]}):
        v = [r[2].get(part, 0.0) for r in rows]
        print(f"  {part:8s} median {statistics.median(v) * 1000:8.1f} ms   total {sum(v):7.2f} s")
    print(f"  ratio (lossy+hires) / decode: median {statistics.median(ratio):.2f}x, total {sum(det) / sum(dec):.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=40, help="corpus files measured (spread over the manifest)")
    ap.add_argument("--long", type=float, default=0.0, help="also measure files of this many seconds")
    ap.add_argument("--long-count", type=int, default=4)
    a = ap.parse_args(argv)
    with open(a.manifest, newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = [r for r in rows if r["class"] in ("genuine", "lossy", "upsampled")]
    step = max(1, len(rows) // a.limit)
    paths = [a.manifest.parent / r["path"] for r in rows[::step][: a.limit]]
    _detector_seconds(paths[0])  # warm-up: imports, numba cache
    measured = []
    for p in paths:
        dec = _decode_seconds(p)
        det, parts = _detector_seconds(p)
        measured.append((dec, det, parts))
    _report(f"corpus files ({a.manifest})", measured)
    if a.long > 0:
        with tempfile.TemporaryDirectory(prefix="mf_bench_lossy_") as tmp:
            longs = _long_files([a.manifest.parent / r["path"] for r in rows if r["class"] == "genuine"],
                                a.long, Path(tmp), a.long_count)
            measured = []
            for p in longs:
                dec = _decode_seconds(p)
                det, parts = _detector_seconds(p)
                measured.append((dec, det, parts))
            _report(f"{a.long:g} s files", measured)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
