"""The statistic every codec-exact grid scores: the share of *isolated exact zeros* at one alignment of a codec's
own analysis transform, against the same share at the file's other alignments.

A decoder rebuilds PCM from dequantised coefficients with the synthesis side of its transform, so the codec's own
analysis side, run on the decoded PCM at the codec's frame alignment, gives back those coefficients to within
16-bit rounding: every coefficient the encoder quantised to zero comes back below a few standard deviations of
rounding noise. At any other alignment the spectrum is dense.

Only zeros with a *live* neighbourhood count (``isolated_counts``: the rms of the +-NEIGH neighbouring lines is at
least LIVE_FACTOR x tau): fades, gaps and quiet frames are quiet at every alignment, and loops whose events are
locked to a sample grid do not prefer one alignment either (a real sample loop scored z 8.8 with plain zeros, 0.04
with isolated ones). A stereo file is scored as L/R and as M/S (joint stereo codes mid/side frames, whose zeros
live in M and S), and the better set counts.

z = (share at the best alignment - median share at other alignments) / spread: the file is its own null. The spread is
1.4826 MAD of the other alignments' shares, but never below MIN_SPREAD nor below the binomial standard error
sqrt(p (1 - p) / N) of a share p (the other alignments' median) read on the N live coefficients behind the best
share: the other alignments are read on the same frames, so on sparse content (a decaying bell, a few live
coefficients per frame) they agree with each other more closely than one share of so few coefficients can be
known, and a handful of frames could otherwise give a large z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spectral.kernels import exact as _k

#: Rounding-noise standard deviation of 16-bit PCM (full scale 1).
Q16_SIGMA = (2.0 ** -15) / np.sqrt(12.0)
#: A coefficient below this many rounding-noise standard deviations (in the transform's own units) is a zero.
TAU_SIGMAS = 6.0
#: A coefficient counts when the rms of its neighbours reaches this many tau.
LIVE_FACTOR = 8.0
#: Neighbourhood half-width, lines (or sub-band samples along time for MPEG layer II): the kernel's constant.
NEIGH = _k.NEIGHBOURS
#: Floor of the null's robust spread, so a file whose share hardly moves cannot produce a large z from nothing.
MIN_SPREAD = 0.002


@dataclass(frozen=True)
class Thresholds:
    """Zero threshold ``tau`` and live threshold of a transform whose rounding-noise gain is ``gain``."""

    tau: float
    live: float

    @classmethod
    def for_gain(cls, gain: float) -> "Thresholds":
        tau = TAU_SIGMAS * Q16_SIGMA * gain
        return cls(tau, LIVE_FACTOR * tau)


def channels(y: np.ndarray) -> list[np.ndarray]:
    """The channels scored: [mono] or [left, right] as contiguous float32 (more channels: the first two)."""
    y = np.asarray(y)
    if y.ndim == 1 or y.shape[1] == 1:
        return [np.ascontiguousarray(y.reshape(-1), dtype=np.float32)]
    return [np.ascontiguousarray(y[:, 0], dtype=np.float32), np.ascontiguousarray(y[:, 1], dtype=np.float32)]


def counts(rows: np.ndarray, th: Thresholds) -> np.ndarray:
    """(rows, 2) int64: live coefficients and isolated zeros per row of ``rows``."""
    out = np.empty((rows.shape[0], 2), dtype=np.int64)
    _k.isolated_counts(rows, th.tau, th.live, out)
    return out


def set_counts(spectra: list[np.ndarray], th: Thresholds) -> np.ndarray:
    """Per row, (live, zeros) for each channel set: shape (sets, rows, 2). ``spectra`` is [mono] or [left, right]
    (same shape); for a pair the sets are L+R and M+S, with M = (L + R) / 2 and S = (L - R) / 2 (the transforms
    are linear, so the spectra of M and S are those combinations of the spectra of L and R)."""
    if len(spectra) == 1:
        return counts(spectra[0], th)[None]
    out = np.empty((2, spectra[0].shape[0], 2), dtype=np.int64)
    _k.stereo_counts(spectra[0], spectra[1], th.tau, th.live, out)
    return out


def _kept_set(totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(isolated-zero share of each channel set per alignment, the set with the larger share per alignment)."""
    share = totals[..., 1] / np.maximum(totals[..., 0], 1)
    return share, np.argmax(share, axis=0)


def best_share(totals: np.ndarray) -> np.ndarray:
    """Isolated-zero share per alignment, the better channel set kept: ``totals`` (sets, alignments, 2)."""
    share, pick = _kept_set(totals)
    return np.take_along_axis(share, pick[None], axis=0)[0]


def best_live(totals: np.ndarray) -> np.ndarray:
    """Live coefficients behind :func:`best_share`'s share per alignment (of the channel set it kept)."""
    _share, pick = _kept_set(totals)
    return np.take_along_axis(totals[..., 0], pick[None], axis=0)[0]


def robust_z(best: float, null: np.ndarray, live: int | None = None) -> tuple[float, float]:
    """(median of the null, z of ``best`` against it); ``live``: the live coefficients ``best`` was read on (see
    the module docstring)."""
    null = np.asarray(null, dtype=np.float64)
    med = float(np.median(null))
    spread = max(1.4826 * float(np.median(np.abs(null - med))), MIN_SPREAD)
    if live:
        spread = max(spread, float(np.sqrt(med * (1.0 - med) / live)))
    return med, (float(best) - med) / spread
