"""Every numba kernel agrees with its NumPy twin (seeded and property-generated inputs)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from musicforensics.spectral.kernels import twins as ref
from musicforensics.spectral.kernels import twins as ref_lossy
from musicforensics.spectral.kernels import lossy as kl
from musicforensics.spectral.kernels import spectral as ks

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


def _accumulate(mod, spec, active, bands, segments, n_bands, n_segments, chunk, scale2=0.37, calls=1, floor=1e-14):
    """The sums after ``calls`` identical calls (the kernel's product state carries across calls)."""
    sum_db = np.zeros(spec.shape[1])
    sum_pow = np.zeros(spec.shape[1])
    band_sum = np.zeros((n_segments, n_bands))
    band_count = np.zeros(n_segments)
    if mod is ks:
        mantissa, exponent = np.ones(spec.shape[1]), np.zeros(spec.shape[1])
        for _ in range(calls):
            ks.accumulate_spectrum(spec, scale2, active, floor, chunk, mantissa, exponent, sum_pow, bands, segments,
                                   band_sum, band_count)
        sum_db = ks.sum_db(mantissa, exponent)
    else:
        for _ in range(calls):
            mod.accumulate_spectrum(spec, scale2, active, floor, chunk, sum_db, sum_pow, bands, segments, band_sum,
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
    got = _accumulate(ks, spec, active, bands, segments, n_bands, n_segments, chunk, calls=3)
    want = _accumulate(ref, spec, active, bands, segments, n_bands, n_segments, chunk, calls=3)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_log_product_of_16_frames_is_exact_at_the_amplitude_bound():
    """Products of 16 powers up to 4 A^2 (A = LOG_PRODUCT_MAX_AMPLITUDE) and down to the floor stay finite, so the
    chunked sum of logs equals the per-frame sum to rounding (the largest and smallest cases analytically)."""
    from musicforensics.spectral.summary import LOG_PRODUCT_FRAMES, LOG_PRODUCT_MAX_AMPLITUDE

    n = LOG_PRODUCT_FRAMES
    for p in (4.0 * LOG_PRODUCT_MAX_AMPLITUDE ** 2, 0.0):
        spec = np.full((n, 3), np.sqrt(p), dtype=np.complex128)
        got = _accumulate(ks, spec, np.ones(n, bool), np.zeros(3, np.int64), np.zeros(n, np.int64), 1, 1, n,
                          scale2=1.0)[0]
        np.testing.assert_allclose(got, n * 10 * np.log10(p + 1e-14), rtol=1e-13)
        # the exponent carried over many calls: 4000 frames, far beyond what one double's range could hold
        got = _accumulate(ks, spec, np.ones(n, bool), np.zeros(3, np.int64), np.zeros(n, np.int64), 1, 1, n,
                          scale2=1.0, calls=250)[0]
        np.testing.assert_allclose(got, 250 * n * 10 * np.log10(p + 1e-14), rtol=1e-13)


def test_overflowing_power_gives_infinite_db_as_a_per_frame_log_would():
    spec = np.array([[1e200, 1.0], [1.0, 1.0]], dtype=np.complex128)  # |X|^2 = 1e400 overflows to +inf
    got = _accumulate(ks, spec, np.ones(2, bool), np.zeros(2, np.int64), np.zeros(2, np.int64), 1, 1, 1, scale2=1.0)
    with np.errstate(over="ignore"):
        want = _accumulate(ref, spec, np.ones(2, bool), np.zeros(2, np.int64), np.zeros(2, np.int64), 1, 1, 1,
                           scale2=1.0)
    assert got[0][0] == want[0][0] == np.inf
    np.testing.assert_allclose(got[0][1], want[0][1], rtol=1e-13)


def test_zero_power_with_a_zero_floor_gives_minus_infinity():
    """With no floor a zero power makes the product 0 (renormalised through frexp, not read as an exponent
    field), so its dB sum is -inf, as a per-frame logarithm gives; other bins are unaffected."""
    spec = np.array([[0.0, 1e-3, 0.5]] * 4, dtype=np.complex128)
    for chunk in (1, 4):
        args = (np.ones(4, bool), np.zeros(3, np.int64), np.zeros(4, np.int64), 1, 1, chunk)
        with np.errstate(divide="ignore"):
            got = _accumulate(ks, spec, *args, scale2=1.0, floor=0.0, calls=2)[0]
            want = _accumulate(ref, spec, *args, scale2=1.0, floor=0.0, calls=2)[0]
        assert got[0] == want[0] == -np.inf
        np.testing.assert_allclose(got[1:], want[1:], rtol=1e-13)


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


@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 3)), elements=st.floats(-2, 2, allow_nan=False)),
       st.sampled_from([2.0 ** 7, 2.0 ** 15, 2.0 ** 23, 2.0 ** 31]), st.booleans(), st.integers(-1, 200))
def test_update_sample_stats_fast_path_matches_numpy(x, scale, single, bad_at):
    """The block-level dispatcher (NumPy peak + fast-math kernel, or the exact kernel when a sample is NaN/Inf)
    gives the NumPy twin's statistics for float32 and float64 blocks, with or without a non-finite sample."""
    from musicforensics.spectral.summary import update_sample_stats

    x = x.copy()
    x[::2] = np.round(x[::2] * scale) / scale
    if 0 <= bad_at < x.size:
        x.reshape(-1)[bad_at] = np.nan if bad_at % 2 else np.inf
    if single:
        x = x.astype(np.float32)
    got = (np.full(6, 0.5), np.ones(1, np.int64), np.full(x.shape[1], 0.25))
    want = tuple(a.copy() for a in got)
    update_sample_stats(x, scale, *got)
    ref.sample_stats(x.astype(np.float64), scale, *want)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12, atol=1e-12)
    assert got[1][0] == want[1][0]


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


# -- lossy excerpt features (bit-identical to the NumPy twins) ------------------------------------------------


def _both(name, *args, out):
    """Run kernel ``name`` and its twin on copies of ``out``; return both outputs (and return values)."""
    a, b = out.copy(), out.copy()
    ra = getattr(kl, name)(*args, a)
    rb = getattr(ref_lossy, name)(*args, b)
    return a, b, ra, rb


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 4), st.sampled_from([np.float32, np.float64]), st.integers(0, 2 ** 31))
def test_diff_energy_matches_numpy_pairwise_sum(width, rows, dtype, seed):
    """Any row length: the pairwise-summation tree (blocks of 128, splits at multiples of 8) is NumPy's."""
    r = np.random.default_rng(seed)
    blocks = (r.standard_normal((rows, width + 1)) * 10.0 ** r.uniform(-6, 0, (rows, 1))).astype(dtype)
    a, b, _, _ = _both("diff_energy", blocks, out=np.empty(rows, dtype))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("width", [1, 3, 4, 7, 8, 9, 16, 31])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_band_means_match_numpy_mean(rng, width, dtype):
    spec = _spectrum(rng, 40, 700, dtype)
    starts = np.sort(rng.choice(np.arange(5, 700 - width), 30, replace=False)).astype(np.int64)
    real = np.float32 if dtype == np.complex64 else np.float64
    a, b, _, _ = _both("band_means", spec, starts, width, real(3.1e-5), out=np.empty((40, 30), real))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("channels", range(1, 8))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_mean_matches_numpy(rng, channels, dtype):
    y = rng.standard_normal((3001, channels)).astype(dtype)
    y[:5] = [[1e-40 * (j + 1) for j in range(channels)]] * 5  # float32 subnormals too
    for view in (y, y[::2]):  # contiguous and strided
        a, b, _, _ = _both("channel_mean", view, out=np.empty(view.shape[0], np.float32))
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, view.astype(np.float64).mean(axis=1).astype(np.float32))


@pytest.mark.parametrize("hop", [1, 256, 1024])
def test_window_frames_match_numpy(rng, hop):
    x = rng.standard_normal(20000).astype(np.float32)
    win = np.hanning(1025)[:-1].astype(np.float32)
    a, b, _, _ = _both("window_frames", x, 3, hop, win, out=np.empty((9, 1024), np.float32))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n2", [1152, 2048])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fold_frames_match_numpy(rng, n2, dtype):
    x = rng.standard_normal(30000).astype(dtype)
    w = np.sin(np.pi * (np.arange(n2) + 0.5) / n2).astype(dtype)
    starts = np.concatenate([[0, 30000 - n2], rng.integers(0, 30000 - n2, 40)]).astype(np.int64)
    a, b, _, _ = _both("fold_frames", x, starts, w, out=np.empty((starts.size, n2 // 2), dtype))
    np.testing.assert_array_equal(a, b)


def test_count_below_matches_numpy_including_ties(rng):
    scale, tau = np.sqrt(2.0 / 1024) / 2.0, 10 * 2.0 ** -15 / np.sqrt(12.0)
    X = (rng.standard_normal((50, 1024)) * tau / scale).astype(np.float32)
    X[0, :3] = np.float32(tau / scale)  # at the threshold, to rounding
    a, b, _, _ = _both("count_below", X, scale, tau, out=np.empty(50, np.int64))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("lag", [1, 4])
def test_local_hole_counts_match_numpy(rng, lag):
    levels = (rng.exponential(size=(300, 20)) * 10.0 ** rng.uniform(-12, -6, (300, 20))).astype(np.float32)
    levels[::7] = 0.0  # silent frames
    levels[3::11, 8:] *= 1e-3  # one region dips while the others sound: local holes
    on, dip = 1e-9, 10 ** 1.2
    for cols in ((0, 20), (0, 6, 13, 20), (3, 11)):
        cols = np.array(cols, dtype=np.int64)
        got = [np.zeros(cols.size - 1, np.int64) for _ in range(2)]
        want = [np.zeros(cols.size - 1, np.int64) for _ in range(2)]
        kl.local_hole_counts(levels, cols, lag, 1e-20, on, dip, 10 ** 0.3, *got)
        ref_lossy.local_hole_counts(levels, cols, lag, 1e-20, on, dip, 10 ** 0.3, *want)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert got[1].sum() > 0


def test_lattice_gcd_matches_numpy(rng):
    from musicforensics.spectral.kernels import spectral as kspec

    q = (rng.integers(-300, 300, 5000) * 24 + 7).astype(np.float64)  # a lattice of step 24 with an offset
    for flat, limit in ((q / 32768.0, 32768.0), (q / 32768.0, 2000.0), (rng.standard_normal(3000) * 0.1, 32768.0),
                        (np.round(rng.standard_normal(3000) * 3000) / 32768.0, 32768.0),
                        (np.full(100, 0.25), 32768.0), (np.zeros(0), 32768.0)):
        got = kspec.lattice_gcd(flat.astype(np.float32) if flat.size else flat, 32768.0, limit)
        want = ref.lattice_gcd(flat.astype(np.float32) if flat.size else flat, 32768.0, limit)
        assert tuple(int(v) for v in got) == tuple(int(v) for v in want)
    assert kspec.lattice_gcd((q / 32768.0).astype(np.float32), 32768.0, 32768.0)[0] == 24


def test_exact_grid_kernels_match_numpy(rng):
    from musicforensics.lossy import mpeg
    from musicforensics.spectral.kernels import exact as ke

    x = (rng.standard_normal(20000) * 0.1).astype(np.float32)
    got, want = np.empty((60, 64), np.float32), np.empty((60, 64), np.float32)
    ke.polyphase_fold(x, 5, 60, mpeg.REVERSED_WINDOW, got)
    ref.polyphase_fold(x, 5, 60, mpeg.REVERSED_WINDOW, want)
    np.testing.assert_allclose(got, want, atol=2e-6)
    s = np.ascontiguousarray(rng.standard_normal((32, 200)).astype(np.float32))
    starts = np.array([0, 7, 18, 100], dtype=np.int64)
    got, want = np.empty((128, 18), np.float32), np.empty((128, 18), np.float32)
    ke.granule_fold(s, starts, mpeg.LONG_WINDOW, mpeg.LONG_WINDOW_ODD, got)
    ref.granule_fold(s, starts, mpeg.LONG_WINDOW, mpeg.LONG_WINDOW_ODD, want)
    np.testing.assert_allclose(got, want, atol=1e-5)
    spec = rng.standard_normal((5, 576)).astype(np.float32)
    a, b = spec.copy(), spec.copy()
    ke.alias_reduce(a, mpeg.ALIAS_CS, mpeg.ALIAS_CA)
    ref.alias_reduce(b, mpeg.ALIAS_CS, mpeg.ALIAS_CA)
    np.testing.assert_allclose(a, b, atol=1e-5)
    # counts: values well away from the thresholds (tau 1, live 2), so summation order cannot matter
    left = rng.choice([0.0, 0.01, 30.0], size=(40, 96), p=[0.1, 0.2, 0.7]).astype(np.float32)
    right = rng.choice([0.0, 0.01, 30.0], size=(40, 96), p=[0.1, 0.2, 0.7]).astype(np.float32)
    got, want = np.empty((40, 2), np.int64), np.empty((40, 2), np.int64)
    ke.isolated_counts(left, 1.0, 2.0, got)
    ref.isolated_counts(left, 1.0, 2.0, want)
    np.testing.assert_array_equal(got, want)
    assert got[:, 1].sum() > 0
    got, want = np.empty((2, 40, 2), np.int64), np.empty((2, 40, 2), np.int64)
    ke.stereo_counts(left, right, 1.0, 2.0, got)
    ref.stereo_counts(left, right, 1.0, 2.0, want)
    np.testing.assert_array_equal(got, want)


def test_kernel_cache_lives_outside_the_package_and_honours_numba_cache_dir(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import musicforensics
    from musicforensics.spectral import kernels as _kernels

    package = Path(musicforensics.__file__).resolve().parent
    assert not Path(_kernels.cache_dir()).resolve().is_relative_to(package)
    code = ("import numba, musicforensics.spectral.kernels.spectral as k; "
            "print(numba.config.CACHE_DIR); print(k.__name__)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    chosen = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=env | {"NUMBA_CACHE_DIR": str(tmp_path / "mine")}).stdout.split()[0]
    assert chosen == str(tmp_path / "mine")
    default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env=env | {"XDG_CACHE_HOME": str(tmp_path / "xdg")}).stdout.split()[0]
    assert default == str(tmp_path / "xdg" / "musicforensics" / "numba")
