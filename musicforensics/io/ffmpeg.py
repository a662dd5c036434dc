"""Reading containers libsndfile cannot open (MP4/M4A with AAC or ALAC, WMA, WebM, Matroska) via ffmpeg.

Optional: used only for the extensions in :data:`musicforensics.io.audio.FFMPEG_EXTENSIONS`, and only when the
``ffprobe``/``ffmpeg`` executables are installed; otherwise such a file gets a clear per-file error.
Samples are streamed through a pipe as 64-bit floats, so memory stays bounded as with libsndfile.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import AudioReadError
from .info import AudioInfo

_LOSSY = {"aac": "aac", "mp3": "mp3", "mp2": "mp2", "opus": "opus", "vorbis": "vorbis", "wmav1": "wma",
          "wmav2": "wma", "wmapro": "wma", "ac3": "ac3", "eac3": "eac3"}
_BITS = {"s16": 16, "s16p": 16, "s32": 32, "s32p": 32, "flt": 32, "fltp": 32, "dbl": 64, "dblp": 64, "u8": 8, "u8p": 8}


def _tool(name: str, path: Path) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise AudioReadError(path, f"reading {path.suffix} files needs {name} (Debian package ffmpeg), which is not installed")
    return exe


def probe(path: Path, size: int) -> AudioInfo:
    """AudioInfo for ``path`` from ffprobe."""
    cmd = [_tool("ffprobe", path), "-v", "error", "-select_streams", "a:0", "-show_entries",
           "stream=codec_name,sample_rate,channels,duration,sample_fmt,bits_per_raw_sample:format=format_name,duration",
           "-of", "json", str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise AudioReadError(path, f"not readable as audio (ffprobe: {res.stderr.strip()[:200] or 'failed'})")
    data = json.loads(res.stdout or "{}")
    streams = data.get("streams") or []
    if not streams:
        raise AudioReadError(path, "no audio stream in the file")
    st = streams[0]
    codec = st.get("codec_name", "")
    rate = int(st.get("sample_rate") or 0)
    duration = float(st.get("duration") or (data.get("format") or {}).get("duration") or 0.0)
    lossy = _LOSSY.get(codec)
    raw_bits = int(st.get("bits_per_raw_sample") or 0) or None
    bits = None if lossy else (raw_bits or _BITS.get(st.get("sample_fmt", "")))
    names = ((data.get("format") or {}).get("format_name") or "ffmpeg").split(",")
    container = "MP4" if "mp4" in names else names[0].upper()
    return AudioInfo(
        container=container,
        subtype=codec.upper(), sample_rate=rate, channels=int(st.get("channels") or 0),
        frames=int(round(duration * rate)), bit_depth=bits, is_float=not lossy and st.get("sample_fmt", "") in ("flt", "fltp", "dbl", "dblp"),
        lossy_codec=lossy, file_size=size,
    )


def iter_blocks(path: Path, info: AudioInfo, *, block_frames: int, overlap: int, max_frames: int | None,
                start: int) -> Iterator[np.ndarray]:
    """(frames, channels) float64 blocks decoded by ffmpeg, consecutive blocks sharing ``overlap`` frames;
    ``info`` is the file's :func:`probe` record."""
    ch = info.channels
    cmd = [_tool("ffmpeg", path), "-v", "error", "-nostdin"]
    if start:
        cmd += ["-ss", f"{start / info.sample_rate:.9f}"]
    cmd += ["-i", str(path), "-map", "0:a:0", "-f", "f64le", "-acodec", "pcm_f64le"]
    if max_frames is not None:
        cmd += ["-frames:a", str(max_frames), "-t", f"{max_frames / info.sample_rate:.9f}"]
    cmd.append("-")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    step_bytes = (block_frames - overlap) * ch * 8
    first_bytes = block_frames * ch * 8
    tail = np.zeros((0, ch))
    total = 0
    try:
        want = first_bytes
        while True:
            buf = proc.stdout.read(want)
            if not buf:
                break
            usable = len(buf) - len(buf) % (ch * 8)
            fresh = np.frombuffer(buf[:usable], dtype="<f8").reshape(-1, ch)
            if max_frames is not None:
                fresh = fresh[: max(0, max_frames - total)]
            total += fresh.shape[0]
            block = np.concatenate([tail, fresh]) if tail.shape[0] else fresh
            if block.shape[0]:
                yield block
            tail = block[-overlap:] if overlap else tail
            if len(buf) < want or (max_frames is not None and total >= max_frames):
                break
            want = step_bytes
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        code = proc.wait()
    if code != 0 and (max_frames is None or total < max_frames):
        raise AudioReadError(path, f"decoding failed part-way (ffmpeg: {err[:200] or code})")
