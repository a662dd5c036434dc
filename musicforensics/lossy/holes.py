"""Spectro-temporal holes (and the MP3 sfb21 flicker above 16 kHz) in an excerpt of a track.

Psychoacoustic coders quantise whole time-frequency tiles (one scale-factor band for one frame) to zero;
decoded, such a tile is a "hole": a band that goes quiet for one codec frame between two frames where it
sounds (Hennequin et al., ICASSP 2017, "holes and clusters"; docs/references.md). In MP3 the band above
16 kHz (sfb21) switches on and off from granule to granule in this way. A genuine recording cannot drop a
~350 Hz band by more than ``HOLE_DIP_DB`` for ~12 ms and come back, because the analysis frames overlap by
75 % and noise-like bands of 8 bins fluctuate by ~1.5 dB only.

Measure: STFT (``FRAME`` samples at 44.1 kHz, scaled with the rate, hop FRAME/4) of the mid channel of an
excerpt; band energies G[t, g] over groups of ``GROUP_BINS`` bins; a tile (t, g) is eligible when both
G[t - 4, g] and G[t + 4, g] (one frame length away) are more than ``ACTIVE_MARGIN_DB`` above the 16-bit
rounding level, and a hole when G[t, g] is more than ``HOLE_DIP_DB`` below the smaller of the two. The hole
rate is holes / eligible tiles, per frequency region. The level comparisons are made on powers (P > 10^(L/10)
for a level L dB; P_min > 10^(HOLE_DIP_DB/10) P for the dip), which equals the comparison of the dB levels
except within rounding (~1e-15 relative) of a threshold.

Holes are **band-local**: a dip counts only when the frame did not go quiet as a whole, i.e. when the median dip
of the eligible groups of every region in that frame is at most BROADBAND_DIP_DB. Gated synths, beatbox and drum
loops with hard gaps make every band dip together; a codec drops one scale-factor band while its neighbours
sound (real recordings: gated dubstep 0.028 -> 0.005, a beatbox loop 0.039 -> 0.001, an MP3-derived excerpt
0.084 -> 0.042). Holes are reported as supporting evidence; they do not decide (docs/lossy.md).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from ..spectral.framing import n_frames as count_frames, periodic_hann
from ..spectral.kernels import lossy as _k
from ..spectral.wall import quantisation_floor_db
from .evidence import HoleRates, HoleRegion

#: STFT frame at 44.1 kHz (23 ms; scaled with the sample rate so tiles cover the same time span).
FRAME = 1024
#: Bins per band group (8 bins of 43 Hz = 344 Hz, about the width of MP3/AAC scale-factor bands up high).
GROUP_BINS = 8
#: A tile is a hole when it sits this many dB under both its neighbours one frame away. Chosen on the dev
#: split (genuine renders: hole rate <= 0.005 with 12 dB; lossy: up to 0.4).
HOLE_DIP_DB = 12.0
#: Neighbours must be this many dB above the 16-bit rounding level of one group to count.
ACTIVE_MARGIN_DB = 25.0
#: A frame whose eligible groups dip by more than this (median, dB) went quiet as a whole: no hole there.
BROADBAND_DIP_DB = 3.0
#: Frequency regions (Hz) whose hole rates are reported; the last one is MP3's sfb21 (flicker).
REGIONS = ((4000.0, 11000.0), (11000.0, 16000.0), (16000.0, 19500.0))
#: A region needs at least this share of eligible tiles for its rate to count.
MIN_ELIGIBLE_SHARE = 0.2
#: Seconds of audio examined (the middle of the track).
EXCERPT_SECONDS = 30.0


#: Added to a group power (full scale 1) before it is compared, so silent groups have a finite level (-200 dB).
LEVEL_FLOOR = 1e-20
#: STFT frames transformed per batch in :func:`hole_rates` (bounds the work memory to a few MB whatever the
#: excerpt length and sample rate, and keeps each batch in cache).
HOLE_BATCH_FRAMES = 256


def _mono(y: np.ndarray) -> np.ndarray:
    """Channel mean as float32, summed channel by channel in double precision (the same rounding as
    ``y.mean(axis=1)`` for fewer than 8 channels, without NumPy's slow reduction over a short axis)."""
    if y.ndim == 1:
        return y.astype(np.float32)
    out = np.empty(y.shape[0], dtype=np.float32)
    _k.channel_mean(y, out)
    return out


def hole_rates(y: np.ndarray, sample_rate: int, *, top_hz: float | None = None) -> dict:
    """Hole rate per region of an excerpt.

    Parameters
    ----------
    y : np.ndarray, shape (frames,) or (frames, channels)
        Samples, full scale 1.
    sample_rate : int
        Hz.
    top_hz : float, optional
        Ignore frequencies above this (e.g. a wall already found), Hz.

    Returns
    -------
    HoleRates
        Per region (``"4-11k"``, ...) the rate (None without eligible tiles) and the eligible share, and
        ``max_rate``, the largest rate over regions with enough eligible tiles (0.0 when none).

    Notes
    -----
    The STFT runs in batches of HOLE_BATCH_FRAMES frames and only the groups of the regions are kept (as
    float32 powers), so memory stays at a few MB; single precision halves the FFT cost.
    """
    x = _mono(np.asarray(y))
    n_fft = int(2 ** round(np.log2(FRAME * sample_rate / 44100.0)))
    hop = n_fft // 4
    out: dict = {}
    best = 0.0
    if x.size < n_fft + 9 * hop:
        return HoleRates({region_name(lo, hi): HoleRegion(None, 0.0) for lo, hi in REGIONS}, 0.0)
    n_frames = count_frames(x.size, n_fft, hop)
    win = periodic_hann(n_fft)[1]
    scale = np.float32((2.0 / float(win.sum())) ** 2)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    floor_db = quantisation_floor_db(16, n_fft)  # rounding-noise level per bin
    # first bin of each group of GROUP_BINS bins, region by region (contiguous from each region's first bin
    # after the top_hz cut); region r owns the group columns cols[r]:cols[r + 1]
    firsts, cols = [], [0]
    for lo, hi in REGIONS:
        top = hi if top_hz is None else min(hi, top_hz)
        sel = np.nonzero((freqs >= lo) & (freqs < top))[0]
        ng = sel.size // GROUP_BINS
        firsts.append(sel[0] + GROUP_BINS * np.arange(ng) if ng else np.empty(0, dtype=np.int64))
        cols.append(cols[-1] + ng)
    starts = np.concatenate(firsts).astype(np.int64)
    levels = np.empty((n_frames, starts.size), dtype=np.float32)  # group power G[t, g], re full-scale sine
    buf = np.empty((min(HOLE_BATCH_FRAMES, n_frames), n_fft), dtype=np.float32)
    for f0 in range(0, n_frames if starts.size else 0, HOLE_BATCH_FRAMES):
        f1 = min(n_frames, f0 + HOLE_BATCH_FRAMES)
        fb = buf[: f1 - f0]
        _k.window_frames(x, f0, hop, win, fb)
        _k.band_means(scipy.fft.rfft(fb, axis=-1), starts, GROUP_BINS, scale, levels[f0:f1])
    lag = n_fft // hop  # one frame length, in frames
    on = 10.0 ** ((floor_db + ACTIVE_MARGIN_DB) / 10.0)
    dip = 10.0 ** (HOLE_DIP_DB / 10.0)
    eligible = np.zeros(len(REGIONS), dtype=np.int64)
    holes = np.zeros(len(REGIONS), dtype=np.int64)
    if starts.size:
        _k.local_hole_counts(levels, np.asarray(cols, dtype=np.int64), lag, LEVEL_FLOOR, on, dip,
                             10.0 ** (BROADBAND_DIP_DB / 10.0), eligible, holes)
    for r, (lo, hi) in enumerate(REGIONS):
        key = region_name(lo, hi)
        if cols[r + 1] == cols[r]:
            out[key] = HoleRegion(None, 0.0)
            continue
        ok = int(eligible[r])
        share = ok / ((n_frames - 2 * lag) * (cols[r + 1] - cols[r]))
        rate = int(holes[r]) / ok if ok else None
        out[key] = HoleRegion(rate, round(share, 4))
        if rate is not None and share >= MIN_ELIGIBLE_SHARE:
            best = max(best, rate)
    return HoleRates(out, best)


def region_name(lo: float, hi: float) -> str:
    """``"4-11k"`` for the region 4-11 kHz (the keys of :class:`~.evidence.HoleRates`)."""
    return f"{lo / 1000:g}-{hi / 1000:g}k"
