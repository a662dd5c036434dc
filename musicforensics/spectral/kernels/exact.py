"""Kernels of the codec-exact grids (:mod:`musicforensics.lossy.exact`): the MPEG polyphase analysis, the layer III
granule fold, the layer III alias-reduction butterflies, and the isolated-zero counts every exact grid scores.

Plain loops over float32 or float64 arrays, no validation (the callers validate); the matrix products between
them are left to BLAS. NumPy twins: :mod:`.twins`. As in :mod:`.lossy`, offset reads use unsigned indices where
the compiler cannot prove them non-negative, so that the loops vectorise.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True)
def polyphase_fold(x, first, n_out, reversed_window, out):
    """The windowed, folded FIFO of the MPEG-1 analysis filterbank (ISO 11172-3, annex C.1.3, steps 2-4), one
    64-vector per output, in reversed order so that every load runs forward:

    ``out[t, i] = sum_{j < 8} reversed_window[i + 64 j] * x[u + i + 64 j]`` with ``u = first + 32 t`` and
    ``reversed_window[m] = C[511 - m]``; this is the standard's ``Y[63 - i]`` for the FIFO whose newest sample is
    ``x[u + 511]``. The sub-band samples are then ``out @ M_reversed.T`` (the 32 x 64 cosine matrix of step 5 with
    its columns reversed). ``x`` must hold ``first + 32 (n_out - 1) + 512`` samples.
    """
    acc = np.empty(64, dtype=out.dtype)
    w64 = np.uint64(64)
    for t in range(n_out):
        u = np.uint64(first + 32 * t)
        for i in range(w64):
            acc[i] = reversed_window[i] * x[u + i]
        for j in range(np.uint64(1), np.uint64(8)):
            base = w64 * j
            for i in range(w64):
                acc[i] += reversed_window[base + i] * x[u + base + i]
        o = out[t]
        for i in range(w64):
            o[i] = acc[i]


@njit(cache=True, fastmath=True)
def granule_fold(s, starts, even_window, odd_window, out):
    """Layer III analysis at granule starts: the MDCT time fold of 36 sub-band samples per sub-band.

    ``s`` holds the sub-band samples band by band (32, samples). For the i-th granule start t0 = ``starts[i]``
    and sub-band b, the windowed block ``z[n] = w[n] * s[b, t0 + n]`` (n < 36; ``w`` is ``odd_window``, the long
    window with its odd taps negated, for odd b: the encoder's frequency inversion, counted from the granule
    start) is folded into the 18-point DCT-IV input ``out[i * 32 + b] = (-(z[26 - m] + z[27 + m]), z[m] -
    z[17 - m])`` (m < 9), so that ``out @ D`` (D the DCT-IV matrix) is the 36-point long-block MDCT of ISO
    11172-3, annex C.1.5.3.
    """
    for i in range(starts.shape[0]):
        t0 = np.uint64(starts[i])
        for b in range(32):
            w = odd_window if b & 1 else even_window
            row = s[b]
            o = out[i * 32 + b]
            for m in range(np.uint64(9)):
                n1 = np.uint64(26) - m
                n2 = np.uint64(27) + m
                n4 = np.uint64(17) - m
                o[m] = -(w[n1] * row[t0 + n1] + w[n2] * row[t0 + n2])
                o[np.uint64(9) + m] = w[m] * row[t0 + m] - w[n4] * row[t0 + n4]


@njit(cache=True, fastmath=True)
def alias_reduce(x, cs, ca):
    """The layer III encoder's alias-reduction butterflies (ISO 11172-3, annex C.1.5.3), in place on granule
    spectra ``x`` (rows, 576: 32 sub-bands of 18 lines): for each pair of neighbouring sub-bands and i < 8,
    ``(u, d) <- (u cs_i + d ca_i, d cs_i - u ca_i)`` with u line 17 - i of the lower band, d line i of the upper."""
    for r in range(x.shape[0]):
        row = x[r]
        for b in range(31):
            for i in range(8):
                iu = b * 18 + 17 - i
                idn = (b + 1) * 18 + i
                u = row[iu]
                d = row[idn]
                row[iu] = u * cs[i] + d * ca[i]
                row[idn] = d * cs[i] - u * ca[i]


#: Neighbourhood half-width of the isolated-zero counts, lines (fixed, so the interior sum unrolls and vectorises).
NEIGHBOURS = 4


@njit(cache=True, fastmath=True)
def _row_counts(row, sq, tau, live):
    """(live, zeros) of one row (see :func:`isolated_counts`); ``sq`` is scratch of the row's length."""
    n = row.shape[0]
    for k in range(n):
        v = np.float64(row[k])
        sq[k] = v * v
    tau2 = tau * tau
    live2 = live * live
    n_live = 0
    n_zero = 0
    h = NEIGHBOURS
    one, two, three, four = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    # interior: 8 neighbours summed directly; unsigned indices, so numba drops its negative-index test and the
    # loop vectorises (6x faster, measured)
    for k in range(four, np.uint64(n) - four):
        s = sq[k - four] + sq[k - three] + sq[k - two] + sq[k - one] + sq[k + one] + sq[k + two] + sq[k + three] \
            + sq[k + four]
        ok = s >= 8.0 * live2
        n_live += ok
        n_zero += ok & (sq[k] < tau2)
    for e in range(2 * h):  # the row's ends: fewer neighbours
        k = e if e < h else n - 2 * h + e
        if k < 0 or k >= n or (h <= k < n - h):
            continue
        lo = max(0, k - h)
        hi = min(n, k + h + 1)
        s = 0.0
        for j in range(lo, hi):
            s += sq[j]
        s -= sq[k]
        m = hi - lo - 1
        if m > 0 and s >= m * live2:
            n_live += 1
            if sq[k] < tau2:
                n_zero += 1
    return n_live, n_zero


@njit(cache=True, fastmath=True)
def isolated_counts(x, tau, live, out):
    """Per row of ``x`` (rows, n): ``out[r, 0]`` coefficients whose neighbourhood is live, ``out[r, 1]`` of those
    the exact zeros.

    A coefficient k is live when the mean square of its neighbours ``x[r, k - 4 .. k + 4]`` (itself left out, the
    row's ends cut; NEIGHBOURS) is at least ``live**2``; a live coefficient is a zero when ``|x[r, k]| < tau``. Only
    zeros with live neighbours count: quiet frames, fades and gaps are not live at any alignment.
    """
    sq = np.empty(x.shape[1])
    for r in range(x.shape[0]):
        a, b = _row_counts(x[r], sq, tau, live)
        out[r, 0] = a
        out[r, 1] = b


@njit(cache=True, fastmath=True)
def stereo_counts(left, right, tau, live, out):
    """:func:`isolated_counts` of the channel sets of a stereo pair, in one pass: ``out[0, r]`` of L plus R,
    ``out[1, r]`` of M = (L + R) / 2 plus S = (L - R) / 2 (the transforms are linear: the spectra of M and S are
    these combinations of the spectra of L and R)."""
    n = left.shape[1]
    sq = np.empty(n)
    mid = np.empty(n)
    side = np.empty(n)
    for r in range(left.shape[0]):
        lrow = left[r]
        rrow = right[r]
        for k in range(n):
            a = np.float64(lrow[k])
            b = np.float64(rrow[k])
            mid[k] = 0.5 * (a + b)
            side[k] = 0.5 * (a - b)
        a1, b1 = _row_counts(lrow, sq, tau, live)
        a2, b2 = _row_counts(rrow, sq, tau, live)
        out[0, r, 0] = a1 + a2
        out[0, r, 1] = b1 + b2
        a1, b1 = _row_counts(mid, sq, tau, live)
        a2, b2 = _row_counts(side, sq, tau, live)
        out[1, r, 0] = a1 + a2
        out[1, r, 1] = b1 + b2
