"""Is a comb a decoder's, or periodic music? Tests on a full-resolution spectrum of 20 s of the track (the
stretch where the strongest checked comb is strongest, see :func:`.judge.strongest_span`).

A decoder adds lines at ``k Delta`` and nothing between them. Music can light the same teeth: a sample-exact
loop of ``L`` samples has lines at every multiple of ``fs / L``, a drum pattern sequenced on a tempo grid repeats
identical samples at the grid step, a sustained sample looped at its root key is periodic at its loop length.
Whenever such content lights a candidate comb, its lines also fill a finer lattice ``Delta / m`` (``m = L / P'``)
about as strongly as the teeth. The **lattice contrast** compares the teeth with the mid-gap points of every
finer lattice:

    h = log(1 + the largest r of the 3 nearest bins),
    c_m = (mean h(teeth) - mean h(points j Delta / m with (j mod m) / m in [1/4, 3/4])) / SE,
    c_min = min(c_noise, min over m = 2..64 of c_m),

``c_noise`` using random positions and ``SE`` the standard error of the difference. Only mid-gap points are
used: a decoder comb's amplitude follows the music, so its lines carry sidebands within a few Hz of each
tooth at the tempo and note rates. Lattices ``Delta / m`` that are themselves decoder levels of the same rate are
skipped. A decoder comb keeps every ``c_m`` large; a loop or a sequence has some ``c_m`` near 0.

The **extent** of a comb (:func:`comb_extent`) is the top of the part of the band where its teeth stand out. A
codec that rebuilds its upper band by folding lower bands into it keeps a decoder's teeth only below the folding
and puts lines between them above, so the contrast of such a comb is also read up to its extent
(:func:`.judge.check_comb`); a loop lights its finer lattice wherever it lights the teeth, in the narrower band too.

The **drone share** is the fraction of the raw 200 Hz-4 kHz power that sits on the teeth (the 3 bins around each
tooth): a steady harmonic series (a drone, an organ pedal) whose fundamental is the spacing puts most of the
band's power there, a decoder's comb a tiny part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.fft as sfft

from ..spectral.kernels import fold as _k
from .coherent import HIGH_BAND_HZ, LOW_BAND_HZ, whiten

#: Length of the stretch the full-resolution spectrum is taken on, s (0.05 Hz resolution: a 0.5 Hz lattice is
#: 10 resolution cells).
SPAN_SECONDS = 20.0
#: Bins per block of the whitening median.
NOISE_BLOCK = 32
#: Finest lattice tested: Delta / m for m up to CONTRAST_M_MAX, and never finer than FINEST_LATTICE_HZ.
CONTRAST_M_MAX = 128
FINEST_LATTICE_HZ = 0.5
#: Random positions of the noise reference.
NOISE_POSITIONS = 4000
#: Fewest mid-gap points a lattice needs to be tested.
MIN_POINTS = 10


@dataclass(frozen=True)
class FullSpectrum:
    """Whitened (``ratio``) and raw (``power``) spectrum of the span, ``bin_hz`` apart; ``level`` is
    log(1 + the largest ratio of each bin and its two neighbours), what the lattice contrast compares (computed
    on first use: the moved-comb search reads only the ratio)."""

    ratio: np.ndarray
    power: np.ndarray
    bin_hz: float

    @cached_property
    def level(self) -> np.ndarray:
        level = np.log1p(self.ratio)
        level[1:-1] = np.maximum(np.maximum(level[:-2], level[1:-1]), level[2:])
        return level


@dataclass(frozen=True)
class Contrast:
    """The lattice contrast: ``c_min``, the lattice that gave it (``m``; 1 = random positions) and ``c_noise``;
    ``share``: the largest fraction of the teeth's excess over random positions that a finer lattice also has
    (its lattice ``share_m``)."""

    c_min: float
    m: int
    c_noise: float
    share: float = 0.0
    share_m: int = 0


def full_spectrum(mono: np.ndarray, sample_rate: int, *, span_s: float = SPAN_SECONDS) -> FullSpectrum:
    """Spectrum of the first ``span_s`` seconds of the channel sum (rectangular window, zero-padded to twice its
    length: the tests read each frequency as the largest of its 3 nearest bins, i.e. within half a native bin,
    so a tooth and a lattice point between two native bins are read alike)."""
    # single precision: the tests compare whitened powers, and a float32 FFT's relative error (~1e-6 of the
    # span's energy) sits far under the 16-bit noise floor; it halves the cost of the largest FFT of the detector
    x = np.asarray(mono[: int(span_s * sample_rate)], dtype=np.float32)
    n = sfft.next_fast_len(max(2 * x.shape[0], 16), real=True)
    spectrum = sfft.rfft(x, n)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    ratio, _noise = whiten(power, NOISE_BLOCK)
    return FullSpectrum(ratio=ratio, power=power, bin_hz=sample_rate / n)


def _in_band(spec: FullSpectrum, lo_hz: float, hi_hz: float) -> tuple[int, int]:
    return int(lo_hz / spec.bin_hz) + 2, min(int(hi_hz / spec.bin_hz), spec.ratio.shape[0] - 2)


def _teeth(spec: FullSpectrum, delta_hz: float, lo_hz: float, hi_hz: float) -> tuple[np.ndarray, int, int]:
    """The bins of the teeth ``k delta_hz`` from ``lo_hz`` to ``hi_hz`` strictly inside the band's bins
    ``(lo, hi)`` (:func:`_in_band`), and ``lo``, ``hi``."""
    lo, hi = _in_band(spec, lo_hz, hi_hz)
    k = np.arange(max(1, int(np.ceil(lo_hz / delta_hz))), int(hi_hz / delta_hz) + 1)
    teeth = np.round(k * delta_hz / spec.bin_hz).astype(np.int64)
    return teeth[(teeth > lo) & (teeth < hi)], lo, hi


def lattice_contrast(spec: FullSpectrum, delta_hz: float, top_hz: float, family_levels: frozenset = frozenset(),
                     *, known: tuple[float, ...] = (), seed: int = 0) -> Contrast | None:
    """The lattice contrast of the comb ``k delta_hz`` in the high band (HIGH_BAND_HZ to ``top_hz``); None when
    the band holds too few bins or teeth. ``family_levels``: spacings (Hz, rounded to 1e-6) to skip. ``known``:
    line lattices (Hz) already found in this track's music (a loop's line spacing, from an explained comb); each
    is tested too, at its points at least a quarter of a spacing away from every tooth (reported as m = 0)."""
    teeth, lo, hi = _teeth(spec, delta_hz, HIGH_BAND_HZ, top_hz)
    if hi - lo < 100:
        return None
    if teeth.size < 3:
        return None
    h_teeth = spec.level[teeth]
    mean_teeth, var_teeth = h_teeth.mean(), h_teeth.var() / teeth.size

    def contrast(points: np.ndarray) -> tuple[float, float]:
        """(contrast against ``points``, their mean level)."""
        h = spec.level[points]
        mean = float(h.mean())
        var = float(np.dot(h, h)) / h.size - mean * mean
        return (mean_teeth - mean) / np.sqrt(var_teeth + max(var, 0.0) / points.size + 1e-12), mean

    rng = np.random.default_rng(seed)
    noise_points = rng.integers(lo, hi, NOISE_POSITIONS)
    c_noise, mean_noise = contrast(noise_points)
    excess = max(mean_teeth - mean_noise, 1e-9)
    best, best_m = c_noise, 1
    share, share_m = 0.0, 0
    m_max = min(CONTRAST_M_MAX, int(delta_hz / FINEST_LATTICE_HZ))
    if m_max >= 2:
        # the mid-gap points of every lattice delta / m, summed in one pass (a lattice m holds ~m/2 points per
        # tooth, so the finest lattices dominate the cost)
        skip = np.array([m < 2 or round(delta_hz / m, 6) in family_levels for m in range(m_max + 1)])
        sums, squares = np.zeros(m_max + 1), np.zeros(m_max + 1)
        counts = np.zeros(m_max + 1, dtype=np.int64)
        _k.lattice_sums(spec.level, delta_hz, spec.bin_hz, lo, hi, HIGH_BAND_HZ, top_hz, m_max, skip, sums,
                        squares, counts)
        m_tested = np.flatnonzero(~skip & (counts >= MIN_POINTS))
        n = counts[m_tested]
        means = sums[m_tested] / n
        variances = np.maximum(squares[m_tested] / n - means * means, 0.0)
        c_m = (mean_teeth - means) / np.sqrt(var_teeth + variances / n + 1e-12)
        if c_m.size:
            first = int(np.argmin(c_m))  # the coarsest lattice among equals, as the ascending walk found it
            if c_m[first] < best:
                best, best_m = float(c_m[first]), int(m_tested[first])
            lit = (means - mean_noise) / excess
            first = int(np.argmax(lit))
            if lit[first] > share:
                share, share_m = float(lit[first]), int(m_tested[first])
    for spacing in known:
        j = np.arange(int(np.ceil(HIGH_BAND_HZ / spacing)), int(top_hz / spacing) + 1)
        offset = (j * spacing / delta_hz) % 1.0
        j = j[(offset >= 0.25) & (offset <= 0.75)]
        points = np.round(j * spacing / spec.bin_hz).astype(np.int64)
        points = points[(points > lo) & (points < hi)]
        if points.size >= MIN_POINTS:
            c, _mean = contrast(points)
            if c < best - 1e-9:  # a known lattice on the same points as a finer one leaves that one reported
                best, best_m = c, 0
    return Contrast(c_min=best, m=best_m, c_noise=c_noise, share=share, share_m=share_m)


#: Width of the sub-bands in which the extent of a comb is read, Hz.
EXTENT_BAND_HZ = 2000.0
#: z of a sub-band's teeth over the sub-band's other bins from which the comb counts as present there.
EXTENT_Z = 3.0


def comb_extent(spec: FullSpectrum, delta_hz: float, top_hz: float) -> float:
    """Top (Hz) of the part of the high band where the teeth of ``k delta_hz`` stand out: the upper edge of the
    highest EXTENT_BAND_HZ sub-band whose teeth's mean level is EXTENT_Z standard errors above the sub-band's
    mean level; HIGH_BAND_HZ when none is."""
    top = HIGH_BAND_HZ
    lo_hz = HIGH_BAND_HZ
    while lo_hz < top_hz:
        hi_hz = min(lo_hz + EXTENT_BAND_HZ, top_hz)
        teeth, lo, hi = _teeth(spec, delta_hz, lo_hz, hi_hz)
        if teeth.size >= 3 and hi - lo > 100:
            h = spec.level[lo:hi]
            se = float(h.std()) / np.sqrt(teeth.size)
            if se > 0 and (float(spec.level[teeth].mean()) - float(h.mean())) / se >= EXTENT_Z:
                top = hi_hz
        lo_hz = hi_hz
    return top


def drone_share(spec: FullSpectrum, delta_hz: float, top_hz: float) -> float:
    """Share of the raw power between LOW_BAND_HZ and min(HIGH_BAND_HZ, top_hz) that lies on the teeth."""
    teeth, lo, hi = _teeth(spec, delta_hz, LOW_BAND_HZ, min(HIGH_BAND_HZ, top_hz))
    if hi <= lo + 2:
        return 0.0
    total = float(spec.power[lo:hi].sum())
    if not teeth.size or total <= 0:
        return 0.0
    lobes = spec.power[teeth - 1] + spec.power[teeth] + spec.power[teeth + 1]
    return float(min(lobes.sum() / total, 1.0))
