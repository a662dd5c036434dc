"""The comb over time: a fired comb measured block by block, for its consistency and for where it is.

Each block of the channel sum is folded at a short length ``Lc = M * Pint`` (``Pint`` the comb's integer
period, :func:`~.candidates.integer_period`) using the block's *absolute* sample index, so the teeth of every
block sit on the same bins (every ``M * den``-th, ``den`` the denominator of ``P' = P fs / r``) with the same
phase reference: block spectra add coherently, and a segment's spectrum is the sum of its blocks'.

**Template consistency.** A decoder adds the same periodic pattern all along the track (its amplitude follows
the music, its shape does not). Other sample-locked periodic content, such as a synthesiser's per-note
waveform cycles locked to the sample clock, changes its pattern from note to note. With ``X_ik`` the complex
value of tooth ``k`` in block ``i`` (N blocks) and ``n_ik`` the local noise power around it, the excess power of
the teeth summed coherently over the blocks is ``E_coh = sum_k |sum_i X_ik|^2 - sum_k sum_i n_ik`` and summed
incoherently ``E_inc = sum_k sum_i (|X_ik|^2 - n_ik)``, each ``X_ik`` first divided by ``sqrt(n_ik)`` (then
``n_ik = 1``): in absolute units the music around the teeth of the loudest block, whose median-based noise
estimate is off by more than a weak comb's whole excess, would decide the sums. The consistency compares the
blocks' cross products with what one pattern at each block's own level would give: with ``E_i`` block i's
excess (floored at 0), ``kappa = (E_coh - E_inc) / sum_(i != j) sqrt(E_i E_j)``, 1 for a fixed pattern at any
levels (a decoder's pattern follows the music, or stays when the music is quiet) and about 0 for a pattern that
changes from block to block.

**Where the comb is.** The track is cut into blocks of BLOCK_SECONDS; a segment is SEGMENT_BLOCKS consecutive
blocks (10 s, one starting every 2.5 s). Each segment's short-fold spectrum (the sum of its blocks') is scored
with the same exchangeable-bin z as the whole track (:func:`~.coherent.comb_z`). 10 s is the shortest span on
which real generator output was detected without a miss (10-second excerpts of the development set), and a
2.5 s step places a boundary to within a block. A segment *fires* at z >= SEGMENT_FIRE_Z; the flagged ranges
are the unions of overlapping fired segments, trimmed at each end by the edge blocks whose own z stays under
EDGE_BLOCK_Z or under EDGE_FRACTION of the range's median block z (the blocks a fired segment only overlapped).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np
import scipy.fft as sfft

from ..spectral.kernels import fold as _k
from .candidates import Candidate
from .lattice import SPAN_SECONDS, full_spectrum
from .coherent import CAP, HIGH_BAND_HZ, MIN_TEETH, NOISE_BLOCK, SILENT_FRACTION, comb_z, polyphase_bins, power_spectrum

#: Blocks the consistency test splits the track into.
CONSISTENCY_BLOCKS = 6
#: Smallest tooth step of the short folds, bins: leaves room for the local noise around each tooth.
MIN_STEP_BINS = 16
#: Smallest short-fold length, samples.
MIN_SHORT_FOLD = 4096
#: Block and segment lengths of the per-segment evidence.
BLOCK_SECONDS = 2.5
SEGMENT_BLOCKS = 4
#: z at which a 10 s segment fires. Under no comb the segment z is close to N(0, 1); with up to ~200 segments and
#: a few candidate combs per track, 5 keeps the chance of a fired segment in a track without a comb below 1e-4.
SEGMENT_FIRE_Z = 5.0
#: An edge block of a flagged range is kept when its own z reaches this, and EDGE_FRACTION of the median block
#: z of the range.
EDGE_BLOCK_Z = 1.0
EDGE_FRACTION = 0.25


@dataclass(frozen=True)
class Consistency:
    """``kappa`` (see the module docstring), the blocks used, and the incoherent excess's z (how well the
    blocks alone show the comb; kappa means little when it is small)."""

    kappa: float
    blocks: int
    z_incoherent: float


def short_fold(candidate: Candidate, sample_rate: int) -> tuple[int, int]:
    """``(Lc, step)``: a short fold length on which every tooth of ``candidate`` falls on a bin ``step`` apart."""
    period = Fraction(candidate.period * int(sample_rate), candidate.rate)
    multiple = 1
    while multiple * period.denominator < MIN_STEP_BINS or multiple * period.numerator < MIN_SHORT_FOLD:
        multiple += 1
    return multiple * period.numerator, multiple * period.denominator


def block_tooth_values(mono: np.ndarray, sample_rate: int, candidate: Candidate, top_hz: float,
                       starts: list[int], stops: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each block ``mono[start:stop]``: the complex spectrum at every high-band tooth and the local noise
    power around it (median of the non-tooth bins within half a step, divided by ln 2). Returns
    ``(values (blocks, teeth), noise (blocks, teeth), tooth frequencies Hz)``."""
    length, step = short_fold(candidate, sample_rate)
    bin_hz = sample_rate / length
    n_bins = length // 2 + 1
    k = np.arange(max(1, int(np.ceil(HIGH_BAND_HZ / (step * bin_hz)))), int(top_hz / (step * bin_hz)) + 1)
    teeth = k * step
    half = step // 2
    teeth = teeth[(teeth - half >= 0) & (teeth + half < n_bins)]
    offsets = np.concatenate([np.arange(-half, -1), np.arange(2, half + 1)])
    values = np.empty((len(starts), teeth.size), dtype=complex)
    noise = np.empty((len(starts), teeth.size))
    acc = np.zeros(length)
    for i, (a, b) in enumerate(zip(starts, stops)):
        acc[:] = 0.0
        _k.fold_add(np.ascontiguousarray(mono[a:b]), acc, a % length)
        spectrum = sfft.rfft(acc)
        values[i] = spectrum[teeth]
        around = spectrum[teeth[:, None] + offsets[None, :]]
        noise[i] = np.median(around.real ** 2 + around.imag ** 2, axis=1) / np.log(2.0)
    return values, noise, teeth * bin_hz


def template_consistency(mono: np.ndarray, sample_rate: int, candidate: Candidate, top_hz: float,
                         blocks: int = CONSISTENCY_BLOCKS) -> Consistency | None:
    """The consistency of a comb's pattern over ``blocks`` equal blocks of the track (None: too few teeth)."""
    n = mono.shape[0]
    edges = [round(i * n / blocks) for i in range(blocks + 1)]
    values, noise, freqs = block_tooth_values(mono, sample_rate, candidate, top_hz, edges[:-1], edges[1:])
    if freqs.size < 3:
        return None
    # each tooth in units of its block's local noise: a loud block's music around the teeth would otherwise
    # outweigh every quiet block's comb (see the module docstring)
    live = noise > 0
    unit = np.where(live, values / np.sqrt(np.where(live, noise, 1.0)), 0.0)
    power = unit.real ** 2 + unit.imag ** 2
    # under no comb, |X|^2 / n is Exp(1): the incoherent excess has sd sqrt(teeth * blocks) in noise units
    z_inc = float(power.sum() - live.sum()) / np.sqrt(max(int(live.sum()), 1))
    # kappa: the blocks' cross products against what the same pattern at each block's own level would give
    total = unit.sum(axis=0)
    cross = float((total.real ** 2 + total.imag ** 2).sum() - power.sum())
    excess = np.sqrt(np.maximum(power.sum(axis=1) - live.sum(axis=1), 0.0))
    same = float(excess.sum() ** 2 - (excess ** 2).sum())
    kappa = cross / same if same > 0 else 0.0
    return Consistency(kappa=float(kappa), blocks=blocks, z_incoherent=z_inc)


class SegmentScan:
    """A comb's z along the track: per block (``block_z``) and per segment (``segment_z``, segment i spans
    blocks i .. i + SEGMENT_BLOCKS - 1). Both are computed on first use from the block spectra (finding the
    strongest stretch needs only the blocks, the flagged ranges the segments and a few edge blocks)."""

    def __init__(self, *, block_seconds: float, segment_blocks: int, spectra: np.ndarray, length: int, step: int,
                 sample_rate: int, top_hz: float, computed: np.ndarray | None = None) -> None:
        #: blocks whose spectra were computed (None: all); a segment with a block left out gets z 0
        self.computed = computed
        self.block_seconds = block_seconds
        self.segment_blocks = segment_blocks
        self.spectra = spectra
        self.length = length
        self.step = step
        self.sample_rate = sample_rate
        self.top_hz = top_hz

    def _z_of(self, totals: np.ndarray) -> np.ndarray:
        """The screening z of each row of ``totals`` (complex block or segment spectra)."""
        power = totals.real * totals.real
        power += totals.imag * totals.imag
        return screening_z(power, self.length, self.step, self.sample_rate, self.top_hz)

    @property
    def n_blocks(self) -> int:
        return self.spectra.shape[0]

    @cached_property
    def block_z(self) -> np.ndarray:
        return self._z_of(self.spectra)

    def block_z_at(self, i: int) -> float:
        """The z of block ``i`` alone (computed once; all blocks at once when they are known already)."""
        if "block_z" in self.__dict__:
            return float(self.block_z[i])
        cache = self.__dict__.setdefault("_block_z", {})
        if i not in cache:
            cache[i] = float(self._z_of(self.spectra[i:i + 1])[0])
        return cache[i]

    @cached_property
    def segment_z(self) -> np.ndarray:
        n, m = self.n_blocks, self.segment_blocks
        if self.computed is not None:
            z = np.zeros(max(n - m + 1, 1))
            rows = [i for i in range(z.size) if self.computed[i:i + m].all()]
            if rows:
                totals = np.stack([self.spectra[i:i + m].sum(axis=0, dtype=np.complex128) for i in rows])
                z[rows] = self._z_of(totals.astype(np.complex64))
            return z
        # a running sum over the blocks: segment i + 1 = segment i + block i + m - block i (one row in memory,
        # where a cumulative sum over all blocks would write the whole block matrix again)
        count = max(n - m + 1, 1)
        totals = np.empty((count, self.spectra.shape[1]), dtype=np.complex64)
        total = self.spectra[:min(m, n)].sum(axis=0, dtype=np.complex128)
        totals[0] = total
        for i in range(1, count):
            np.add(total, self.spectra[i + m - 1], out=total)
            np.subtract(total, self.spectra[i - 1], out=total)
            totals[i] = total
        return self._z_of(totals)

    @property
    def segment_seconds(self) -> float:
        return self.block_seconds * self.segment_blocks

    def span_z(self, first_block: int, stop_block: int, sample_rate: int, top_hz: float) -> float:
        """The comb z of blocks ``first_block .. stop_block - 1`` taken together."""
        total = self.spectra[first_block:stop_block].sum(axis=0, dtype=np.complex128)
        spec = power_spectrum(total.real ** 2 + total.imag ** 2, self.length, sample_rate)
        return comb_z(spec, self.step, top_hz)


def screening_z(power: np.ndarray, length: int, step: int, sample_rate: int, top_hz: float,
                block: int = NOISE_BLOCK) -> np.ndarray:
    """The high-band comb z of each row of ``power`` (one block or segment per row), whitened by the mean power of
    each ``block``-bin block (O(n), where the median whitening of :func:`~.coherent.power_spectrum` sorts). Every
    bin, tooth or not, is divided by the mean of its own block, so under no comb the teeth stay exchangeable with
    the band's other bins and z keeps its null; a strong tooth lowers its own ratio a little (it is in the mean),
    and a loud partial its block's. Used to screen blocks and segments; the z a verdict rests on uses the median
    whitening. Rows with too few usable bins or teeth get 0."""
    rows = power.shape[0]
    bin_hz = sample_rate / length
    lo = int(np.ceil(HIGH_BAND_HZ / bin_hz)) // block * block
    hi = min(int(np.ceil(top_hz / bin_hz)), power.shape[1]) // block * block
    if hi - lo < 4 * block:
        return np.zeros(rows)
    band = power[:, lo:hi].reshape(rows, -1, block)
    level = band.mean(axis=2)  # teeth included, as every bin: they stay exchangeable with the others
    floor = SILENT_FRACTION * np.median(level, axis=1)
    live = level > floor[:, None]  # blocks above the silent floor
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.minimum(band / np.where(live, level, np.inf)[:, :, None], CAP).reshape(rows, -1)
    off_grid = np.ones(hi - lo, dtype=bool)
    grid = polyphase_bins(power.shape[1], bin_hz, sample_rate)
    off_grid[grid[(grid >= lo) & (grid < hi)] - lo] = False
    g *= off_grid  # bins on a codec's polyphase grid are not read; blocks under the floor are 0 already
    usable_per_block = np.bincount(np.arange(hi - lo) // block, weights=off_grid, minlength=level.shape[1])
    n_usable = live @ usable_per_block
    teeth = np.arange(-lo % step, hi - lo, step)
    teeth = teeth[off_grid[teeth]]
    k = live[:, teeth // block].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = g.sum(axis=1, dtype=np.float64) / n_usable
        sigma = np.sqrt(np.maximum(np.einsum("ij,ij->i", g, g, dtype=np.float64) / n_usable - mu * mu, 0.0)) + 1e-9
        z = (g[:, teeth].sum(axis=1, dtype=np.float64) - k * mu) / (sigma * np.sqrt(k))
    return np.where((k >= MIN_TEETH) & (n_usable >= 10 * MIN_TEETH), z, 0.0)


def segment_scan(mono: np.ndarray, sample_rate: int, candidate: Candidate, top_hz: float, *,
                 block_seconds: float = BLOCK_SECONDS, segment_blocks: int = SEGMENT_BLOCKS,
                 only: np.ndarray | None = None) -> SegmentScan:
    """The block spectra of one comb over the kept channel sum, ready for its block and segment z (see the
    module docstring); ``only``: a mask of the blocks to compute (the others are left at 0)."""
    length, step = short_fold(candidate, sample_rate)
    block = max(int(round(block_seconds * sample_rate)), 1)
    n_blocks = max(mono.shape[0] // block, 1)
    # single precision: a segment sums a few blocks, a span at most a track's, far inside float32's range and
    # precision; it halves the memory the scan writes (a 3-minute track: ~40 MB instead of ~80 MB per comb)
    spectra = np.zeros((n_blocks, length // 2 + 1), dtype=np.complex64)
    acc = np.zeros(length)
    for i in range(n_blocks) if only is None else np.flatnonzero(only):
        a = i * block
        b = mono.shape[0] if i == n_blocks - 1 else a + block
        acc[:] = 0.0
        _k.fold_add(np.ascontiguousarray(mono[a:b]), acc, a % length)
        spectra[i] = sfft.rfft(acc)
    return SegmentScan(block_seconds=block / sample_rate, segment_blocks=segment_blocks, spectra=spectra,
                       length=length, step=step, sample_rate=sample_rate, top_hz=top_hz, computed=only)


def window_screen_z(mono: np.ndarray, sample_rate: int, candidate: Candidate, top_hz: float, *,
                    block_seconds: float = BLOCK_SECONDS, segment_blocks: int = SEGMENT_BLOCKS) -> np.ndarray:
    """The screening z of windows of two segments at one-segment steps (window k: blocks ``k m .. k m + 2m - 1``
    with ``m`` = ``segment_blocks``, the last one segment long), on the block grid of :func:`segment_scan`:
    every segment lies inside one window. A comb confined to a segment keeps about half its segment z in that
    window (the coherent excess of a comb covering ``x`` seconds of a ``W``-second fold grows like ``x^2 / W``:
    (10 s)^2 / 20 s against (10 s)^2 / 10 s), so a window under half the firing z holds no fired segment of
    a phase-stable comb, which a decoder's is. A window's spectrum is the sum of its two segment folds' (the
    folds are linear and share the absolute phase): one FFT per segment length of track, a quarter of the block
    spectra a full scan computes."""
    length, step = short_fold(candidate, sample_rate)
    block = max(int(round(block_seconds * sample_rate)), 1)
    n_blocks = max(mono.shape[0] // block, 1)
    n_chunks = -(-n_blocks // segment_blocks)
    chunks = np.empty((n_chunks + 1, length // 2 + 1), dtype=np.complex128)
    chunks[n_chunks] = 0.0
    acc = np.zeros(length)
    for k in range(n_chunks):
        a = k * segment_blocks * block
        b = mono.shape[0] if k == n_chunks - 1 else a + segment_blocks * block
        acc[:] = 0.0
        _k.fold_add(np.ascontiguousarray(mono[a:b]), acc, a % length)
        chunks[k] = sfft.rfft(acc)
    windows = chunks[:-1] + chunks[1:]
    return screening_z(windows.real ** 2 + windows.imag ** 2, length, step, sample_rate, top_hz)


class ScanMemo:
    """The segment scans of one track, one per (comb, band top), so that the checks and the flagged ranges of a
    comb share one."""

    def __init__(self, mono: np.ndarray, sample_rate: int) -> None:
        self.mono = mono
        self.sample_rate = sample_rate
        self._scans: dict = {}
        #: the stretch (first, stop) the checks read, once the judge has chosen it (see :func:`.judge.judge`)
        self.span: tuple[int, int] | None = None

    def checked_span(self) -> tuple[int, int]:
        """The stretch the checks read, else the first SPAN_SECONDS: the moved-comb search reads the same one,
        so one full-resolution spectrum serves both."""
        if self.span is not None:
            return self.span
        return 0, min(self.mono.shape[0], round(SPAN_SECONDS * self.sample_rate))

    def full(self, first: int, stop: int):
        """The full-resolution spectrum of ``mono[first:stop]`` (:func:`.lattice.full_spectrum`, computed once)."""
        key = ("full", first, stop)
        if key not in self._scans:
            self._scans[key] = full_spectrum(self.mono[first:stop], self.sample_rate)
        return self._scans[key]

    def scan(self, candidate: Candidate, top_hz: float) -> SegmentScan:
        key = (candidate, round(top_hz, 3))
        if key not in self._scans:
            self._scans[key] = segment_scan(self.mono, self.sample_rate, candidate, top_hz)
        return self._scans[key]

    def screened_scan(self, candidate: Candidate, top_hz: float) -> SegmentScan | None:
        """A scan that holds every segment of the comb that can fire: the full scan when it is known already,
        else the blocks of the windows of :func:`window_screen_z` that reach half the firing z (None when no
        window does)."""
        if (candidate, round(top_hz, 3)) in self._scans:
            return self.scan(candidate, top_hz)
        passed = np.flatnonzero(window_screen_z(self.mono, self.sample_rate, candidate, top_hz)
                                >= SEGMENT_FIRE_Z / 2)
        if not passed.size:
            return None
        n_blocks = max(self.mono.shape[0] // max(int(round(BLOCK_SECONDS * self.sample_rate)), 1), 1)
        only = np.zeros(n_blocks, dtype=bool)
        for k in passed:
            only[k * SEGMENT_BLOCKS:(k + 2) * SEGMENT_BLOCKS] = True
        return segment_scan(self.mono, self.sample_rate, candidate, top_hz, only=only)


def fired_runs(scan: SegmentScan, fire_z: float = SEGMENT_FIRE_Z) -> list[tuple[int, int]]:
    """Block ranges ``(first, stop)`` covered by runs of overlapping fired segments, trimmed at each end while
    the edge block's own z is under EDGE_BLOCK_Z (never below one block)."""
    runs: list[list[int]] = []
    for i, z in enumerate(scan.segment_z):
        if z < fire_z:
            continue
        first, stop = i, min(i + scan.segment_blocks, scan.n_blocks)
        if runs and first <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], stop)
        else:
            runs.append([first, stop])
    out = []
    for first, stop in runs:
        # an edge block belongs to the part when it carries a sizeable share of the part's comb: a block of the
        # music around a strong part reaches z 1-2 by chance, a block half inside the part about half its z
        inner = np.median([scan.block_z_at(i) for i in range(first, stop)])
        keep = max(EDGE_BLOCK_Z, EDGE_FRACTION * float(inner))
        while stop - first > 1 and scan.block_z_at(first) < keep:
            first += 1
        while stop - first > 1 and scan.block_z_at(stop - 1) < keep:
            stop -= 1
        out.append((first, stop))
    return out
