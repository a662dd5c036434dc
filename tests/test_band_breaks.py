"""Band breaks (detectors/_band_breaks.py): analytic checks on synthetic frames."""

from __future__ import annotations

import numpy as np
import pytest

from musicforensics.lossy import band_breaks as bb

SR = 44100
N = 2048  # BREAK_FRAME_S at 44.1 kHz


def _q16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 32768) / 32768


def _noise(rng, frames: int) -> np.ndarray:
    return 0.05 * rng.standard_normal(frames * N)


def _zero_band(x: np.ndarray, lo_hz: float, hi_hz: float, every: int) -> np.ndarray:
    """Zero [lo_hz, hi_hz) in every ``every``-th frame, frame by frame (what a codec does to one band)."""
    out = x.reshape(-1, N).copy()
    f = np.fft.rfftfreq(N, 1 / SR)
    for i in range(0, out.shape[0], every):
        X = np.fft.rfft(out[i])
        X[(f >= lo_hz) & (f < hi_hz)] = 0
        out[i] = np.fft.irfft(X, N)
    return out.ravel()


def test_stationary_noise_has_no_breaks(rng):
    r = bb.band_breaks(_q16(_noise(rng, 60)), SR)
    assert r.frames == 60 and r.rate == 0.0 and r.top_hz == ()


def test_a_zeroed_band_breaks_at_its_edges(rng):
    # 10-12 kHz zeroed in every other frame: per such frame, 2 of the band edges break
    y = _q16(_zero_band(_noise(rng, 60), 10000.0, 12000.0, every=2))
    r = bb.band_breaks(y, SR)
    assert r.rate == pytest.approx(30 * 2 / (60 * (r.bands - 1)), rel=0.35)
    df = SR / N
    assert len(r.top_hz) == 2
    assert min(r.top_hz) == pytest.approx(10000.0, abs=bb.BAND_BINS * df * 1.5)
    assert max(r.top_hz) == pytest.approx(12000.0, abs=bb.BAND_BINS * df * 1.5)


def test_breaks_stop_below_the_wall_and_silence_is_empty(rng):
    y = _q16(_zero_band(_noise(rng, 20), 10000.0, 12000.0, every=1))
    assert bb.band_breaks(y, SR, wall_hz=9000.0).rate == 0.0  # the band lies above the wall: not searched
    silent = bb.band_breaks(np.zeros(20 * N), SR)
    assert silent.frames == 0 and silent.rate == 0.0 and silent.bands > 0
    assert bb.band_breaks(np.zeros(100), SR).frames == 0  # shorter than a frame
