"""Lower hulls, local maxima and prominence: the spectral-peak toolkit shared by the detectors.

Public wrappers validate input and call the numba kernels in :mod:`._kernels.peaks`.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import interp1d

from ..errors import ParameterError
from ._kernels import peaks as _k


def _as_1d(x, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be one-dimensional, got shape {arr.shape!r}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} contains NaN or Inf")
    return arr


def sliding_min(x, *, width: int) -> np.ndarray:
    """Centred running minimum over ``width`` samples (shape of ``x``)."""
    if width < 1:
        raise ParameterError(f"width={width!r}: must be >= 1")
    return _k.sliding_min(_as_1d(x, "x"), int(width))


def lower_hull(x, *, width: int = 10, floor: float | None = None) -> np.ndarray:
    """A smooth lower envelope of a spectrum.

    The array is cut into consecutive windows of ``width`` samples; the minimum of each window (at its
    position) is an anchor, and the anchors are joined by quadratic interpolation (linear when there are
    fewer than three), extrapolated flat at the ends. With ``floor``, the hull never goes below it. This is
    the hull of the fakeprint (Afchar et al., ISMIR 2025, Sec. 4: 10-bin windows, quadratic joins, floor
    -45 dB).

    Parameters
    ----------
    x : array_like, shape (n,)
        Spectrum in dB.
    width : int
        Window length in samples (bins).
    floor : float or None
        Lowest value of the hull, same unit as ``x``.

    Returns
    -------
    np.ndarray, shape (n,)
    """
    x = _as_1d(x, "x")
    if width < 1:
        raise ParameterError(f"width={width!r}: must be >= 1")
    n = x.size
    if n == 0:
        return x.copy()
    starts = np.arange(0, n, width)
    idx = np.array([s + int(np.argmin(x[s:s + width])) for s in starts])
    vals = x[idx]
    if idx.size == 1:
        hull = np.full(n, vals[0])
    else:
        kind = "quadratic" if idx.size >= 3 else "linear"
        f = interp1d(idx, vals, kind=kind, bounds_error=False, fill_value=(vals[0], vals[-1]), assume_sorted=True)
        hull = f(np.arange(n))
    if floor is not None:
        hull = np.maximum(hull, floor)
    return hull


def local_maxima(x) -> np.ndarray:
    """Indices (int64) of the strict local maxima of ``x``; a flat top counts once, at its middle."""
    return _k.local_maxima(_as_1d(x, "x"))


def peak_prominences(x, peaks, *, wlen: int | None = None) -> np.ndarray:
    """Prominence of each peak in ``x`` (height above the higher of the two surrounding bases).

    Same definition as :func:`scipy.signal.peak_prominences`; ``wlen`` limits the search to a window of
    that many samples centred on the peak.
    """
    x = _as_1d(x, "x")
    peaks = np.ascontiguousarray(peaks, dtype=np.int64)
    if peaks.size and (peaks.min() < 0 or peaks.max() >= x.size):
        raise ParameterError(f"peak indices must lie in 0..{x.size - 1}")
    return _k.prominences(x, peaks, -1 if wlen is None else int(wlen))


def warm_up() -> None:
    """Compile (or load from cache) every kernel on a tiny input, before a worker pool forks."""
    x = np.sin(np.linspace(0, 20, 64))
    p = local_maxima(x)
    peak_prominences(x, p, wlen=9)
    sliding_min(x, width=5)
