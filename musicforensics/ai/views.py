"""The numbers behind the comb views a person can check (drawn by :mod:`musicforensics.evidence.plot`):

* **folded spectrum**: the whitened high-band spectrum of the folded track (:mod:`.coherent`), folded again in
  frequency at the comb spacing, ``phase = (f / Delta) mod 1``: every tooth lands on the one bin at phase 0, so a
  decoder comb stacks into one peak while music spreads flat (for a comb moved by a speed change, the first
  20 s at full resolution, in PHASE_BINS bins);
* **z over spacings**: the coherent comb z of every candidate spacing (:mod:`.coherent`): one spike at the
  comb's spacing and at its coarser levels;
* **zoom**: 500 Hz of the whitened spectrum of the folded track around the strongest tooth, with the expected
  teeth.

No matplotlib here: these are arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .coherent import CAP, HIGH_BAND_HZ, fold_spectrum, score_candidates
from .fold import FoldAccumulator
from .lattice import full_spectrum

#: Phase bins of the folded spectrum.
PHASE_BINS = 64
#: Width of the zoom window, Hz.
ZOOM_HZ = 500.0


@dataclass(frozen=True)
class CombViews:
    """Arrays of the three comb views (see the module docstring); ``delta_hz`` the spacing they are drawn at."""

    delta_hz: float
    phase: np.ndarray
    folded: np.ndarray
    spacings: np.ndarray
    spacing_z: np.ndarray
    zoom_freqs: np.ndarray
    zoom_ratio_db: np.ndarray
    zoom_teeth_hz: np.ndarray


def comb_views(acc: FoldAccumulator, delta_hz: float, top_hz: float) -> CombViews:
    """The views of the comb every ``delta_hz`` (teeth up to ``top_hz``) from a filled :class:`FoldAccumulator`."""
    fs = acc.sample_rate
    spec = full_spectrum(acc.mono(), fs)
    spectra = [fold_spectrum(f, fs) for f in acc.folds()]
    exact = [c for c in acc.plan.candidates if abs(c.delta_hz - delta_hz) < 1e-6 * delta_hz]
    if exact:
        c = exact[0]
        fold = spectra[c.fold]
        lo, hi = int(np.ceil(HIGH_BAND_HZ / fold.bin_hz)), min(int(top_hz / fold.bin_hz), fold.ratio.shape[0])
        bins = np.arange(lo, hi)
        which = (bins + c.step // 2) % c.step  # tooth bins go to c.step // 2, i.e. phase 0
        width = c.step
        level = np.minimum(fold.ratio[lo:hi], CAP)
        usable = fold.usable[lo:hi]
        which, level = which[usable], level[usable]
    else:
        lo, hi = int(HIGH_BAND_HZ / spec.bin_hz), min(int(top_hz / spec.bin_hz), spec.ratio.shape[0] - 1)
        freqs = np.arange(lo, hi) * spec.bin_hz
        width = PHASE_BINS
        which = np.minimum((((freqs / delta_hz + 0.5) % 1.0) * width).astype(np.int64), width - 1)
        level = np.minimum(spec.ratio[lo:hi], CAP)
    sums = np.bincount(which, weights=level, minlength=width)
    counts = np.maximum(np.bincount(which, minlength=width), 1)
    centres = (np.arange(width) + (0.0 if exact else 0.5)) / width - 0.5
    scores = score_candidates(spectra, acc.plan)
    order = np.argsort([s.delta_hz for s in scores])
    spacings = np.array([scores[i].delta_hz for i in order])
    spacing_z = np.array([scores[i].z for i in order])
    # zoom: 500 Hz around the strongest tooth, on the folded track's spectrum when the comb is exact (every
    # tooth on one bin), else on the first 20 s at full resolution
    k = np.arange(max(1, int(np.ceil(HIGH_BAND_HZ / delta_hz))), int(top_hz / delta_hz) + 1)
    teeth = k * delta_hz
    zoom = spectra[exact[0].fold] if exact else spec
    tooth_bins = np.clip(np.round(teeth / zoom.bin_hz).astype(np.int64), 1, zoom.ratio.shape[0] - 2)
    centre = float(teeth[int(np.argmax(zoom.ratio[tooth_bins]))]) if teeth.size else (HIGH_BAND_HZ + top_hz) / 2
    a = max(int((centre - ZOOM_HZ / 2) / zoom.bin_hz), 0)
    b = min(int((centre + ZOOM_HZ / 2) / zoom.bin_hz), zoom.ratio.shape[0])
    zoom_freqs = np.arange(a, b) * zoom.bin_hz
    zoom_ratio = zoom.ratio[a:b]
    return CombViews(
        delta_hz=float(delta_hz), phase=centres, folded=sums / counts, spacings=spacings, spacing_z=spacing_z,
        zoom_freqs=zoom_freqs, zoom_ratio_db=10.0 * np.log10(np.maximum(zoom_ratio, 1e-3)),
        zoom_teeth_hz=teeth[(teeth >= a * zoom.bin_hz) & (teeth < b * zoom.bin_hz)],
    )
