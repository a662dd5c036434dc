"""The comb search: kernel vs NumPy twin, and analytic answers on synthetic decoder output.

The synthetic "decoder" is the mechanism of Afchar et al. (ISMIR 2025): zero insertion by strides
k1..kL, each followed by a short random FIR, a bias and a leaky ReLU. DC and biases are copied to every
multiple of each layer's input rate, so the output carries a comb at fs / prod(k) Hz.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicforensics.spectral.kernels import twins as ref
from musicforensics.ai import comb, decoders
from musicforensics.spectral.kernels import comb as kern
from musicforensics.ai.fakeprint import mean_db_spectrum
from musicforensics.errors import ParameterError


# -- synthetic material ------------------------------------------------------------------------------
def upsampler_chain(n_out: int, strides, rng, *, bias: float = 0.05) -> np.ndarray:
    """Transposed-convolution stack: zero insertion, random FIR (2k taps), bias, leaky ReLU per layer."""
    n0 = n_out // int(np.prod(strides)) + 4
    x = rng.standard_normal(n0) * 0.5 + 0.3
    for k in strides:
        up = np.zeros(x.size * k)
        up[::k] = x
        h = rng.standard_normal(2 * k) / np.sqrt(k)
        x = np.convolve(up, h)[: up.size] + bias
        x = np.where(x > 0, x, 0.2 * x)
    x = x[:n_out] - x[:n_out].mean()
    return x / np.abs(x).max()


def music(n: int, sr: int, rng, *, level: float = 0.3) -> np.ndarray:
    """Music-like: three notes a second, ~60 slightly inharmonic partials each, decaying, plus noise."""
    t = np.arange(n) / sr
    y = np.zeros(n)
    step = sr // 3
    for s in range(0, n, step):
        f0 = 110 * 2 ** (rng.integers(0, 30) / 12)
        tt = t[s:s + step] - t[s]
        for h in range(1, 60):
            if f0 * h > 0.45 * sr:
                break
            y[s:s + step] += np.exp(-2.5 * tt) * np.sin(2 * np.pi * f0 * h * tt * (1 + 5e-4 * h ** 1.5)
                                                         + rng.uniform(0, 6)) / h ** 1.2
    y += 0.003 * rng.standard_normal(n)
    return level * y / np.abs(y).max()


def sawtooth(n: int, sr: int, f0: float = 100.0, level: float = 0.3) -> np.ndarray:
    return level * (2 * ((np.arange(n) / sr * f0) % 1.0) - 1)


def search(y: np.ndarray, sr: int) -> comb.CombResult:
    return comb.comb_search(mean_db_spectrum(y), sr, 16384)


# -- kernel vs twin ----------------------------------------------------------------------------------
def _sums(fn, p, bin_hz, deltas, fmin, edges):
    s = np.zeros((deltas.size, edges.size))
    c = np.zeros_like(s)
    fn(p, bin_hz, deltas, fmin, edges, s, c)
    return s, c


def test_comb_sums_matches_twin(rng):
    p = np.clip(rng.standard_normal(4097), 0, None)
    deltas = np.sort(rng.uniform(15, 400, 200))
    edges = np.array([6000.0, 9000.0, 10900.0])
    a = _sums(kern.comb_sums, p, 2.69, deltas, 4000.0, edges)
    b = _sums(ref.comb_sums, p, 2.69, deltas, 4000.0, edges)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(a[1], b[1])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(64, 600), bin_hz=st.floats(0.5, 5.0), d=st.floats(3.0, 80.0), seed=st.integers(0, 10**6))
def test_comb_sums_twin_property(n, bin_hz, d, seed):
    r = np.random.default_rng(seed)
    p = np.abs(r.standard_normal(n))
    top = n * bin_hz
    edges = np.array([0.5 * top, 0.8 * top, 1.2 * top])
    deltas = np.array([d, d * 1.37])
    a = _sums(kern.comb_sums, p, bin_hz, deltas, 0.1 * top, edges)
    b = _sums(ref.comb_sums, p, bin_hz, deltas, 0.1 * top, edges)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(a[1], b[1])


def test_comb_sums_analytic():
    # a one-bin comb every 10 bins (1 Hz bins): teeth read 1, gaps 0 -> sum = number of teeth
    p = np.zeros(1000)
    p[::10] = 1.0
    s, c = _sums(kern.comb_sums, p, 1.0, np.array([10.0, 20.0]), 100.0, np.array([500.0, 990.0]))
    assert c[0].tolist() == [40.0, 89.0] and s[0].tolist() == [40.0, 89.0]
    # doubling the spacing puts the gaps on teeth: teeth - gaps = 0
    assert s[1].tolist() == [0.0, 0.0]


# -- the search on synthetic decoders ----------------------------------------------------------------
@pytest.mark.parametrize("sr, strides", [(44100, (8, 8, 4, 2)), (48000, (8, 5, 4, 2)), (32000, (8, 5, 4, 4))])
def test_finds_decoder_comb(rng, sr, strides):
    n = sr * 12
    y = music(n, sr, rng) + 0.01 * upsampler_chain(n, strides, rng)
    res = search(y, sr)
    expected = sr / np.prod(strides)
    assert res.z > 8
    assert res.delta_hz == pytest.approx(expected, abs=0.5)
    assert res.stride_product == int(np.prod(strides))
    off = [abs(t["freq_hz"] - expected * round(t["freq_hz"] / expected)) for t in res.teeth]
    assert len(off) >= 20 and np.median(off) < 1.5 * sr / 16384


def test_finds_resampled_generator(rng):
    """A 24 kHz generator resampled to 44.1 kHz keeps its 75 Hz teeth up to 12 kHz."""
    from scipy.signal import resample_poly

    n = 24000 * 12
    gen = music(n, 24000, rng) + 0.01 * upsampler_chain(n, (8, 5, 4, 2), rng)
    y = resample_poly(gen, 147, 80)
    res = search(y, 44100)
    assert res.z > 8
    assert res.delta_hz == pytest.approx(75.0, abs=0.5)


def test_plain_music_and_noise_have_no_comb(rng):
    sr = 44100
    assert search(music(sr * 12, sr, rng), sr).z < 6
    assert search(0.1 * rng.standard_normal(sr * 12), sr).z < 6


def test_sawtooth_is_not_a_decoder_comb(rng):
    """A 100 Hz sawtooth: teeth every 100 Hz (= 48000/480, a plausible spacing) but a musical tone."""
    sr = 44100
    y = sawtooth(sr * 12, sr) + 1e-3 * rng.standard_normal(sr * 12)
    res = search(y, sr)
    assert res.z < 6
    assert any(r["delta_hz"] == pytest.approx(100.0) for r in res.rejected)


def test_harmonic_score_separates_tone_from_comb(rng):
    sr = 44100
    n = sr * 12
    saw = mean_db_spectrum(sawtooth(n, sr) + 1e-3 * rng.standard_normal(n))
    ai = mean_db_spectrum(music(n, sr, rng) + 0.01 * upsampler_chain(n, (8, 8, 4, 2), rng))
    from scipy.ndimage import median_filter

    def prom(m):
        return m - median_filter(m, size=comb.MEDIAN_BINS, mode="nearest")

    bin_hz = sr / 16384
    assert comb.harmonic_score(prom(saw), bin_hz, 100.0) > 0.8
    assert abs(comb.harmonic_score(prom(ai), bin_hz, sr / 512)) < comb.HARMONIC_SCORE_MAX
    assert comb.envelope_roughness(saw, bin_hz, 100.0) < comb.SMOOTH_ENVELOPE_DB


def test_explain_spacing_names_known_decoders():
    m = comb.explain_spacing(44100 / 512, 44100)
    assert m[0]["stride_product"] == 512 and "DAC 44.1 kHz" in m[0]["decoders"]
    assert comb.family_of(comb.explain_spacing(50.0, 44100)) == "EnCodec"
    assert comb.explain_spacing(1234.567, 44100) == []


def test_plausible_deltas_cover_known_decoders():
    d = comb.plausible_deltas()
    for _name, _fam, rate, strides in decoders.KNOWN_DECODERS:
        if strides:
            assert np.min(np.abs(d - rate / np.prod(strides))) < 1e-6


def test_codec_grid():
    assert comb.on_codec_grid(44100 / 2048, 44100, 2.69, 20000.0)
    assert not comb.on_codec_grid(44100 / 512, 44100, 2.69, 20000.0)


def test_bad_input():
    with pytest.raises(ParameterError):
        comb.comb_search(np.zeros(100), 44100, 16384)
    with pytest.raises(ParameterError):
        comb.peakiness(np.full(1000, np.nan))


# -- spacing choice and tone protection on constructed spectra ----------------------------------------
def _spectrum_with_teeth(rng, sr, teeth_db: dict, *, fmax: float, noise_db: float = 0.3) -> np.ndarray:
    """Mean-of-dB spectrum (16384-point grid): flat -60 dB floor with small noise, plus for each spacing D in
    ``teeth_db`` a one-bin tooth of the given height at every multiple of D below ``fmax``; nothing above fmax
    (a resampled band-limited generator)."""
    n_bins = 16384 // 2 + 1
    bin_hz = sr / 16384
    m = -60.0 + noise_db * rng.standard_normal(n_bins)
    for d, h in teeth_db.items():
        k = np.round(np.arange(1, int(fmax / d) + 1) * d / bin_hz).astype(int)
        m[k] = np.maximum(m[k], -60.0 + h)
    m[int(fmax / bin_hz) + 8:] = -130.0
    return m


def test_rival_spacings_pick_the_one_with_own_teeth(rng, monkeypatch):
    """SNAC 24 kHz resampled to 48 kHz: strong 375 Hz teeth (8 x 46.875 = 5 x 75) and faint 46.875 Hz teeth.

    75 Hz (DAC/EnCodec 24 kHz) scores about as high by re-reading every fifth 375 Hz tooth; only 46.875 Hz has
    teeth between them, so it is the reported spacing."""
    m = _spectrum_with_teeth(rng, 48000, {375.0: 6.0, 46.875: 0.2}, fmax=11900.0)
    res = comb.comb_search(m, 48000, 16384)
    assert res.delta_hz == pytest.approx(46.875, abs=0.05)
    assert res.family == "SNAC"
    assert comb._own_teeth(1.0, 46.875, 2.0, 375.0) == pytest.approx(np.sqrt(8) / 2)
    assert res.z > 8
    # ranking the rivals by z alone (the earlier rule) reports 75 Hz on this spectrum
    monkeypatch.setattr(comb, "_own_teeth", lambda z, d, z_best, d_best: z)
    assert comb.comb_search(m, 48000, 16384).delta_hz == pytest.approx(75.0, abs=0.05)


def test_smooth_but_not_tone_smooth_comb_is_kept(rng):
    """A trained decoder's comb can be loud down to low frequencies (harmonic score ~1) with a tooth envelope
    of ~0.8 dB roughness: above SMOOTH_ENVELOPE_DB it is a comb, not a note."""
    sr = 22050
    bin_hz = sr / 16384
    d = sr / 256
    m = _spectrum_with_teeth(rng, sr, {d: 12.0}, fmax=sr / 2 - 50)
    k = np.round(np.arange(1, int((sr / 2 - 50) / d) + 1) * d / bin_hz).astype(int)
    m[k] += rng.normal(0.0, 1.0, k.size)  # ~0.8 dB median second difference
    rough = comb.envelope_roughness(m, bin_hz, d)
    assert comb.SMOOTH_ENVELOPE_DB < rough < 1.2
    prom = m - __import__("scipy.ndimage", fromlist=["median_filter"]).median_filter(m, size=comb.MEDIAN_BINS, mode="nearest")
    assert comb.harmonic_score(prom, bin_hz, d) > comb.HARMONIC_SCORE_MAX
    res = comb.comb_search(m, sr, 16384)
    assert res.z > 8 and res.delta_hz == pytest.approx(d, abs=0.1)
    # the same comb with a tone's smooth envelope is rejected as a note
    m2 = _spectrum_with_teeth(rng, sr, {d: 12.0}, fmax=sr / 2 - 50, noise_db=0.05)
    assert comb.envelope_roughness(m2, bin_hz, d) < comb.SMOOTH_ENVELOPE_DB
    assert comb.comb_search(m2, sr, 16384).z < 6


def test_coarse_null_matches_full_grid(rng):
    """The null on every NULL_STRIDE-th dense spacing gives the same z as the full grid, within 5 %."""
    sr, strides = 44100, (8, 8, 4, 2)
    n = sr * 8
    y = music(n, sr, rng) + 0.01 * upsampler_chain(n, strides, rng)
    mdb = mean_db_spectrum(y)
    res = comb.comb_search(mdb, sr, 16384)
    bin_hz = sr / 16384
    edges = comb.band_edges(sr)
    p = comb.peakiness(mdb)
    t_full, _ = comb.comb_statistic(p, bin_hz, comb.dense_grid(bin_hz, float(edges[-1])), edges)
    t_c, _ = comb.comb_statistic(p, bin_hz, np.array([res.coarse_delta_hz]), edges)
    med = np.median(t_full, axis=0)
    spread = 1.4826 * np.median(np.abs(t_full - med), axis=0)
    z_full = float(((t_c - med) / spread).max())
    assert res.z == pytest.approx(z_full, rel=0.05)
