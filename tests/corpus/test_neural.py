"""Tests for benchmarks/corpus/neural.py: real decoder architectures leave the deconvolution comb."""

from __future__ import annotations

import os

import numpy as np
import pytest

from benchmarks.corpus import neural

_OK, _WHY = neural.available()


@pytest.fixture(autouse=True)
def _need_torch():
    if not _OK:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(f"neural corpus stack unavailable on CI: {_WHY}")
        pytest.skip(_WHY)


def _music_like(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Stereo test signal: a few harmonic notes over soft noise (float32 (frames, 2))."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    y = 0.05 * rng.standard_normal((n, 2))
    for f0 in (110.0, 164.8, 220.0, 329.6):
        for h in range(1, 8):
            y += (0.3 / h) * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.28))[:, None]
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


def test_metadata_consistent():
    for name, meta in neural.ARCHITECTURES.items():
        assert set(meta) >= {"strides", "sample_rate", "expected_delta_hz", "family", "package"}, name
        if meta["strides"]:
            assert meta["expected_delta_hz"] == pytest.approx(meta["sample_rate"] / np.prod(meta["strides"]))
        else:
            assert meta["expected_delta_hz"] is None
    assert neural.ARCHITECTURES["dac44"]["expected_delta_hz"] == pytest.approx(86.1328125)
    assert neural.ARCHITECTURES["snac32"]["expected_delta_hz"] == pytest.approx(83.3333, rel=1e-4)


def test_strides_match_package_models():
    """The stride tuples in ARCHITECTURES are the ones the packages' model objects really use."""
    for name in ("dac44", "encodec24", "snac24"):
        model = neural.build_model(name, seed=0)
        fam = neural.ARCHITECTURES[name]["family"]
        if fam == "dac" or fam == "snac":
            got = tuple(model.model.decoder_rates)
        else:
            got = tuple(model.decoder.ratios)
        assert got == neural.ARCHITECTURES[name]["strides"], name


@pytest.mark.parametrize("arch", ["dac44", "encodec24"])
def test_random_decoder_leaves_comb(arch, tmp_path):
    meta = neural.ARCHITECTURES[arch]
    x = _music_like(44100, 2.0)
    y, sr = neural.autoencode(x, 44100, architecture=arch, weights="random", seed=0, cache_dir=tmp_path)
    assert sr == meta["sample_rate"]
    assert y.dtype == np.float32 and y.ndim == 2 and y.shape[1] == 2
    assert abs(y.shape[0] - int(2.0 * sr)) <= 2
    assert np.abs(y).max() == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    delta = meta["expected_delta_hz"]
    # n_fft 32768 at the native rate: the teeth are stationary lines, the finer resolution lifts them
    # out of the (short-clip) LTAS noise.  Teeth are measured in 5-16 kHz, as the fakeprint does.
    res = neural.comb_prominence(y, sr, delta, n_fft=32768, fmin=5000, fmax=16000)
    # teeth of the expected comb stand out from their neighbours; half-way points do not
    assert res["median"] > 3.0, res["median"]
    assert res["median_contrast"] > 2.0, res["median_contrast"]
    assert res["contrast"] > 2.0, res["contrast"]
    # the comb is at the expected spacing, not at an unrelated one
    for mult in (1.37, 0.73):
        wrong = neural.comb_prominence(y, sr, delta * mult, n_fft=32768, fmin=5000, fmax=16000)
        assert res["median_contrast"] > wrong["median_contrast"] + 2.0, (mult, res, wrong)


def test_random_is_seeded(tmp_path):
    x = _music_like(24000, 0.5)
    a, _ = neural.autoencode(x, 24000, architecture="encodec24", weights="random", seed=3, cache_dir=tmp_path)
    b, _ = neural.autoencode(x, 24000, architecture="encodec24", weights="random", seed=3, cache_dir=tmp_path)
    c, _ = neural.autoencode(x, 24000, architecture="encodec24", weights="random", seed=4, cache_dir=tmp_path)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert np.abs(a - c).max() > 1e-3
    # SNAC's decoder injects noise at inference time: still reproducible for a seed
    d, _ = neural.autoencode(x, 24000, architecture="snac24", weights="random", seed=3, cache_dir=tmp_path)
    e, _ = neural.autoencode(x, 24000, architecture="snac24", weights="random", seed=3, cache_dir=tmp_path)
    np.testing.assert_allclose(d, e, atol=1e-5)


def test_trained_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICFORENSICS_NEURAL_TRAIN_SECONDS", "3")
    monkeypatch.setenv("MUSICFORENSICS_NEURAL_TRAIN_STEPS", "2")
    x = _music_like(24000, 0.5)
    y, sr = neural.autoencode(
        x,
        24000,
        architecture="encodec24",
        weights="trained",
        seed=1,
        cache_dir=tmp_path,
        training_audio=[x[:, 0]],
    )
    assert (tmp_path / "encodec24_trained_seed1.pt").exists()
    y2, _ = neural.autoencode(
        x, 24000, architecture="encodec24", weights="trained", seed=1, cache_dir=tmp_path
    )
    np.testing.assert_allclose(y, y2, atol=1e-5)
    assert sr == 24000 and np.isfinite(y).all()
