"""The batched hole-rate STFT and the other cheap paths of ``_lossy_features`` give bit-identical results to the
plain whole-excerpt NumPy formulas they replaced (written out here as the reference)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from musicforensics.detectors import _lossy_features as feat


def plain_hole_rates(y, sample_rate, *, top_hz=None):
    """The whole-excerpt formulation: one STFT of every frame at once, ``mean`` over channels and groups."""
    y = np.asarray(y)
    x = (y.mean(axis=1) if y.ndim == 2 else y).astype(np.float32)
    n_fft = int(2 ** round(np.log2(feat.FRAME * sample_rate / 44100.0)))
    hop = n_fft // 4
    n_frames = 1 + (x.size - n_fft) // hop
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames]
    spec = scipy.fft.rfft(frames * win, axis=-1)
    scale = np.float32((2.0 / float(win.sum())) ** 2)
    power = (spec.real ** 2 + spec.imag ** 2) * scale
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    floor_db = 10 * np.log10(6.0 * (2.0 ** -15) ** 2 / 12.0 / n_fft)
    out, best = {}, 0.0
    for lo, hi in feat.REGIONS:
        key = f"{lo / 1000:g}-{hi / 1000:g}k"
        top = hi if top_hz is None else min(hi, top_hz)
        sel = np.nonzero((freqs >= lo) & (freqs < top))[0]
        ng = sel.size // feat.GROUP_BINS
        if ng == 0:
            out[key] = {"rate": None, "eligible": 0.0}
            continue
        p = power[:, sel[: ng * feat.GROUP_BINS]].reshape(n_frames, ng, feat.GROUP_BINS).mean(axis=2)
        g = 10 * np.log10(p.astype(np.float64) + 1e-20)
        a, b, c = g[:-8], g[4:-4], g[8:]
        ok = (a > floor_db + feat.ACTIVE_MARGIN_DB) & (c > floor_db + feat.ACTIVE_MARGIN_DB)
        hole = ok & (np.minimum(a, c) - b > feat.HOLE_DIP_DB)
        share = float(ok.mean())
        rate = float(hole.sum() / ok.sum()) if ok.any() else None
        out[key] = {"rate": rate, "eligible": round(share, 4)}
        if rate is not None and share >= feat.MIN_ELIGIBLE_SHARE:
            best = max(best, rate)
    out["max_rate"] = best
    return out


def gated_noise(rng, sr, seconds, channels):
    """16-bit noise whose top octave is switched off for one frame in four (holes the test must count)."""
    n = int(sr * seconds)
    x = 0.05 * rng.standard_normal((n, channels))
    spec = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    low = np.fft.irfft(np.where((f < 12000)[:, None], spec, 0), n=n, axis=0)
    gate = np.ones((n, 1))
    frame = int(1024 * sr / 44100)
    for start in range(0, n - frame, 4 * frame):
        gate[start:start + frame] = 0
    y = low + (x - low) * gate
    return np.round(y * 32768) / 32768


@pytest.mark.parametrize("sr, channels", [(44100, 2), (96000, 2), (48000, 1), (44100, 3)])
def test_batched_hole_rates_equal_the_whole_excerpt_formula(rng, sr, channels, monkeypatch):
    # a small batch makes several batches and a ragged last one even on a short excerpt
    monkeypatch.setattr(feat, "HOLE_BATCH_FRAMES", 97)
    y = gated_noise(rng, sr, 4.0, channels)
    for top in (None, 15000.0, 4100.0):
        got = feat.hole_rates(y, sr, top_hz=top)
        assert got == plain_hole_rates(y, sr, top_hz=top)
    assert feat.hole_rates(y, sr)["11-16k"]["rate"] > 0.05  # the holes are there and counted
    one = y[:, 0]
    assert feat.hole_rates(one, sr) == plain_hole_rates(one, sr)


def test_group_mean_and_mono_are_bit_identical_to_numpy(rng):
    p = rng.exponential(size=(50, 30, 8)).astype(np.float32) * np.float32(1e-7)
    np.testing.assert_array_equal(feat._group_mean8(p), p.mean(axis=-1))
    for channels in range(1, 8):
        for dtype in (np.float64, np.float32):
            y = rng.standard_normal((1001, channels)).astype(dtype)
            want = (y if dtype == np.float64 else y.astype(np.float64)).mean(axis=1).astype(np.float32)
            np.testing.assert_array_equal(feat._mono(y), want)
            np.testing.assert_array_equal(feat._mono(y, batch=97), want)


def test_block_diff_energy_equals_numpy(rng):
    blocks = rng.standard_normal((700, 1152)).astype(np.float32)
    np.testing.assert_array_equal(feat._block_diff_energy(blocks, batch=64), np.sum(np.diff(blocks, axis=1) ** 2, axis=1))
