"""Kernels for the streamed long-term spectrum and sample statistics."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def accumulate_frames(power, active, floor, sum_db, sum_power, band_of_bin, segment_of_frame, band_sum, band_count):
    """Add one channel's power frames to the running sums.

    For every active frame f and bin k: ``sum_db[k] += 10 log10(P[f,k] + floor)``, ``sum_power[k] += P[f,k]``
    and ``band_sum[s, band_of_bin[k]] += P[f,k]`` with ``s = segment_of_frame[f]``; ``band_count[s] += 1``.

    power : (n_frames, n_bins) float64; active : (n_frames,) bool; sum_db, sum_power : (n_bins,);
    band_of_bin : (n_bins,) int64, -1 for bins outside every band; segment_of_frame : (n_frames,) int64;
    band_sum : (n_segments, n_bands); band_count : (n_segments,).
    """
    n_frames, n_bins = power.shape
    for f in range(n_frames):
        if not active[f]:
            continue
        s = segment_of_frame[f]
        band_count[s] += 1.0
        for k in range(n_bins):
            p = power[f, k]
            sum_db[k] += 10.0 * np.log10(p + floor)
            sum_power[k] += p
            b = band_of_bin[k]
            if b >= 0:
                band_sum[s, b] += p


@njit(cache=True)
def sample_stats(x, scale, stats, or_bits):
    """One pass over a block (frames, channels) of float64 samples.

    Updates ``stats`` in place: [0] peak |x|, [1] sum x^2, [2] finite-sample count, [3] count of samples at
    digital full scale (|x| >= 1 - 2^-15), [4] non-finite count, [5] count of samples off the integer grid
    ``x * scale``. ``or_bits[0]`` accumulates the bitwise OR of ``int64(x * scale)`` for on-grid samples, whose
    trailing zero bits reveal padded bit depth.
    """
    n, c = x.shape
    full_scale = 1.0 - 1.0 / 32768.0
    for i in range(n):
        for j in range(c):
            v = x[i, j]
            if not np.isfinite(v):
                stats[4] += 1.0
                continue
            a = abs(v)
            if a > stats[0]:
                stats[0] = a
            stats[1] += v * v
            stats[2] += 1.0
            if a >= full_scale:
                stats[3] += 1.0
            q = v * scale
            r = np.floor(q)
            if r != q:
                stats[5] += 1.0
            else:
                or_bits[0] |= np.int64(r)


@njit(cache=True)
def channel_sums(x, sums):
    """Add the per-channel sum of a (frames, channels) block to ``sums`` (for DC offset), skipping NaN/Inf."""
    n, c = x.shape
    for i in range(n):
        for j in range(c):
            v = x[i, j]
            if np.isfinite(v):
                sums[j] += v
