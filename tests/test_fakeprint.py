"""The published fakeprint (Afchar et al., ISMIR 2025): kernels vs NumPy twins, and the package against the
loop-level reference transcribed from the paper (benchmarks/bench_fakeprint.py::reference_fakeprint)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.bench_fakeprint import numpy_twin_fakeprint, reference_fakeprint
from musicforensics.spectral.kernels import twins as ref
from musicforensics.ai import fakeprint as fp
from musicforensics.spectral.kernels import comb as kern
from musicforensics.errors import ParameterError


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), width=st.integers(1, 15), seed=st.integers(0, 10**6))
def test_hull_kernels_match_twins(n, width, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal(n) * 10
    if n > 3:
        x[r.integers(0, n)] = x[0]  # ties
    i1, v1 = kern.window_minima(x, width)
    i2, v2 = ref.window_minima(x, width)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(v1, v2)
    hull = x - r.uniform(0, 6, n)
    np.testing.assert_allclose(kern.clipped_residual(x, hull, -45.0, 0.0, 5.0),
                               ref.clipped_residual(x, hull, -45.0, 0.0, 5.0), atol=1e-12)


def test_hull_residual_analytic():
    # flat spectrum with one 3 dB bump: residual 3 dB at the bump, 0 elsewhere -> normalised to 1 there
    x = np.zeros(100)
    x[47] = 3.0
    r = fp.hull_residual(x)
    assert r[47] == pytest.approx(1.0) and np.abs(np.delete(r, 47)).max() < 1e-9
    # below the -45 dB floor nothing is left; a bump above the floor is measured from the floor
    y = np.full(100, -80.0)
    y[20] = -43.0
    r = fp.hull_residual(y)
    assert r[20] == pytest.approx(1.0) and r.sum() == pytest.approx(1.0)
    # clipped at 5 dB
    z = np.zeros(100)
    z[10], z[60] = 2.5, 9.0
    r = fp.hull_residual(z)
    assert r[10] == pytest.approx(0.5) and r[60] == pytest.approx(1.0)


@pytest.mark.parametrize("sr, channels", [(44100, 2), (48000, 1)])
def test_fakeprint_equals_reference(rng, sr, channels):
    n = int(sr * 2.5)
    t = np.arange(n) / sr
    y = 0.05 * rng.standard_normal((n, channels)) + 0.2 * np.sin(2 * np.pi * 440 * t)[:, None]
    # a small comb every 86.13 Hz so the residual has structure
    y += 1e-4 * np.sum([np.cos(2 * np.pi * k * 44100 / 512 * t) for k in range(58, 186)], axis=0)[:, None]
    got = fp.fakeprint(y, sr)
    want = reference_fakeprint(y, sr)
    assert got.values.shape == (4087,) and got.freqs[0] >= 5000 and got.freqs[-1] <= 16000
    np.testing.assert_allclose(got.values, want, atol=1e-6, rtol=0)
    np.testing.assert_allclose(numpy_twin_fakeprint(y, sr), want, atol=1e-6, rtol=0)
    assert got.values.max() == pytest.approx(1.0)


def test_fakeprint_short_and_cut(rng):
    short = rng.standard_normal(5000) * 0.1
    fpr = fp.fakeprint(short, 44100)
    np.testing.assert_allclose(fpr.values, reference_fakeprint(short, 44100), atol=1e-6)
    y = rng.standard_normal((44100 * 3, 1)) * 0.1
    a = fp.fakeprint(y, 44100, max_seconds=1.0).values
    b = fp.fakeprint(y[:44100], 44100, max_seconds=None).values
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_mean_db_scale():
    # unnormalised scale: a full-scale sine at a bin centre reads 20 log10(n_fft / 4) dB at its bin
    n_fft = 16384
    k = 1000
    t = np.arange(n_fft * 4)
    y = np.cos(2 * np.pi * k * t / n_fft)
    m = fp.mean_db_spectrum(y, n_fft=n_fft, hop=n_fft // 2)
    assert m[k] == pytest.approx(20 * np.log10(n_fft / 4), abs=1e-6)


def test_bad_input():
    with pytest.raises(ParameterError):
        fp.hull_residual(np.zeros((3, 3)))
    with pytest.raises(ParameterError):
        fp.to_fakeprint_rate(np.zeros((2, 2, 2)), 44100)
    with pytest.raises(ParameterError):
        fp.mean_db_spectrum(np.zeros(100), n_fft=64, hop=32, lo=10, hi=5)
