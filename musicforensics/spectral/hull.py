"""The lower hull of a spectrum: the smooth floor a comb's teeth and a fakeprint's residual are measured from.

The array is cut into consecutive windows of ``width`` bins; the first minimum of each window (at its
position) is an anchor, and the anchors are joined by quadratic-spline interpolation (linear with two anchors,
constant with one), flat beyond the first and the last. This is the hull of the fakeprint (Afchar et al., ISMIR
2025, Sec. 4: 10-bin windows, quadratic joins, a -45 dB floor; docs/references.md). The anchors come from a
numba kernel (:func:`.kernels.comb.window_minima`, NumPy twin in :mod:`.kernels.twins`).

>>> import numpy as np
>>> x = np.array([3.0, 1.0, 2.0, 5.0, 0.0, 4.0])
>>> lower_hull(x, width=3).round(3).tolist()
[1.0, 1.0, 0.667, 0.333, 0.0, 0.0]
>>> lower_hull(x, width=3, floor=0.5).round(3).tolist()
[1.0, 1.0, 0.667, 0.5, 0.5, 0.5]
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import interp1d

from ..errors import ParameterError
from .kernels import comb as _k


def lower_hull(x, *, width: int = 10, floor: float | None = None) -> np.ndarray:
    """The lower hull of ``x`` (see the module docstring).

    Parameters
    ----------
    x : array_like, shape (n,)
        Spectrum in dB (finite).
    width : int
        Window length in bins.
    floor : float or None
        Lowest value of the hull, same unit as ``x``.

    Returns
    -------
    np.ndarray, shape (n,)
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ParameterError(f"x must be one-dimensional, got shape {x.shape!r}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("x contains NaN or Inf")
    if width < 1:
        raise ParameterError(f"width={width!r}: must be >= 1")
    if x.size == 0:
        return x.copy()
    idx, val = _k.window_minima(x, int(width))
    hull = join_anchors(idx, val, x.size)
    return hull if floor is None else np.maximum(hull, floor)


def join_anchors(idx: np.ndarray, val: np.ndarray, n: int) -> np.ndarray:
    """The hull through anchors (``idx``, ``val``) over ``n`` bins: quadratic spline, linear with two anchors,
    constant with one, flat beyond the ends."""
    if idx.size == 1:
        return np.full(n, val[0])
    kind = "quadratic" if idx.size >= 3 else "linear"
    f = interp1d(idx, val, kind=kind, bounds_error=False, fill_value=(val[0], val[-1]), assume_sorted=True)
    return f(np.arange(n))
