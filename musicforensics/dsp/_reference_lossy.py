"""Plain NumPy twins of :mod:`musicforensics.dsp._kernels.lossy`, for tests (the NumPy code the kernels
replaced in :mod:`musicforensics.detectors._lossy_features` and :mod:`musicforensics.detectors._band_breaks`)."""

from __future__ import annotations

import numpy as np


def channel_mean(y, out, batch=1 << 16):
    # double-precision channel sums, ``batch`` frames at a time (no full-length double temporary)
    acc = np.empty(min(batch, y.shape[0]))
    for a in range(0, y.shape[0], batch):
        part = y[a:a + batch]
        s = acc[: part.shape[0]]
        s[:] = part[:, 0]
        for j in range(1, y.shape[1]):
            s += part[:, j]
        s /= y.shape[1]
        out[a:a + part.shape[0]] = s


def window_frames(x, first, hop, win, out):
    frames = np.lib.stride_tricks.sliding_window_view(x, win.size)[::hop]
    np.multiply(frames[first:first + out.shape[0]], win, out=out)


def band_means(spec, starts, width, scale, out):
    power = (spec.real ** 2 + spec.imag ** 2) * scale
    # C-ordered groups: NumPy's mean over a contiguous last axis is the order the kernel follows
    groups = np.ascontiguousarray(power[:, starts[:, None] + np.arange(width)])
    out[:] = groups.mean(axis=-1)


def hole_counts(levels, g0, g1, lag, floor, on, dip):
    p = levels[:, g0:g1].astype(np.float64) + floor
    a, b, c = p[:-2 * lag], p[lag:-lag], p[2 * lag:]
    ok = (a > on) & (c > on)
    return int(ok.sum()), int((ok & (np.minimum(a, c) > dip * b)).sum())


def fold_frames(x, starts, w, out):
    frames = x[np.asarray(starts)[:, None] + np.arange(w.size)]
    n = out.shape[1]
    h = n // 2
    # u = (-c_r - d, a - b_r) of the windowed quarters (a, b, c, d)
    out[:, :h] = frames[:, n + h - 1:n - 1:-1] * w[n + h - 1:n - 1:-1]
    out[:, :h] += frames[:, n + h:] * w[n + h:]
    np.negative(out[:, :h], out=out[:, :h])
    out[:, h:] = frames[:, :h] * w[:h]
    out[:, h:] -= frames[:, n - 1:h - 1:-1] * w[n - 1:h - 1:-1]


def count_below(X, scale, tau, counts):
    counts[:] = np.count_nonzero(np.abs(X.astype(np.float64) * scale) < tau, axis=-1)


def diff_energy(blocks, out):
    out[:] = np.sum(np.diff(blocks, axis=1) ** 2, axis=1)
