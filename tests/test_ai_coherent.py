"""The coherent decoder comb: fold plan, fold kernels, the exchangeable-bin z, the lattice contrast and the
template consistency, each on signals whose answer is known by construction."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from musicforensics.ai import candidates, coherent, lattice, segments
from musicforensics.ai.fold import FoldAccumulator
from musicforensics.ai.model import DecisionRule
from musicforensics.spectral.kernels import fold as kfold
from musicforensics.spectral.kernels import twins


@pytest.mark.parametrize("fs", [16000, 22050, 32000, 44100, 48000, 96000])
def test_every_candidate_tooth_falls_on_a_bin(fs):
    plan = candidates.fold_plan(fs)
    assert plan.candidates and len(plan.lengths) <= 5
    for length in plan.lengths:
        assert length >= candidates.MIN_FOLD_SECONDS * fs
    for c in plan.candidates:
        period = Fraction(c.period * fs, c.rate)  # samples per repetition at the file rate
        step = Fraction(plan.lengths[c.fold]) / period
        assert step.denominator == 1 and int(step) == c.step
        assert candidates.DELTA_MIN_HZ <= c.delta_hz <= candidates.DELTA_MAX_HZ


def test_plan_has_the_published_decoders_at_44k():
    spacings = {round(c.delta_hz, 4) for c in candidates.fold_plan(44100).candidates}
    for delta in (44100 / 2048, 44100 / 512, 32000 / 640, 24000 / 320, 44100 / 768, 44100 / 160):
        assert round(delta, 4) in spacings
    # MPEG layer III granules and frames are not decoder strides
    assert round(44100 / 576, 4) not in spacings and round(44100 / 1152, 4) not in spacings


def test_fold_kernels_agree_with_their_twins(rng):
    for n, length, start in [(1000, 64, 0), (5000, 333, 17), (100, 4096, 4000), (10, 7, 6)]:
        m = rng.standard_normal(n).astype(np.float32)
        a, b = rng.standard_normal(length), None
        b = a.copy()
        pa = kfold.fold_add(m, a, start)
        pb = twins.fold_add(m, b, start)
        assert pa == pb and np.allclose(a, b, rtol=0, atol=1e-9)
    x = rng.standard_normal((777, 3)).astype(np.float32)
    out_k, out_t = np.empty(777, np.float32), np.empty(777)
    kfold.channel_sum(x, out_k)
    twins.channel_sum(x, out_t)
    assert np.allclose(out_k, out_t, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, block", [(64, 32), (97, 32), (5000, 32), (1000, 31), (50, 3)])
def test_whitening_median_kernel_equals_numpy_median_and_interp(rng, dtype, n, block):
    power = (rng.exponential(size=n) * 3.0).astype(dtype)
    power[5:20] = 0.0  # ties and zeros, as digital silence gives
    out_k, out_t = np.empty(n), np.empty(n)
    kfold.block_median_noise(power, block, out_k)
    twins.block_median_noise(power, block, out_t)
    assert np.array_equal(out_k, out_t)


@pytest.mark.parametrize("delta_hz", [137.8125, 21.533203125, 50.0, 735.0, 3.0])
def test_lattice_sums_kernel_reads_the_same_points_as_numpy(rng, delta_hz):
    level = rng.standard_normal(60000)
    m_max = min(128, int(delta_hz / 0.5))
    skip = np.zeros(m_max + 1, dtype=bool)
    skip[:2] = True
    skip[m_max // 2] = True
    got = [np.zeros(m_max + 1), np.zeros(m_max + 1), np.zeros(m_max + 1, dtype=np.int64)]
    want = [np.zeros(m_max + 1), np.zeros(m_max + 1), np.zeros(m_max + 1, dtype=np.int64)]
    args = (level, delta_hz, 0.1, 40000, 59000, 4000.0, 5950.0, m_max, skip)
    kfold.lattice_sums(*args, *got)
    twins.lattice_sums(*args, *want)
    assert np.array_equal(got[2], want[2]) and got[2][2:].sum() > 0
    assert np.allclose(got[0], want[0], rtol=1e-12, atol=1e-9)
    assert np.allclose(got[1], want[1], rtol=1e-12, atol=1e-9)


def test_accumulator_folds_the_whole_track_across_blocks(rng):
    plan = candidates.fold_plan(8000)
    x = rng.standard_normal((100_003, 2)).astype(np.float32)
    acc = FoldAccumulator(plan, expected_frames=1000, keep=60_000)  # grows, then stops keeping
    for a in range(0, x.shape[0], 7919):
        acc(x[a:a + 7919])
    mono = x.sum(axis=1, dtype=np.float64)
    for length, folded in zip(plan.lengths, acc.folds()):
        expect = np.bincount(np.arange(mono.size) % length, weights=mono, minlength=length)
        assert np.allclose(folded, expect, atol=1e-6)
    assert acc.frames == x.shape[0] and not acc.mono_is_complete
    assert np.allclose(acc.mono(), mono[:60_000], atol=1e-5)


def _scores(y: np.ndarray, fs: int):
    plan = candidates.fold_plan(fs)
    acc = FoldAccumulator(plan, y.shape[0])
    acc(y[:, None].astype(np.float32))
    spectra = [coherent.fold_spectrum(f, fs) for f in acc.folds()]
    return plan, acc, coherent.score_candidates(spectra, plan)


def test_z_is_standard_normal_without_a_comb(rng):
    """Combs of one track share teeth (a coarse comb is a subset of a fine one), so the null is checked across
    independent tracks: one candidate's z over many noise tracks, and the largest z of every track."""
    one, largest = [], []
    for _ in range(24):
        plan, _acc, scores = _scores(0.1 * rng.standard_normal(44100 * 3), 44100)
        one.append(next(s.z for s in scores if s.candidate.rate == 44100 and s.candidate.period == 512))
        largest.append(max(s.z for s in scores))
    one = np.array(one)
    assert abs(one.mean()) < 0.6 and 0.6 < one.std() < 1.5
    assert max(largest) < 6


def _periodic(n: int, period: int, rng, level: float) -> np.ndarray:
    """A fixed random pattern repeated every ``period`` samples: the additive component of a decoder."""
    pattern = rng.standard_normal(period)
    return level * np.tile(pattern, n // period + 1)[:n]


def test_a_weak_periodic_pattern_fires_at_its_spacing(rng):
    fs, n = 44100, 44100 * 10
    y = 0.1 * rng.standard_normal(n) + _periodic(n, 512, rng, 0.005)  # 26 dB under the noise
    _plan, _acc, scores = _scores(y, fs)
    best = max(scores, key=lambda s: s.z)
    assert best.z > 8
    assert round(44100 / best.delta_hz) % 512 == 0 or 512 % round(44100 / best.delta_hz) == 0


def test_lattice_contrast_tells_a_loop_from_a_decoder(rng):
    fs, n = 44100, 44100 * 12
    period = 512
    loop = np.tile(rng.standard_normal(period * 37), n // (period * 37) + 1)[:n]  # repeats every 37 periods
    decoder = 0.1 * rng.standard_normal(n) + _periodic(n, period, rng, 0.003)
    gate = DecisionRule().contrast_min
    for y, expect_low in ((0.1 * loop, True), (decoder, False)):
        spec = lattice.full_spectrum(y.astype(np.float32), fs)
        c = lattice.lattice_contrast(spec, fs / period, 0.96 * fs / 2)
        assert c is not None
        assert (c.c_min < gate) == expect_low, c


def test_template_consistency_fixed_against_changing_pattern(rng):
    fs, n, period = 44100, 44100 * 12, 512
    c = next(c for c in candidates.fold_plan(fs).candidates if c.rate == 44100 and c.period == period)
    noise = 0.1 * rng.standard_normal(n)
    fixed = noise + _periodic(n, period, rng, 0.01)
    changing = noise.copy()
    for k in range(6):  # a new pattern in each sixth of the track
        a, b = k * n // 6, (k + 1) * n // 6
        changing[a:b] += _periodic(n, period, rng, 0.01)[a:b]
    top = coherent.band_top_hz(c, fs)
    k_fixed = segments.template_consistency(fixed.astype(np.float32), fs, c, top)
    k_changing = segments.template_consistency(changing.astype(np.float32), fs, c, top)
    assert k_fixed.kappa > 0.8 and k_changing.kappa < 0.35
    assert k_fixed.z_incoherent > 5 and k_changing.z_incoherent > 5


def test_short_fold_puts_teeth_on_bins():
    for fs in (44100, 48000, 32000):
        for c in candidates.fold_plan(fs).candidates[::7]:
            length, step = segments.short_fold(c, fs)
            assert Fraction(length * c.rate, c.period * fs) == step
            assert step >= segments.MIN_STEP_BINS and length >= segments.MIN_SHORT_FOLD


def test_screened_scan_keeps_the_fired_segments_of_a_part_and_skips_a_silent_comb(rng):
    fs = 24000
    plan = candidates.fold_plan(fs)
    decoder = next(c for c in plan.candidates if c.rate == fs and c.period == 320)  # 75 Hz
    mono = rng.standard_normal(60 * fs).astype(np.float32)
    pattern = rng.standard_normal(320).astype(np.float32)
    mono[20 * fs:40 * fs] += 0.08 * np.tile(pattern, 20 * fs // 320)  # a generated part, 20-40 s
    memo = segments.ScanMemo(mono, fs)
    top = coherent.band_top_hz(decoder, fs)
    full = segments.segment_scan(mono, fs, decoder, top)
    screened = memo.screened_scan(decoder, top)
    runs = segments.fired_runs(full)
    assert runs and segments.fired_runs(screened) == runs
    assert screened.computed is not None and not screened.computed.all()  # the quiet windows were not scanned
    first, stop = runs[0]
    assert screened.span_z(first, stop, fs, top) == full.span_z(first, stop, fs, top)
    quiet = segments.ScanMemo(rng.standard_normal(60 * fs).astype(np.float32), fs)
    assert quiet.screened_scan(decoder, top) is None  # no window of noise alone reaches half the firing z


def test_template_consistency_of_a_weak_comb_is_not_decided_by_the_loudest_block(rng):
    """A real trumpet recording with a weak fixed pattern of 2048 samples added at -60 dB under its envelope (the
    spacing of Stable Audio's decoder): in absolute units the trumpet's partials around the teeth of its loudest
    blocks outweighed the comb (kappa 0.0 when the sums were not taken in units of the local noise); per-tooth
    noise units read the fixed pattern as fixed, and a pattern that changes every sixth still as changing."""
    import soundfile as sf

    from tests.conftest import require_realworld

    path = require_realworld() / "lossy" / "librosa__sorohanro_-_solo-trumpet-06.hq.ogg"
    x, fs = sf.read(str(path), dtype="float64", always_2d=True)
    music = x.sum(axis=1)[: 20 * fs]
    n, period = music.size, 2048
    envelope = np.sqrt(np.convolve(music ** 2, np.ones(4096) / 4096, "same")) + 1e-5
    c = next(c for c in candidates.fold_plan(fs).candidates if c.rate == fs and c.period == period)
    top = coherent.band_top_hz(c, fs)
    fixed = music + 1e-3 * envelope * _periodic(n, period, rng, 1.0)
    changing = music.copy()
    for k in range(6):
        a, b = k * n // 6, (k + 1) * n // 6
        changing[a:b] += (1e-3 * envelope * _periodic(n, period, rng, 1.0))[a:b]
    k_fixed = segments.template_consistency(fixed.astype(np.float32), fs, c, top)
    k_changing = segments.template_consistency(changing.astype(np.float32), fs, c, top)
    assert k_fixed.z_incoherent > 5 and k_changing.z_incoherent > 5
    assert k_fixed.kappa > 0.5 and k_changing.kappa < 0.3, (k_fixed, k_changing)


def test_the_weak_comb_benchmark_adds_a_fixed_pattern_under_the_envelope(rng):
    """benchmarks/weak_comb.py: what it adds repeats every P samples wherever the music's level is steady, scales
    with that level, and the result stays within full scale."""
    from benchmarks.weak_comb import with_pattern

    fs, period = 44100, 2048
    level = np.where(np.arange(fs * 4) < fs * 2, 0.005, 0.1)  # peaks stay under full scale: no rescaling
    x = (level * rng.standard_normal(fs * 4))[:, None]
    added = with_pattern(x, period, -40.0, np.random.default_rng(3))[:, 0] - x[:, 0]
    quiet, loud = added[fs // 2: fs // 2 + period], added[3 * fs: 3 * fs + period]
    assert np.corrcoef(quiet, added[fs // 2 + 5 * period: fs // 2 + 6 * period])[0, 1] > 0.95
    assert 10 < np.std(loud) / np.std(quiet) < 30
    assert np.abs(with_pattern(x * 10, period, -10.0, rng)).max() <= 1.0
