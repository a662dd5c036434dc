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


def _accumulate(mod, power, active, bands, segments, n_bands, n_segments):
    sum_db = np.zeros(power.shape[1])
    sum_pow = np.zeros(power.shape[1])
    band_sum = np.zeros((n_segments, n_bands))
    band_count = np.zeros(n_segments)
    mod.accumulate_frames(power, active, 1e-14, sum_db, sum_pow, bands, segments, band_sum, band_count)
    return sum_db, sum_pow, band_sum, band_count


@pytest.mark.parametrize("seed", range(5))
def test_accumulate_frames_matches_numpy(seed):
    r = np.random.default_rng(seed)
    n_frames, n_bins, n_bands, n_segments = 13, 65, 7, 4
    power = r.exponential(size=(n_frames, n_bins)) * 10 ** r.uniform(-12, 0, size=(n_frames, 1))
    active = r.random(n_frames) > 0.3
    bands = np.minimum(np.arange(n_bins) // 10, n_bands - 1).astype(np.int64)
    bands[-3:] = -1
    segments = np.sort(r.integers(0, n_segments, n_frames)).astype(np.int64)
    got = _accumulate(ks, power, active, bands, segments, n_bands, n_segments)
    want = _accumulate(ref, power, active, bands, segments, n_bands, n_segments)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 50), st.integers(1, 3)), elements=st.floats(-1, 1, allow_nan=False)),
       st.sampled_from([2.0 ** 7, 2.0 ** 15, 2.0 ** 23]))
def test_sample_stats_matches_numpy(x, scale):
    # put some samples on the grid so the OR is exercised
    x = x.copy()
    x[::2] = np.round(x[::2] * scale) / scale
    a_stats, a_or = np.zeros(6), np.zeros(1, np.int64)
    b_stats, b_or = np.zeros(6), np.zeros(1, np.int64)
    ks.sample_stats(x, scale, a_stats, a_or)
    ref.sample_stats(x, scale, b_stats, b_or)
    np.testing.assert_allclose(a_stats, b_stats, rtol=1e-12)
    assert a_or[0] == b_or[0]


def test_sample_stats_counts_nonfinite_and_full_scale():
    x = np.array([[0.5, np.nan], [1.0, -1.0], [np.inf, 0.25]])
    stats, orb = np.zeros(6), np.zeros(1, np.int64)
    ks.sample_stats(x, 2.0 ** 15, stats, orb)
    assert stats[4] == 2  # NaN and Inf
    assert stats[3] == 2  # +1.0 and -1.0
    assert stats[0] == 1.0
    assert stats[2] == 4


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
