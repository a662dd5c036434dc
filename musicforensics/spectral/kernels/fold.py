"""Kernels of the coherent comb: the channel sum of a block and its fold into circular accumulators.

Folding a signal modulo ``L`` (``t[n mod L] += x[n]``) samples its full-length spectrum every ``fs / L`` Hz
(:mod:`musicforensics.ai.candidates`). NumPy twins live in :mod:`.twins`; tests check that they agree.
"""

from __future__ import annotations

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
