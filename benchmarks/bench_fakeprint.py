"""Fakeprint speed: the package (numba kernels, batched FFT) against a straightforward reference.

    python benchmarks/bench_fakeprint.py [--seconds 180] [--channels 2] [--repeat 3]

Both run in this one process on the same seeded signal; the script checks that they agree within 1e-6 and
prints the time of each and the ratio. The reference, :func:`reference_fakeprint`, is written from the
paper's description (Afchar et al., ISMIR 2025, Sec. 4) as a direct transcription: Python loops over frames
and bins, NumPy only for each frame's FFT, the hull built anchor by anchor. It is also the ground truth of
tests/test_fakeprint.py. A vectorised-NumPy variant (the kernels' NumPy twins) is timed too, so the gain
from numba alone is visible. Also times the comb search on the same spectrum and, when a file is given
with --file, the whole AI analysis of that file against its decode time.
"""

from __future__ import annotations

import argparse
import math
import time
from math import gcd

import numpy as np


def reference_fakeprint(y: np.ndarray, sample_rate: int, *, max_seconds: float = 180.0) -> np.ndarray:
    """The fakeprint, transcribed step by step from the paper (slow on purpose: plain loops).

    1. resample to 44.1 kHz (polyphase, scipy) and keep the first ``max_seconds``;
    2. frames of 16384 samples every 8192, periodic Hann window, no padding;
    3. power in dB: 10 log10(|X|^2 + 1e-10), unnormalised transform;
    4. mean over channels and frames;
    5. bins from 5 to 16 kHz;
    6. lower hull: minimum of each consecutive 10-bin window, anchors joined by quadratic interpolation
       (flat outside), floored at -45 dB;
    7. residual clipped to [0, 5] dB, divided by its maximum.
    """
    from scipy.interpolate import interp1d
    from scipy.signal import resample_poly

    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    y = y[: int(math.ceil(max_seconds * sample_rate)) + 64]
    if sample_rate != 44100:
        g = gcd(sample_rate, 44100)
        y = resample_poly(y, 44100 // g, sample_rate // g, axis=0)
    y = y[: int(round(max_seconds * 44100))]
    n_fft, hop = 16384, 8192
    if y.shape[0] < n_fft:
        y = np.concatenate([y, np.zeros((n_fft - y.shape[0], y.shape[1]))])
    window = [0.5 - 0.5 * math.cos(2 * math.pi * i / n_fft) for i in range(n_fft)]
    window = np.array(window)
    lo = math.ceil(5000 * n_fft / 44100)
    hi = math.floor(16000 * n_fft / 44100) + 1
    total = [0.0] * (hi - lo)
    count = 0
    n_frames = 1 + (y.shape[0] - n_fft) // hop
    for ch in range(y.shape[1]):
        for f in range(n_frames):
            spectrum = np.fft.rfft(y[f * hop: f * hop + n_fft, ch] * window)
            for k in range(lo, hi):
                z = spectrum[k]
                total[k - lo] += 10.0 * math.log10(z.real * z.real + z.imag * z.imag + 1e-10)
            count += 1
    mean = [t / count for t in total]
    anchors_x, anchors_y = [], []
    for start in range(0, len(mean), 10):
        window_vals = mean[start:start + 10]
        j = min(range(len(window_vals)), key=lambda i: (window_vals[i], i))
        anchors_x.append(start + j)
        anchors_y.append(window_vals[j])
    if len(anchors_x) >= 3:
        hull_f = interp1d(anchors_x, anchors_y, kind="quadratic", bounds_error=False,
                          fill_value=(anchors_y[0], anchors_y[-1]), assume_sorted=True)
        hull = [float(v) for v in hull_f(np.arange(len(mean)))]
    else:
        hull = [anchors_y[0]] * len(mean)
    residual = [min(max(m - max(h, -45.0), 0.0), 5.0) for m, h in zip(mean, hull)]
    top = max(residual)
    return np.array([r / top for r in residual]) if top > 0 else np.array(residual)


def numpy_twin_fakeprint(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """The package pipeline with the kernels swapped for their NumPy twins."""
    import scipy.fft

    from musicforensics.ai import fakeprint as fp
    from musicforensics.spectral.hull import join_anchors
    from musicforensics.spectral.kernels import twins as ref

    x = fp.to_fakeprint_rate(y, sample_rate)
    lo, hi = fp.band_bins()
    window = np.hanning(fp.FAKEPRINT_N_FFT + 1)[:-1]
    out = np.zeros(hi - lo)
    n_frames = 1 + (x.shape[0] - fp.FAKEPRINT_N_FFT) // fp.FAKEPRINT_HOP
    for ch in range(x.shape[1]):
        frames = np.lib.stride_tricks.sliding_window_view(x[:, ch], fp.FAKEPRINT_N_FFT)[:: fp.FAKEPRINT_HOP][:n_frames]
        for s in range(0, n_frames, fp.FRAME_BATCH):
            spec = scipy.fft.rfft(frames[s:s + fp.FRAME_BATCH] * window, axis=-1)[:, lo:hi]
            out += (10.0 * np.log10(np.abs(spec) ** 2 + fp.LOG_EPS)).sum(axis=0)
    mdb = out / (n_frames * x.shape[1])
    idx, val = ref.window_minima(mdb, fp.HULL_WIDTH)
    hull = join_anchors(idx, val, mdb.size)
    return ref.clipped_residual(mdb, hull, fp.HULL_FLOOR_DB, 0.0, fp.CLIP_DB)


def _best(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--rate", type=int, default=44100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", nargs="+", default=None,
                    help="also time decode vs AI analysis of these audio files")
    args = ap.parse_args()

    from musicforensics.ai import comb
    from musicforensics.ai import fakeprint as fp

    rng = np.random.default_rng(0)
    n = int(args.seconds * args.rate)
    t = np.arange(n) / args.rate
    y = 0.05 * rng.standard_normal((n, args.channels)) + 0.2 * np.sin(2 * np.pi * 440 * t)[:, None]
    fp.warm_up()
    comb.warm_up()
    t_fast, fast = _best(lambda: fp.fakeprint(y, args.rate).values, args.repeat)
    t_twin, _twin = _best(lambda: numpy_twin_fakeprint(y, args.rate), args.repeat)
    t_ref, ref = _best(lambda: reference_fakeprint(y, args.rate), 1)
    err = float(np.max(np.abs(fast - ref)))
    print(f"signal: {args.seconds:g} s, {args.channels} ch, {args.rate} Hz")
    print(f"reference (loops, from the paper): {t_ref:8.3f} s")
    print(f"NumPy twins (vectorised):          {t_twin:8.3f} s")
    print(f"package (numba kernels):           {t_fast:8.3f} s")
    print(f"speed-up over reference: {t_ref / t_fast:6.1f}x; over NumPy twins: {t_twin / t_fast:5.2f}x")
    print(f"max |package - reference| = {err:.2e} ({'OK' if err <= 1e-6 else 'MISMATCH'}; tolerance 1e-6)")
    mdb = fp.mean_db_spectrum(y[: int(min(args.seconds, 180) * args.rate)])
    t_comb, _ = _best(lambda: comb.comb_search(mdb, args.rate, 16384), args.repeat)
    print(f"comb search on that spectrum:      {t_comb:8.3f} s")
    if args.file:
        import soundfile as sf

        from musicforensics.pipeline.analysis import analyze_file
        from musicforensics.config import AnalysisConfig

        cfg = AnalysisConfig(detectors=("ai",))
        for path in args.file:
            t_dec, _ = _best(lambda p=path: sf.read(p, dtype="float64"), args.repeat)
            analyze_file(path, config=cfg)
            t_all, _rep = _best(lambda p=path: analyze_file(p, config=cfg), args.repeat)
            # best of `repeat` for the detector's own time too (its `seconds`, excluding the shared spectrum pass)
            det = min(sum(d.seconds for d in analyze_file(path, config=cfg).detectors) for _ in range(args.repeat))
            print(f"{path}: decode {t_dec:.3f} s; ai detector {det:.3f} s "
                  f"(ratio {det / t_dec:.2f}); whole analysis incl. the shared spectrum pass {t_all:.3f} s")


if __name__ == "__main__":
    main()
