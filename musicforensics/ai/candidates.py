"""Which decoder combs the coherent test looks for, and the fold lengths that read all of them exactly.

A decoder running at rate ``r`` whose transposed convolutions have strides k1..kL adds a component that repeats
every ``P = k1 ... kL`` samples of its own rate: lines at multiples of ``r / P`` Hz. In a file at rate ``fs``
the period is ``P' = P fs / r`` samples, a rational number. Folding the whole track modulo an integer ``L``
(summing ``x[n]`` into ``t[n mod L]``) gives ``DFT_L(t)[b] = X(b fs / L)``: the track's own spectrum, with the
rectangular window of its full length, sampled every ``fs / L`` Hz. When ``L`` is a multiple of the numerator
of ``P'``, every tooth ``k r / P`` falls exactly on bin ``k L / P'``, so one pass over the samples and one FFT
per fold length read every candidate comb at full coherent resolution (docs/ai-detection.md).

Candidates: stride products ``2^a 3^b 5^c`` with ``b <= 1`` and ``c <= 2`` (every published decoder of the
catalogue in :mod:`.decoders`; a second factor 3 would admit the MPEG layer III granule and frame lengths 576
and 1152, codec grids rather than decoders) at the generator rates of :data:`GENERATOR_RATES`, spacing between
:data:`DELTA_MIN_HZ` and :data:`DELTA_MAX_HZ`. Candidates are grouped into as few fold lengths as possible,
each at most :data:`MAX_FOLD` samples (the FFT size); at 44.1 kHz two lengths cover all 218 of them.

>>> plan = fold_plan(44100)
>>> plan.lengths
(460800, 423360)
>>> [(c.rate, c.period) for c in plan.candidates if round(c.delta_hz, 6) == 50.0]  # also 32000 / 640: one candidate
[(48000, 960)]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import lcm

from .decoders import GENERATOR_RATES

#: Smallest spacing searched, Hz. The finest published decoder comb is 44100 / 2048 = 21.53 Hz (Stable Audio
#: Open's VAE); below 20 Hz lie the line spacings of sample-exact loops of musical length (7.8-15 Hz on the
#: real loops of the development set).
DELTA_MIN_HZ = 20.0
#: Largest spacing searched, Hz (leaves >= 10 teeth between 4 kHz and 20 kHz).
DELTA_MAX_HZ = 1500.0
#: Largest power of 3 and of 5 in a candidate stride product (see the module docstring).
MAX_THREES = 1
MAX_FIVES = 2
#: Largest fold length, samples (one FFT of this size per length; 2^20 keeps it under ~50 ms).
MAX_FOLD = 1 << 20
#: Fold lengths are multiplied up to at least this long, s: a finer bin grid gives the whitening and the null
#: more bins between the teeth.
MIN_FOLD_SECONDS = 8.0


@dataclass(frozen=True)
class Candidate:
    """One candidate comb: generator rate (Hz), stride product, spacing (Hz), the fold it is read on (index into
    :attr:`FoldPlan.lengths`) and its tooth step on that fold, in bins."""

    rate: int
    period: int
    delta_hz: float
    fold: int
    step: int


@dataclass(frozen=True)
class FoldPlan:
    """The fold lengths (samples) for a file rate and every candidate comb read on them."""

    sample_rate: int
    lengths: tuple[int, ...]
    candidates: tuple[Candidate, ...]


def stride_products(max_product: int = 4096) -> tuple[int, ...]:
    """Candidate stride products ``2^a 3^b 5^c`` (b <= MAX_THREES, c <= MAX_FIVES) from 2 to ``max_product``."""
    values = {2 ** a * 3 ** b * 5 ** c for a in range(13) for b in range(MAX_THREES + 1) for c in range(MAX_FIVES + 1)}
    return tuple(sorted(v for v in values if 2 <= v <= max_product))


@lru_cache(maxsize=16)
def fold_plan(sample_rate: int) -> FoldPlan:
    """The fold lengths and candidates of a file rate (cached; see the module docstring).

    Rates are taken with the file's own first, then from the highest; within a rate, products in increasing order. Each candidate
    joins the first group whose fold length stays <= MAX_FOLD when extended to cover it (the least common
    multiple of the numerators of the periods ``P fs / r``), else opens a new group. Spacings at or above
    0.96 of the file's Nyquist frequency are left out. A spacing reachable from two rates (e.g. 48000 / 960 =
    16000 / 320 = 50 Hz) is one candidate, credited to the first rate: the file's own, else the highest, whose
    band reaches furthest (a decoder at a lower rate has no teeth above its Nyquist frequency, which dilutes its
    z by the square root of the share of teeth it lacks).
    """
    fs = int(sample_rate)
    groups: list[list] = []  # [length, [(rate, period, numerator)]]
    seen: set[Fraction] = set()
    for rate in sorted(GENERATOR_RATES, key=lambda r: (r != fs, -r)):
        for period in stride_products():
            spacing = Fraction(rate, period)
            if not DELTA_MIN_HZ <= spacing <= DELTA_MAX_HZ or spacing >= 0.48 * fs or spacing in seen:
                continue
            numerator = Fraction(period * fs, rate).numerator
            for group in groups:
                extended = lcm(group[0], numerator)
                if extended <= MAX_FOLD:
                    group[0] = extended
                    group[1].append((rate, period))
                    break
            else:
                if numerator > MAX_FOLD:
                    continue
                groups.append([numerator, [(rate, period)]])
            seen.add(spacing)
    lengths, candidates = [], []
    min_length = int(MIN_FOLD_SECONDS * fs)
    for index, (length, members) in enumerate(groups):
        length *= -(-min_length // length)
        lengths.append(length)
        for rate, period in members:
            step = Fraction(length) / Fraction(period * fs, rate)
            candidates.append(Candidate(rate=rate, period=period, delta_hz=rate / period, fold=index,
                                        step=int(step)))
    return FoldPlan(sample_rate=fs, lengths=tuple(lengths), candidates=tuple(candidates))


def integer_period(candidate: Candidate, sample_rate: int) -> int:
    """The smallest whole number of samples the candidate's comb repeats in at ``sample_rate``: the numerator
    of ``P fs / r``."""
    return Fraction(candidate.period * int(sample_rate), candidate.rate).numerator


def same_family_levels(candidate: Candidate, plan: FoldPlan) -> frozenset[float]:
    """Spacings (Hz, rounded to 1e-6) of every candidate at the same generator rate: the levels a decoder of that
    rate could have."""
    return frozenset(round(c.delta_hz, 6) for c in plan.candidates if c.rate == candidate.rate)
