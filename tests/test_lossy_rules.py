"""Walls judged against the file's rate, the rate-aware codec tables, and the rules of the lossy decision on
synthetic signals (converter edges, gentle roll-offs into a dither floor, codec walls, Opus's band edge), then with
the real resamplers and LAME."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from musicforensics.config import AnalysisConfig
from musicforensics.lossy import codecs as C
from musicforensics.lossy import walls as W
from musicforensics.pipeline.analysis import analyze_file, analyze_signal
from musicforensics.spectral.wall import Wall, quantisation_floor_db
from tests.conftest import require_tool

SR = 44100
Q16 = quantisation_floor_db(16, 16384)
LOSSY = AnalysisConfig(detectors=("lossy",))


def _music_like(rng, seconds: float, sr: int = SR) -> np.ndarray:
    n = int(seconds * sr)
    spec = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    spec /= np.sqrt(np.maximum(f, 50.0))[:, None] / np.sqrt(1000.0)
    y = np.fft.irfft(spec, n, axis=0)
    return 0.1 * y / np.sqrt(np.mean(y ** 2))


def _brickwall(y: np.ndarray, cutoff: float, sr: int = SR) -> np.ndarray:
    spec = np.fft.rfft(y, axis=0)
    spec[np.fft.rfftfreq(y.shape[0], 1 / sr) > cutoff] = 0
    return np.fft.irfft(spec, y.shape[0], axis=0)


def _tpdf16(y: np.ndarray, rng) -> np.ndarray:
    x = y * 32768 + rng.uniform(-0.5, 0.5, y.shape) + rng.uniform(-0.5, 0.5, y.shape)
    return np.round(x) / 32768


def _lossy(y: np.ndarray, sr: int = SR):
    return analyze_signal(y, sr, config=LOSSY, subtype="PCM_16").verdicts["lossy"]


@pytest.mark.parametrize("freq, rate, expected", [
    (10700.0, 22050, 22050),   # a 22.05 kHz file's resampler edge (0.97 of Nyquist)
    (10730.0, 44100, 22050),   # 44.1 -> 22.05 -> 44.1 kHz: the round trip keeps the 22.05 kHz edge
    (10600.0, 44100, 22050),   # ... with FFmpeg's soxr (0.961 of 11.025 kHz), below LAME 64 kbps's 11.0 kHz
    (15380.0, 44100, None),    # through 32 kHz with FFmpeg's soxr: where LAME 96 kbps / V7 cut too (ambiguous)
    (15700.0, 44100, 32000),   # ... through 32 kHz
    (21600.0, 48000, 44100),   # a 48 kHz file up-sampled from 44.1 kHz
    (20700.0, 44100, 44100),   # 0.94 of its own Nyquist
    (15150.0, 44100, None),    # LAME 96 kbps (resampled to 32 kHz inside LAME): 0.947 of 16 kHz, a codec's
    (11000.0, 44100, None),    # LAME 64 kbps (resampled to 24 kHz): 0.998 of 11.025 kHz, a codec's
    (16700.0, 44100, None),    # LAME 128 kbps
    (10110.0, 22050, None),    # LAME at 22.05 kHz (0.917 of Nyquist)
])
def test_converter_edges_are_fractions_of_a_standard_nyquist(freq, rate, expected):
    assert W.converter_rate(freq, rate) == expected


def test_judge_wall_kinds():
    def wall(freq, drop, steep, floor_re16):
        return Wall(freq, drop, steep, -70.0, -70.0 - drop, Q16 + floor_re16, 0.5)

    assert W.judge_wall(wall(16500, 60, 120, 0.5), SR, Q16).kind == "codec"
    assert W.judge_wall(wall(16500, 60, 120, 4.6), SR, Q16).kind == "codec"  # judged; a bare floor decides later
    assert W.judge_wall(wall(16500, 60, 120, 15.0), SR, Q16).kind == "noise floor"
    assert W.judge_wall(wall(21000, 60, 120, 0.5), SR, Q16).kind == "converter"
    assert W.judge_wall(wall(14000, 40, 9, 0.5), SR, Q16).kind == "gentle"
    assert W.judge_wall(wall(14000, 22, 40, 0.5), SR, Q16).kind == "shallow"
    assert W.judge_wall(wall(14000, 8, 40, 0.5), SR, Q16).kind == "none"
    assert W.judge_wall(None, SR, Q16).kind == "none"
    j = W.judge_wall(wall(10700, 60, 120, 0.5), 22050, Q16)
    assert j.kind == "converter" and j.converter_rate_hz == 22050 and j.ratio_to_nyquist == pytest.approx(0.9705)


def test_codec_tables_are_rate_aware():
    assert C.container_expected_wall("mp3", 66.3, 22050) == pytest.approx(10108.4, abs=50)  # LAME 64k at 22.05
    assert C.container_expected_wall("mp3", 192.5, 44100) == pytest.approx(18860, abs=100)
    assert C.container_expected_wall("mp3", 192.5, 96000) is None  # no table at 96 kHz
    lame96 = C.wall_only_settings(44100, 15100.0)
    assert any(s.encoder == "lame" and s.setting == "cbr96" and s.coded_rate == 32000 for s in lame96)
    assert not any(s.setting == "cbr128" for s in lame96)
    assert {s.family for s in C.settings_near(22050, 10100.0)} >= {"mp3", "mp2"}
    assert all(s.family == "opus" for s in C.wall_only_settings(48000, 20300.0))


def test_a_converter_edge_over_bare_silence_is_an_edge_of_unknown_origin(rng):
    """A recording whose content ends at 0.97 x 11.025 kHz (resampled to 22.05 kHz, no dither): steep and over
    digital silence, but where converters put their edge, not a codec. In a 44.1 kHz file (resampled back up) the
    upper band is then empty: INCONCLUSIVE, saying what the edge is."""
    y = np.round(_brickwall(_music_like(rng, 8.0), 0.97 * 11025) * 32768) / 32768
    v = _lossy(y)
    assert not v.detected and v.inconclusive
    assert v.evidence.wall_judgement.kind == "converter" and v.evidence.wall_judgement.converter_rate_hz == 22050
    assert "edge of unknown origin" in v.reason and "where resamplers put" in v.reason
    y22 = np.round(_brickwall(_music_like(rng, 8.0, 22050), 0.97 * 11025, 22050) * 32768) / 32768
    v = _lossy(y22, 22050)
    assert not v.detected and not v.inconclusive and v.evidence.wall_judgement.kind == "converter"
    assert v.reason.startswith("edge of unknown origin") and v.evidence.codec_family is None


@pytest.mark.parametrize("order, cutoff", [(2, 14000.0), (3, 14500.0), (4, 15000.0)])
def test_gentle_rolloffs_into_the_dither_floor_are_not_lossy(rng, order, cutoff):
    from scipy.signal import butter, sosfilt

    y = sosfilt(butter(order, cutoff, fs=SR, output="sos"), _music_like(rng, 10.0), axis=0)
    v = _lossy(_tpdf16(y, rng))
    assert not v.detected, v.reason


def test_a_codec_wall_over_a_dithered_floor_is_not_called_lossy(rng):
    y = _brickwall(_music_like(rng, 10.0), 16000.0)
    bare, dithered = _lossy(np.round(y * 32768) / 32768), _lossy(_tpdf16(y, rng))
    assert bare.detected and bare.evidence.decided_by == "wall"
    assert not dithered.detected and dithered.evidence.decided_by == "edge of unknown origin"


def test_opus_band_edge_in_the_noise_floor_above_band_limited_music(rng):
    """Music ending at 10 kHz over a recording floor (-84 dBFS white) that stops at 20.2 kHz, undithered: the
    floor steps down to rounding level where Opus's last band ends."""
    music = _brickwall(_music_like(rng, 10.0), 10000.0)
    floor = _brickwall(rng.standard_normal(music.shape) * 10 ** (-84 / 20), 20200.0)
    v = _lossy(np.round((music + floor) * 32768) / 32768)
    assert v.detected and v.evidence.decided_by in ("floor step", "opus edge"), v.reason
    assert v.evidence.floor_step is not None and 19800 <= v.evidence.floor_step.freq_hz <= 20400
    genuine = _lossy(np.round((music + rng.standard_normal(music.shape) * 10 ** (-84 / 20)) * 32768) / 32768)
    assert not genuine.detected and genuine.evidence.floor_step is None


# -- real resamplers and encoders -----------------------------------------------------------------------------

def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture
def music_wav(tmp_path, rng):
    path = tmp_path / "src.wav"
    sf.write(str(path), np.round(_music_like(rng, 8.0) * 32768) / 32768, SR, subtype="PCM_16")
    return path


@pytest.mark.slow
@pytest.mark.needs_tool("sox")
@pytest.mark.needs_tool("ffmpeg")
@pytest.mark.parametrize("rate", [22050, 32000])
def test_resampled_round_trips_are_not_lossy(music_wav, tmp_path, rate):
    require_tool("sox")
    require_tool("ffmpeg")
    mid, back = tmp_path / "mid.wav", tmp_path / "back.wav"
    _run("sox", str(music_wav), "-b", "16", str(mid), "rate", "-v", str(rate))
    _run("sox", str(mid), "-b", "16", str(back), "rate", "-v", str(SR))
    soxr = tmp_path / "soxr.wav"
    ff = ("ffmpeg", "-nostdin", "-loglevel", "error", "-y")
    _run(*ff, "-i", str(music_wav), "-af", f"aresample={rate}:resampler=soxr,aresample={SR}:resampler=soxr",
         "-c:a", "pcm_s16le", str(soxr))
    for path in (mid, back, soxr):
        v = analyze_file(path, config=LOSSY).verdicts["lossy"]
        assert not v.detected, (path.name, v.reason)


@pytest.mark.slow
@pytest.mark.needs_tool("lame")
def test_lame_96_which_resamples_inside_lame_is_found_by_its_grid_at_32k(music_wav, tmp_path):
    """LAME 3.100 at 96 kbps codes at 32 kHz; decoded back to 44.1 kHz no granule grid survives at 44.1 kHz, but
    the excerpt resampled to 32 kHz shows it again."""
    require_tool("lame")
    require_tool("ffmpeg")
    _run("lame", "--quiet", "--cbr", "-b", "96", str(music_wav), str(tmp_path / "c.mp3"))
    _run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(tmp_path / "c.mp3"), "-af", "aresample=44100",
         "-c:a", "pcm_s16le", str(tmp_path / "d.wav"))
    v = analyze_file(tmp_path / "d.wav", config=LOSSY).verdicts["lossy"]
    assert v.detected and v.evidence.decided_by == "grid", v.reason
    assert v.evidence.grid.best == "mp3" and v.evidence.grid.read_at_hz == 32000, v.reason
    assert v.evidence.codec_family.estimate == "mp3"


def test_an_earlier_generation_is_the_grid_beside_the_containers_own():
    """In a Vorbis container whose content also carries an MP3 grid, the MP3 grid is the earlier generation even
    when the container's own grid is stronger; the AAC grid that a Vorbis decode lights is not one."""
    from musicforensics.lossy.evidence import GridScore
    from musicforensics.lossy.detector import other_codec_grid

    vorbis, mp3 = GridScore(64, 0.046, 0.016, 14.9), GridScore(1, 0.048, 0.020, 14.3)
    aac_echo = GridScore(960, 0.03, 0.016, 9.0)
    assert other_codec_grid({"vorbis": vorbis, "mp3": mp3, "aac": aac_echo}, "vorbis") == "mp3"
    assert other_codec_grid({"vorbis": vorbis, "aac": aac_echo}, "vorbis") is None
    assert other_codec_grid({"vorbis": vorbis, "mp3": GridScore(1, 0.02, 0.019, 1.0)}, "vorbis") is None
    assert other_codec_grid({"mp3": mp3}, "aac") == "mp3"
