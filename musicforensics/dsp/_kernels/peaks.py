"""Kernels for sliding minima, local maxima and peak prominence."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sliding_min(x, width):
    """Centred running minimum: out[i] = min(x[i - width//2 : i - width//2 + width]) clipped to the array."""
    n = x.shape[0]
    out = np.empty(n)
    half = width // 2
    for i in range(n):
        lo = max(0, i - half)
        hi = min(n, i - half + width)
        m = x[lo]
        for k in range(lo + 1, hi):
            if x[k] < m:
                m = x[k]
        out[i] = m
    return out


@njit(cache=True)
def local_maxima(x):
    """Indices of strict local maxima; a plateau counts once, at its middle sample (as scipy.signal.find_peaks)."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    m = 0
    i = 1
    while i < n - 1:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < n - 1 and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                out[m] = (i + ahead - 1) // 2
                m += 1
                i = ahead
        i += 1
    return out[:m]


@njit(cache=True)
def prominences(x, peaks, wlen):
    """Topographic prominence of each peak (scipy.signal.peak_prominences semantics).

    Search left and right of the peak, within ``wlen`` samples centred on it when ``wlen >= 3`` (else the
    whole array), until a higher sample; the base on each side is the minimum crossed; prominence is the
    peak height minus the higher of the two bases.
    """
    n = x.shape[0]
    out = np.empty(peaks.shape[0])
    for p in range(peaks.shape[0]):
        i = peaks[p]
        lo = 0
        hi = n - 1
        if wlen >= 3:
            half = wlen // 2
            lo = max(lo, i - half)
            hi = min(hi, i + half)
        h = x[i]
        left_min = h
        k = i
        while k >= lo and x[k] <= h:
            if x[k] < left_min:
                left_min = x[k]
            k -= 1
        right_min = h
        k = i
        while k <= hi and x[k] <= h:
            if x[k] < right_min:
                right_min = x[k]
            k += 1
        out[p] = h - max(left_min, right_min)
    return out
