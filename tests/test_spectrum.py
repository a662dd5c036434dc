"""The streamed long-term spectrum: analytic levels, block-size invariance, time localisation."""

from __future__ import annotations

import numpy as np
import pytest

from musicforensics.config import AnalysisConfig
from musicforensics.spectral.hull import lower_hull
from musicforensics.spectral.framing import aligned_block_frames, blocks_from_array
from musicforensics.spectral.summary import summarize_blocks


def summarize(y, sr, cfg, grid_bits=24):
    y = np.atleast_2d(y.T).T if y.ndim == 1 else y
    block = aligned_block_frames(cfg.block_frames, cfg.n_fft, cfg.hop)
    overlap = cfg.n_fft - cfg.hop
    return summarize_blocks(
        blocks_from_array(y, block_frames=block, overlap=overlap), sample_rate=sr, channels=y.shape[1],
        total_frames=y.shape[0], config=cfg, grid_bits=grid_bits, overlap=overlap,
    )


def test_full_scale_sine_on_a_bin_reads_zero_db():
    sr, n_fft = 48000, 4096
    f = 100 * sr / n_fft  # exactly bin 100
    t = np.arange(sr * 2) / sr
    y = np.sin(2 * np.pi * f * t)[:, None]
    spec, stats = summarize(y, sr, AnalysisConfig(n_fft=n_fft, hop=n_fft // 2, block_frames=3 * n_fft))
    assert int(np.argmax(spec.mean_db)) == 100
    assert spec.mean_db[100] == pytest.approx(0.0, abs=0.01)
    assert stats.peak == pytest.approx(1.0, abs=1e-6)
    assert stats.rms == pytest.approx(1 / np.sqrt(2), rel=1e-3)


@pytest.mark.parametrize("block_frames", [4096, 5000, 12288, 1 << 16])
def test_results_do_not_depend_on_block_size(rng, block_frames):
    sr = 22050
    y = rng.standard_normal((sr * 3 + 123, 2)) * 0.1
    base = AnalysisConfig(n_fft=1024, hop=512, block_frames=1 << 18, segment_seconds=0.5)
    a, sa = summarize(y, sr, base)
    b, sb = summarize(y, sr, base.with_(block_frames=block_frames))
    assert a.n_frames == b.n_frames == 1 + (y.shape[0] - 1024) // 512
    np.testing.assert_allclose(a.mean_db, b.mean_db, rtol=1e-12)
    np.testing.assert_allclose(a.band_db, b.band_db, rtol=1e-12)
    assert sa.rms == pytest.approx(sb.rms, rel=1e-12)
    assert sa.samples == sb.samples == y.size


def test_silent_frames_are_excluded_from_the_mean(rng):
    sr = 16000
    noise = rng.standard_normal((sr * 2, 1)) * 0.1
    y = np.concatenate([np.zeros((sr * 2, 1)), noise])
    cfg = AnalysisConfig(n_fft=1024, hop=512, block_frames=8192)
    with_silence, _ = summarize(y, sr, cfg)
    only_noise, _ = summarize(noise, sr, cfg)
    assert with_silence.n_active_frames < with_silence.n_frames
    assert abs(np.median(with_silence.mean_db - only_noise.mean_db)) < 0.5


def test_band_energy_localises_a_tone_in_time():
    sr = 16000
    t = np.arange(sr * 4) / sr
    y = 0.01 * np.sin(2 * np.pi * 300 * t)
    y[sr * 2:] += 0.5 * np.sin(2 * np.pi * 5100 * t[sr * 2:])  # 5.1 kHz only in the second half
    cfg = AnalysisConfig(n_fft=1024, hop=512, block_frames=4096, band_hz=250.0, segment_seconds=1.0)
    spec, _ = summarize(y, sr, cfg)
    band = int(5100 // 250)
    level = spec.band_db[:, band]
    assert level[3] - level[0] > 60


def test_short_signal_is_zero_padded_into_one_frame():
    sr = 8000
    y = np.sin(2 * np.pi * 1000 * np.arange(300) / sr)[:, None]
    spec, stats = summarize(y, sr, AnalysisConfig(n_fft=1024, hop=512, block_frames=4096))
    assert spec.n_frames == 1
    assert abs(spec.freqs[np.argmax(spec.mean_db)] - 1000) < 2 * sr / 1024
    assert stats.samples == 300


def test_effective_bits_of_16_bit_content_in_24_bit_grid(rng):
    y = np.round(rng.uniform(-0.5, 0.5, (5000, 2)) * 32768) / 32768
    _, stats = summarize(y, 44100, AnalysisConfig(n_fft=1024, hop=512, block_frames=4096), grid_bits=24)
    assert stats.effective_bits == 16
    assert stats.off_grid_samples == 0


def test_lower_hull_follows_the_floor_under_peaks():
    x = np.zeros(200)
    x[::20] = 4.0  # teeth on a flat floor
    hull = lower_hull(x, width=10)
    np.testing.assert_allclose(hull, 0.0, atol=1e-9)
    assert np.all(lower_hull(x - 100, width=10, floor=-45) == -45)


def test_lower_hull_matches_the_fakeprint_hull():
    """One hull serves the fakeprint and the comb view: anchors at each window's first minimum, quadratic joins."""
    from musicforensics.ai.fakeprint import hull_residual

    x = np.sin(np.arange(300) * 0.37) * 3 + np.linspace(-80, -60, 300)
    res = hull_residual(x, floor=-1e9)
    direct = np.clip(x - lower_hull(x, width=10), 0, 5)
    np.testing.assert_allclose(res, direct / direct.max())


def test_kept_excerpt_is_the_exact_middle_of_the_signal(rng):
    from musicforensics.spectral.framing import excerpt_span

    sr = 8000
    y = np.round(rng.uniform(-0.5, 0.5, (sr * 50, 2)) * 32768) / 32768  # 16-bit samples: float32 is exact
    cfg = AnalysisConfig(n_fft=1024, hop=512, block_frames=4096, excerpt_seconds=30.0)
    keep = []
    block = aligned_block_frames(cfg.block_frames, cfg.n_fft, cfg.hop)
    summarize_blocks(blocks_from_array(y, block_frames=block, overlap=512), sample_rate=sr, channels=2,
                     total_frames=y.shape[0], config=cfg, grid_bits=16, overlap=512, keep=keep)
    first, kept = keep[0]
    a, b = excerpt_span(y.shape[0], sr, 30.0)
    assert (first, kept.shape[0]) == (a, b - a) == (sr * 9, sr * 32)
    np.testing.assert_array_equal(kept.astype(np.float64), y[a:b])


def test_memory_excerpt_matches_file_excerpt(write_audio, rng):
    from musicforensics import analyze_file
    from musicforensics.detector import TrackContext

    seen = {}
    y = np.round(rng.uniform(-0.5, 0.5, (8000 * 40, 2)) * 32768) / 32768
    path = write_audio("x.flac", y, 8000)

    import musicforensics.pipeline.analysis as analysis

    original = analysis._run_detectors

    def spy(ctx: TrackContext, detectors, report):
        seen["memory"] = ctx.excerpt(5.0, 30.0)
        seen["file"] = ctx.excerpt(0.0, 2.0)
        return original(ctx, detectors, report)

    analysis._run_detectors = spy
    try:
        analyze_file(path)
    finally:
        analysis._run_detectors = original
    np.testing.assert_array_equal(seen["memory"], y[8000 * 5: 8000 * 35])
    np.testing.assert_array_equal(seen["file"], y[: 8000 * 2])
    # both float32 (exact for 16-bit samples); the kept excerpt is served as a read-only view
    assert seen["memory"].dtype == np.float32 and seen["file"].dtype == np.float32
    assert not seen["memory"].flags.writeable


def test_single_precision_fft_matches_double_precision_down_to_the_16_bit_floor(rng):
    """The float32 FFT of the pass agrees with a float64 STFT wherever the level is above -150 dB."""
    sr = 44100
    y = np.round(rng.standard_normal((sr * 3, 1)) * 0.05 * 32768) / 32768  # 16-bit noise, floor ~ -135 dB/bin
    cfg = AnalysisConfig()
    spec, _ = summarize(y, sr, cfg)
    w = np.hanning(cfg.n_fft + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(y[:, 0], cfg.n_fft)[:: cfg.hop]
    p = np.abs(np.fft.rfft(frames * w, axis=-1)) ** 2 * (2 / w.sum()) ** 2
    ref = (10 * np.log10(p + 1e-14)).mean(axis=0)
    np.testing.assert_allclose(spec.mean_db, ref, atol=1e-3)


def _stft_mean_db(y, cfg, dtype):
    """Per-frame mean of dB over frames and channels, every log taken separately; ``dtype`` float32 rounds the
    samples and the window product as the pass does, float64 is the exact reference."""
    import scipy.fft

    w = np.hanning(cfg.n_fft + 1)[:-1]
    out = []
    for ch in range(y.shape[1]):
        frames = np.lib.stride_tricks.sliding_window_view(y[:, ch], cfg.n_fft)[:: cfg.hop]
        x = scipy.fft.rfft(frames.astype(dtype) * w.astype(dtype), axis=-1)
        p = (x.real.astype(np.float64) ** 2 + x.imag.astype(np.float64) ** 2) * (2 / w.sum()) ** 2
        out.append(10 * np.log10(p + 1e-14))
    return np.concatenate(out).mean(axis=0)


@pytest.mark.parametrize("gain", [1e-3, 0.5, 3e6])
def test_mean_db_of_the_log_product_agrees_with_per_frame_logs(rng, gain):
    """The pass takes one log per LOG_PRODUCT_FRAMES frames (a log of products); its mean dB equals the per-frame
    mean of logs of the same single-precision STFT to 1e-6 dB in every bin, and of a float64 STFT to 1e-3 dB
    down to 80 dB under the signal, including a float signal far above full scale (gain 3e6 >
    LOG_PRODUCT_MAX_AMPLITUDE: one log per frame) and bins at the 1e-14 floor (above a steep low-pass)."""
    from scipy.signal import butter, sosfilt

    sr = 44100
    cfg = AnalysisConfig(n_fft=4096, hop=2048, block_frames=4096 + 40 * 2048)
    y = rng.standard_normal((sr * 6, 2))
    y = sosfilt(butter(12, 9000, fs=sr, output="sos"), y, axis=0) * gain
    spec, _ = summarize(y, sr, cfg)
    np.testing.assert_allclose(spec.mean_db, _stft_mean_db(y, cfg, np.float32), atol=1e-6, rtol=0)
    exact = _stft_mean_db(y, cfg, np.float64)
    loud = exact > 20 * np.log10(gain) - 80
    np.testing.assert_allclose(spec.mean_db[loud], exact[loud], atol=1e-3)
    if gain < 1:
        assert spec.mean_db[-10:].max() < -139  # far above the cut-off: the floor


@pytest.mark.parametrize("where", ["none", "first_chunk", "middle", "last_tail", "overlap_only_once"])
@pytest.mark.parametrize("hop", [512, 384])  # 384: n_fft not a multiple of hop (no shared per-hop peaks)
def test_sample_stats_from_shared_hop_peaks_match_the_exact_kernel(rng, where, hop):
    """The stats peak taken from the per-hop frame peaks (fresh chunks plus the uncovered tail of the last
    block) equals the exact one-pass kernel over the whole signal, NaN and Inf placement included."""
    from musicforensics.spectral.kernels.spectral import sample_stats

    sr = 8000
    y = (rng.standard_normal((3 * 4096 + 777, 2)) * 0.1).astype(np.float32)
    y[5000, 1] = 0.9  # the loudest sample, in the middle
    pos = {"first_chunk": 3, "middle": 7000, "last_tail": y.shape[0] - 5, "overlap_only_once": 4096 - 100}
    if where in pos:
        y[pos[where], 0] = np.nan
        y[pos[where] + 1, 1] = -np.inf
    cfg = AnalysisConfig(n_fft=1024, hop=hop, block_frames=4096, min_duration_s=0.01)
    _, stats = summarize(y, sr, cfg)
    ref = np.zeros(6)
    or_bits = np.zeros(1, dtype=np.int64)
    sample_stats(y, 2.0 ** 23, ref, or_bits, np.zeros(2))
    assert stats.peak == ref[0]
    assert stats.nonfinite_samples == int(ref[4]) == (0 if where == "none" else 2)
    assert stats.samples == int(ref[2])
    assert stats.rms == pytest.approx(np.sqrt(ref[1] / ref[2]), rel=1e-12)
