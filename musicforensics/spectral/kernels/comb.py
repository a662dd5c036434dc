"""Kernels for the lower hull, the fakeprint residual (Afchar et al., ISMIR 2025) and the comb search.

NumPy twins live in :mod:`.twins`; tests check that they agree.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def window_minima(x, width):
    """Anchors of the lower hull: for consecutive windows ``x[s:s+width]`` (s = 0, width, 2 width, ...)
    the index and value of the first minimum. Returns (idx int64, val float64)."""
    n = x.shape[0]
    m = (n + width - 1) // width
    idx = np.empty(m, dtype=np.int64)
    val = np.empty(m)
    for j in range(m):
        s = j * width
        e = min(n, s + width)
        best = s
        for k in range(s + 1, e):
            if x[k] < x[best]:
                best = k
        idx[j] = best
        val[j] = x[best]
    return idx, val


@njit(cache=True)
def clipped_residual(x, hull, floor, lo, hi):
    """``clip(x - max(hull, floor), lo, hi)`` divided by its maximum (all zeros when the maximum is 0)."""
    n = x.shape[0]
    out = np.empty(n)
    top = 0.0
    for k in range(n):
        h = hull[k]
        h = max(h, floor)
        r = x[k] - h
        if r < lo:
            r = lo
        elif r > hi:
            r = hi
        out[k] = r
        top = max(top, r)
    if top > 0.0:
        for k in range(n):
            out[k] /= top
    return out


@njit(cache=True)
def comb_sums(r, bin_hz, deltas, fmin, edges, sums, counts):
    """Tooth-minus-gap sums of a peakiness spectrum for many comb spacings.

    For spacing D = ``deltas[i]`` and every tooth n with fmin <= n D < edges[-1]:
    d_n = r(n D) - r((n + 1/2) D), where r(f) is the larger of the two bins either side of f / bin_hz
    (positions whose right neighbour is past the end are skipped, tooth and gap together).
    ``sums[i, e]`` and ``counts[i, e]`` accumulate d_n and 1 over the teeth below ``edges[e]`` (cumulative
    bands [fmin, edges[e])). r : (n_bins,) float64; deltas : (n_deltas,) Hz; edges : increasing Hz.
    """
    nb = r.shape[0]
    q = np.empty(nb - 1)
    for i in range(nb - 1):
        q[i] = max(r[i + 1], r[i])
    inv = 1.0 / bin_hz
    n_edges = edges.shape[0]
    top = edges[n_edges - 1]
    for i in range(deltas.shape[0]):
        d = deltas[i]
        n = int(np.ceil(fmin / d))
        e = 0
        s = 0.0
        c = 0.0
        while True:
            f = n * d
            if f >= top:
                break
            while f >= edges[e]:
                sums[i, e] = s
                counts[i, e] = c
                e += 1
            a = int(np.floor(f * inv))
            b = int(np.floor((f + 0.5 * d) * inv))
            if a >= 0 and b >= 0 and a < nb - 1 and b < nb - 1:
                s += q[a] - q[b]
                c += 1.0
            n += 1
        while e < n_edges:
            sums[i, e] = s
            counts[i, e] = c
            e += 1
