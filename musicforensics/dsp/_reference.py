"""Plain NumPy twins of the numba kernels, written independently, for tests and cross-checks."""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks, peak_prominences


def accumulate_frames(power, active, floor, sum_db, sum_power, band_of_bin, segment_of_frame, band_sum, band_count):
    p = power[active]
    seg = segment_of_frame[active]
    sum_db += (10.0 * np.log10(p + floor)).sum(axis=0)
    sum_power += p.sum(axis=0)
    np.add.at(band_count, seg, 1.0)
    valid = band_of_bin >= 0
    n_bands = band_sum.shape[1]
    per_band = np.zeros((p.shape[0], n_bands))
    for b in range(n_bands):
        per_band[:, b] = p[:, valid & (band_of_bin == b)].sum(axis=1)
    np.add.at(band_sum, seg, per_band)


def accumulate_spectrum(spec, scale2, active, floor, chunk, sum_db, sum_power, band_of_bin, segment_of_frame,
                        band_sum, band_count):
    # the plain per-frame sum of logs (``chunk`` only changes how often the kernel renormalises its products)
    power = (spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2) * scale2
    accumulate_frames(power, active, floor, sum_db, sum_power, band_of_bin, segment_of_frame, band_sum, band_count)


def sample_stats(x, scale, stats, or_bits, sums):
    finite = np.isfinite(x)
    sums += np.where(finite, x, 0.0).sum(axis=0)
    v = x[finite]
    stats[4] += (~finite).sum()
    if v.size == 0:
        return
    stats[0] = max(stats[0], np.abs(v).max())
    stats[1] += (v * v).sum()
    stats[2] += v.size
    stats[3] += (np.abs(v) >= 1.0 - 1.0 / 32768.0).sum()
    q = v * scale
    on_grid = np.floor(q) == q
    stats[5] += (~on_grid).sum()
    if on_grid.any():
        or_bits[0] |= np.bitwise_or.reduce(q[on_grid].astype(np.int64))


def sliding_min(x, width):
    half = width // 2
    n = x.shape[0]
    return np.array([x[max(0, i - half): min(n, i - half + width)].min() for i in range(n)])


def local_maxima(x):
    return find_peaks(x)[0].astype(np.int64)


def prominences(x, peaks, wlen):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about zero-prominence plateaus; the value is still right
        return peak_prominences(x, peaks, wlen=wlen if wlen >= 3 else None)[0]
