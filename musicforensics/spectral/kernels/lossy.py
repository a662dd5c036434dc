"""Kernels for the lossy detector's excerpt features (holes, codec frame grid, band breaks).

Each one does, in one pass and without temporaries, exactly the floating-point operations of the NumPy
formulation it replaces (same operand order and precision, so bit-identical results); the NumPy twins live in
:mod:`musicforensics.spectral.kernels.twins`.

Loop indices that the compiler cannot prove non-negative (reversed or offset reads) are unsigned
(``np.uint64``): numba then drops its negative-index wraparound test, which otherwise stops LLVM from
vectorising the loop (2.5-5x slower, measured). Unsigned and signed integers must not be mixed in one
expression (numba would promote them to float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: NumPy's pairwise summation: runs of at most this many elements are summed with 8 accumulators.
_PW_BLOCK = 128


@njit(cache=True)
def _block_sum(a, lo, n):
    """``a[lo:lo + n].sum()`` for 1 <= n <= 128 in NumPy's order (``pairwise_sum`` in NumPy's
    ``loops_utils.h``), in the dtype of ``a``: sequential below 8 elements, else 8 interleaved accumulators
    combined as a tree, then the rest sequentially. (NumPy starts the short case from 0: the same sum, except
    for the sign of an all-negative-zero run.)"""
    u1, u2, u3, u4, u5, u6, u7, u8 = (np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4), np.uint64(5),
                                      np.uint64(6), np.uint64(7), np.uint64(8))
    b = np.uint64(lo)
    e = b + np.uint64(n)
    if n < 8:
        res = a[b]
        for i in range(b + u1, e):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[b], a[b + u1], a[b + u2], a[b + u3]
    r4, r5, r6, r7 = a[b + u4], a[b + u5], a[b + u6], a[b + u7]
    i = b + u8
    while i < e - np.uint64(n % 8):
        r0 += a[i]
        r1 += a[i + u1]
        r2 += a[i + u2]
        r3 += a[i + u3]
        r4 += a[i + u4]
        r5 += a[i + u5]
        r6 += a[i + u6]
        r7 += a[i + u7]
        i += u8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(i, e):
        res += a[j]
    return res


@njit(cache=True)
def _pairwise_sum(a, lo, n, stack, sums):
    """``a[lo:lo + n].sum()`` (n >= 1) in NumPy's pairwise order: runs of more than _PW_BLOCK elements are
    split in two at a multiple of 8 below the half and the two sums added. The recursion runs on an explicit
    stack (numba's on-disk cache does not reload recursive functions safely): ``stack`` (3, depth) int64 and
    ``sums`` (depth,) of a's dtype are work space, depth > log2(n / 128) + 2 (64 covers any array)."""
    if n <= _PW_BLOCK:
        return _block_sum(a, lo, n)
    # pending runs: stack[0] start, stack[1] length, stack[2] stage (0: left half next, 1: right half
    # next, 2: add the two sums on top of ``sums``)
    stack[0, 0], stack[1, 0], stack[2, 0] = lo, n, 0
    sp = 1
    vp = 0
    while sp > 0:
        t = sp - 1
        m = stack[1, t]
        if m <= _PW_BLOCK:
            sums[vp] = _block_sum(a, stack[0, t], m)
            vp += 1
            sp -= 1
            continue
        stage = stack[2, t]
        if stage == 2:
            sums[vp - 2] = sums[vp - 2] + sums[vp - 1]
            vp -= 1
            sp -= 1
            continue
        half = m // 2 - (m // 2) % 8
        stack[0, sp] = stack[0, t] + (half if stage == 1 else 0)
        stack[1, sp] = m - half if stage == 1 else half
        stack[2, sp] = 0
        stack[2, t] = stage + 1
        sp += 1
    return sums[0]


@njit(cache=True)
def channel_mean(y, out):
    """``out[i] = float32(sum_j y[i, j] / channels)``, the sum taken channel by channel in double precision."""
    n, c = y.shape
    if c == 2:  # the common case, unrolled so that it vectorises (halving is exact: same as / 2)
        for i in range(n):
            out[i] = (np.float64(y[i, 0]) + np.float64(y[i, 1])) * 0.5
        return
    for i in range(n):
        s = np.float64(y[i, 0])
        for j in range(1, c):
            s += np.float64(y[i, j])
        out[i] = s / c


@njit(cache=True)
def window_frames(x, first, hop, win, out):
    """``out[i] = x[(first + i) * hop:][:len(win)] * win``: windowed frames of ``x`` every ``hop`` samples, in the
    dtype of ``x`` and ``win`` (~3.5x faster than NumPy's multiply of a sliding-window view)."""
    for i in range(out.shape[0]):
        o = out[i]
        s = np.uint64((first + i) * hop)
        for j in range(np.uint64(win.shape[0])):
            o[j] = x[s + j] * win[j]


@njit(cache=True)
def band_means(spec, starts, width, scale, out):
    """``out[f, g] = mean(|spec[f, k]|^2 * scale for k in [starts[g], starts[g] + width))``, all in the
    precision of ``spec`` (complex64: float32; ``scale`` of that precision too), the sum in NumPy's order (as
    ``power.mean(axis=-1)`` over C-ordered groups); ``width`` <= 128."""
    first = starts.min()
    row = np.empty(starts.max() + width - first, dtype=out.dtype)  # powers of bins first, first + 1, ...
    for f in range(spec.shape[0]):
        sp = spec[f]
        for k in range(np.uint64(row.size)):
            v = sp[np.uint64(first) + k]
            row[k] = (v.real * v.real + v.imag * v.imag) * scale
        for g in range(starts.shape[0]):
            # the quotient (double precision) rounded once to out's dtype, as a division in that dtype
            out[f, g] = _block_sum(row, starts[g] - first, width) / width


@njit(cache=True)
def local_hole_counts(levels, cols, lag, floor, on, dip, broadband, eligible, holes):
    """Eligible tiles and band-local holes per region of ``levels`` (frames x groups, power); region r owns the
    group columns [cols[r], cols[r + 1]).

    With P = levels + floor in double precision and a = P[t - lag], b = P[t], c = P[t + lag]: a tile is eligible
    when ``a > on`` and ``c > on``, and a dip when also ``min(a, c) > dip * b``; a dip counts as a hole only when
    the frame did not go quiet as a whole: the median (the lower middle one for an even count) of min(a, c) / b over
    the frame's eligible groups of every region is at most ``broadband``. Adds to ``eligible[r]`` and
    ``holes[r]``.
    """
    n_regions = cols.shape[0] - 1
    ratios = np.empty(cols[n_regions] - cols[0])
    dips = np.zeros(n_regions, dtype=np.int64)
    for t in range(levels.shape[0] - 2 * lag):
        la, lb, lc = levels[t], levels[t + lag], levels[t + 2 * lag]
        m = 0
        for r in range(n_regions):
            dips[r] = 0
            for g in range(cols[r], cols[r + 1]):
                a = np.float64(la[g]) + floor
                c = np.float64(lc[g]) + floor
                if a > on and c > on:
                    lo = min(a, c)
                    b = np.float64(lb[g]) + floor
                    ratios[m] = lo / b
                    m += 1
                    eligible[r] += 1
                    if lo > dip * b:
                        dips[r] += 1
        if dips.sum() and np.sort(ratios[:m])[(m - 1) // 2] <= broadband:
            for r in range(n_regions):
                holes[r] += dips[r]


@njit(cache=True)
def fold_frames(x, starts, w, out):
    """MDCT time fold of the windowed frames ``x[s:s + 2N] * w`` (s in ``starts``) into ``out`` (frames x N).

    With the windowed frame split into quarters (a, b, c, d) of N/2 samples, ``u = (-c_r - d, a - b_r)`` (_r:
    reversed), so that the MDCT is the DCT-IV of u. Products and sums in the dtype of ``x`` and ``w``.
    """
    one = np.uint64(1)
    n = np.uint64(out.shape[1])
    h = n // np.uint64(2)
    for i in range(starts.shape[0]):
        o = out[i]
        s = np.uint64(starts[i])
        for j in range(h):
            k = n + h - one - j
            m = n + h + j
            o[j] = -(x[s + k] * w[k] + x[s + m] * w[m])
            k = n - one - j
            o[h + j] = x[s + j] * w[j] - x[s + k] * w[k]


@njit(cache=True)
def count_below(X, scale, tau, counts):
    """``counts[i] = #{k : |X[i, k] * scale| < tau}``, the product in double precision."""
    for i in range(X.shape[0]):
        m = 0
        for k in range(X.shape[1]):
            if abs(np.float64(X[i, k]) * scale) < tau:
                m += 1
        counts[i] = m


@njit(cache=True)
def diff_energy(blocks, out):
    """``out[i] = sum((blocks[i, 1:] - blocks[i, :-1]) ** 2)`` in the dtype of ``blocks``, summed in NumPy's
    order."""
    n = blocks.shape[1] - 1
    d = np.empty(n, dtype=blocks.dtype)
    stack = np.empty((3, 64), dtype=np.int64)
    sums = np.empty(64, dtype=blocks.dtype)
    for i in range(blocks.shape[0]):
        row = blocks[i]
        for j in range(np.uint64(n)):
            v = row[j + np.uint64(1)] - row[j]
            d[j] = v * v
        out[i] = _pairwise_sum(d, 0, n, stack, sums)
