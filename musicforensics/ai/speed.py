"""Decoder combs moved by a speed change or a resampling pitch shift.

Playing a track faster by a factor ``s`` (or shifting its pitch by resampling, s = 2^(semitones / 12))
multiplies every frequency by ``s``: the comb ``k r / P`` becomes ``k s r / P``. Its period is then no longer a
whole number of samples, so the fold test (:mod:`.coherent`) cannot read it; the comb is still a comb, and its
spacing gives the factor away.

The search is seeded by the long-term spectrum's dense comb search (:func:`.comb.comb_search`, which scores every
spacing from 15 to 400 Hz, not only the candidates): for each of its strongest spacings ``D`` and every candidate
``r / P`` with ``D / (r / P)`` within :data:`FACTOR_RANGE`, the factor is refined on the full-resolution spectrum
of the track's first 30 s (:func:`.lattice.full_spectrum`), stepping it so that the top tooth moves one bin per
step, with the capped comb z of the teeth (max of the 3 nearest bins) against random positions. The best comb
is returned with its factor. A phase-vocoder pitch shift, which moves each partial by a different amount, does
not keep a comb and is not followed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import Candidate, FoldPlan
from .coherent import CAP, HIGH_BAND_HZ, TOP_FRACTION
from .lattice import FullSpectrum

#: Factors searched: +-7.5 % covers speed changes of +-6 % and pitch shifts of +-1 semitone (0.944 .. 1.059).
FACTOR_RANGE = (0.925, 1.08)
#: Factors closer to 1 than this are left to the exact fold test.
MIN_SHIFT = 2e-4
#: Dense long-term spacings that seed the search, and the z they need.
SEEDS = 3
SEED_Z = 4.0
#: Half-width of the refinement around a seed's factor (relative): the dense grid's neighbouring spacings differ
#: by one 2.69 Hz bin at the top tooth (1.3e-4 of 20 kHz).
REFINE_HALF_WIDTH = 2e-4
#: Random positions of the null.
NULL_POSITIONS = 6000


@dataclass(frozen=True)
class SpeedComb:
    """A comb found at ``factor`` times a candidate's spacing: ``delta_hz`` = factor * base spacing."""

    base: Candidate
    factor: float
    delta_hz: float
    z: float
    top_hz: float


def _max3(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(values[bins - 1], values[bins]), values[bins + 1])


class _Comb:
    """Capped comb z on one full-resolution spectrum, with its random-position null per band top."""

    def __init__(self, spec: FullSpectrum, seed: int = 1) -> None:
        self.spec = spec
        self.capped = np.minimum(spec.ratio, CAP)
        self.rng = np.random.default_rng(seed)
        self._null: dict = {}

    def band(self, top_hz: float) -> tuple[int, int]:
        return int(HIGH_BAND_HZ / self.spec.bin_hz) + 2, min(int(top_hz / self.spec.bin_hz), self.capped.shape[0] - 2)

    def null(self, top_hz: float) -> tuple[float, float]:
        key = round(top_hz)
        if key not in self._null:
            lo, hi = self.band(top_hz)
            g = _max3(self.capped, self.rng.integers(lo, hi, NULL_POSITIONS))
            self._null[key] = (float(g.mean()), float(g.std()) + 1e-9)
        return self._null[key]

    def z(self, deltas: np.ndarray, top_hz: float) -> np.ndarray:
        """z of the combs ``k * delta`` (one row of teeth per spacing) in the high band up to ``top_hz``."""
        lo, hi = self.band(top_hz)
        if hi - lo < 100:
            return np.zeros(deltas.shape[0])
        mu, sigma = self.null(top_hz)
        k = np.arange(1, int(top_hz / deltas.min()) + 2)
        bins = np.round(np.outer(deltas, k) / self.spec.bin_hz).astype(np.int64)
        ok = (bins > lo) & (bins < hi)
        g = np.where(ok, _max3(self.capped, np.clip(bins, 1, self.capped.shape[0] - 2)), 0.0)
        count = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count >= 3, (g.sum(axis=1) - count * mu) / (sigma * np.sqrt(np.maximum(count, 1))), 0.0)


def search(spec: FullSpectrum, plan: FoldPlan, seeds: tuple) -> SpeedComb | None:
    """The strongest speed-moved comb seeded by the long-term ``seeds`` ((spacing Hz, z) pairs), or None."""
    fs = plan.sample_rate
    comb = _Comb(spec)
    best: SpeedComb | None = None
    for spacing, seed_z in seeds[:SEEDS]:
        if seed_z < SEED_Z:
            continue
        for c in plan.candidates:
            factor = spacing / c.delta_hz
            if not FACTOR_RANGE[0] <= factor <= FACTOR_RANGE[1] or abs(factor - 1.0) < MIN_SHIFT:
                continue
            top = TOP_FRACTION * min(fs, c.rate * factor) / 2.0
            step = spec.bin_hz / top  # the top tooth moves one bin per step
            n = int(np.ceil(REFINE_HALF_WIDTH / step))
            factors = factor * (1.0 + np.arange(-n, n + 1) * step)
            z = comb.z(factors * c.delta_hz, top)
            i = int(np.argmax(z))
            if best is None or z[i] > best.z:
                best = SpeedComb(base=c, factor=float(factors[i]), delta_hz=float(factors[i] * c.delta_hz),
                                 z=float(z[i]), top_hz=top)
    return best


def strongest_teeth(spec: FullSpectrum, found: SpeedComb, count: int = 12) -> list[tuple[float, float]]:
    """The ``count`` strongest teeth of a speed-moved comb: (frequency Hz, whitened excess dB)."""
    comb = _Comb(spec)
    lo, hi = comb.band(found.top_hz)
    k = np.arange(int(np.ceil(HIGH_BAND_HZ / found.delta_hz)), int(found.top_hz / found.delta_hz) + 1)
    bins = np.round(k * found.delta_hz / spec.bin_hz).astype(np.int64)
    bins = bins[(bins > lo) & (bins < hi)]
    if not bins.size:
        return []
    ratio = _max3(spec.ratio, bins)
    order = np.argsort(ratio)[::-1][:count]
    return [(float(bins[i] * spec.bin_hz), float(10.0 * np.log10(max(ratio[i], 1e-12)))) for i in sorted(order)]
