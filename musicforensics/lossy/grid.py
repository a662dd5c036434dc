"""Codec frame-grid evidence: exact MDCT sparsity at the codec's frame offset (AAC, Vorbis; MP3 approximated).

AAC-LC and Vorbis code long blocks as the MDCT of 2048 windowed samples every 1024 (AAC: Kaiser-Bessel-
derived window, alpha 4, as ffmpeg's encoder writes; Vorbis: the power-sine window sin(pi/2 sin^2)). Their
decoders invert the quantised MDCT, so the MDCT of the decoded PCM *at the codec's frame offset and with the
codec's window* gives back the dequantised coefficients: every coefficient quantised to zero comes back as
zero to within 16-bit rounding noise. At any other offset (or with another window) the spectrum is dense.
MP3's hybrid filterbank (32-band polyphase, then an 18-line MDCT per band: 576 lines per granule) is
approximated by a 576-line sine-window MDCT: not exact, so its zero test is looser (GRID_SPECS tau).
Genuine audio has no preferred offset, so the zero share at the best offset is compared with the same share
at other offsets of the same file (a null from the file itself): z = (share - median null) / spread.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.special

from ..spectral.kernels import lossy as _k
from .evidence import FrameGrid, GridScore


def _kaiser(m: int, beta: float) -> np.ndarray:
    """The symmetric Kaiser window of ``m`` points, computed as ``scipy.signal.windows.kaiser`` does (same
    values, bit for bit) without importing ``scipy.signal``, whose import costs more than a short file's
    analysis."""
    if m <= 1:
        return np.ones(m)
    n = np.arange(0, m, dtype=np.float64)
    alpha = (m - 1) / 2.0
    return scipy.special.i0(beta * np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)) / scipy.special.i0(np.float64(beta))


def _kbd_window(n2: int, alpha: float = 4.0) -> np.ndarray:
    half = n2 // 2
    k = _kaiser(half + 1, np.pi * alpha)
    c = np.cumsum(k)
    w = np.sqrt(c[:half] / c[half])
    return np.concatenate([w, w[::-1]])


def _vorbis_window(n2: int) -> np.ndarray:
    n = np.arange(n2)
    return np.sin(np.pi / 2 * np.sin(np.pi * (n + 0.5) / n2) ** 2)


def _sine_window(n2: int) -> np.ndarray:
    return np.sin(np.pi * (np.arange(n2) + 0.5) / n2)


#: Per codec: MDCT hop ``n`` (samples), window, zero threshold ``tau`` in standard deviations of 16-bit
#: rounding noise in the orthonormal MDCT domain (q / sqrt(12), q = 2^-15), the codec whose all-offset search
#: supplies the candidates (``search``), the frames used to score them, and ``priors``: offsets always
#: scored, where the ffmpeg / LAME decoders of the dev corpus put the grid (AAC 0 after the 1024-sample
#: priming is trimmed; LAME 286-287 after ffmpeg's gapless trim, with the 576-line approximation). tau 10:
#: rounding noise never reaches it; 30 for MP3 because the approximation leaves small residues. Measured on
#: the dev split (docs/lossy.md).
GRID_SPECS = {
    "aac": {"n": 1024, "window": _kbd_window(2048), "tau": 10.0, "search": "vorbis", "frames": 8, "priors": (0,)},
    "vorbis": {"n": 1024, "window": _vorbis_window(2048), "tau": 10.0, "search": "vorbis", "frames": 8,
               "priors": ()},
    "mp3": {"n": 576, "window": _sine_window(1152), "tau": 30.0, "search": "mp3", "frames": 24,
            "priors": (286, 287)},
}
#: Frames (spread over the excerpt) used to search every offset, per searching codec.
GRID_SEARCH_FRAMES = {"vorbis": 2, "mp3": 2}
#: Offsets re-scored (the best of the search, plus the priors), and offsets forming the null.
GRID_CANDIDATES = 4
GRID_NULL_OFFSETS = 12
#: Floor of the robust spread (1.4826 MAD) of the null zero share, so files whose share hardly varies
#: (digital silence, mono) cannot produce large z from nothing.
GRID_MIN_SPREAD = 0.003
#: Frames folded and transformed per batch in :func:`zero_share`.
GRID_CHUNK = 128
#: Rounding-noise standard deviation of 16-bit PCM (full scale 1).
Q16_SIGMA = (2.0 ** -15) / np.sqrt(12.0)


def _mdct_scale(n: int) -> float:
    """Factor making the DCT-IV of the time fold (scipy's unnormalised type 4, 2x the sum) the orthonormal
    MDCT: sqrt(2/N) / 2."""
    return np.sqrt(2.0 / n) / 2.0


def _fold_dct(x: np.ndarray, starts: np.ndarray, w: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """Unscaled MDCT of the frames ``x[s:s + 2N]`` (s in ``starts``) with window ``w`` (the dtype of ``x``): the
    DCT-IV of their time folds, folded into ``buf`` (len(starts) x N, overwritten)."""
    _k.fold_frames(x, starts, w, buf)
    return scipy.fft.dct(buf, type=4, axis=-1, overwrite_x=True)


def mdct(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Orthonormal MDCT of 2N-sample frames.

    ``X[k] = sqrt(2/N) sum_n w[n] x[n] cos(pi/N (n + 1/2 + N/2)(k + 1/2))``, computed as a DCT-IV of the
    time-folded windowed frame.

    Parameters
    ----------
    frames : np.ndarray, shape (..., 2N)
        Samples (any strides: a sliding-window view is fine).
    window : np.ndarray, shape (2N,)

    Returns
    -------
    np.ndarray, shape (..., N)
    """
    n2 = frames.shape[-1]
    dtype = np.result_type(frames.dtype, np.float32)
    flat = np.ascontiguousarray(frames, dtype=dtype).reshape(-1, n2)
    buf = np.empty((flat.shape[0], n2 // 2), dtype=dtype)
    X = _fold_dct(flat.reshape(-1), np.arange(flat.shape[0]) * n2, window.astype(dtype), buf)
    return (X * _mdct_scale(n2 // 2)).reshape(frames.shape[:-1] + (n2 // 2,))


def zero_share(x: np.ndarray, starts: np.ndarray, offsets: np.ndarray, window: np.ndarray, tau: float) -> np.ndarray:
    """Share of MDCT coefficients with ``|X| < tau`` over frames starting at ``starts + offset``, per offset.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Samples.
    starts, offsets : np.ndarray of int
        Frame starts and offsets (samples); every ``start + offset + len(window)`` must fit in ``x``.
    window : np.ndarray, shape (2N,)
    tau : float
        Threshold (full scale 1).

    Returns
    -------
    np.ndarray, shape (len(offsets),)

    Notes
    -----
    The frames are folded straight from ``x`` (no gathered copy), GRID_CHUNK at a time into one buffer that
    stays in cache, and only the count of small coefficients per frame is kept.
    """
    n = window.size // 2
    starts = np.asarray(starts)
    first = (np.asarray(offsets)[:, None] + starts[None, :]).reshape(-1).astype(np.int64)  # offset-major
    if first.size and (first.min() < 0 or first.max() + window.size > x.size):
        # the kernels read x without bounds checks
        raise ValueError("zero_share: a frame starts before x or runs past its end")
    w = window.astype(x.dtype)
    scale = _mdct_scale(n)
    counts = np.empty(first.size, dtype=np.int64)
    buf = np.empty((min(GRID_CHUNK, first.size), n), dtype=np.result_type(x.dtype, np.float32))
    for a in range(0, first.size, GRID_CHUNK):
        b = min(first.size, a + GRID_CHUNK)
        _k.count_below(_fold_dct(x, first[a:b], w, buf[: b - a]), scale, tau, counts[a:b])
    return counts.reshape(-1, starts.size).sum(axis=1) / (starts.size * n)


def _spread_starts(live: np.ndarray, count: int, hop: int, n: int) -> np.ndarray:
    """Starts of ``count`` frames spread over the live blocks, on multiples of ``n`` (so that one offset means
    one grid position in every frame)."""
    pick = live[np.linspace(0, live.size - 1, min(count, live.size)).round().astype(int)]
    return np.unique(pick * hop // n * n)


def frame_grid(y: np.ndarray, sample_rate: int) -> FrameGrid:
    """Evidence of an AAC / Vorbis / MP3 frame grid in decoded PCM (first channel of an excerpt).

    Parameters
    ----------
    y : np.ndarray, shape (frames,) or (frames, channels)
        Samples, full scale 1.
    sample_rate : int
        Hz (reported only: the grid is in samples).

    Returns
    -------
    FrameGrid
        Per codec a :class:`~.evidence.GridScore` (best offset mod n in samples, zero share there, median share
        over other offsets, z); ``best`` (the codec the grid names, :func:`grid_codec`) and ``z`` (its z, 0.0
        when the excerpt is too short or silent).
    """
    y = np.asarray(y)
    x = (y if y.ndim == 1 else y[:, 0]).astype(np.float32)
    hop = 1152
    usable = x.size - 2 * 2048
    if usable < 8 * hop:
        return FrameGrid()
    n_blocks = usable // hop
    blocks = x[: n_blocks * hop].reshape(n_blocks, hop)
    hf = np.empty(n_blocks, dtype=np.float32)
    _k.diff_energy(blocks, hf)  # sum(diff(block) ** 2) per block
    live = np.nonzero(hf > 100.0 * Q16_SIGMA ** 2 * hop)[0]  # skip (near-)silent blocks
    if live.size < 4:
        return FrameGrid()
    # search and score on disjoint frames (blocks 0 and 3 mod 6: a 2048-sample frame spans < 2 blocks), so
    # the offsets picked by the search are not favoured by the frames that score them
    live_search, live_score = live[live % 6 == 0], live[live % 6 == 3]
    if live_search.size < 2 or live_score.size < 2:
        return FrameGrid()
    cands: dict = {}
    for codec, nf in GRID_SEARCH_FRAMES.items():
        spec = GRID_SPECS[codec]
        share = zero_share(x, _spread_starts(live_search, nf, hop, spec["n"]), np.arange(spec["n"]), spec["window"],
                           spec["tau"] * Q16_SIGMA)
        cands[codec] = np.argsort(share)[::-1][:GRID_CANDIDATES]
    best_z = -np.inf
    scores: dict[str, GridScore] = {}
    for codec, spec in GRID_SPECS.items():
        n = spec["n"]
        c = np.unique(np.concatenate([cands[spec["search"]] % n, np.array(spec["priors"], dtype=int)]))
        null = (c[0] + 17 + np.arange(GRID_NULL_OFFSETS) * (n // GRID_NULL_OFFSETS)) % n
        dist = np.abs(((null[:, None] - c[None, :]) + n // 2) % n - n // 2).min(axis=1)
        null = null[dist >= 8]
        starts = _spread_starts(live_score, spec["frames"], hop, n)
        tau = spec["tau"] * Q16_SIGMA
        s_c = zero_share(x, starts, c, spec["window"], tau)
        s_n = zero_share(x, starts, null, spec["window"], tau)
        med = float(np.median(s_n))
        spread = max(1.4826 * float(np.median(np.abs(s_n - med))), GRID_MIN_SPREAD)
        k = int(np.argmax(s_c))
        z = (float(s_c[k]) - med) / spread
        scores[codec] = GridScore(offset=int(c[k]), share=round(float(s_c[k]), 4), null=round(med, 4),
                                  z=round(z, 2))
        best_z = max(best_z, z)
    partial = FrameGrid(best=None, z=round(float(best_z), 2), scores=scores)
    return FrameGrid(best=grid_codec(partial), z=partial.z, scores=scores)


def grid_codec(grid: FrameGrid) -> str | None:
    """The codec a :func:`frame_grid` result names: the largest z, except that between codecs of the same
    frame size (AAC / Vorbis, both 1024) the one whose window leaves the larger excess zero share (share -
    null) wins: at the right offset the wrong window still finds most zeros, so its z can come close, but
    the right window always finds more (synthetic and dev-split transcodes)."""
    scored = {c: grid.scores[c] for c in GRID_SPECS if c in grid.scores}
    if not scored:
        return None
    best = max(scored, key=lambda c: scored[c].z)
    peers = [c for c in scored if GRID_SPECS[c]["n"] == GRID_SPECS[best]["n"]]
    return max(peers, key=lambda c: scored[c].share - scored[c].null)
