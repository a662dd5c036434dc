"""Spectral walls: where a long-term spectrum stops, how steeply, and what lies above.

Lossy encoders low-pass before quantising and leave a steep edge ("wall") in the long-term spectrum with
near-digital silence above it (Hennequin et al., ICASSP 2017; docs/references.md). Upsampled files show
the same shape at the source rate's Nyquist. Genuine band-limited masters roll off gradually over a noise
floor. :func:`find_wall` measures the edge; :func:`quantisation_floor_db` gives the level that rounding to
a B-bit grid leaves in one STFT bin, so a floor can be judged "digital silence" or "noise".

Everything here works on a level curve in dB over a frequency axis (one long-term spectrum or one row of a
segment x band matrix), so one function serves both the whole track and its time segments.
"""

from __future__ import annotations

import numpy as np

from .wall_record import Wall

#: Width (Hz) of the stretches either side of a candidate edge that are compared: the level below is the
#: mean over [f - 1500, f - 200] Hz and the level above over [f + 200, f + 1500] Hz. 200 Hz of guard covers
#: the transition band of encoder low-passes (LAME: ~ 0.5-1 kHz wide) at the 2.7 Hz resolution of the spine.
SIDE_HZ = 1300.0
GUARD_HZ = 200.0
#: Moving-average width (Hz) applied to the level curve before searching, so single tonal bins do not
#: masquerade as edges.
SMOOTH_HZ = 100.0


def quantisation_floor_db(bits: int, n_fft: int) -> float:
    """Level (dB re full-scale sine, the spine's scale) of rounding noise of a ``bits``-bit grid in one bin
    of a Hann-windowed STFT of length ``n_fft``.

    White noise of variance s^2 gives E[P] = (2/sum w)^2 s^2 sum w^2 = 6 s^2 / n_fft for a Hann window;
    rounding to a step q = 2^-(bits-1) has s^2 = q^2 / 12. 16 bits, n_fft 16384: -135.5 dB.

    >>> round(quantisation_floor_db(16, 16384), 1)
    -135.5
    """
    q = 2.0 ** (-(bits - 1))
    return float(10.0 * np.log10(6.0 * q * q / 12.0 / n_fft))


def moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean of width ``width`` along the last axis (shorter windows at the edges)."""
    width = max(1, int(width))
    if width == 1:
        return x.astype(np.float64, copy=True)
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1, dtype=np.float64)], axis=-1)
    n = x.shape[-1]
    i = np.arange(n)
    lo = np.clip(i - width // 2, 0, n)
    hi = np.clip(i - width // 2 + width, 0, n)
    return _window_mean(c, lo, hi)


def _window_mean(c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Means over [lo, hi) from the cumulative sums ``c`` (leading 0) along the last axis."""
    return (c[..., hi] - c[..., lo]) / np.maximum(hi - lo, 1)


def find_wall(freqs: np.ndarray, level_db: np.ndarray, *, fmin: float, fmax: float,
              side_hz: float = SIDE_HZ, guard_hz: float = GUARD_HZ, smooth_hz: float = SMOOTH_HZ) -> Wall | None:
    """Find the largest edge of a level curve with its frequency in [fmin, fmax].

    Parameters
    ----------
    freqs : np.ndarray, shape (n,)
        Increasing, evenly spaced frequencies, Hz.
    level_db : np.ndarray, shape (n,)
        Level at each frequency, dB (NaN not allowed).
    fmin, fmax : float
        Range searched for the edge, Hz.

    Returns
    -------
    Wall or None
        None when the axis is too short for the stretches either side.

    Examples
    --------
    >>> freqs = np.arange(0, 22050, 2.7)
    >>> w = find_wall(freqs, np.where(freqs < 16000, -70.0, -135.0), fmin=8000, fmax=21000)
    >>> round(w.freq_hz, -2), round(w.drop_db)
    (16000.0, 65)
    """
    level = np.asarray(level_db, dtype=np.float64)
    return find_walls(freqs, level[None, :], fmin=fmin, fmax=fmax, side_hz=side_hz, guard_hz=guard_hz,
                      smooth_hz=smooth_hz)[0]


def find_walls(freqs: np.ndarray, levels_db: np.ndarray, *, fmin: float, fmax: float, side_hz: float = SIDE_HZ,
               guard_hz: float = GUARD_HZ, smooth_hz: float = SMOOTH_HZ) -> list[Wall | None]:
    """:func:`find_wall` on every row of ``levels_db`` (rows, n): the candidate search is vectorised over the
    rows (one call for all the 2 s segments of a track instead of one per segment), and so is the refinement
    (:func:`_refine_rows`)."""
    freqs = np.asarray(freqs, dtype=np.float64)
    level = np.asarray(levels_db, dtype=np.float64)
    rows, n = level.shape
    if n < 8:
        return [None] * rows
    df = float(freqs[1] - freqs[0])
    smooth = moving_mean(level, int(round(smooth_hz / df)))
    c = np.concatenate([np.zeros((rows, 1)), np.cumsum(smooth, axis=-1)], axis=-1)
    side = max(1, int(round(side_hz / df)))
    guard = max(1, int(round(guard_hz / df)))
    idx = np.nonzero((freqs >= fmin) & (freqs <= fmax))[0]
    # need at least a quarter of the stretch above the edge inside the axis
    idx = idx[(idx - guard - side >= 0) & (idx + guard + max(1, side // 4) < n)]
    if idx.size == 0:
        return [None] * rows
    below = _window_mean(c, idx - guard - side, idx - guard)
    above = _window_mean(c, np.minimum(idx + guard, n), np.minimum(idx + guard + side, n))
    best = np.argmax(below - above, axis=-1)
    r = np.arange(rows)
    return _refine_rows(freqs, level, smooth, idx[best], below[r, best], above[r, best], side, guard)


def _first_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: index of the first True, and whether there is one."""
    return np.argmax(mask, axis=-1), mask.any(axis=-1)


def _refine_rows(freqs: np.ndarray, level: np.ndarray, smooth: np.ndarray, i0: np.ndarray, b: np.ndarray,
                 a: np.ndarray, side: int, guard: int) -> list[Wall]:
    """The wall of each row at its candidate bin ``i0`` (levels ``b`` below, ``a`` above): edge, steepness and
    floor, for all rows at once (a loop of tiny NumPy calls per row cost ~50 us a row: 15 ms for the 300 segment
    rows of a 10-minute track)."""
    rows, n = level.shape
    df = float(freqs[1] - freqs[0])
    d = b - a
    # the stretch searched: from the middle of the stretch below to guard + side / 2 above the candidate
    start = i0 - guard - side // 2
    width = 2 * (guard + side // 2)
    pos = start[:, None] + np.arange(width)[None, :]
    inside = pos < n
    seg = np.where(inside, smooth[np.arange(rows)[:, None], np.minimum(pos, n - 1)], np.inf)
    # first bin going up whose smoothed level falls under the midpoint (the candidate when none does)
    k_mid, has_mid = _first_true(seg < ((a + b) / 2)[:, None])
    edge = start + np.where(has_mid, k_mid, i0 - start)
    k10, has10 = _first_true(seg < (b - 0.1 * d)[:, None])
    k90, has90 = _first_true(seg < (b - 0.9 * d)[:, None])
    width_hz = np.maximum(df, (k90 - k10) * df)
    steep = np.where((d > 0) & has10 & has90, 0.8 * d / (width_hz / 1000.0), 0.0)
    # floor: median and standard deviation of the unsmoothed level from edge + guard to the top of the axis
    first = np.minimum(n - 1, edge + guard)
    count = n - first
    in_floor = np.arange(n)[None, :] >= first[:, None]
    ordered = np.sort(np.where(in_floor, level, np.inf), axis=-1)
    lo, hi = ordered[np.arange(rows), (count - 1) // 2], ordered[np.arange(rows), count // 2]
    floor = np.where(count % 2 == 1, hi, (lo + hi) / 2)  # as np.median: the middle value, or the mean of two
    mean = np.where(in_floor, level, 0.0).sum(axis=-1) / count
    flat = np.where(count > 1, np.sqrt(np.where(in_floor, (level - mean[:, None]) ** 2, 0.0).sum(axis=-1) / count), 0.0)
    return [Wall(freq_hz=float(freqs[min(int(e), n - 1)]), drop_db=float(dd), steepness_db_per_khz=float(st),
                 below_db=float(bb), above_db=float(aa), floor_db=float(fl), floor_flatness_db=float(ft))
            for e, dd, st, bb, aa, fl, ft in zip(edge, d, steep, b, a, floor, flat)]
