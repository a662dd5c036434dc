"""Lossy-origin detector: analytic checks of the wall and hole measures, then synthetic tracks end to end."""

from __future__ import annotations

import numpy as np
import pytest

from musicforensics.analysis import analyze_signal
from musicforensics.config import AnalysisConfig
from musicforensics.detectors import _lossy_features as feat
from musicforensics.detectors import lossy as L
from musicforensics.dsp.wall import find_wall, quantisation_floor_db

SR = 44100


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _brickwall(x: np.ndarray, cutoff: float, sr: int = SR) -> np.ndarray:
    X = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(x.shape[0], 1 / sr)
    X[f > cutoff] = 0
    return np.fft.irfft(X, x.shape[0], axis=0)


def _q16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 32768) / 32768


def _music_like(rng, seconds: float, channels: int = 2) -> np.ndarray:
    """Pink-ish noise with a slow amplitude envelope (content up to Nyquist), about -20 dBFS."""
    n = int(seconds * SR)
    w = rng.standard_normal((n, channels))
    X = np.fft.rfft(w, axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    X /= np.sqrt(np.maximum(f, 50.0))[:, None] / np.sqrt(1000.0)
    y = np.fft.irfft(X, n, axis=0)
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * np.arange(n) / SR)[:, None]
    y = y * env
    return 0.1 * y / np.sqrt(np.mean(y ** 2))


def test_quantisation_floor_matches_measured_noise(rng):
    n_fft = 4096
    noise = rng.uniform(-0.5, 0.5, size=200 * n_fft) * 2.0 ** -15  # rounding error of a 16-bit grid
    frames = noise.reshape(200, n_fft) * np.hanning(n_fft + 1)[:-1]
    win_sum = np.hanning(n_fft + 1)[:-1].sum()
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2 * (2 / win_sum) ** 2
    measured = 10 * np.log10(p[:, 10:-10].mean())
    assert abs(measured - quantisation_floor_db(16, n_fft)) < 0.3
    assert quantisation_floor_db(16, 16384) == pytest.approx(-135.5, abs=0.1)


def test_find_wall_on_step_curve():
    f = np.arange(0, 22050, 2.7)
    level = np.where(f < 16000, -70.0, -135.0)
    w = find_wall(f, level, fmin=8000, fmax=21000)
    assert w is not None
    assert w.freq_hz == pytest.approx(16000, abs=60)
    assert w.drop_db == pytest.approx(65, abs=0.5)
    assert w.floor_db == pytest.approx(-135, abs=0.1)
    assert w.floor_flatness_db == pytest.approx(0, abs=1e-9)
    assert w.steepness_db_per_khz > 200


def test_find_wall_gradual_rolloff_is_not_steep():
    f = np.arange(0, 22050, 2.7)
    level = -70.0 - 3.0 * np.maximum(0, f - 11000) / 1000  # 3 dB/kHz analogue-like slope
    w = find_wall(f, level, fmin=8000, fmax=21000)
    assert w.steepness_db_per_khz < 10
    assert w.drop_db < 12


def test_holes_zero_for_stationary_noise_and_high_for_gated_bands(rng):
    x = 0.05 * rng.standard_normal(SR * 6)
    clean = feat.hole_rates(x, SR)
    assert clean["max_rate"] < 0.002
    # switch a 16-19 kHz band off for one 1024-sample block in every fourth block (sfb21-like flicker)
    X = _brickwall(x[:, None], 16000)[:, 0]
    hf = x - X
    gate = np.ones_like(x)
    for start in range(0, x.size - 1024, 4096):
        gate[start:start + 1024] = 0
    flick = X + hf * gate
    got = feat.hole_rates(flick, SR)
    assert got["16-19.5k"]["rate"] > 0.05
    assert got["max_rate"] > 10 * clean["max_rate"]


def test_feature_vector_ignores_wall_over_noise():
    from musicforensics.dsp.wall import Wall

    silent = Wall(16000, 60, 300, -70, -130, -134, 1)
    noisy = Wall(16000, 40, 300, -70, -110, -110, 3)
    q = quantisation_floor_db(16, 16384)
    assert L.feature_vector(silent, q, 0.0)[0] == pytest.approx(6.0)
    assert L.feature_vector(noisy, q, 0.0)[0] == 0.0
    assert L.lossy_probability(L.feature_vector(silent, q, 0.0)) > L.lossy_probability(L.feature_vector(noisy, q, 0.0))


def _lossy_verdict(y, sr=SR, **kw):
    rep = analyze_signal(y, sr, config=AnalysisConfig(detectors=("lossy",)), subtype="PCM_16", **kw)
    return rep.verdicts["lossy"]


@pytest.mark.parametrize("cutoff", [16000.0, 19000.0])
def test_brickwall_lowpass_is_lossy(rng, cutoff):
    y = _q16(_brickwall(_music_like(rng, 12.0), cutoff))
    v = _lossy_verdict(y)
    assert v.detected and not v.inconclusive
    assert v.evidence["wall"]["freq_hz"] == pytest.approx(cutoff, abs=150)
    assert v.evidence["floor_kind"] == "digital silence"
    assert "codec_family" in v.evidence and "bitrate_class" in v.evidence


def test_gentle_rolloff_with_noise_floor_is_clean(rng):
    y = _music_like(rng, 12.0)
    n = y.shape[0]
    X = np.fft.rfft(y, axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    X /= np.sqrt(1 + (f / 12000.0) ** 4)[:, None]  # 2nd-order Butterworth magnitude
    y = np.fft.irfft(X, n, axis=0) + 10 ** (-85 / 20) * rng.standard_normal((n, 2))
    v = _lossy_verdict(_q16(y))
    assert not v.detected


def test_full_band_noise_is_clean(rng):
    v = _lossy_verdict(_q16(_music_like(rng, 12.0)))
    assert not v.detected
    assert v.probability < 0.5


def test_quiet_lowpassed_material_is_inconclusive(rng):
    # content only below 4 kHz at -60 dBFS: no high-frequency content to judge
    y = _brickwall(_music_like(rng, 8.0), 4000.0) * 10 ** (-40 / 20)
    v = _lossy_verdict(y)
    assert v.inconclusive or not v.detected


def test_spliced_lossy_segment_is_localised(rng):
    y = _music_like(rng, 24.0)
    lo, hi = 8 * SR, 16 * SR
    y[lo:hi] = _brickwall(y[lo:hi], 16000.0)
    v = _lossy_verdict(_q16(y))
    seg = v.evidence["segments"]
    assert v.detected
    assert seg["flagged"] >= 2
    assert all(8.0 - 2.0 <= s <= 16.0 for s in seg["flagged_starts_s"])


def test_soxr_like_edge_above_21k_is_not_lossy(rng):
    y = _q16(_brickwall(_music_like(rng, 12.0), 21700.0))
    v = _lossy_verdict(y)
    assert not v.detected


def test_family_and_bitrate_helpers():
    assert L.bitrate_class("mp3", 16700) == "128 kbps / V5"
    assert L.bitrate_class("mp3", None) == "320 kbps / V0"
    fam, probs = L.estimate_family(L.FAMILY_CENTROIDS["opus"])
    assert fam == "opus"
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-3)
