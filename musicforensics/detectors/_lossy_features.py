"""Excerpt-level evidence of lossy coding: spectro-temporal holes (and the MP3 sfb21 flicker above 16 kHz).

Psychoacoustic coders quantise whole time-frequency tiles (one scale-factor band for one frame) to zero;
decoded, such a tile is a "hole": a band that goes quiet for one codec frame between two frames where it
sounds (Hennequin et al., ICASSP 2017, "holes and clusters"; SCIENCE.md section 1). In MP3 the band above
16 kHz (sfb21) switches on and off from granule to granule in this way. A genuine recording cannot drop a
~350 Hz band by more than ``HOLE_DIP_DB`` for ~12 ms and come back, because the analysis frames overlap by
75 % and noise-like bands of 8 bins fluctuate by ~1.5 dB only.

Measure: STFT (``FRAME`` samples at 44.1 kHz, scaled with the rate, hop FRAME/4) of the mid channel of an
excerpt; band energies G[t, g] over groups of ``GROUP_BINS`` bins; a tile (t, g) is eligible when both
G[t - 4, g] and G[t + 4, g] (one frame length away) are more than ``ACTIVE_MARGIN_DB`` above the 16-bit
rounding level, and a hole when G[t, g] is more than ``HOLE_DIP_DB`` below the smaller of the two. The hole
rate is holes / eligible tiles, per frequency region.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

#: STFT frame at 44.1 kHz (23 ms; scaled with the sample rate so tiles cover the same time span).
FRAME = 1024
#: Bins per band group (8 bins of 43 Hz = 344 Hz, about the width of MP3/AAC scale-factor bands up high).
GROUP_BINS = 8
#: A tile is a hole when it sits this many dB under both its neighbours one frame away. Chosen on the dev
#: split (genuine renders: hole rate <= 0.005 with 12 dB; lossy: up to 0.4).
HOLE_DIP_DB = 12.0
#: Neighbours must be this many dB above the 16-bit rounding level of one group to count.
ACTIVE_MARGIN_DB = 25.0
#: Frequency regions (Hz) whose hole rates are reported; the last one is MP3's sfb21 (flicker).
REGIONS = ((4000.0, 11000.0), (11000.0, 16000.0), (16000.0, 19500.0))
#: A region needs at least this share of eligible tiles for its rate to count.
MIN_ELIGIBLE_SHARE = 0.2
#: Seconds of audio examined (the middle of the track).
EXCERPT_SECONDS = 30.0


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
    dict
        ``{"4-11k": {"rate": float or None, "eligible": float}, ...}`` and ``"max_rate"`` (largest rate over
        regions with enough eligible tiles, 0.0 when none).
    """
    y = np.asarray(y, dtype=np.float64)
    x = y.mean(axis=1) if y.ndim == 2 else y
    n_fft = int(2 ** round(np.log2(FRAME * sample_rate / 44100.0)))
    hop = n_fft // 4
    out: dict = {}
    best = 0.0
    if x.size < n_fft + 9 * hop:
        for lo, hi in REGIONS:
            out[f"{lo / 1000:g}-{hi / 1000:g}k"] = {"rate": None, "eligible": 0.0}
        out["max_rate"] = 0.0
        return out
    n_frames = 1 + (x.size - n_fft) // hop
    win = np.hanning(n_fft + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames]
    spec = scipy.fft.rfft(frames * win, axis=-1)
    scale = (2.0 / win.sum()) ** 2
    power = (spec.real ** 2 + spec.imag ** 2) * scale  # (frames, bins), dB re full-scale sine
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    q16 = 6.0 * (2.0 ** -15) ** 2 / 12.0 / n_fft  # rounding-noise power per bin (see dsp.wall)
    floor_db = 10 * np.log10(q16)
    for lo, hi in REGIONS:
        key = f"{lo / 1000:g}-{hi / 1000:g}k"
        top = hi if top_hz is None else min(hi, top_hz)
        sel = np.nonzero((freqs >= lo) & (freqs < top))[0]
        ng = sel.size // GROUP_BINS
        if ng == 0:
            out[key] = {"rate": None, "eligible": 0.0}
            continue
        p = power[:, sel[: ng * GROUP_BINS]].reshape(n_frames, ng, GROUP_BINS).mean(axis=2)
        g = 10 * np.log10(p + 1e-20)
        a, b, c = g[:-8], g[4:-4], g[8:]
        ok = (a > floor_db + ACTIVE_MARGIN_DB) & (c > floor_db + ACTIVE_MARGIN_DB)
        hole = ok & (np.minimum(a, c) - b > HOLE_DIP_DB)
        share = float(ok.mean())
        rate = float(hole.sum() / ok.sum()) if ok.any() else None
        out[key] = {"rate": rate, "eligible": round(share, 4)}
        if rate is not None and share >= MIN_ELIGIBLE_SHARE:
            best = max(best, rate)
    out["max_rate"] = best
    return out
