"""Cost of the plots per track (the budget is 1 s per track for the figures).

Measures, per track, wall-clock and CPU seconds of:

* ``data``: :func:`musicforensics.plot.compute_plot_data` when the analysis' spectrum is at hand (explain:
  only the spectrogram pass) and when it must be recomputed (scan --plots, report: one pass for both);
* ``summary``: drawing the one-page summary figure and encoding it as PNG;
* ``all4``: the four PNGs of ``explain --plot`` from ready data.

Usage::

    python -m benchmarks.bench_plots                       # 5 synthetic 180 s stereo 44.1 kHz tracks
    python -m benchmarks.bench_plots --seconds 60 --tracks 3
    python -m benchmarks.bench_plots --manifest /tmp/corpus_small/manifest.csv --tracks 10

CPU seconds are the honest figure on a shared machine (wall-clock grows with the load average, which is
printed too).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _synthetic(folder: Path, n: int, seconds: float) -> list[Path]:
    import soundfile as sf
    from scipy.signal import butter, sosfilt

    out = []
    rng = np.random.default_rng(0)
    sr = 44100
    for i in range(n):
        t = np.arange(int(sr * seconds)) / sr
        y = 0.05 * rng.standard_normal((t.size, 2))
        y = sosfilt(butter(12, 16000 + 500 * i, fs=sr, output="sos"), y, axis=0)
        y += 0.2 * np.sin(2 * np.pi * 220 * (i + 1) * t)[:, None]
        path = folder / f"synthetic_{i}.flac"
        sf.write(path, y / np.abs(y).max() * 0.8, sr, subtype="PCM_16")
        out.append(path)
    return out


def _from_manifest(manifest: Path, n: int) -> list[Path]:
    with open(manifest, newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = [r for r in rows if r.get("split") == "eval"] or rows
    return [manifest.parent / r["path"] for r in rows[:n]]


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=180.0, help="length of synthetic tracks, s")
    ap.add_argument("--manifest", type=Path, help="use corpus files (eval split first) instead of synthetic ones")
    args = ap.parse_args(argv)

    from musicforensics.evidence import plot
    from musicforensics.pipeline.analysis import analyze_file, warm_up

    warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        files = _from_manifest(args.manifest, args.tracks) if args.manifest else _synthetic(Path(tmp), args.tracks, args.seconds)
        # warm matplotlib (font cache, imports) once, as a long scan would
        rep0 = analyze_file(files[0])
        plot.figure_to_png(plot.summary_figure(plot.compute_plot_data(files[0], report=rep0), rep0))
        rows = []
        for f in files:
            rep = analyze_file(f)
            data, dw1, dc1 = _timed(lambda: plot.compute_plot_data(f, report=rep))
            spectrum, rep.spectrum = rep.spectrum, None
            _, dw2, dc2 = _timed(lambda: plot.compute_plot_data(f, report=rep))
            rep.spectrum = spectrum
            _, sw, sc = _timed(lambda: plot.figure_to_png(plot.summary_figure(data, rep)))

            def all4():
                return [plot.figure_to_png(plot.FIGURES[k](data, rep)) for k in plot.PLOT_KINDS]

            _, aw, ac = _timed(all4)
            dur = data.duration_s
            rows.append((dw1, dc1, dw2, dc2, sw, sc, aw, ac, dur))
            print(f"{os.path.basename(str(f))[:50]:50s} {dur:6.1f} s  data {dw1:5.2f}/{dc1:5.2f}  "
                  f"data+spectrum {dw2:5.2f}/{dc2:5.2f}  summary {sw:5.2f}/{sc:5.2f}  all4 {aw:5.2f}/{ac:5.2f}  (wall/cpu s)")
    cols = list(zip(*rows))
    names = ["data (spectrum known)", "data (recomputed)", "summary figure", "all four figures"]
    print(f"\n{len(rows)} tracks, mean {statistics.mean(cols[8]):.1f} s of audio; load average {os.getloadavg()[0]:.1f}")
    for i, name in enumerate(names):
        w, c = cols[2 * i], cols[2 * i + 1]
        print(f"{name:24s} median wall {statistics.median(w):5.2f} s  cpu {statistics.median(c):5.2f} s  "
              f"(max wall {max(w):5.2f}, cpu {max(c):5.2f})")


if __name__ == "__main__":
    main()
