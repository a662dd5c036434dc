"""Plain NumPy twins of :mod:`musicforensics.dsp._kernels.comb`, written independently, for tests."""

from __future__ import annotations

import numpy as np


def accumulate_log_power(spec, lo, hi, eps, out):
    out += (10.0 * np.log10(np.abs(spec[:, lo:hi]) ** 2 + eps)).sum(axis=0)


def window_minima(x, width):
    starts = np.arange(0, x.size, width)
    idx = np.array([s + int(np.argmin(x[s:s + width])) for s in starts], dtype=np.int64)
    return idx, x[idx].astype(np.float64)


def clipped_residual(x, hull, floor, lo, hi):
    out = np.clip(x - np.maximum(hull, floor), lo, hi)
    top = out.max() if out.size else 0.0
    return out / top if top > 0 else out


def _at(r, pos):
    pos = np.asarray(pos, dtype=np.float64)
    i = np.floor(pos).astype(np.int64)
    ok = (i >= 0) & (i + 1 < r.size)
    j = np.clip(i, 0, r.size - 2)
    return np.where(ok, np.maximum(r[j], r[j + 1]), -1.0)


def comb_sums(r, bin_hz, deltas, fmin, edges, sums, counts):
    for i, d in enumerate(deltas):
        n = np.arange(int(np.ceil(fmin / d)), int(np.ceil(edges[-1] / d)) + 1)
        f = n * d
        n, f = n[f < edges[-1]], f[f < edges[-1]]
        a = _at(r, f * (1.0 / bin_hz))
        b = _at(r, (f + 0.5 * d) * (1.0 / bin_hz))
        ok = (a >= 0) & (b >= 0)
        for e, edge in enumerate(edges):
            sel = ok & (f < edge)
            sums[i, e] = (a - b)[sel].sum()
            counts[i, e] = sel.sum()
