"""The one STFT framing every measure uses: the periodic Hann window, frames as strided views, block sizes.

Every short-time spectrum in musicforensics (the long-term pass, the plotted spectrogram, the lossy hole and
band-break features, the reference fakeprint) frames its signal with :func:`frame_view` (frame ``i`` starts at
sample ``i * hop``; frames lie wholly inside the signal, no centring or padding) and windows it with
:func:`periodic_hann`. Powers are scaled so that a full-scale sine reads 0 dB at its bin:
``P = (2 |X| / sum(w))^2`` (docs/measures.md).

>>> import numpy as np
>>> frame_view(np.arange(10.0), 4, 3).tolist()
[[0.0, 1.0, 2.0, 3.0], [3.0, 4.0, 5.0, 6.0], [6.0, 7.0, 8.0, 9.0]]
>>> n_frames(10, 4, 3)
3
"""

from __future__ import annotations

import functools
from typing import Iterator

import numpy as np


@functools.lru_cache(maxsize=8)
def periodic_hann(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Periodic Hann window of ``n_fft`` samples, as float64 and float32 (read-only, made once per length).

    ``w[n] = 0.5 - 0.5 cos(2 pi n / n_fft)``: the symmetric window of ``n_fft + 1`` points without its last one,
    which makes 50 %-overlapped frames add up to a constant.

    >>> w, w32 = periodic_hann(4)
    >>> w.tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    w = np.hanning(n_fft + 1)[:-1]
    w32 = w.astype(np.float32)
    w.flags.writeable = False
    w32.flags.writeable = False
    return w, w32


def n_frames(length: int, n_fft: int, hop: int) -> int:
    """How many frames of ``n_fft`` samples every ``hop`` fit wholly in ``length`` samples (0 when none)."""
    return 0 if length < n_fft else 1 + (length - n_fft) // hop


def frame_view(x: np.ndarray, n_fft: int, hop: int, *, axis: int = 0) -> np.ndarray:
    """Frames of ``x`` along ``axis`` as a read-only strided view (no copy).

    Parameters
    ----------
    x : np.ndarray
        Signal; for a (frames, channels) block use ``axis=0``.
    n_fft, hop : int
        Frame length and hop, samples.

    Returns
    -------
    np.ndarray
        Shape ``(n_frames, *other axes, n_fft)``: frame ``i`` is ``x[i * hop : i * hop + n_fft]``.
    """
    count = n_frames(x.shape[axis], n_fft, hop)
    view = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=axis)[::hop]
    return view[:count]


def aligned_block_frames(block_frames: int, n_fft: int, hop: int) -> int:
    """Largest block length <= max(block_frames, n_fft + hop) with (length - n_fft) a multiple of ``hop``.

    With blocks overlapping by ``n_fft - hop``, such a length makes the frames of consecutive blocks
    continue exactly the frame grid 0, hop, 2 hop, ... of the whole file.

    >>> aligned_block_frames(10_000, 4096, 2048)
    8192
    """
    steps = max(1, (block_frames - n_fft) // hop)
    return n_fft + steps * hop


def blocks_from_array(y: np.ndarray, *, block_frames: int, overlap: int) -> Iterator[np.ndarray]:
    """Yield (frames, channels) float64 blocks of an in-memory signal exactly as
    :func:`musicforensics.io.audio.iter_blocks` streams a file: consecutive blocks share ``overlap`` frames."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    step = block_frames - overlap
    n = y.shape[0]
    start = 0
    while True:
        yield y[start:start + block_frames]
        if start + block_frames >= n:
            break
        start += step


def excerpt_span(total_frames: int, sample_rate: int, seconds: float, *, margin_s: float = 1.0) -> tuple[int, int]:
    """(start, stop) frames of the middle ``seconds`` of a span, widened by ``margin_s`` on each side.

    >>> excerpt_span(100_000, 1000, 30.0)
    (34000, 66000)
    """
    length = min(total_frames, int(round(seconds * sample_rate)))
    start = (total_frames - length) // 2
    margin = int(round(margin_s * sample_rate))
    return max(0, start - margin), min(total_frames, start + length + margin)
