"""Every numba kernel agrees with its NumPy twin (seeded and property-generated inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from musicforensics.dsp import _reference as ref
from musicforensics.dsp._kernels import peaks as kp
from musicforensics.dsp._kernels import spectral as ks

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


def _accumulate(mod, spec, active, bands, segments, n_bands, n_segments, chunk, scale2=0.37):
    sum_db = np.zeros(spec.shape[1])
    sum_pow = np.zeros(spec.shape[1])
    band_sum = np.zeros((n_segments, n_bands))
    band_count = np.zeros(n_segments)
    mod.accumulate_spectrum(spec, scale2, active, 1e-14, chunk, sum_db, sum_pow, bands, segments, band_sum,
                            band_count)
    return sum_db, sum_pow, band_sum, band_count


def _spectrum(r, n_frames, n_bins, dtype=np.complex64):
    # magnitudes over 14 decades, down to and below the 1e-14 floor
    mag = np.sqrt(r.exponential(size=(n_frames, n_bins)) * 10 ** r.uniform(-16, 0, size=(n_frames, 1)))
    return (mag * np.exp(2j * np.pi * r.random((n_frames, n_bins)))).astype(dtype)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("chunk", [1, 3, 16])
def test_accumulate_spectrum_matches_numpy(seed, chunk):
    r = np.random.default_rng(seed)
    n_frames, n_bins, n_bands, n_segments = 37, 65, 7, 4
    spec = _spectrum(r, n_frames, n_bins, np.complex64 if seed % 2 else np.complex128)
    active = r.random(n_frames) > 0.3
    bands = np.minimum(np.arange(n_bins) // 10, n_bands - 1).astype(np.int64)
    bands[-3:] = -1
    bands[:2] = -1
    segments = np.sort(r.integers(0, n_segments, n_frames)).astype(np.int64)
    got = _accumulate(ks, spec, active, bands, segments, n_bands, n_segments, chunk)
    want = _accumulate(ref, spec, active, bands, segments, n_bands, n_segments, chunk)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_log_product_of_16_frames_is_exact_at_the_amplitude_bound():
    """Products of 16 powers up to 4 A^2 (A = LOG_PRODUCT_MAX_AMPLITUDE) and down to the floor stay finite, so the
    chunked sum of logs equals the per-frame sum to rounding (the largest and smallest cases analytically)."""
    from musicforensics.dsp.spectrum import LOG_PRODUCT_FRAMES, LOG_PRODUCT_MAX_AMPLITUDE

    n = LOG_PRODUCT_FRAMES
    for p in (4.0 * LOG_PRODUCT_MAX_AMPLITUDE ** 2, 0.0):
        spec = np.full((n, 3), np.sqrt(p), dtype=np.complex128)
        got = _accumulate(ks, spec, np.ones(n, bool), np.zeros(3, np.int64), np.zeros(n, np.int64), 1, 1, n,
                          scale2=1.0)[0]
        np.testing.assert_allclose(got, n * 10 * np.log10(p + 1e-14), rtol=1e-13)


def test_bands_need_not_be_sorted():
    r = np.random.default_rng(9)
    spec = _spectrum(r, 6, 40)
    bands = r.integers(-1, 5, 40).astype(np.int64)
    segments = np.array([0, 0, 1, 1, 2, 2], np.int64)
    got = _accumulate(ks, spec, np.ones(6, bool), bands, segments, 5, 3, 4)
    want = _accumulate(ref, spec, np.ones(6, bool), bands, segments, 5, 3, 4)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 50), st.integers(1, 3)), elements=st.floats(-1, 1, allow_nan=False)),
       st.sampled_from([2.0 ** 7, 2.0 ** 15, 2.0 ** 23]))
def test_sample_stats_matches_numpy(x, scale):
    # put some samples on the grid so the OR is exercised
    x = x.copy()
    x[::2] = np.round(x[::2] * scale) / scale
    a_stats, a_or, a_sums = np.full(6, 0.5), np.ones(1, np.int64), np.full(x.shape[1], 0.25)
    b_stats, b_or, b_sums = a_stats.copy(), a_or.copy(), a_sums.copy()
    ks.sample_stats(x, scale, a_stats, a_or, a_sums)
    ref.sample_stats(x, scale, b_stats, b_or, b_sums)
    np.testing.assert_allclose(a_stats, b_stats, rtol=1e-12)
    np.testing.assert_allclose(a_sums, b_sums, rtol=1e-12, atol=1e-15)
    assert a_or[0] == b_or[0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, None])
@pytest.mark.parametrize("where", [0, 517, -1])
def test_sample_stats_with_one_nonfinite_sample_anywhere_matches_numpy(rng, bad, where):
    """One NaN or Inf anywhere in a block (or none) is counted and left out of every sum, as in the NumPy twin
    (16-bit content, with full-scale samples)."""
    x = np.round(rng.standard_normal((1000, 2)) * 8000) / 32768
    x[10] = [1.0, -1.0]
    if bad is not None:
        x.reshape(-1)[where] = bad
    got = (np.zeros(6), np.zeros(1, np.int64), np.zeros(2))
    want = (np.zeros(6), np.zeros(1, np.int64), np.zeros(2))
    ks.sample_stats(x, 2.0 ** 15, *got)
    ref.sample_stats(x, 2.0 ** 15, *want)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12, atol=1e-15)
    assert got[1][0] == want[1][0]
    assert got[0][4] == (0 if bad is None else 1)


def test_sample_stats_counts_nonfinite_and_full_scale():
    x = np.array([[0.5, np.nan], [1.0, -1.0], [np.inf, 0.25]])
    stats, orb, sums = np.zeros(6), np.zeros(1, np.int64), np.zeros(2)
    ks.sample_stats(x, 2.0 ** 15, stats, orb, sums)
    assert stats[4] == 2  # NaN and Inf
    assert stats[3] == 2  # +1.0 and -1.0
    assert stats[0] == 1.0
    assert stats[2] == 4
    np.testing.assert_array_equal(sums, [1.5, -0.75])  # non-finite samples are left out of the DC sums


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.integers(1, 80), elements=finite), st.integers(1, 15))
def test_sliding_min_matches_numpy(x, width):
    np.testing.assert_array_equal(kp.sliding_min(x, width), ref.sliding_min(x, width))


@settings(max_examples=120, deadline=None)
@given(arrays(np.float64, st.integers(3, 120), elements=st.integers(-5, 5).map(float)))
def test_local_maxima_matches_scipy(x):
    # small integer values make plateaus common: the hard case
    np.testing.assert_array_equal(kp.local_maxima(x), ref.local_maxima(x))


@settings(max_examples=120, deadline=None)
@given(arrays(np.float64, st.integers(3, 120), elements=finite), st.sampled_from([-1, 3, 5, 11, 31]))
def test_prominences_match_scipy(x, wlen):
    peaks = ref.local_maxima(x)
    if peaks.size == 0:
        return
    np.testing.assert_allclose(kp.prominences(x, peaks, wlen), ref.prominences(x, peaks, wlen))


def test_prominence_of_isolated_peak_is_analytic():
    x = np.zeros(21)
    x[10] = 3.0
    x[5] = 1.0
    peaks = kp.local_maxima(x)
    np.testing.assert_array_equal(peaks, [5, 10])
    np.testing.assert_allclose(kp.prominences(x, peaks, -1), [1.0, 3.0])
