"""Codec-exact grids: an analytic MPEG polyphase synthesis, then the real encoders (LAME, twolame, FFmpeg's AAC,
libvorbis) whose decodes the grids must name, and genuine signals they must not."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from musicforensics.lossy import mpeg
from musicforensics.lossy.exact import channels
from musicforensics.lossy.grid import Z_DECIDES, frame_grid
from tests.conftest import require_tool

SR = 44100


def _q16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 32768) / 32768


def polyphase_synthesis(subbands: np.ndarray) -> np.ndarray:
    """ISO 11172-3 polyphase synthesis (annex A, figure A.2): for each block of 32 sub-band samples, shift the
    1024-value FIFO V by 64, V[i] = sum_k N[i, k] S[k] with N[i, k] = cos((16 + i)(2k + 1) pi / 64), gather U
    from V, window by D, and sum 16 values per output sample."""
    d = mpeg.synthesis_window()
    i, k = np.arange(64)[:, None], np.arange(32)[None, :]
    n_mat = np.cos((16 + i) * (2 * k + 1) * np.pi / 64)
    v = np.zeros(1024)
    out = np.empty(subbands.shape[0] * 32)
    gather = np.concatenate([np.arange(32) + 128 * j for j in range(8)] + [np.arange(32) + 128 * j + 96 for j in
                                                                           range(8)])
    order = np.argsort(np.concatenate([np.arange(32) + 64 * j for j in range(8)]
                                      + [np.arange(32) + 64 * j + 32 for j in range(8)]))
    for t, s in enumerate(subbands):
        v[64:] = v[:-64]
        v[:64] = n_mat @ s
        u = v[gather][order]
        w = u * d
        out[32 * t: 32 * t + 32] = w.reshape(16, 32).sum(axis=0)
    return out


def _music_like(rng, seconds: float, sr: int = SR, channels_: int = 2) -> np.ndarray:
    n = int(seconds * sr)
    spec = np.fft.rfft(rng.standard_normal((n, channels_)), axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    spec /= np.sqrt(np.maximum(f, 50.0))[:, None] / np.sqrt(1000.0)
    y = np.fft.irfft(spec, n, axis=0)
    y *= (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * np.arange(n) / sr))[:, None]
    return 0.1 * y / np.sqrt(np.mean(y ** 2))


def test_layer2_grid_finds_the_phase_of_an_mpeg_polyphase_synthesis(rng):
    """Sparse sub-band samples (70 % quantised to zero above sub-band 6) through the standard's synthesis: the
    analysis finds isolated zeros at one phase only, and a shift of the signal moves that phase with it."""
    blocks = 2800
    s = rng.standard_normal((blocks, 32)) * 0.02 / np.sqrt(1 + np.arange(32))
    s[:, 6:] *= rng.random((blocks, 26)) < 0.3
    s[:, 28:] = 0.0
    y = _q16(polyphase_synthesis(s))
    got = mpeg.layer2_grid(channels(y), sample_rate=SR)
    assert got.z >= Z_DECIDES and got.share > got.null + 0.1
    shifted = mpeg.layer2_grid(channels(np.concatenate([np.zeros(5), y])), sample_rate=SR)
    assert shifted.offset == (got.offset + 5) % 32
    genuine = mpeg.layer2_grid(channels(_q16(_music_like(rng, 3.0)[:, 0])), sample_rate=SR)
    assert genuine.z < Z_DECIDES


def test_isolated_zeros_ignore_gated_and_sample_locked_loops(rng):
    """A noise loop gated to silence half the time and locked to a 4410-sample grid: every alignment sees the
    same silent stretches, and isolated zeros need live neighbours, so no grid prefers an alignment."""
    burst = rng.standard_normal(2205) * 0.2
    y = np.tile(np.concatenate([burst, np.zeros(2205)]), 60)
    g = frame_grid(np.stack([_q16(y), _q16(0.7 * y)], axis=1), SR)
    assert g.z < Z_DECIDES, g


def test_mp3_regions_are_live_unclipped_steady_and_disjoint(rng):
    """The MP3 search and scoring regions come from the loudest tiles of the excerpt, dealt between the two sets
    (never the same samples); a tile with a clipped sample or an onset (energy x4 over the tile before) is read
    only when nothing else is left."""
    span = mpeg.region_span(mpeg.GRANULES_PER_REGION)[1]
    step = -(-span // mpeg.GRANULE) * mpeg.GRANULE
    y = (rng.standard_normal(40 * step) * 1e-3).astype(np.float32)
    for i in range(5, 15):  # tile 5 holds the onset
        y[i * step:(i + 1) * step] *= 100.0
    y[30 * step:32 * step] *= 300.0
    y[31 * step + 7] = 1.0  # 30: an onset, 31: a clipped sample
    search, score = mpeg.loudest_regions([y], 3, 6, mpeg.GRANULES_PER_REGION)
    assert len(search) == 3 and len(score) == 6 and not set(search) & set(score)
    assert {v // step for v in search + score} == set(range(6, 15))
    assert all(v % mpeg.GRANULE == 0 for v in search + score)


# -- real encoders --------------------------------------------------------------------------------------------

def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


FF = ("ffmpeg", "-nostdin", "-loglevel", "error", "-y")


def _decode(coded, out) -> np.ndarray:
    _run(*FF, "-i", str(coded), "-c:a", "pcm_s16le", str(out))
    return sf.read(str(out), dtype="float32", always_2d=True)[0]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """Ten seconds of 16-bit stereo music-like noise at 44.1 kHz, as a WAV file."""
    path = tmp_path_factory.mktemp("src") / "src.wav"
    sf.write(str(path), _q16(_music_like(np.random.default_rng(5), 10.0)), SR, subtype="PCM_16")
    return path


@pytest.mark.slow
@pytest.mark.needs_tool("lame")
@pytest.mark.needs_tool("ffmpeg")
@pytest.mark.parametrize("codec, encode", [
    ("mp3", ("lame", "--quiet", "--cbr", "-b", "128")),
    ("mp3", ("lame", "--quiet", "--cbr", "-b", "320")),
    ("mp3", ("lame", "--quiet", "-V", "0")),
    ("mp2", ("ffmpeg", "-c:a", "libtwolame", "-b:a", "256k")),
    ("aac", ("ffmpeg", "-c:a", "aac", "-b:a", "256k")),
    ("vorbis", ("ffmpeg", "-c:a", "libvorbis", "-q:a", "6")),
])
def test_real_encoders_are_named_by_their_exact_grid(source, tmp_path, codec, encode):
    require_tool("lame")
    require_tool("ffmpeg")
    coded = tmp_path / {"mp3": "c.mp3", "mp2": "c.mp2", "aac": "c.m4a", "vorbis": "c.ogg"}[codec]
    if encode[0] == "lame":
        _run(*encode, str(source), str(coded))
    else:
        _run(*FF, "-i", str(source), *encode[1:], str(coded))
    g = frame_grid(_decode(coded, tmp_path / "d.wav"), SR)
    assert g.best == codec, g
    assert g.z >= Z_DECIDES, g
    genuine = frame_grid(sf.read(str(source), dtype="float32", always_2d=True)[0], SR)
    assert genuine.z < Z_DECIDES, genuine


@pytest.mark.slow
@pytest.mark.needs_tool("lame")
@pytest.mark.needs_tool("sox")
def test_mpeg2_lsf_layer3_at_22050_hz_is_found(source, tmp_path):
    """MPEG-2 LSF (22.05 kHz) uses the same filterbank and 576-line granules."""
    require_tool("lame")
    require_tool("sox")
    low = tmp_path / "low.wav"
    _run("sox", str(source), "-b", "16", str(low), "rate", "-v", "22050")
    _run("lame", "--quiet", "--cbr", "-b", "64", str(low), str(tmp_path / "c.mp3"))
    _run("lame", "--quiet", "--decode", str(tmp_path / "c.mp3"), str(tmp_path / "d.wav"))
    y, sr = sf.read(str(tmp_path / "d.wav"), dtype="float32", always_2d=True)
    assert sr == 22050
    g = frame_grid(y, sr)
    assert g.best == "mp3" and g.z >= Z_DECIDES, g


@pytest.fixture(scope="module")
def decaying(tmp_path_factory):
    """An 8 s struck sound (onset at 0.3 s, decay time 0.5 s), 16-bit stereo WAV: its middle is a quiet tail."""
    y = _music_like(np.random.default_rng(3), 8.0)
    t = np.arange(y.shape[0]) / SR
    y = _q16(3.0 * y * np.where(t < 0.3, 0.0, np.exp(-(t - 0.3) / 0.5))[:, None])
    path = tmp_path_factory.mktemp("decay") / "s.wav"
    sf.write(str(path), y, SR, subtype="PCM_16")
    return path


@pytest.mark.slow
@pytest.mark.needs_tool("ffmpeg")
def test_layer2_grid_reads_the_loudest_stretch_of_a_decaying_sound(decaying, tmp_path):
    """The struck sound through twolame 192k: its middle 1.5 s has few live sub-band samples, its loudest 1.5 s
    holds the grid; the search reads the latter."""
    require_tool("ffmpeg")
    _run(*FF, "-i", str(decaying), "-c:a", "libtwolame", "-b:a", "192k", str(tmp_path / "s.mp2"))
    d = _decode(tmp_path / "s.mp2", tmp_path / "d.wav")
    middle = d[d.shape[0] // 2 - int(0.75 * SR): d.shape[0] // 2 + int(0.75 * SR)]
    assert mpeg.layer2_grid(channels(middle), sample_rate=SR).z < Z_DECIDES
    assert mpeg.layer2_grid(channels(d), sample_rate=SR).z >= Z_DECIDES
    source = sf.read(str(decaying), dtype="float32", always_2d=True)[0]
    assert mpeg.layer2_grid(channels(source), sample_rate=SR).z < Z_DECIDES


@pytest.mark.slow
@pytest.mark.needs_tool("lame")
@pytest.mark.needs_tool("ffmpeg")
def test_layer3_grid_of_a_decaying_sound_is_read_where_it_is_loud(decaying, tmp_path):
    """The struck sound through LAME 320k: regions spread over the excerpt fall mostly in the tail (z 1.8 with
    them); the loudest steady regions find the grid."""
    require_tool("lame")
    require_tool("ffmpeg")
    _run("lame", "--quiet", "--cbr", "-b", "320", str(decaying), str(tmp_path / "s.mp3"))
    g = frame_grid(_decode(tmp_path / "s.mp3", tmp_path / "d.wav"), SR)
    assert g.best == "mp3" and g.z >= Z_DECIDES, g
