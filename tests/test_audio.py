"""Audio I/O: every container and subtype libsndfile writes, odd rates, channels, and clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from musicforensics.io import audio
from musicforensics.errors import AudioReadError
from tests.conftest import tone_mix

CASES = [
    ("FLAC", "PCM_16", 44100, 2, 16, False, None),
    ("FLAC", "PCM_24", 96000, 2, 24, False, None),
    ("FLAC", "PCM_S8", 8000, 1, 8, False, None),
    ("WAV", "PCM_U8", 11025, 1, 8, False, None),
    ("WAV", "PCM_32", 384000, 2, 32, False, None),
    ("WAV", "FLOAT", 48000, 6, 32, True, None),
    ("WAV", "DOUBLE", 22050, 1, 64, True, None),
    ("RF64", "PCM_24", 88200, 2, 24, False, None),
    ("W64", "PCM_16", 32000, 3, 16, False, None),
    ("AIFF", "PCM_24", 44100, 2, 24, False, None),
    ("OGG", "VORBIS", 44100, 2, None, False, "vorbis"),
    ("OGG", "OPUS", 48000, 2, None, False, "opus"),
    ("MP3", "MPEG_LAYER_III", 44100, 2, None, False, "mp3"),
]


@pytest.mark.parametrize("fmt,subtype,sr,ch,bits,is_float,lossy", CASES)
def test_read_info_and_blocks(tmp_path, fmt, subtype, sr, ch, bits, is_float, lossy):
    y = tone_mix(sr, 1.5, freqs=(440.0,), channels=ch)
    ext = {"OGG": "ogg", "MP3": "mp3", "AIFF": "aiff"}.get(fmt, fmt.lower())
    path = tmp_path / f"x.{ext}"
    sf.write(str(path), y, sr, format=fmt, subtype=subtype)
    info = audio.read_info(path)
    assert (info.container, info.subtype, info.sample_rate, info.channels) == (fmt, subtype, sr, ch)
    assert (info.bit_depth, info.is_float, info.lossy_codec) == (bits, is_float, lossy)
    assert info.duration_s == pytest.approx(1.5, abs=0.1)
    assert info.file_size == path.stat().st_size
    blocks = list(audio.iter_blocks(path, block_frames=4096, overlap=1024))
    assert all(b.shape[1] == ch and b.shape[0] <= 4096 and b.dtype == np.float64 for b in blocks)
    fresh = blocks[0].shape[0] + sum(b.shape[0] - 1024 for b in blocks[1:])
    assert abs(fresh - info.frames) <= 1024  # codecs may pad the end


def test_lossy_container_reports_bitrate(tmp_path):
    path = tmp_path / "x.mp3"
    sf.write(str(path), tone_mix(44100, 3.0), 44100, format="MP3")
    info = audio.read_info(path)
    assert info.lossy_codec == "mp3" and 16 < info.bitrate_kbps < 400


def test_missing_empty_and_non_audio(tmp_path):
    with pytest.raises(AudioReadError, match="no such file"):
        audio.read_info(tmp_path / "nope.flac")
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(AudioReadError, match="empty"):
        audio.read_info(empty)
    text = tmp_path / "text.wav"
    text.write_text("not audio at all " * 50)
    with pytest.raises(AudioReadError, match="not readable as audio") as err:
        audio.read_info(text)
    assert "text.wav" in str(err.value)


def test_unreadable_fifo_and_folder_say_what_they_are(tmp_path, monkeypatch):
    y = tone_mix(8000, 1.0)
    locked = tmp_path / "locked.flac"
    sf.write(str(locked), y, 8000)
    real_open = open

    def refuse(path, *args, **kwargs):  # what a file without read permission gives a non-root user
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(AudioReadError, match="permission denied"):
        audio.read_info(locked)
    monkeypatch.undo()
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioReadError, match="not a regular file: a named pipe"):
        audio.read_info(fifo)  # returns at once: a FIFO is never opened
    with pytest.raises(AudioReadError, match="not a regular file: a folder"):
        audio.read_info(tmp_path)


def test_truncated_flac_fails_part_way_with_clear_error(tmp_path):
    path = tmp_path / "full.flac"
    sf.write(str(path), tone_mix(44100, 5.0, noise_db=-20), 44100)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(AudioReadError) as err:
        for _ in audio.iter_blocks(cut, block_frames=8192):
            pass
    assert "cut.flac" in str(err.value)


def test_write_audio_never_overwrites(tmp_path):
    from musicforensics.errors import OutputExistsError

    path = tmp_path / "a.wav"
    audio.write_audio(path, np.zeros(10), 8000)
    with pytest.raises(OutputExistsError):
        audio.write_audio(path, np.zeros(10), 8000)


@pytest.mark.parametrize("codec,ext,lossy,bits", [("aac", "m4a", "aac", None), ("alac", "m4a", None, 24)])
def test_mp4_containers_read_through_ffmpeg(tmp_path, codec, ext, lossy, bits):
    import subprocess

    from tests.conftest import require_tool

    ffmpeg = require_tool("ffmpeg")
    require_tool("ffprobe")
    src = tmp_path / "src.flac"
    sf.write(str(src), tone_mix(44100, 3.0), 44100, subtype="PCM_24")
    out = tmp_path / f"x.{ext}"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(src), "-c:a", codec, str(out)], check=True)
    info = audio.read_info(out)
    assert (info.container, info.lossy_codec, info.bit_depth, info.sample_rate, info.channels) == ("MP4", lossy, bits, 44100, 2)
    blocks = list(audio.iter_blocks(out, block_frames=32768, overlap=8192))
    fresh = blocks[0].shape[0] + sum(b.shape[0] - 8192 for b in blocks[1:])
    assert abs(fresh - 3 * 44100) < 4096
    excerpt, sr = audio.read_excerpt(out, start_s=1.0, duration_s=0.5)
    assert excerpt.shape == (22050, 2) and sr == 44100
    if lossy is None:  # ALAC is lossless: samples equal the source
        src_y, _ = sf.read(str(src), dtype="float64")
        np.testing.assert_allclose(excerpt, src_y[44100:44100 + 22050], atol=1e-9)
