"""The coherent comb statistic: every candidate decoder comb scored on the spectra of the folded track.

On a fold of length ``L`` (:mod:`.candidates`, :mod:`.fold`) the spectrum ``S_b = |T_b|^2`` is whitened by its
running median: ``r_b = S_b / (median of S over NOISE_BLOCK bins / ln 2)``, so that ``r_b`` follows Exp(1) for
an aperiodic signal (the median of Exp(1) is ln 2). A candidate's teeth are the bins ``k * step``; its score in
a band is the exchangeable-bin z

    z = (sum over teeth of g(r) - K mu) / (sigma sqrt(K)),    g(r) = min(r, CAP),

where ``mu`` and ``sigma`` are the mean and standard deviation of ``g`` over every usable bin of the same band.
If nothing periodic sits on the teeth they are exchangeable with any other bin of the band, so z is close to
N(0, 1) whatever the music's spectrum, loudness or tonality; a decoder's comb adds power on every tooth and z
grows with the length of the track (the coherent excess grows like the duration, the noise like its square
root). The cap bounds what one loud partial on a tooth can add.

The decision reads the high band (from HIGH_BAND_HZ to 0.96 of the smaller of the file's and the generator's
Nyquist frequency): real decoders' teeth are strongest there, and steady notes of the music coincide with low
teeth (a D3 at 146.83 Hz is within a 5 s clip's resolution of 44100 / 300 = 147.0 Hz). The low band (200 Hz to
4 kHz) is reported too.

Bins that cannot carry evidence are left out of the teeth and of the null: DC, digital silence (whitening
level below SILENT_FRACTION of the band's median, e.g. above an MP3 encoder's low-pass), and one bin either side
of every multiple of ``r0 / 64`` for the six generator rates ``r0``: the 32-band polyphase filterbank of MPEG
layers I-III leaves structure there (an MP2 transcode of genuine music scored z 10-14 on those grids).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from ..spectral.kernels import fold as _k
from .candidates import Candidate, FoldPlan
from .decoders import GENERATOR_RATES

#: Bins per block of the whitening median.
NOISE_BLOCK = 32
#: Cap of the per-tooth score g(r) = min(r, CAP).
CAP = 10.0
#: Lower edge of the low band and of the high band, Hz.
LOW_BAND_HZ = 200.0
HIGH_BAND_HZ = 4000.0
#: Top of the bands as a fraction of the Nyquist frequency (the generator's or the file's, the smaller).
TOP_FRACTION = 0.96
#: A bin is digital silence when its whitening level is below this fraction of the median level.
SILENT_FRACTION = 1e-6
#: MPEG layer I-III polyphase filterbank: structure every rate / POLYPHASE_BANDS Hz.
POLYPHASE_BANDS = 64
#: Whitened power above which a tooth counts as lit (p = e^-10 under the null).
LIT_RATIO = 10.0
#: Teeth a band must hold for a score.
MIN_TEETH = 3


@dataclass(frozen=True)
class FoldSpectrum:
    """The whitened spectrum of one fold: ``ratio`` (r_b), ``usable`` bins, ``bin_hz``, and ``length`` (L)."""

    length: int
    bin_hz: float
    ratio: np.ndarray
    usable: np.ndarray


@dataclass(frozen=True)
class CombScore:
    """A candidate's scores: ``z`` in the high band, ``z_low`` in the low band, teeth tested in the high band
    (``teeth``) and lit there (``lit``), and the band's top (Hz)."""

    candidate: Candidate
    z: float
    z_low: float
    teeth: int
    lit: int
    top_hz: float

    @property
    def delta_hz(self) -> float:
        return self.candidate.delta_hz


def whiten(power: np.ndarray, block: int = NOISE_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """``(power / noise, noise)``: noise is the median of ``power`` over ``block``-bin blocks, interpolated between
    block centres, divided by ln 2 (so the ratio has mean 1 for exponential power)."""
    if power.shape[0] // block < 2:
        median = np.full(power.shape[0], np.median(power), dtype=np.float64)
    else:
        median = np.empty(power.shape[0])
        _k.block_median_noise(np.ascontiguousarray(power), block, median)
    noise = np.divide(median, np.log(2.0), out=median)
    ratio = np.zeros(power.shape[0])
    np.divide(power, noise, out=ratio, where=noise > 0)  # in place: a spectrum of a million bins is 8 MB a copy
    return ratio, noise


@lru_cache(maxsize=64)
def polyphase_bins(n_bins: int, bin_hz: float, sample_rate: int) -> np.ndarray:
    """Bins within one bin of a multiple of ``r0 / POLYPHASE_BANDS`` for every generator rate r0 (cached: the
    segments of a track share their fold length; the array is read-only)."""
    out = []
    for rate in GENERATOR_RATES:
        spacing = rate / POLYPHASE_BANDS
        centres = np.round(np.arange(1, int(sample_rate / 2 / spacing) + 1) * spacing / bin_hz).astype(np.int64)
        for offset in (-1, 0, 1):
            out.append(centres + offset)
    bins = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    bins = bins[(bins >= 0) & (bins < n_bins)]
    bins.flags.writeable = False
    return bins


def fold_spectrum(folded: np.ndarray, sample_rate: int) -> FoldSpectrum:
    """The :class:`FoldSpectrum` of one fold."""
    spectrum = sfft.rfft(folded)
    return power_spectrum(spectrum.real ** 2 + spectrum.imag ** 2, folded.shape[0], sample_rate)


def power_spectrum(power: np.ndarray, length: int, sample_rate: int) -> FoldSpectrum:
    """The :class:`FoldSpectrum` of the power spectrum of a fold of ``length`` samples."""
    ratio, noise = whiten(power)
    positive = noise[noise > 0]
    level = float(np.median(positive)) if positive.size else 0.0
    usable = noise > SILENT_FRACTION * level
    usable[:2] = False
    bin_hz = sample_rate / length
    usable[polyphase_bins(usable.shape[0], bin_hz, sample_rate)] = False
    return FoldSpectrum(length=length, bin_hz=bin_hz, ratio=ratio, usable=usable)


def band_top_hz(candidate: Candidate, sample_rate: int) -> float:
    """Top of the candidate's bands: 0.96 of the smaller Nyquist frequency (file, generator)."""
    return TOP_FRACTION * min(sample_rate, candidate.rate) / 2.0


def _band(spec: FoldSpectrum, lo_hz: float, hi_hz: float) -> tuple[int, int]:
    return int(np.ceil(lo_hz / spec.bin_hz)), min(int(np.ceil(hi_hz / spec.bin_hz)), spec.ratio.shape[0])


class _Null:
    """Mean and standard deviation of g over a band's usable bins, per (fold, band), computed once."""

    def __init__(self, spectra: list[FoldSpectrum]) -> None:
        self.spectra = spectra
        self.capped = [np.minimum(s.ratio, CAP) for s in spectra]
        self._cache: dict = {}

    def __call__(self, fold: int, lo: int, hi: int) -> tuple[float, float] | None:
        key = (fold, lo, hi)
        if key not in self._cache:
            values = self.capped[fold][lo:hi][self.spectra[fold].usable[lo:hi]]
            self._cache[key] = (float(values.mean()), float(values.std()) + 1e-9) if values.size > 10 * MIN_TEETH \
                else None
        return self._cache[key]


def _teeth(spec: FoldSpectrum, step: int, lo: int, hi: int) -> np.ndarray:
    first = max(1, -(-lo // step))
    bins = np.arange(first, (hi - 1) // step + 1, dtype=np.int64) * step
    return bins[spec.usable[bins]] if bins.size else bins


def _z(null: _Null, fold: int, step: int, lo: int, hi: int) -> tuple[float, np.ndarray]:
    spec = null.spectra[fold]
    bins = _teeth(spec, step, lo, hi)
    stats = null(fold, lo, hi)
    if bins.size < MIN_TEETH or stats is None:
        return 0.0, bins
    mu, sigma = stats
    z = (null.capped[fold][bins].sum() - bins.size * mu) / (sigma * np.sqrt(bins.size))
    return float(z), bins


def score_candidates(spectra: list[FoldSpectrum], plan: FoldPlan) -> list[CombScore]:
    """The :class:`CombScore` of every candidate of ``plan`` whose high band holds at least MIN_TEETH teeth."""
    null = _Null(spectra)
    fs = plan.sample_rate
    out = []
    for c in plan.candidates:
        spec = spectra[c.fold]
        top = band_top_hz(c, fs)
        if top <= HIGH_BAND_HZ + MIN_TEETH * c.delta_hz:
            continue
        lo, hi = _band(spec, HIGH_BAND_HZ, top)
        z, bins = _z(null, c.fold, c.step, lo, hi)
        if bins.size < MIN_TEETH:
            continue
        lo_low, hi_low = _band(spec, LOW_BAND_HZ, min(HIGH_BAND_HZ, top))
        z_low, _ = _z(null, c.fold, c.step, lo_low, hi_low)
        lit = int((spec.ratio[bins] > LIT_RATIO).sum())
        out.append(CombScore(candidate=c, z=z, z_low=z_low, teeth=int(bins.size), lit=lit, top_hz=top))
    return out


def comb_z(spec: FoldSpectrum, step: int, top_hz: float) -> float:
    """The high-band z of the comb with teeth every ``step`` bins of ``spec`` (0 when the band is too small)."""
    null = _Null([spec])
    lo, hi = _band(spec, HIGH_BAND_HZ, top_hz)
    return _z(null, 0, step, lo, hi)[0]


def high_band_bins(spectra: list[FoldSpectrum], sample_rate: int) -> int:
    """Usable bins above HIGH_BAND_HZ on the first fold (0: no content the comb could be read on)."""
    if not spectra:
        return 0
    spec = spectra[0]
    lo, hi = _band(spec, HIGH_BAND_HZ, TOP_FRACTION * sample_rate / 2.0)
    return int(spec.usable[lo:hi].sum()) if hi > lo else 0


#: A finer level of the same rate counts as the decoder's own spacing only if its teeth between the coarse
#: ones carry evidence: z_fine sqrt(m) / z_coarse >= OWN_TEETH_RATIO. Pure dilution (the fine comb contains the
#: coarse teeth and m - 1 empty ones per coarse tooth) gives exactly 1.
OWN_TEETH_RATIO = 1.15


def finest_level(best: CombScore, scores: list[CombScore], z_fire: float) -> CombScore:
    """The finest spacing ``best.delta_hz / m`` (same generator rate, integer m) that fires on its own and has
    teeth of its own (see OWN_TEETH_RATIO), else ``best``: a decoder's comb is strongest at its coarse levels
    (the last layers' strides), and its own spacing is the finest level that still carries evidence."""
    fine = best
    for s in sorted(scores, key=lambda s: -s.delta_hz):
        if s.candidate.rate != best.candidate.rate or s.delta_hz >= best.delta_hz:
            continue
        m = best.delta_hz / s.delta_hz
        if abs(m - round(m)) > 1e-6 or s.z < z_fire:
            continue
        if s.z * np.sqrt(m) / max(best.z, 1e-9) >= OWN_TEETH_RATIO:
            fine = s
    return fine


def strongest_teeth(spec: FoldSpectrum, score: CombScore, count: int = 12) -> list[tuple[float, float]]:
    """The ``count`` strongest teeth of a comb in its high band: (frequency Hz, whitened excess dB)."""
    lo, hi = _band(spec, HIGH_BAND_HZ, score.top_hz)
    bins = _teeth(spec, score.candidate.step, lo, hi)
    if not bins.size:
        return []
    order = np.argsort(spec.ratio[bins])[::-1][:count]
    return [(float(bins[i] * spec.bin_hz), float(10.0 * np.log10(max(spec.ratio[bins[i]], 1e-12))))
            for i in sorted(order, key=lambda i: bins[i])]
