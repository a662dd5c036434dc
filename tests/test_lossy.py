"""Lossy-origin detector: analytic checks of the wall and hole measures, then synthetic tracks end to end."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from musicforensics.pipeline.analysis import analyze_signal
from musicforensics.config import AnalysisConfig
from musicforensics.lossy import decision as L
from musicforensics.lossy import detector as D
from musicforensics.lossy import grid as G
from musicforensics.lossy import holes as H
from musicforensics.lossy import walls as W
from musicforensics.lossy.codecs import bitrate_class
from musicforensics.lossy.evidence import (
    BandBreaks, ExcerptSpan, FrameGrid, GridScore, HoleRates, LossyEvidence, SegmentWalls,
)
from musicforensics.spectral.wall import find_wall, quantisation_floor_db
from tests.conftest import tone_mix

SR = 44100


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _brickwall(x: np.ndarray, cutoff: float, sr: int = SR) -> np.ndarray:
    X = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(x.shape[0], 1 / sr)
    X[f > cutoff] = 0
    return np.fft.irfft(X, x.shape[0], axis=0)


def _q16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 32768) / 32768


def _music_like(rng, seconds: float, channels: int = 2) -> np.ndarray:
    """Pink-ish noise with a slow amplitude envelope (content up to Nyquist), about -20 dBFS."""
    n = int(seconds * SR)
    w = rng.standard_normal((n, channels))
    X = np.fft.rfft(w, axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    X /= np.sqrt(np.maximum(f, 50.0))[:, None] / np.sqrt(1000.0)
    y = np.fft.irfft(X, n, axis=0)
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * np.arange(n) / SR)[:, None]
    y = y * env
    return 0.1 * y / np.sqrt(np.mean(y ** 2))


def test_quantisation_floor_matches_measured_noise(rng):
    n_fft = 4096
    noise = rng.uniform(-0.5, 0.5, size=200 * n_fft) * 2.0 ** -15  # rounding error of a 16-bit grid
    frames = noise.reshape(200, n_fft) * np.hanning(n_fft + 1)[:-1]
    win_sum = np.hanning(n_fft + 1)[:-1].sum()
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2 * (2 / win_sum) ** 2
    measured = 10 * np.log10(p[:, 10:-10].mean())
    assert abs(measured - quantisation_floor_db(16, n_fft)) < 0.3
    assert quantisation_floor_db(16, 16384) == pytest.approx(-135.5, abs=0.1)


def test_find_wall_on_step_curve():
    f = np.arange(0, 22050, 2.7)
    level = np.where(f < 16000, -70.0, -135.0)
    w = find_wall(f, level, fmin=8000, fmax=21000)
    assert w is not None
    assert w.freq_hz == pytest.approx(16000, abs=60)
    assert w.drop_db == pytest.approx(65, abs=0.5)
    assert w.floor_db == pytest.approx(-135, abs=0.1)
    assert w.floor_flatness_db == pytest.approx(0, abs=1e-9)
    assert w.steepness_db_per_khz > 200


def test_find_walls_equals_find_wall_row_by_row(rng):
    """The batched search over segment rows gives, row by row, exactly what find_wall gives (walls of random
    depth and position, and rows without one)."""
    from musicforensics.spectral.wall import find_walls

    freqs = np.arange(88) * 250.0 + 125.0
    rows = np.cumsum(rng.normal(0, 3, (40, 88)), axis=1) - 60
    for r in range(0, 40, 2):
        rows[r, rng.integers(30, 88):] -= rng.uniform(10, 80)
    kw = dict(fmin=8000.0, fmax=21000.0, side_hz=1250.0, guard_hz=250.0, smooth_hz=250.0)
    batched = find_walls(freqs, rows, **kw)
    assert [w.to_dict() for w in batched] == [find_wall(freqs, row, **kw).to_dict() for row in rows]
    assert find_walls(freqs, rows[:0], **kw) == []


def test_find_walls_floor_is_the_median_of_the_level_above_the_edge(rng):
    """The vectorised floor of every row is np.median of that row's unsmoothed level from edge + guard up (exact,
    floors of odd and even length alike), its flatness np.std of the same stretch (to rounding)."""
    from musicforensics.spectral.wall import find_walls

    freqs = np.arange(89) * 250.0 + 125.0
    rows = np.cumsum(rng.normal(0, 2, (60, 89)), axis=1) - 60
    for r in range(60):
        rows[r, rng.integers(40, 85):] -= rng.uniform(20, 70)
    walls = find_walls(freqs, rows, fmin=8000.0, fmax=21000.0, side_hz=1250.0, guard_hz=250.0, smooth_hz=250.0)
    lengths = set()
    for row, w in zip(rows, walls):
        first = min(89 - 1, int(np.searchsorted(freqs, w.freq_hz)) + 1)  # guard 250 Hz = one band
        assert w.floor_db == np.median(row[first:])
        assert w.floor_flatness_db == pytest.approx(np.std(row[first:]), rel=1e-12, abs=1e-12)
        lengths.add((89 - first) % 2)
    assert lengths == {0, 1}


def test_find_wall_gradual_rolloff_is_not_steep():
    f = np.arange(0, 22050, 2.7)
    level = -70.0 - 3.0 * np.maximum(0, f - 11000) / 1000  # 3 dB/kHz analogue-like slope
    w = find_wall(f, level, fmin=8000, fmax=21000)
    assert w.steepness_db_per_khz < 10
    assert w.drop_db < 12


def test_holes_zero_for_stationary_noise_and_high_for_gated_bands(rng):
    x = 0.05 * rng.standard_normal(SR * 6)
    clean = H.hole_rates(x, SR)
    assert clean.max_rate < 0.002
    # switch a 16-19 kHz band off for one 1024-sample block in every fourth block (sfb21-like flicker)
    X = _brickwall(x[:, None], 16000)[:, 0]
    hf = x - X
    gate = np.ones_like(x)
    for start in range(0, x.size - 1024, 4096):
        gate[start:start + 1024] = 0
    flick = X + hf * gate
    got = H.hole_rates(flick, SR)
    assert got.rate("16-19.5k") > 0.05
    assert got.max_rate > 10 * clean.max_rate


def test_a_wall_over_noise_or_dither_decides_nothing_and_over_a_bare_floor_it_does():
    from musicforensics.spectral.wall import Wall

    q = quantisation_floor_db(16, 16384)
    bare = _evidence(wall=Wall(16000, 60, 300, -70, -130, q + 0.5, 1))
    dither = _evidence(wall=Wall(16000, 60, 300, -70, -130, q + 4.6, 1))
    noisy = _evidence(wall=Wall(16000, 40, 300, -70, -110, -110, 3))
    judged = {k: replace(ev, wall_judgement=W.judge_wall(ev.wall, SR, q)) for k, ev in
              (("bare", bare), ("dither", dither), ("noise", noisy))}
    assert judged["bare"].wall_judgement.kind == judged["dither"].wall_judgement.kind == "codec"
    assert judged["noise"].wall_judgement.kind == "noise floor"
    assert L.decide(judged["bare"]).via == "wall" and L.decide(judged["bare"]).detected
    for k in ("dither", "noise"):
        d = L.decide(judged[k])
        assert not d.detected and d.via == "edge of unknown origin" and d.family is None


def _lossy_verdict(y, sr=SR, **kw):
    rep = analyze_signal(y, sr, config=AnalysisConfig(detectors=("lossy",)), subtype="PCM_16", **kw)
    return rep.verdicts["lossy"]


@pytest.mark.parametrize("cutoff", [16000.0, 19000.0])
def test_brickwall_lowpass_is_lossy(rng, cutoff):
    y = _q16(_brickwall(_music_like(rng, 12.0), cutoff))
    v = _lossy_verdict(y)
    assert v.detected and not v.inconclusive
    assert v.evidence.wall.freq_hz == pytest.approx(cutoff, abs=150)
    assert v.evidence.floor_kind == "digital silence"
    assert v.evidence.codec_family is not None and v.evidence.bitrate_class


def test_gentle_rolloff_with_noise_floor_is_clean(rng):
    y = _music_like(rng, 12.0)
    n = y.shape[0]
    X = np.fft.rfft(y, axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    X /= np.sqrt(1 + (f / 12000.0) ** 4)[:, None]  # 2nd-order Butterworth magnitude
    y = np.fft.irfft(X, n, axis=0) + 10 ** (-85 / 20) * rng.standard_normal((n, 2))
    v = _lossy_verdict(_q16(y))
    assert not v.detected


def test_full_band_noise_is_clean(rng):
    v = _lossy_verdict(_q16(_music_like(rng, 12.0)))
    assert not v.detected
    assert v.probability < 0.5


def test_quiet_lowpassed_material_is_inconclusive(rng):
    # content only below 4 kHz at -60 dBFS: no high-frequency content to judge
    y = _brickwall(_music_like(rng, 8.0), 4000.0) * 10 ** (-40 / 20)
    v = _lossy_verdict(y)
    assert v.inconclusive or not v.detected


def test_spliced_lossy_segment_is_localised(rng):
    y = _music_like(rng, 24.0)
    lo, hi = 8 * SR, 16 * SR
    y[lo:hi] = _brickwall(y[lo:hi], 16000.0)
    v = _lossy_verdict(_q16(y))
    seg = v.evidence.segments
    assert v.detected
    assert seg.flagged >= 2
    assert all(8.0 - 2.0 <= s <= 16.0 for s in seg.flagged_starts_s)


def test_soxr_like_edge_above_21k_is_not_lossy(rng):
    y = _q16(_brickwall(_music_like(rng, 12.0), 21700.0))
    v = _lossy_verdict(y)
    assert not v.detected


def test_family_and_bitrate_helpers():
    assert bitrate_class("mp3", 16700) == "128 kbps / V5"
    assert bitrate_class("mp3", None) == "320 kbps / V0"
    model = L.family_model()
    assert tuple(model["features"]) == L.FAMILY_FEATURES
    assert set(model["families"]) == {"aac", "mp2", "mp3", "opus", "vorbis", L.UNKNOWN}
    assert model["training"]["split"] == "dev"
    # bitrate class: the shipped per-class wall Gaussians order MP3's classes by wall frequency
    assert max(L.bitrate_probabilities("mp3", 15.0), key=L.bitrate_probabilities("mp3", 15.0).get) == "<=96 kbps"
    top = L.bitrate_probabilities("mp3", 20.4)
    assert max(top, key=top.get) == "320 kbps / V0" and sum(top.values()) == pytest.approx(1.0)
    assert L.bitrate_probabilities("opus", 20.0) == {}


def test_family_probabilities_are_the_softmax_of_the_model():
    n = len(L.FAMILY_FEATURES)
    model = {"families": ["a", "b"], "features": list(L.FAMILY_FEATURES), "mean": [0.0] * n, "scale": [2.0] * n,
             "intercepts": [0.0, 1.0], "weights": [[1.0] + [0.0] * (n - 1), [0.0] * n]}
    x = dict(zip(L.FAMILY_FEATURES, (4.0,) + (0.0,) * (n - 1)))  # standardised first feature 2 -> logits (2, 1)
    p = L.family_probabilities(x, model)
    assert p["a"] == pytest.approx(np.exp(2) / (np.exp(2) + np.exp(1)))
    assert p["a"] + p["b"] == pytest.approx(1.0)


def test_family_features_read_the_grids_the_wall_and_opus():
    from musicforensics.spectral.wall import Wall

    grid = FrameGrid(best="aac", z=99.0, scores={"aac": GridScore(0, 0.5, 0.1, 99.0),
                                                  "vorbis": GridScore(0, 0.3, 0.1, 9.0),
                                                  "mp3": GridScore(0, 0.0, 0.0, -1.0)})
    q = -135.5
    wall = Wall(16000.0, 90.0, 300.0, -70.0, -160.0, q + 1.0, 0.1)
    ev = _evidence(wall=wall, wall_counts=True, grid=grid, wall_judgement=W.judge_wall(wall, SR, q))
    f = L.family_features(ev)
    assert f["grid_z_aac"] == pytest.approx(2.0) and f["grid_z_vorbis"] == pytest.approx(1.0)
    assert f["grid_z_mp3"] == 0.0 and f["grid_z_mp2"] == 0.0
    assert f["grid_excess_aac_minus_vorbis"] == pytest.approx(10 * (0.4 - 0.2))
    assert f["codec_wall"] == 1.0 and f["converter_edge"] == 0.0
    assert f["wall_ratio"] == pytest.approx(16000 / 22050, abs=1e-4)
    assert f["floor_re_16bit_db"] == pytest.approx(1.0) and f["opus_edge"] == 0.0
    opus = Wall(20300.0, 50.0, 70.0, -80.0, -130.0, q + 0.5, 0.1)
    ev = _evidence(wall=opus, wall_judgement=W.judge_wall(opus, SR, q))
    assert L.family_features(ev)["opus_edge"] == 1.0


def _evidence(**changes) -> LossyEvidence:
    """Measured lossy evidence of a plain full-band track, with ``changes`` applied (for decision tests)."""
    base = LossyEvidence(
        wall=None, wall_counts=False, upsampled_from_hz=None, wall_search_max_hz=21750.0, q16_floor_db=-135.5,
        floor_above_wall_re_16bit_db=None, floor_kind=None, hf_content_re_16bit_db=40.0,
        holes=HoleRates({}, 0.0), band_breaks=BandBreaks(0.0, 0, 0), grid=FrameGrid(), excerpt=ExcerptSpan(0.0, 10.0),
        sample_rate=SR, analysed_seconds=10.0, wall_judgement=W.judge_wall(None, SR, -135.5))
    return replace(base, **changes)


def _upsample(y: np.ndarray, sr_out: int, sr_in: int = SR) -> np.ndarray:
    """Ideal band-limited upsampling (zero-padded spectrum): nothing above sr_in / 2."""
    n = int(round(y.shape[0] * sr_out / sr_in))
    Y = np.fft.rfft(y, axis=0)
    up = np.zeros((n // 2 + 1, y.shape[1]), complex)
    up[: Y.shape[0]] = Y * (n / y.shape[0])
    return np.fft.irfft(up, n, axis=0)


def test_upsampled_file_resampler_edge_is_not_a_lossy_wall(rng, monkeypatch):
    """A 44.1 kHz render upsampled to 96 kHz by a resampler whose anti-imaging filter falls (raised cosine)
    from 19.6 to 22 kHz: over the empty band above, the segments see a codec-like wall near 20.5 kHz, but it
    sits above UPSAMPLED_WALL_RATIO x 22.05 kHz, so it is the resampler's."""
    y = _music_like(rng, 12.0)
    Y = np.fft.rfft(y, axis=0)
    f = np.fft.rfftfreq(y.shape[0], 1 / SR)
    taper = np.clip(0.5 + 0.5 * np.cos(np.pi * (f - 19600.0) / 2400.0), 0.0, 1.0)
    y96 = _upsample(np.fft.irfft(Y * np.where(f <= 19600.0, 1.0, taper)[:, None], y.shape[0], axis=0), 96000)
    cfg = AnalysisConfig(detectors=("lossy", "hires"))
    rep = analyze_signal(y96, 96000, config=cfg, subtype="PCM_24")
    v = rep.verdicts["lossy"]
    assert rep.verdicts["upsampled"].detected
    assert v.evidence.upsampled_from_hz == 44100
    assert v.evidence.wall_search_max_hz == pytest.approx(D.UPSAMPLED_WALL_RATIO * 22050, abs=1)
    assert not v.detected
    # a codec-like 16 kHz low-pass before the upsampling is still found
    rep = analyze_signal(_upsample(_brickwall(y, 16000.0), 96000), 96000, config=cfg, subtype="PCM_24")
    assert rep.verdicts["lossy"].detected


# -- codec frame grid --------------------------------------------------------------------------------------


def _mdct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    t = np.arange(2 * n)[None, :]
    return np.sqrt(2.0 / n) * np.cos(np.pi / n * (t + 0.5 + n / 2) * (k + 0.5))


def test_mdct_matches_direct_formula(rng):
    for codec in ("aac", "vorbis", "vorbis_short"):
        win = G.MDCT_CODECS[codec]["window"]
        n = win.size // 2
        x = rng.standard_normal((3, 2 * n))
        direct = (x * win) @ _mdct_matrix(n).T
        np.testing.assert_allclose(G.mdct(x, win), direct, atol=1e-9)
        # Princen-Bradley: the windows give perfect reconstruction (w[t]^2 + w[t + n]^2 = 1)
        np.testing.assert_allclose(win[:n] ** 2 + win[n:] ** 2, 1.0, atol=1e-12)


def _synthetic_codec(rng, codec: str, offset: int, frames: int = 120) -> np.ndarray:
    """Overlap-added inverse MDCT of sparse coefficients (dense below ~6 kHz, 85 % zeros up to ~19 kHz,
    none above), first frame starting at ``offset`` - 2n, rounded to 16 bits: what a decoder outputs."""
    win = G.MDCT_CODECS[codec]["window"]
    n = win.size // 2
    m = _mdct_matrix(n)
    X = rng.standard_normal((frames, n)) * 0.02 / np.sqrt(1 + np.arange(n) / 40.0)
    hi = np.arange(n) >= int(n * 6000 / 22050)
    X[:, hi] *= rng.random((frames, int(hi.sum()))) < 0.15
    X[:, int(n * 19000 / 22050):] = 0.0
    y = np.zeros((frames + 1) * n)
    blocks = (X @ m) * win
    for i in range(frames):
        y[i * n:i * n + 2 * n] += blocks[i]
    y = y[n:-n]  # drop the half-reconstructed ends: sample 0 is a frame start of the grid
    y = np.concatenate([np.zeros(offset), y])
    return _q16(y)


@pytest.mark.parametrize("codec,offset", [("aac", 0), ("aac", 300), ("vorbis", 704)])
def test_frame_grid_finds_codec_and_offset(rng, codec, offset):
    y = _synthetic_codec(rng, codec, offset)
    g = G.frame_grid(y, SR)
    assert g.best == codec
    assert g.z >= G.Z_DECIDES
    assert g.scores[codec].offset == offset % (G.MDCT_CODECS[codec]["step"] or 1024)  # Vorbis: mod 128
    assert g.scores[codec].share > g.scores[codec].null + 0.2


def test_frame_grid_has_no_preferred_offset_in_genuine_audio(rng):
    for y in (_q16(_music_like(rng, 8.0)), _q16(_brickwall(_music_like(rng, 8.0), 16000.0)),
              _q16(_music_like(rng, 8.0, channels=1)[:, 0] * 0.01)):
        g = G.frame_grid(y, SR)
        assert g.z < G.Z_DECIDES, g


def test_frame_grid_silence_and_short_input():
    assert G.frame_grid(np.zeros((SR * 4, 2)), SR).z == 0.0
    assert G.frame_grid(np.zeros(3000), SR).z == 0.0


def test_decide_uses_grid_without_wall():
    z = G.Z_DECIDES
    ev = _evidence(grid=FrameGrid(best="aac", z=2 * z, scores={"aac": GridScore(0, 0.5, 0.1, 2 * z)}))
    d = L.decide(ev)
    assert d.detected and d.via == "grid" and d.family == "aac"
    assert "aac frame grid" in d.reason
    d = L.decide(replace(ev, grid=FrameGrid(best="aac", z=0.5 * z, scores={"aac": GridScore(0, 0.5, 0.4, 0.5 * z)})))
    assert not d.detected and d.state == "clean" and d.family is None


def test_short_clips_without_a_grid_are_inconclusive_and_say_how_long_is_needed():
    ev = _evidence(analysed_seconds=1.2)
    d = L.decide(ev)
    assert d.state == "inconclusive" and d.p is None
    assert "1.2 s" in d.reason and f"{L.MIN_SECONDS:g} s" in d.reason
    z = L.SHORT_GRID_Z
    grid = FrameGrid(best="mp3", z=z, scores={"mp3": GridScore(3, 0.3, 0.02, z)})
    assert L.decide(replace(ev, grid=grid)).detected  # an overwhelming grid decides on a short clip
    weak = 0.5 * (G.Z_DECIDES + L.SHORT_GRID_Z)  # enough on a long clip, not on a short one
    grid = FrameGrid(best="aac", z=weak, scores={"aac": GridScore(3, 0.1, 0.06, weak)})
    d = L.decide(replace(ev, grid=grid))
    assert d.state == "inconclusive" and "aac frame grid" in d.reason and f"{L.MIN_SECONDS:g} s" in d.reason
    assert L.decide(replace(ev, grid=grid, analysed_seconds=L.MIN_SECONDS)).detected


# -- real encoders -------------------------------------------------------------------------------------------


def _run(*cmd):
    import subprocess

    subprocess.run(cmd, check=True, capture_output=True)


def _wav(path, y, sr=SR):
    import soundfile as sf

    sf.write(path, y, sr, subtype="PCM_16")


@pytest.mark.slow
def test_real_aac_256k_without_wall_is_detected_as_aac(tmp_path, rng):
    from musicforensics.pipeline.analysis import analyze_file
    from tests.conftest import require_tool

    require_tool("ffmpeg")
    src = tmp_path / "src.wav"
    _wav(src, _q16(_music_like(rng, 10.0)))
    ff = ("ffmpeg", "-nostdin", "-loglevel", "error", "-y")
    _run(*ff, "-i", str(src), "-c:a", "aac", "-b:a", "256k", str(tmp_path / "a.m4a"))
    _run(*ff, "-i", str(tmp_path / "a.m4a"), "-c:a", "flac", "-sample_fmt", "s16", str(tmp_path / "a.flac"))
    cfg = AnalysisConfig(detectors=("lossy",))
    v = analyze_file(tmp_path / "a.flac", config=cfg).verdicts["lossy"]
    assert v.detected
    assert v.evidence.grid.best == "aac" and v.evidence.grid.z >= G.Z_DECIDES
    assert v.evidence.codec_family.estimate == "aac"
    g = analyze_file(src, config=cfg).verdicts["lossy"]
    assert not g.detected
    assert g.evidence.grid.z < G.Z_DECIDES


@pytest.mark.slow
def test_lame_container_rule_flags_only_an_earlier_generation(tmp_path, rng):
    from musicforensics.pipeline.analysis import analyze_file
    from tests.conftest import require_tool

    require_tool("lame")
    src = tmp_path / "src.wav"
    _wav(src, _q16(_music_like(rng, 12.0)))
    lame = ("lame", "--quiet", "--noreplaygain")
    _run(*lame, "--cbr", "-b", "128", str(src), str(tmp_path / "g1.mp3"))
    _run(*lame, "--decode", str(tmp_path / "g1.mp3"), str(tmp_path / "g1.wav"))
    _run(*lame, "--cbr", "-b", "320", str(tmp_path / "g1.wav"), str(tmp_path / "g2.mp3"))
    _run(*lame, "--cbr", "-b", "320", str(src), str(tmp_path / "direct.mp3"))
    cfg = AnalysisConfig(detectors=("lossy",))
    re = analyze_file(tmp_path / "g2.mp3", config=cfg).verdicts["lossy"]
    assert re.evidence.container.codec == "mp3"
    assert re.detected, re.reason
    assert re.evidence.earlier_generation.wall_hz < 18000
    direct = analyze_file(tmp_path / "direct.mp3", config=cfg).verdicts["lossy"]
    assert direct.evidence.container.codec == "mp3"
    assert not direct.detected, direct.reason


def test_a_low_rate_file_is_inconclusive_with_a_reason_in_words():
    """At 8 kHz no codec low-pass was measured: say so, not '-inf dB'."""
    from musicforensics.pipeline.analysis import analyze_signal

    y = tone_mix(8000, 5.0, freqs=(440.0, 1200.0), noise_db=-40)
    f = analyze_signal(y, 8000, subtype="PCM_16").verdicts["lossy"]
    assert f.inconclusive
    assert "8000 Hz" in f.reason and "Nyquist" in f.reason and "inf" not in f.reason


@pytest.mark.slow
def test_an_mp3_encoded_at_32k_and_resampled_up_is_found_by_its_grid_at_32k_and_a_round_trip_is_not(tmp_path, rng):
    from musicforensics.pipeline.analysis import analyze_file
    from tests.conftest import require_tool

    require_tool("lame")
    require_tool("sox")
    src = tmp_path / "src.wav"
    _wav(src, _q16(_music_like(rng, 12.0)))
    sox = ("sox", "-D")  # no dither: a bare 16-bit floor above the edge, as a plain decode gives
    # LAME V7 encodes 44.1 kHz input at 32 kHz; the decode is resampled back up to 44.1 kHz
    _run("lame", "--quiet", "--noreplaygain", "-V", "7", str(src), str(tmp_path / "v7.mp3"))
    _run("lame", "--quiet", "--decode", str(tmp_path / "v7.mp3"), str(tmp_path / "v7_32k.wav"))
    _run(*sox, str(tmp_path / "v7_32k.wav"), "-b", "16", str(tmp_path / "v7.flac"), "rate", "-v", "44100")
    # a genuine round trip through 32 kHz leaves an edge in the same place
    _run(*sox, str(src), "-b", "16", str(tmp_path / "down.wav"), "rate", "-v", "32000")
    _run(*sox, str(tmp_path / "down.wav"), "-b", "16", str(tmp_path / "trip.flac"), "rate", "-v", "44100")
    cfg = AnalysisConfig(detectors=("lossy",))
    v7 = analyze_file(tmp_path / "v7.flac", config=cfg).verdicts["lossy"]
    assert v7.detected, v7.reason
    assert v7.evidence.grid.best == "mp3" and v7.evidence.grid.read_at_hz == 32000, v7.reason
    trip = analyze_file(tmp_path / "trip.flac", config=cfg).verdicts["lossy"]
    assert not trip.detected, trip.reason
    assert trip.evidence.grid.read_at_hz is None


def test_a_codec_like_edge_of_a_lower_rate_without_its_grid_there_is_judged_a_resampler():
    from musicforensics.lossy.walls import codec_rates_below, judge_wall, resampler_through
    from musicforensics.spectral.wall_record import Wall

    # a soxr round trip through 32 kHz of a real recording: 15.38 kHz, steep, over a bare floor (LAME 96 / V7
    # put their low-pass there too, which is why the wall alone reads as a codec's)
    wall = Wall(freq_hz=15380.0, drop_db=39.0, steepness_db_per_khz=66.0, below_db=-60.0, above_db=-99.0,
                floor_db=-98.0, floor_flatness_db=0.5)
    judged = judge_wall(wall, 44100, -101.3)
    assert judged.kind == "codec"
    assert codec_rates_below(wall.freq_hz, 44100) == [32000]
    after = resampler_through(judged, wall, [32000])
    assert after.kind == "converter" and after.converter_rate_hz == 32000 and "through 32 kHz" in after.text
    # an edge below the resampler band of 32 kHz (a codec's own low-pass there) keeps its judgement
    low = Wall(freq_hz=14000.0, drop_db=39.0, steepness_db_per_khz=66.0, below_db=-60.0, above_db=-99.0,
               floor_db=-98.0, floor_flatness_db=0.5)
    low_judged = judge_wall(low, 44100, -101.3)
    assert resampler_through(low_judged, low, codec_rates_below(low.freq_hz, 44100)) == low_judged


def test_the_lower_rate_search_stops_at_the_short_mp3_screen_when_it_finds_no_grid(rng, monkeypatch):
    """A signal that never met a codec, sent through 32 kHz: the short MP3 search at 32 kHz stays under the
    ambiguous z, so no codec's staged search runs there."""
    from scipy.signal import resample_poly

    from musicforensics.lossy import grid

    y = _music_like(rng, 12.0)
    trip = _q16(resample_poly(resample_poly(y, 320, 441, axis=0), 441, 320, axis=0))
    calls = []
    monkeypatch.setattr(grid, "frame_grid", lambda *a, **k: calls.append(k) or grid.FrameGrid())
    assert grid.grid_at_lower_rate(trip.astype(np.float32), 44100, [32000]) is None
    assert calls == []


def test_a_grid_share_read_on_few_live_coefficients_cannot_give_a_large_z():
    """The file's other alignments, read on the same frames, can agree more closely than a share of a few thousand
    coefficients is known: the binomial standard error floors the spread (lossy/exact.py)."""
    from musicforensics.lossy.exact import best_live, robust_z

    null = 0.06 + 0.001 * np.array([-2, -1, -1, 0, 0, 0, 1, 1, 2, 3])
    med, loose = robust_z(0.09, null)
    assert med == pytest.approx(0.06) and loose > 8.0  # without the counts: a decisive-looking z
    _med, sparse = robust_z(0.09, null, live=2400)  # a decaying bell's dozen frames
    assert sparse == pytest.approx(0.03 / np.sqrt(0.06 * 0.94 / 2400)) and sparse < 8.0
    _med, dense = robust_z(0.09, null, live=500_000)  # a song: the robust spread of the null decides
    assert dense == pytest.approx(loose)
    # the live count of the channel set whose share was kept, per alignment
    totals = np.array([[[100, 10], [100, 50]], [[400, 80], [10, 1]]])  # (sets, alignments, (live, zeros))
    assert best_live(totals).tolist() == [400, 100]


@pytest.mark.slow
def test_an_ambiguous_aac_grid_on_a_short_recording_reads_every_frame(tmp_path):
    """pedalboard's 15 s guitar through FFmpeg's AAC at 128 kbit/s (the corpus's own transcode): on its 12 loudest
    steady frames the AAC grid is ambiguous (z 5.3); the extended scoring reads every live frame and names AAC
    (z 6.9: with 24 or 48 null offsets instead of 12 it reads 5-8, so the grid alone does not decide), and the
    detector calls the file lossy from its quiet codec wall (16.6 kHz, down to the floor)."""
    import soundfile as sf

    from benchmarks.corpus.codecs import LossySetting, transcode
    from tests.conftest import require_realworld, require_tool

    require_tool("ffmpeg")
    decoded = tmp_path / "g.flac"
    transcode(require_realworld() / "genuine" / "pedalboard__guitar_1.flac", decoded,
              (LossySetting("aac", "128k", "aac"),), sample_rate=44100)
    y, sr = sf.read(str(decoded), dtype="float32", always_2d=True)
    found = G.frame_grid(y, sr)
    assert "aac extended" in found.stages and found.best == "aac" and found.z >= G.AMBIGUOUS_Z, found
    from musicforensics import AnalysisConfig, analyze_file

    verdict = analyze_file(decoded, config=AnalysisConfig(detectors=("lossy",))).verdicts["lossy"]
    assert verdict.detected, verdict.reason


def test_an_upsamplers_image_band_is_told_from_a_codec_low_pass(rng):
    """A 22.05 kHz source upsampled by a resampler that lets images through: the band from 11.025 kHz to the edge
    is the band below it, reversed (lossy/walls.py upsampler_images); a codec's low-pass band is not."""
    from musicforensics.lossy.evidence import WallJudgement
    from musicforensics.spectral.wall import Wall

    freqs = np.arange(0, 22050.0, 44100 / 16384)
    music = -40.0 - freqs / 1000.0 + 6.0 * rng.standard_normal(freqs.size)  # fine structure of the music
    imaged = np.where(freqs <= 12570.0, music, -130.0)
    above = (freqs > 11025.0) & (freqs <= 12570.0)
    imaged[above] = np.interp(2 * 11025.0 - freqs[above], freqs, music) - 0.01 * (freqs[above] - 11025.0)
    codec = np.where(freqs <= 12570.0, music, -130.0)  # the music itself goes on to the low-pass
    wall = Wall(12570.0, 60.0, 40.0, -55.0, -130.0, -130.0, 1.0)
    judged = WallJudgement(kind="codec", ratio_to_nyquist=0.57, text="edge at 12.57 kHz")
    assert W.mirror_correlation(freqs, imaged, 11025.0, 12570.0) >= W.IMAGE_MIRROR_MIN
    assert abs(W.mirror_correlation(freqs, codec, 11025.0, 12570.0)) < 0.3
    images = W.upsampler_images(judged, wall, freqs, imaged, 44100)
    assert images.kind == "converter" and images.converter_rate_hz == 22050 and "mirrors" in images.text
    assert W.upsampler_images(judged, wall, freqs, codec, 44100) == judged
    # an edge beyond IMAGE_BAND_MAX of every lower Nyquist is not looked at
    far = Wall(14000.0, 60.0, 40.0, -55.0, -130.0, -130.0, 1.0)
    assert W.upsampler_images(judged, far, freqs, imaged, 44100) == judged


def test_a_steep_edge_of_quiet_content_down_to_a_bare_floor_is_a_codec_low_pass():
    """Quiet music leaves a codec's wall no room to drop 28 dB: measured on LAME 128 kbps of a quiet guitar
    (pedalboard's, -37 dBFS RMS) at 16.61 kHz, 55 dB/kHz, 14 dB down to the bare floor. The same drop from a
    gentle roll-off, a drop that stops above the floor, a dithered floor or a frequency no codec uses is not."""
    from musicforensics.lossy.walls import judge_wall
    from musicforensics.spectral.wall_record import Wall

    q = -135.46
    quiet = Wall(freq_hz=16613.0, drop_db=13.8, steepness_db_per_khz=54.5, below_db=-121.3, above_db=-135.1,
                 floor_db=-135.1, floor_flatness_db=0.3)
    judged = judge_wall(quiet, 44100, q)
    assert judged.kind == "codec" and "down to the floor" in judged.text
    assert judge_wall(replace(quiet, steepness_db_per_khz=33.0), 44100, q).kind == "shallow"
    assert judge_wall(replace(quiet, below_db=-110.0), 44100, q).kind == "shallow"  # stops 11 dB above the floor
    dithered = replace(quiet, below_db=-116.8, above_db=-130.6, floor_db=-130.6)  # TPDF: +4.8 dB over rounding
    assert judge_wall(dithered, 44100, q).kind == "shallow"
    assert judge_wall(replace(quiet, freq_hz=9000.0), 44100, q).kind == "shallow"  # no codec setting there
