"""Kernels of the coherent comb: the channel sum of a block and its fold into circular accumulators, the
whitening noise of a power spectrum, and the level sums of the lattice contrast.

Folding a signal modulo ``L`` (``t[n mod L] += x[n]``) samples its full-length spectrum every ``fs / L`` Hz
(:mod:`musicforensics.ai.candidates`). NumPy twins live in :mod:`.twins`; tests check that they agree.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def channel_sum(x, out):
    """``out[i] = sum over channels of x[i, c]``, summed in double precision and stored in ``out``'s type."""
    n, ch = x.shape
    for i in range(n):
        s = 0.0
        for c in range(ch):
            s += x[i, c]
        out[i] = s


@njit(cache=True)
def fold_add(m, acc, start):
    """Add ``m`` into the circular accumulator ``acc`` beginning at index ``start``; returns the next index."""
    length = acc.shape[0]
    p = start
    for i in range(m.shape[0]):
        acc[p] += m[i]
        p += 1
        if p == length:
            p = 0
    return p


@njit(cache=True)
def block_median_noise(power, block, out):
    """``out[i]``: the median of ``power`` over ``block``-bin blocks (the mean of the two middle values for an
    even ``block``, in ``power``'s type, as NumPy's median), linearly interpolated between block centres
    ``j block + (block - 1) / 2`` and held beyond the first and last centre (as ``np.interp``); needs at least
    two blocks."""
    n = power.shape[0]
    n_blocks = n // block
    medians = np.empty(n_blocks, dtype=np.float64)
    half = block // 2
    two = power.dtype.type(2)
    for j in range(n_blocks):
        # the k-th smallest of a block is the value v with #{w < v} <= k < #{w <= v}: counting by rank reads the
        # block's few dozen bins without a data-dependent branch in the inner loop (half the time of a sort)
        base = j * block
        low = high = power[base]
        for i in range(block):
            v = power[base + i]
            below = 0
            at_most = 0
            for a in range(block):
                w = power[base + a]
                below += w < v
                at_most += w <= v
            if below <= half - 1 < at_most:
                low = v
            if below <= half < at_most:
                high = v
        medians[j] = high if block % 2 else (low + high) / two
    first = 0.5 * (block - 1)
    start = int(first) + 1  # the first bin past the first centre
    out[:start] = medians[0]
    for j in range(n_blocks - 1):
        x0 = j * block + first
        slope = (medians[j + 1] - medians[j]) / ((j + 1) * block + first - x0)
        stop = min(start + block, n)
        for i in range(start, stop):
            d = i - x0
            # a bin on the next centre takes its median exactly (odd blocks have whole-numbered centres)
            out[i] = medians[j + 1] if d == block else slope * d + medians[j]
        start = stop
    out[start:] = medians[n_blocks - 1]


@njit(cache=True)
def lattice_sums(level, delta_hz, bin_hz, lo, hi, f_lo, f_hi, m_max, skip, sums, squares, counts):
    """For m = 2 .. m_max (``skip[m]`` false): the sum, sum of squares and number of ``level`` values at the
    mid-gap points of the lattice ``delta_hz / m``: bins ``round(j fine / bin_hz)`` with ``fine = delta_hz / m``,
    ``j`` from ``ceil(f_lo / fine)`` to ``floor(f_hi / fine)``, ``(j mod m) / m`` in [1/4, 3/4], strictly between
    ``lo`` and ``hi``. Written at index m."""
    residues = np.empty(m_max + 1, dtype=np.int64)
    for m in range(2, m_max + 1):
        if skip[m]:
            continue
        # the residues j mod m whose phase lies mid-gap, then j in ascending order through them only (the same
        # points, summed in the same order, as a walk over every j that skips the others)
        n_res = 0
        for r in range(m):
            phase = r / m
            if 0.25 <= phase <= 0.75:
                residues[n_res] = r
                n_res += 1
        fine = delta_hz / m
        first = int(np.ceil(f_lo / fine))
        last = int(f_hi / fine)
        s = 0.0
        q = 0.0
        c = 0
        base = (first // m) * m
        while base <= last:
            for t in range(n_res):
                j = base + residues[t]
                if j < first or j > last:
                    continue
                p = int(np.round(j * fine / bin_hz))
                if p <= lo or p >= hi:
                    continue
                v = level[p]
                s += v
                q += v * v
                c += 1
            base += m
        sums[m] = s
        squares[m] = q
        counts[m] = c
