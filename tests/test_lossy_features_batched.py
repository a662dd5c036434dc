"""The batched hole-rate STFT and the numba kernels of ``_lossy_features`` and ``_band_breaks`` give the results of
the plain whole-excerpt NumPy formulas they replaced (written out here, or the NumPy twins of the kernels in
``musicforensics.spectral.kernels.twins``), on noise and on lossy-like signals (tiles zeroed, MDCT-quantised)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from musicforensics.lossy import band_breaks as bb
from musicforensics.lossy import grid as feat_grid, holes as feat
from musicforensics.spectral.kernels import twins as ref_lossy
from tests.test_lossy import _synthetic_codec


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
    groups = []
    for lo, hi in feat.REGIONS:
        top = hi if top_hz is None else min(hi, top_hz)
        sel = np.nonzero((freqs >= lo) & (freqs < top))[0]
        ng = sel.size // feat.GROUP_BINS
        if ng == 0:
            groups.append(None)
            continue
        p = power[:, sel[: ng * feat.GROUP_BINS]].reshape(n_frames, ng, feat.GROUP_BINS).mean(axis=2)
        groups.append(10 * np.log10(p.astype(np.float64) + 1e-20))
    # a frame went quiet as a whole when the median dip of its eligible groups (all regions) exceeds 3 dB
    live = [g for g in groups if g is not None]
    every = np.concatenate(live, axis=1) if live else np.zeros((n_frames, 0))
    a, b, c = every[:-8], every[4:-4], every[8:]
    ok_all = (a > floor_db + feat.ACTIVE_MARGIN_DB) & (c > floor_db + feat.ACTIVE_MARGIN_DB)
    dips = np.sort(np.where(ok_all, np.minimum(a, c) - b, np.inf), axis=1)
    count = ok_all.sum(axis=1)
    median = dips[np.arange(dips.shape[0]), np.maximum(count - 1, 0) // 2] if every.shape[1] else np.full(count.shape, np.inf)
    local = (count > 0) & (median <= feat.BROADBAND_DIP_DB)
    for (lo, hi), g in zip(feat.REGIONS, groups):
        key = f"{lo / 1000:g}-{hi / 1000:g}k"
        if g is None:
            out[key] = {"rate": None, "eligible": 0.0}
            continue
        a, b, c = g[:-8], g[4:-4], g[8:]
        ok = (a > floor_db + feat.ACTIVE_MARGIN_DB) & (c > floor_db + feat.ACTIVE_MARGIN_DB)
        hole = ok & (np.minimum(a, c) - b > feat.HOLE_DIP_DB) & local[:, None]
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
        assert got.to_dict() == plain_hole_rates(y, sr, top_hz=top)
    assert feat.hole_rates(y, sr).rate("11-16k") > 0.05  # the holes are there and counted
    one = y[:, 0]
    assert feat.hole_rates(one, sr).to_dict() == plain_hole_rates(one, sr)


def test_mono_is_bit_identical_to_numpy(rng):
    for channels in range(1, 8):
        for dtype in (np.float64, np.float32):
            y = rng.standard_normal((1001, channels)).astype(dtype)
            want = (y if dtype == np.float64 else y.astype(np.float64)).mean(axis=1).astype(np.float32)
            np.testing.assert_array_equal(feat._mono(y), want)


def test_mdct_is_the_numpy_fold_and_dct(rng):
    """The kernel fold inside :func:`feat_grid.mdct` gives the MDCT of the NumPy fold bit for bit (any strides)."""
    x = rng.standard_normal(9000).astype(np.float32)
    for codec in ("aac", "vorbis_short"):
        win = feat_grid.MDCT_CODECS[codec]["window"]
        n2 = win.size
        view = np.lib.stride_tricks.sliding_window_view(x, n2)[::37]
        u = np.empty((view.shape[0], n2 // 2), np.float32)
        ref_lossy.fold_frames(x, np.arange(view.shape[0]) * 37, win.astype(np.float32), u)
        want = scipy.fft.dct(u, type=4, axis=-1) * (np.sqrt(2.0 / (n2 // 2)) / 2.0)
        np.testing.assert_array_equal(feat_grid.mdct(view, win), want)


def test_zero_share_equals_the_gathered_frames_formula(rng):
    """Frames folded straight from x, in chunks, give the share of the plain formula on gathered frames."""
    x = np.round(rng.standard_normal(12000) * 300) / 32768
    x = x.astype(np.float32)
    spec = feat_grid.MDCT_CODECS["vorbis_short"]
    n2, tau = spec["window"].size, feat_grid.SEARCH_TAU_SIGMAS * feat_grid.Q16_SIGMA
    starts = np.array([0, 1728, 5184])
    for offsets in (np.arange(n2 // 2), np.array([3, 286, 287, 500])):
        idx = offsets[:, None, None] + starts[None, :, None] + np.arange(n2)[None, None, :]
        want = (np.abs(feat_grid.mdct(x[idx], spec["window"])) < tau).mean(axis=(1, 2))
        np.testing.assert_array_equal(feat_grid.zero_share(x, starts, offsets, spec["window"], tau), want)


def _twin_run(monkeypatch, fn, *args, **kw):
    """``fn`` with the numba kernels swapped for their NumPy twins."""
    from musicforensics.lossy import exact, mpeg

    with monkeypatch.context() as m:
        m.setattr(feat, "_k", ref_lossy)
        m.setattr(feat_grid, "_k", ref_lossy)
        m.setattr(bb, "_k", ref_lossy)
        m.setattr(mpeg, "_k", ref_lossy)
        m.setattr(exact, "_k", ref_lossy)
        return fn(*args, **kw)


@pytest.mark.parametrize("codec,offset", [("aac", 0), ("vorbis", 704), ("aac", 300)])
def test_frame_grid_kernels_agree_with_numpy_twins_on_a_codec_signal(rng, monkeypatch, codec, offset):
    """The staged grids with the numba kernels and with their NumPy twins: the same codec, alignments and
    stages, z to within the flips of a few coefficients at the zero threshold (float32 sums in another order)."""
    y = _synthetic_codec(rng, codec, offset, frames=60)
    for signal in (y, np.stack([y, 0.5 * y], axis=1), _music_noise(rng, y.size)):
        got = feat_grid.frame_grid(signal, 44100)
        twin = _twin_run(monkeypatch, feat_grid.frame_grid, signal, 44100)
        assert (got.best, got.stages) == (twin.best, twin.stages)
        for c, score in got.scores.items():
            assert score.offset == twin.scores[c].offset
            assert score.z == pytest.approx(twin.scores[c].z, rel=0.02, abs=0.2)
    assert feat_grid.frame_grid(y, 44100).z > 8.0  # the grid is found, so the counts near tau matter


def _music_noise(rng, n):
    """16-bit pink-ish noise with a quiet start (live and silent blocks)."""
    x = np.cumsum(rng.standard_normal(n)) * 1e-3
    x -= np.convolve(x, np.ones(64) / 64, mode="same")
    x[: n // 5] *= 1e-4
    return np.round(x * 32768) / 32768


@pytest.mark.parametrize("sr, channels", [(44100, 2), (96000, 2), (48000, 1)])
def test_hole_rates_kernels_equal_numpy_twins(rng, monkeypatch, sr, channels):
    y = gated_noise(rng, sr, 3.0, channels)
    for top in (None, 13000.0):
        got = feat.hole_rates(y, sr, top_hz=top)
        assert got == _twin_run(monkeypatch, feat.hole_rates, y, sr, top_hz=top)
        assert got.to_dict() == plain_hole_rates(y, sr, top_hz=top)
    assert feat.hole_rates(y, sr).rate("11-16k") > 0.05  # holes are counted


@pytest.mark.parametrize("sr", [44100, 96000])
def test_band_breaks_kernels_in_batches_equal_the_whole_excerpt_numpy_formula(rng, monkeypatch, sr):
    """Kernels, FFT in batches of 7 frames, against the NumPy twins on one whole-excerpt FFT (the formula the
    kernels replaced), on noise and on noise with a band zeroed frame by frame in every other frame."""
    n = 1 << round(np.log2(bb.BREAK_FRAME_S * sr))
    noise = np.round(0.05 * rng.standard_normal(60 * n) * 32768) / 32768
    f = np.fft.rfftfreq(n, 1 / sr)
    frames = noise.reshape(-1, n).copy()
    for i in range(0, frames.shape[0], 2):
        X = np.fft.rfft(frames[i])
        X[(f >= 10000.0) & (f < 12000.0)] = 0
        frames[i] = np.fft.irfft(X, n)
    broken = np.round(frames.ravel() * 32768) / 32768
    for y in (noise, broken, np.stack([broken, noise], axis=1)):
        for wall in (None, 15000.0):
            monkeypatch.setattr(bb, "BREAK_BATCH_FRAMES", 7)
            got = bb.band_breaks(y, sr, wall_hz=wall)
            monkeypatch.setattr(bb, "BREAK_BATCH_FRAMES", 10 ** 6)
            assert got == _twin_run(monkeypatch, bb.band_breaks, y, sr, wall_hz=wall)
    assert bb.band_breaks(broken, sr).rate > 0.004  # two breaks in every other frame
