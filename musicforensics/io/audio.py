"""Audio file I/O: the only module that imports soundfile.

Reads whatever libsndfile reads (FLAC, WAV/RF64/W64, AIFF, CAF, Ogg Vorbis, Opus, MP3, ...), any channel
count and sample rate, and streams long files in fixed-size blocks so memory stays bounded. Library errors
become :class:`~musicforensics.errors.AudioReadError` naming the file.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from ..errors import AudioReadError, OutputExistsError, UnsupportedAudioError
from . import ffmpeg
from .files import write_new
from .info import FLOAT_SUBTYPES, LOSSY_SUBTYPES, SUBTYPE_BITS, FLOAT32_EXACT_SUBTYPES, AudioInfo

MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 768_000

#: Containers libsndfile cannot open; read through ffmpeg when it is installed (see :mod:`.ffmpeg`).
FFMPEG_EXTENSIONS = (".m4a", ".mp4", ".aac", ".m4b", ".alac", ".wma", ".webm", ".mka")


def _via_ffmpeg(path: Path) -> bool:
    return path.suffix.lower() in FFMPEG_EXTENSIONS


def _library_message(exc: Exception) -> str:
    text = (str(exc).strip() or type(exc).__name__).replace("\n", " ")
    # libsndfile says "File does not exist or is not a regular file" for files it cannot identify
    if "does not exist or is not a regular file" in text or "Format not recognised" in text:
        return "format not recognised by libsndfile (not audio, or an unsupported container)"
    return text


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


def _regular_file_size(path: Path) -> int:
    """Size of ``path`` after checking, without blocking, that it is a readable, non-empty regular file.

    Opening a named pipe would wait for a writer forever, and libsndfile reports a permission problem as
    "System error.", so both are caught here with words a user can act on.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioReadError(path, "no such file") from None
    except PermissionError:
        raise AudioReadError(path, "permission denied (cannot look at the file)") from None
    except OSError as exc:
        raise AudioReadError(path, f"cannot stat file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioReadError(path, f"not a regular file: {_file_kind(st.st_mode)}")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise AudioReadError(path, "permission denied (the file is not readable)") from None
    except OSError as exc:
        raise AudioReadError(path, f"cannot open file: {exc.strerror or exc}") from None
    if st.st_size == 0:
        raise AudioReadError(path, "file is empty (0 bytes)")
    return st.st_size


def read_info(path: str | os.PathLike) -> AudioInfo:
    """Open ``path`` and return its :class:`AudioInfo` without decoding samples.

    Raises
    ------
    AudioReadError
        The file is missing, empty, unreadable, or not audio libsndfile knows.
    UnsupportedAudioError
        The file is audio but has no channels or an implausible sample rate.

    Examples
    --------
    >>> info = read_info("sample_audio/upsampled_96k.flac")
    >>> info.sample_rate, info.bit_depth, info.channels
    (96000, 24, 1)
    """
    path = Path(path)
    size = _regular_file_size(path)
    if _via_ffmpeg(path):
        return ffmpeg.probe(path, size)
    try:
        raw = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioReadError(path, f"not readable as audio: {_library_message(exc)}") from exc
    if raw.channels < 1:
        raise UnsupportedAudioError(path, f"channels={raw.channels!r}: need at least one")
    if not MIN_SAMPLE_RATE <= raw.samplerate <= MAX_SAMPLE_RATE:
        raise UnsupportedAudioError(
            path, f"sample_rate={raw.samplerate!r} Hz: supported range is {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}"
        )
    subtype = raw.subtype or ""
    return AudioInfo(
        container=raw.format,
        subtype=subtype,
        sample_rate=int(raw.samplerate),
        channels=int(raw.channels),
        frames=max(int(raw.frames), 0),
        bit_depth=SUBTYPE_BITS.get(subtype),
        is_float=subtype in FLOAT_SUBTYPES,
        lossy_codec=LOSSY_SUBTYPES.get(subtype) or ("mp3" if raw.format == "MP3" else None),
        file_size=size,
    )


def float32_is_exact(info: AudioInfo) -> bool:
    """True when float32 blocks hold this file's decoded samples exactly (FLOAT32_EXACT_SUBTYPES)."""
    return info.subtype in FLOAT32_EXACT_SUBTYPES


def block_dtype(info: AudioInfo) -> str:
    """The sample type the analysis reads this file in: "float32" where it is exact (:func:`float32_is_exact`:
    the same samples for half the memory traffic), "float64" otherwise."""
    return "float32" if float32_is_exact(info) else "float64"


def iter_blocks(
    path: str | os.PathLike,
    *,
    block_frames: int,
    overlap: int = 0,
    max_frames: int | None = None,
    start: int = 0,
    dtype: str = "float64",
) -> Iterator[np.ndarray]:
    """Stream a file as float blocks of shape (frames, channels).

    Consecutive blocks share ``overlap`` frames (the tail of one is the head of the next), which is what a
    streamed STFT needs. Memory is O(block_frames * channels) whatever the file length.

    Parameters
    ----------
    path : path-like
        Audio file.
    block_frames : int
        Frames per block (> overlap).
    overlap : int
        Frames repeated between consecutive blocks.
    max_frames : int or None
        Stop after this many frames from ``start``.
    start : int
        First frame to read.
    dtype : {"float64", "float32"}
        Sample type of the blocks from libsndfile (use "float32" only where :func:`float32_is_exact`; files read
        through ffmpeg always come as float64).

    Raises
    ------
    AudioReadError
        Decoding failed part-way (truncated or corrupt data).
    """
    if block_frames <= overlap:
        raise ValueError(f"block_frames={block_frames!r} must exceed overlap={overlap!r}")
    if _via_ffmpeg(Path(path)):
        yield from ffmpeg.iter_blocks(Path(path), read_info(path), block_frames=block_frames, overlap=overlap,
                                      max_frames=max_frames, start=start)
        return
    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioReadError(path, f"not readable as audio: {_library_message(exc)}") from exc
    with handle:
        try:
            if start:
                handle.seek(start)
            remaining = max(handle.frames - handle.tell(), 0)
            if max_frames is not None:
                remaining = min(remaining, max(int(max_frames), 0))
            previous = None
            # the blocks soundfile.SoundFile.blocks() would yield, each read straight into its own new array
            # (blocks() reads into one buffer and copies every block out of it)
            while remaining > 0:
                head = 0 if previous is None else overlap
                n = min(block_frames - head, remaining)
                block = np.empty((head + n, handle.channels), dtype=dtype)
                if head:
                    block[:head] = previous[-overlap:]
                got = handle.read(n, dtype=dtype, always_2d=True, out=block[head:]).shape[0]
                if got < n:  # the container announced more frames than it holds
                    block = block[:head + got]
                    remaining = 0
                else:
                    remaining -= n
                if got:
                    yield block
                previous = block
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioReadError(path, f"decoding failed part-way: {_library_message(exc)}") from exc


def read_excerpt(path: str | os.PathLike, *, start_s: float = 0.0, duration_s: float | None = None) -> tuple[np.ndarray, int]:
    """Read a stretch of a file into memory.

    Returns
    -------
    samples : np.ndarray, shape (frames, channels), float64
    sample_rate : int
    """
    info = read_info(path)
    start = max(0, int(round(start_s * info.sample_rate)))
    frames = -1 if duration_s is None else max(0, int(round(duration_s * info.sample_rate)))
    if _via_ffmpeg(Path(path)):
        chunks = list(ffmpeg.iter_blocks(Path(path), info, block_frames=1 << 18, overlap=0,
                                         max_frames=None if frames < 0 else frames, start=start))
        data = np.concatenate(chunks) if chunks else np.zeros((0, info.channels))
        return data, info.sample_rate
    try:
        data, rate = sf.read(str(path), start=start, frames=frames, dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioReadError(path, f"decoding failed: {_library_message(exc)}") from exc
    return data, int(rate)


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int, *, subtype: str | None = None) -> None:
    """Write samples to a new file (the format from the extension; refuses to overwrite an existing one).

    Used by tests, fixtures and the sample generator; analysis never writes audio.
    """
    path = Path(path)
    if path.exists():
        raise OutputExistsError(path)
    buf = io.BytesIO()
    sf.write(buf, samples, sample_rate, subtype=subtype, format=path.suffix.lstrip(".").upper() or None)
    write_new(path, buf.getvalue())
