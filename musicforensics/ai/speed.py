"""Decoder combs moved by a speed change or a resampling pitch shift.

Playing a track faster by a factor ``s`` (or shifting its pitch by resampling, s = 2^(semitones / 12))
multiplies every frequency by ``s``: the comb ``k r / P`` becomes ``k s r / P``. Its period is then no longer a
whole number of samples, so the fold test (:mod:`.coherent`) cannot read it; the comb is still a comb, and its
spacing gives the factor away.

The search is seeded by the long-term spectrum's dense comb search (:func:`.comb.comb_search`, which scores every
spacing from 15 to 400 Hz, not only the candidates): for each of its strongest spacings ``D`` and every candidate
``r / P`` with ``D / (r / P)`` within :data:`FACTOR_RANGE`, the factor is refined on the full-resolution spectrum
of the 20 s the checks read (:meth:`.segments.ScanMemo.checked_span`: the first 20 s when no comb was checked)
(:func:`.lattice.full_spectrum`), stepping it so that the top tooth moves one bin per
step, with the capped comb z of the teeth (max of the 3 nearest bins) against random positions. The best comb
is returned with its factor; where one moved comb fits several candidates (80.96 Hz is 44100 / 512 x 0.94,
32000 / 384 x 0.9716 and 48000 / 640 x 1.0795), a base is ruled out when teeth above its moved Nyquist frequency
are lit (its decoder could not have made them); among the rest a published decoder (its rate and stride
product) wins, then a base at the file's own rate, then the factor closest to 1. The lines are the same
whichever base is read, so this order is a prior, and the verdict says so where an exact reading competes
(:func:`known_reading`). A phase-vocoder pitch shift, which moves each partial by a different amount, does
not keep a comb and is not followed.

Off the exact candidate periods every held note is a comb too (its harmonic series at an arbitrary pitch), and
the factor is searched over thousands of spacings, so a moved comb needs more than an exact one: z >=
:data:`MOVED_Z_FIRE` on the spectrum, and the comb in every third of the span (:data:`THIRD_Z` each), as a
decoder's is and a phrase's notes are not. On the real recordings of the development set the strongest moved
comb that passed the other checks reached z 17.5 (a sample-exact loop); the corpus's speed-changed decoder output
reaches 40-140.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import Candidate, FoldPlan
from .coherent import CAP, HIGH_BAND_HZ, TOP_FRACTION
from .decoders import KNOWN_DECODERS, SUNO_DELTA_HZ
from .lattice import SPAN_SECONDS, FullSpectrum

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
#: Harmonic relatives of each seed also searched (D x m and D / m), against the published decoders only (few
#: hypotheses, so few chances for music): the long-term search may rank a comb's coarser or finer lattice
#: above the comb itself.
SEED_RELATIVES = (1, 2, 3, 4)
#: Random positions of the null.
NULL_POSITIONS = 6000
#: z a moved comb needs on the whole span, and in each of its thirds.
MOVED_Z_FIRE = 25.0
THIRD_Z = 3.0


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
        capped = np.minimum(spec.ratio, CAP)
        # the largest capped ratio of each bin and its two neighbours, once for the whole spectrum: every comb and
        # null position of the search reads it (bins 1 .. n - 2 are read)
        self.peak = capped.copy()
        self.peak[1:-1] = np.maximum(np.maximum(capped[:-2], capped[1:-1]), capped[2:])
        self.rng = np.random.default_rng(seed)
        self._null: dict = {}

    def band(self, top_hz: float, low_hz: float = HIGH_BAND_HZ) -> tuple[int, int]:
        return int(low_hz / self.spec.bin_hz) + 2, min(int(top_hz / self.spec.bin_hz), self.peak.shape[0] - 2)

    def null(self, top_hz: float, low_hz: float = HIGH_BAND_HZ) -> tuple[float, float]:
        key = (round(low_hz), round(top_hz))
        if key not in self._null:
            lo, hi = self.band(top_hz, low_hz)
            g = self.peak[self.rng.integers(lo, hi, NULL_POSITIONS)]
            self._null[key] = (float(g.mean()), float(g.std()) + 1e-9)
        return self._null[key]

    def z(self, deltas: np.ndarray, top_hz: float, low_hz: float = HIGH_BAND_HZ) -> np.ndarray:
        """z of the combs ``k * delta`` (one row of teeth per spacing) in the band ``low_hz`` .. ``top_hz``."""
        lo, hi = self.band(top_hz, low_hz)
        if hi - lo < 100:
            return np.zeros(deltas.shape[0])
        mu, sigma = self.null(top_hz, low_hz)
        k = np.arange(1, int(top_hz / deltas.min()) + 2)
        bins = np.round(np.outer(deltas, k) / self.spec.bin_hz).astype(np.int64)
        ok = (bins > lo) & (bins < hi)
        g = np.where(ok, self.peak[np.clip(bins, 1, self.peak.shape[0] - 2)], 0.0)
        count = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count >= 3, (g.sum(axis=1) - count * mu) / (sigma * np.sqrt(np.maximum(count, 1))), 0.0)


def moves(plan: FoldPlan, seeds: tuple) -> list[tuple[Candidate, float]]:
    """The (base, factor) pairs the search tries for the long-term ``seeds`` ((spacing Hz, z) pairs): each
    strong seed against every candidate, its harmonic relatives against the published decoders, within the
    factor range and off the exact spacing."""
    strong = [d for d, z in seeds[:SEEDS] if z >= SEED_Z]
    relatives = {round(d * m, 6) for d in strong for m in SEED_RELATIVES} | \
        {round(d / m, 6) for d in strong for m in SEED_RELATIVES}
    spacings = [(d, False) for d in strong] + [(d, True) for d in sorted(relatives - {round(d, 6) for d in strong})]
    out = []
    for spacing, relative in spacings:
        for c in plan.candidates:
            if relative and not is_known(c):
                continue
            factor = spacing / c.delta_hz
            if FACTOR_RANGE[0] <= factor <= FACTOR_RANGE[1] and abs(factor - 1.0) >= MIN_SHIFT:
                out.append((c, factor))
    return out


def search(spec: FullSpectrum, plan: FoldPlan, seeds: tuple) -> SpeedComb | None:
    """The strongest speed-moved comb seeded by the long-term ``seeds`` ((spacing Hz, z) pairs), or None."""
    fs = plan.sample_rate
    comb = _Comb(spec)
    found: list[SpeedComb] = []
    for c, factor in moves(plan, seeds):
        # one band for every base: the same moved comb then scores the same whichever base it is read as
        top = TOP_FRACTION * fs / 2.0
        step = spec.bin_hz / top  # the top tooth moves one bin per step
        n = int(np.ceil(REFINE_HALF_WIDTH / step))
        factors = factor * (1.0 + np.arange(-n, n + 1) * step)
        z = comb.z(factors * c.delta_hz, top)
        i = int(np.argmax(z))
        found.append(SpeedComb(base=c, factor=float(factors[i]), delta_hz=float(factors[i] * c.delta_hz),
                               z=float(z[i]), top_hz=top))
    if not found:
        return None
    # one moved comb fits several bases (80.96 Hz is 86.13 Hz x 0.94, 83.33 Hz x 0.9716 and 75 Hz x 1.0795):
    # a base whose moved Nyquist frequency (rate x factor / 2) lies below teeth that are lit cannot have made
    # them; among the rest as strong as the best, see :func:`_preference`
    best_z = max(f.z for f in found)
    near = [f for f in found if f.z >= best_z - max(1.0, 0.05 * best_z)]
    possible = [f for f in near if not _lit_above_nyquist(comb, f)] or near
    return min(possible, key=lambda f: _preference(f, fs))


def _preference(found: SpeedComb, sample_rate: int) -> tuple:
    """Order of the bases one moved comb fits, the first preferred: a published decoder at its own rate and
    stride product, then a base at the file's own rate (a speed change by resampling keeps the rate; reading
    the comb at another rate assumes a second resampling), then the factor closest to 1."""
    return (not is_known(found.base), found.base.rate != sample_rate, abs(found.factor - 1.0))


#: z of the teeth above a base's moved Nyquist frequency that rules the base out.
ABOVE_NYQUIST_Z = 3.0


def _lit_above_nyquist(comb: _Comb, found: SpeedComb) -> bool:
    nyquist = 0.5 * found.base.rate * found.factor
    if nyquist >= found.top_hz:
        return False
    return float(comb.z(np.array([found.delta_hz]), found.top_hz, low_hz=max(nyquist * 1.02, HIGH_BAND_HZ))[0]) \
        >= ABOVE_NYQUIST_Z


#: (rate, stride product) of the published decoders.
_KNOWN_PAIRS = frozenset((rate, int(np.prod(strides))) for _n, _f, rate, strides in KNOWN_DECODERS if strides)


def is_known(base: Candidate) -> bool:
    """Whether ``base`` is a published decoder's comb: its rate and stride product, not only its spacing (50 Hz
    is EnCodec's at 32 kHz, not at 24 kHz), or Suno's measured spacing."""
    return (base.rate, base.period) in _KNOWN_PAIRS or abs(base.delta_hz - SUNO_DELTA_HZ) < 1e-6 * SUNO_DELTA_HZ


#: Finer lattices of an exact comb tried as a published decoder's moved comb (a coarse level may fire first).
EXACT_SUBDIVISIONS = (1, 2, 3, 4)


def known_reading(spec: FullSpectrum, plan: FoldPlan, exact: Candidate, mono: np.ndarray,
                  full_spectrum) -> SpeedComb | None:
    """A published decoder at the file's rate, moved by a speed change, that explains an exact comb better than
    the exact reading, or None.

    An exact comb at ``r' / P'`` can be the same lines as a published decoder's ``r / P`` times a factor
    (73.5 Hz is 44100 / 600 and also EnCodec 24 kHz's 75 Hz x 0.98): the lines are identical, so the reading
    is a prior. It is taken only when the exact reading is neither a published decoder nor at the file's rate,
    the moved one is both, and the moved comb (``exact / m``, m in :data:`EXACT_SUBDIVISIONS`, for a coarse
    level that fired first) passes the moved-comb tests itself."""
    fs = plan.sample_rate
    if is_known(exact) or exact.rate == fs:
        return None
    comb = _Comb(spec)
    top = TOP_FRACTION * fs / 2.0
    for m in EXACT_SUBDIVISIONS:
        spacing = exact.delta_hz / m
        options = [SpeedComb(base=c, factor=spacing / c.delta_hz, delta_hz=spacing, z=0.0, top_hz=top)
                   for c in plan.candidates if c.rate == fs and is_known(c)]
        options = [o for o in options
                   if FACTOR_RANGE[0] <= o.factor <= FACTOR_RANGE[1] and abs(o.factor - 1.0) >= MIN_SHIFT]
        if not options:
            continue
        z = float(comb.z(np.array([spacing]), top)[0])
        best = min(options, key=lambda o: _preference(o, fs))
        best = SpeedComb(base=best.base, factor=best.factor, delta_hz=spacing, z=z, top_hz=top)
        if z >= MOVED_Z_FIRE and not _lit_above_nyquist(comb, best) and in_every_third(mono, fs, best, full_spectrum):
            return best
    return None


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


def in_every_third(mono: np.ndarray, sample_rate: int, found: SpeedComb, full_spectrum) -> bool:
    """Whether the moved comb reaches THIRD_Z in each third of the span the search read."""
    span = min(mono.shape[0], int(round(SPAN_SECONDS * sample_rate)))
    for k in range(3):
        part = mono[k * span // 3:(k + 1) * span // 3]
        z = _Comb(full_spectrum(part, sample_rate)).z(np.array([found.delta_hz]), found.top_hz)[0]
        if z < THIRD_Z:
            return False
    return True
