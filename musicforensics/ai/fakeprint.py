"""The published "fakeprint" of Afchar, Meseguer-Brocal, Akesbi and Hennequin, "A Fourier Explanation of
AI-music Artifacts", ISMIR 2025 (arXiv 2506.19108), implemented from the paper's description only.

Pipeline (paper Sec. 4; docs/references.md):

1. resample to 44.1 kHz and keep the first 180 s;
2. STFT with a periodic Hann window, ``n_fft = 16384`` (2.69 Hz bins), hop 8192, frames fully inside the
   signal (no centring or padding; a signal shorter than one frame is zero-padded to one frame);
3. power in dB, ``10 log10(|X|^2 + 1e-10)`` with the unnormalised transform (a full-scale sine reads
   about +72 dB at its bin; the -45 dB hull floor of step 6 only makes sense on that scale);
4. mean over channels and frames of the dB values (mean of dB, not dB of the mean; every frame counts,
   unlike :class:`~musicforensics.spectral.summary.SpectralSummary`, which skips frames below -100 dBFS);
5. keep the bins from 5 to 16 kHz;
6. subtract a lower hull: the minimum of each consecutive 10-bin window is an anchor, the anchors are joined
   by quadratic-spline interpolation (flat extrapolation at the ends) and the hull is floored at -45 dB;
7. clip the residual to [0, 5] dB and divide by its maximum.

The detector does not run this pipeline on the audio: it takes the same numbers from the long-term spectrum
the analysis already computed (:func:`fakeprint_from_summary`). :func:`fakeprint` is the paper-faithful
reference, kept for comparisons (``benchmarks/bench_fakeprint.py``). The authors' code (CC BY-NC, patent
applications pending) was not consulted.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np
import scipy.fft

from ..errors import ParameterError
from ..spectral.framing import frame_view, n_frames as count_frames, periodic_hann
from ..spectral.hull import lower_hull
from ..spectral.kernels import comb as _k

#: Sample rate the fakeprint is defined at, Hz.
FAKEPRINT_RATE = 44100
#: Analysed length, s (paper: first 180 s).
FAKEPRINT_SECONDS = 180.0
#: STFT frame length and hop, samples.
FAKEPRINT_N_FFT = 16384
FAKEPRINT_HOP = 8192
#: Band kept, Hz.
FAKEPRINT_FMIN = 5000.0
FAKEPRINT_FMAX = 16000.0
#: Hull window (bins), hull floor (dB) and residual clip (dB), all from the paper.
HULL_WIDTH = 10
HULL_FLOOR_DB = -45.0
CLIP_DB = 5.0
#: Power added before the logarithm (-100 dB on the unnormalised scale).
LOG_EPS = 1e-10
#: Frames transformed per batch (bounds memory: 64 frames x 8193 bins complex = 8 MB).
FRAME_BATCH = 64


@dataclass
class Fakeprint:
    """A fakeprint vector.

    Attributes
    ----------
    freqs : np.ndarray, shape (n,)
        Bin frequencies, Hz (5-16 kHz at 44100/16384 Hz spacing: n = 4087).
    values : np.ndarray, shape (n,)
        Hull residual clipped to [0, 5] dB and divided by its maximum (0..1).
    mean_db : np.ndarray, shape (n,)
        The long-term mean-of-dB spectrum over the same bins (unnormalised scale, dB).
    """

    freqs: np.ndarray
    values: np.ndarray
    mean_db: np.ndarray


def band_bins(*, sample_rate: int = FAKEPRINT_RATE, n_fft: int = FAKEPRINT_N_FFT,
              fmin: float = FAKEPRINT_FMIN, fmax: float = FAKEPRINT_FMAX) -> tuple[int, int]:
    """First bin and one past the last bin whose centre lies in [fmin, fmax] Hz.

    >>> lo, hi = band_bins()
    >>> hi - lo
    4087
    """
    lo = int(np.ceil(fmin * n_fft / sample_rate))
    hi = int(np.floor(fmax * n_fft / sample_rate)) + 1
    return lo, hi


def to_fakeprint_rate(y: np.ndarray, sample_rate: int, *, max_seconds: float | None = FAKEPRINT_SECONDS) -> np.ndarray:
    """(frames, channels) float64 at 44.1 kHz, cut to ``max_seconds`` (polyphase resampling, scipy)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ParameterError(f"signal must be 1-D or 2-D (frames, channels), got shape {y.shape!r}")
    if sample_rate <= 0:
        raise ParameterError(f"sample_rate={sample_rate!r}: must be > 0")
    if max_seconds is not None:
        # cut a little past the limit before resampling (filter edge), then exactly at it
        y = y[: int(np.ceil(max_seconds * sample_rate)) + 64]
    if sample_rate != FAKEPRINT_RATE:
        from scipy.signal import resample_poly  # here: scipy.signal takes long to import, and 44.1 kHz needs none

        g = gcd(int(sample_rate), FAKEPRINT_RATE)
        y = resample_poly(y, FAKEPRINT_RATE // g, int(sample_rate) // g, axis=0)
    if max_seconds is not None:
        y = y[: int(round(max_seconds * FAKEPRINT_RATE))]
    return np.ascontiguousarray(y)


def mean_db_spectrum(y: np.ndarray, *, n_fft: int = FAKEPRINT_N_FFT, hop: int = FAKEPRINT_HOP,
                     lo: int = 0, hi: int | None = None, eps: float = LOG_EPS) -> np.ndarray:
    """Mean over channels and frames of ``10 log10(|STFT|^2 + eps)`` for bins lo..hi-1.

    Parameters
    ----------
    y : np.ndarray, shape (frames, channels) or (frames,)
        Signal, full scale = 1.
    n_fft, hop : int
        Frame length and hop, samples (periodic Hann window, unnormalised transform).
    lo, hi : int
        Bin range kept (default: all ``n_fft // 2 + 1`` bins).

    Returns
    -------
    np.ndarray, shape (hi - lo,)
        dB (unnormalised: a full-scale sine peaks near 20 log10(n_fft / 4) dB).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    hi = n_fft // 2 + 1 if hi is None else hi
    if not 0 <= lo < hi <= n_fft // 2 + 1:
        raise ParameterError(f"bin range lo={lo!r}, hi={hi!r}: need 0 <= lo < hi <= {n_fft // 2 + 1}")
    if y.shape[0] < n_fft:
        y = np.concatenate([y, np.zeros((n_fft - y.shape[0], y.shape[1]))])
    if not np.isfinite(y).all():
        y = np.where(np.isfinite(y), y, 0.0)
    window = periodic_hann(n_fft)[0]
    n_frames = count_frames(y.shape[0], n_fft, hop)
    out = np.zeros(hi - lo)
    for ch in range(y.shape[1]):
        frames = frame_view(np.ascontiguousarray(y[:, ch]), n_fft, hop)
        for s in range(0, n_frames, FRAME_BATCH):
            spec = scipy.fft.rfft(frames[s:s + FRAME_BATCH] * window, axis=-1)[:, lo:hi]
            out += (10.0 * np.log10(spec.real ** 2 + spec.imag ** 2 + eps)).sum(axis=0)
    return out / (n_frames * y.shape[1])


def hull_residual(x: np.ndarray, *, width: int = HULL_WIDTH, floor: float = HULL_FLOOR_DB,
                  clip_db: float = CLIP_DB) -> np.ndarray:
    """Step 6-7 of the fakeprint: ``clip(x - max(hull, floor), 0, clip_db) / max``.

    The hull joins the minima of consecutive ``width``-bin windows by quadratic-spline interpolation
    (linear with two anchors, constant with one), flat beyond the first and last anchor.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ParameterError(f"spectrum must be a non-empty 1-D array, got shape {x.shape!r}")
    hull = lower_hull(x, width=int(width))
    return _k.clipped_residual(x, hull, float(floor), 0.0, float(clip_db))


def fakeprint_from_mean_db(mean_db_band: np.ndarray, freqs: np.ndarray) -> Fakeprint:
    """Fakeprint from an already averaged 44.1 kHz / 16384-bin mean-of-dB spectrum cut to 5-16 kHz."""
    values = hull_residual(mean_db_band)
    return Fakeprint(freqs=np.asarray(freqs, dtype=np.float64), values=values, mean_db=np.asarray(mean_db_band))


def fakeprint(y: np.ndarray, sample_rate: int, *, max_seconds: float | None = FAKEPRINT_SECONDS) -> Fakeprint:
    """The published fakeprint of a signal (Afchar et al., ISMIR 2025).

    Parameters
    ----------
    y : np.ndarray, shape (frames, channels) or (frames,)
        Signal, full scale = 1, at ``sample_rate`` Hz.
    sample_rate : int
        Hz; resampled to 44.1 kHz when different.
    max_seconds : float or None
        Analysed length (paper: 180 s).

    Returns
    -------
    Fakeprint
        4087 values between 0 and 1, one per 2.69 Hz bin from 5 to 16 kHz.
    """
    x = to_fakeprint_rate(y, sample_rate, max_seconds=max_seconds)
    lo, hi = band_bins()
    mdb = mean_db_spectrum(x, lo=lo, hi=hi)
    freqs = np.arange(lo, hi) * FAKEPRINT_RATE / FAKEPRINT_N_FFT
    return fakeprint_from_mean_db(mdb, freqs)


def warm_up() -> None:
    """Compile (or load from cache) the residual kernels on a tiny input."""
    hull_residual(np.random.default_rng(0).standard_normal(64))
