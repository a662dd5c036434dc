"""Codec frame-grid evidence: each codec's own analysis transform run on the decoded PCM at every frame alignment,
scored by the isolated-zero share (:mod:`.exact`), searched in stages so a whole track stays cheap.

Codecs and their transforms:

* **AAC-LC** and **Vorbis** code long blocks as the MDCT of 2048 windowed samples every 1024 (AAC: the
  Kaiser-Bessel-derived window, alpha 4, as FFmpeg's encoder writes; Vorbis: the power-sine window
  sin(pi/2 sin^2)). libvorbis's long block is 1024 samples (hop 512) at 22.05 kHz and at 32 kHz it can be either,
  so both are tried at rates up to 32 kHz; its long-block grid moves by multiples of 128 samples after a run of
  short blocks, so each Vorbis frame takes the best of the 8 positions r + 128 j of its residue r.
* **MP3** (MPEG layer III) and **MP2** (layer II): the 32-band polyphase analysis, for MP3 followed by the
  36-point MDCT per sub-band and the encoder's alias-reduction butterflies (:mod:`.mpeg`).

Stages (docs/lossy.md, "cost"): Vorbis and AAC first (candidates from the plain zero share on a few frames,
:func:`zero_share`, scored with isolated zeros on others, on more frames when z is ambiguous); then MP3 on a
short search, again on EXTENDED_FACTOR times the regions when its z is ambiguous (AMBIGUOUS_Z <= z < Z_DECIDES)
or the wall says lossy and no grid has fired; MP2 only when no grid has fired and MP3 stays below AMBIGUOUS_Z.
``FrameGrid.stages`` lists what ran. The grids read the loud parts of the excerpt (:func:`live_blocks`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import scipy.fft
import scipy.special

from ..spectral.kernels import lossy as _k
from . import mpeg
from .evidence import FrameGrid, GridScore
from .exact import Thresholds, best_share, channels, robust_z, set_counts

#: A grid z at or above this decides on its own (docs/lossy.md; genuine real recordings: max 4.8).
Z_DECIDES = 8.0
#: Below Z_DECIDES but at or above this, a grid is ambiguous: its search is extended (genuine recordings reach
#: 3-4.8 now and then).
AMBIGUOUS_Z = 4.0
#: Regions of the extended MP3 search and scoring, as multiples of the short one's.
EXTENDED_FACTOR = 3
#: Frames the extended scoring of an MDCT codec's grid reads, as multiples of the short one's, over every live block
#: (all of them when fewer): a sparse excerpt's z rises above the binomial floor only on all its live coefficients.
MDCT_EXTENDED_FACTOR = 10
#: Codecs in the order the grids are reported.
GRID_CODECS = ("mp3", "mp2", "aac", "vorbis")


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
    c = np.cumsum(_kaiser(half + 1, np.pi * alpha))
    w = np.sqrt(c[:half] / c[half])
    return np.concatenate([w, w[::-1]])


def _vorbis_window(n2: int) -> np.ndarray:
    n = np.arange(n2)
    return np.sin(np.pi / 2 * np.sin(np.pi * (n + 0.5) / n2) ** 2)


#: MDCT codecs: hop ``n`` (samples), window, and ``step``, the granularity of the grid's moves between frames
#: (None: a fixed grid).
MDCT_CODECS = {
    "aac": {"n": 1024, "window": _kbd_window(2048), "step": None},
    "vorbis": {"n": 1024, "window": _vorbis_window(2048), "step": 128},
    "vorbis_short": {"n": 512, "window": _vorbis_window(1024), "step": 64},
}
#: Highest rate at which libvorbis's 1024-sample long block (vorbis_short) is tried too, Hz.
VORBIS_SHORT_MAX_RATE = 32000
#: Frames (spread over the louder live blocks) searched at every offset with the plain zero share, and its zero
#: threshold in rounding-noise standard deviations (plain zeros: a candidate finder only).
SEARCH_FRAMES = 2
SEARCH_TAU_SIGMAS = 10.0
#: Offsets always scored for AAC: FFmpeg's decoder trims the encoder's priming, which puts the grid at 0.
AAC_PRIORS = (0,)
#: Candidates kept per channel searched, null offsets (AAC) or residues (Vorbis), frames scored (a moving grid
#: scores each frame at its 8 positions: fewer frames).
MDCT_CANDIDATES = 4
MDCT_NULL = 12
SCORE_FRAMES = 12
MOVING_SCORE_FRAMES = 8
#: Null offsets closer than this (samples, circularly) to a candidate are left out (a moving grid's residues:
#: MOVING_NULL_GUARD).
MDCT_NULL_GUARD = 8
MOVING_NULL_GUARD = 4
#: Blocks of this many samples decide where the excerpt is live (skip near-silent stretches).
BLOCK = 1152
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
    """Share of MDCT coefficients with ``|X| < tau`` over frames starting at ``starts + offset``, per offset (the
    plain zero share: the candidate search).

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


def live_blocks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices, in time order, of the BLOCK-sample blocks of ``x`` that are not near-silent (first-difference
    energy above 100 times that of 16-bit rounding noise), and of the louder half of them without those that hold
    an onset or a clipped sample (:data:`.mpeg.ONSET_RATIO`, :data:`.mpeg.CLIP_LEVEL`; all of them when that
    leaves fewer than a quarter)."""
    n_blocks = x.size // BLOCK
    hf = np.empty(n_blocks, dtype=np.float32)
    _k.diff_energy(x[: n_blocks * BLOCK].reshape(n_blocks, BLOCK), hf)  # sum(diff(block) ** 2) per block
    live = np.nonzero(hf > 100.0 * Q16_SIGMA ** 2 * BLOCK)[0]
    late = np.zeros(n_blocks, dtype=bool)
    late[1:] = hf[1:] > mpeg.ONSET_RATIO * hf[:-1]
    late |= np.abs(x[: n_blocks * BLOCK].reshape(n_blocks, BLOCK)).max(axis=1, initial=0.0) >= mpeg.CLIP_LEVEL
    loud = live[(hf[live] >= np.median(hf[live])) & ~late[live]] if live.size else live
    return live, (loud if loud.size >= live.size // 4 else live)


def frame_starts(live: np.ndarray, count: int, n: int, last: int) -> np.ndarray:
    """Starts of up to ``count`` frames spread over the blocks to read (:func:`live_blocks`), on multiples of
    ``n`` (one offset is one grid position in every frame), none beyond ``last``."""
    live = live[live * BLOCK // n * n <= last]
    if live.size == 0:
        return np.empty(0, dtype=np.int64)
    pick = live[np.linspace(0, live.size - 1, min(count, live.size)).round().astype(int)]
    return np.unique(pick * BLOCK // n * n)


def _mdct_thresholds() -> Thresholds:
    """The orthonormal MDCT keeps the variance of white noise (Princen-Bradley windows): gain 1."""
    return Thresholds.for_gain(1.0)


def _mdct_set_counts(chans: list[np.ndarray], starts: np.ndarray, window: np.ndarray) -> np.ndarray:
    """(sets, frames, 2) isolated-zero counts of the orthonormal MDCT of the frames at ``starts`` (all frames of
    a grid's scoring in one batch)."""
    n = window.size // 2
    w = window.astype(np.float32)
    spectra = []
    for x in chans:
        buf = np.empty((starts.size, n), dtype=np.float32)
        spectra.append(_fold_dct(x, starts, w, buf) * np.float32(_mdct_scale(n)))
    return set_counts(spectra, _mdct_thresholds())


def search_shares(chans: list[np.ndarray], live: np.ndarray, n: int) -> list[np.ndarray] | None:
    """The candidate search shared by the MDCT codecs of hop ``n``: the plain zero share at every offset (mod n)
    on SEARCH_FRAMES frames, with the Vorbis window (the AAC and Vorbis windows find each other's grids at this
    stage), for the first channel and for the side channel when it is not empty (mid/side-coded frames keep their
    zeros in S). None when the excerpt is too short or silent."""
    last = chans[0].size - 3 * n  # room for every offset (< n) and the window
    search = frame_starts(live[live % 6 == 0], SEARCH_FRAMES, n, last)
    if search.size < 2:
        return None
    w = _vorbis_window(2 * n).astype(np.float32)
    tau = SEARCH_TAU_SIGMAS * Q16_SIGMA
    probes = [chans[0]]
    if len(chans) == 2:
        probes.append(np.ascontiguousarray((chans[0] - chans[1]) * np.float32(0.5)))
    shares = []
    for i, x in enumerate(probes):
        share = zero_share(x, search, np.arange(n), w, tau)
        if i == 0 or np.median(share) < 0.9:  # an empty side channel has zeros at every offset
            shares.append(share)
    return shares


def mdct_grid(chans: list[np.ndarray], live: np.ndarray, codec: str, searched: list[np.ndarray], *,
              extra: tuple[int, ...] = (), frames: int | None = None) -> GridScore | None:
    """Isolated-zero frame-grid evidence of an MDCT codec (a key of MDCT_CODECS) on an excerpt: the best
    candidates of the shared search's plain zero shares ``searched`` (:func:`search_shares`; folded by the step of
    a moving grid) plus ``extra`` offsets, scored with isolated zeros, against MDCT_NULL spread offsets, on
    ``frames`` frames disjoint from the search's; a moving grid (Vorbis) takes, frame by frame, the best of the
    positions of each residue. None when the excerpt is too short or silent."""
    spec = MDCT_CODECS[codec]
    n, step = spec["n"], spec["step"]
    period = step or n
    frames = frames or (MOVING_SCORE_FRAMES if step else SCORE_FRAMES)
    # search and score on disjoint frames (live blocks 0 and 3 mod 6: a 2n-sample frame spans < 2 blocks)
    score = frame_starts(live[live % 6 == 3], frames, n, chans[0].size - 3 * n)
    if score.size < 2:
        return None
    found: list[int] = []
    for share in searched:
        if step:
            share = share.reshape(n // step, step).max(axis=0)
        found += [int(c) for c in np.argsort(share, kind="stable")[::-1][:MDCT_CANDIDATES] if int(c) not in found]
    found += [c % period for c in extra if c % period not in found]
    cand = np.array(found, dtype=np.int64)
    null = (cand[0] + 13 + np.arange(MDCT_NULL) * (period // MDCT_NULL)) % period
    dist = np.abs((null[:, None] - cand[None, :] + period // 2) % period - period // 2).min(axis=1)
    null = null[dist >= (MOVING_NULL_GUARD if step else MDCT_NULL_GUARD)]
    residues = np.concatenate([cand, null])
    moves = np.arange(n // period) * period if step else np.zeros(1, dtype=np.int64)
    # every (residue, move, frame) in one batch: counts (sets, residues, moves, frames, 2); a frame takes its
    # best (set, move) by isolated-zero share
    starts = (residues[:, None, None] + moves[None, :, None] + score[None, None, :]).reshape(-1)
    c = _mdct_set_counts(chans, starts, spec["window"]).reshape(-1, residues.size, moves.size, score.size, 2)
    c = np.moveaxis(c, 0, 1).reshape(residues.size, -1, score.size, 2)  # (residues, sets x moves, frames, 2)
    share = c[..., 1] / np.maximum(c[..., 0], 1)
    pick = np.argmax(share, axis=1)  # (residues, frames)
    totals = np.take_along_axis(c, pick[:, None, :, None], axis=1)[:, 0].sum(axis=1)  # (residues, 2)
    share = totals[:, 1] / np.maximum(totals[:, 0], 1)
    k = int(np.argmax(share[: cand.size]))
    med, z = robust_z(share[k], share[cand.size:], live=int(totals[k, 0]))
    return GridScore(offset=int(residues[k]), share=round(float(share[k]), 4), null=round(med, 4), z=round(z, 2))


def frame_grid(y: np.ndarray, sample_rate: int, *, wall_says_lossy: bool = False,
               layer3: GridScore | None = None) -> FrameGrid:
    """Codec-exact grid evidence of an excerpt, staged (module docstring).

    Parameters
    ----------
    y : np.ndarray, shape (frames,) or (frames, channels)
        Samples, full scale 1.
    sample_rate : int
        Hz (chooses the Vorbis block sizes; the grids are in samples).
    wall_says_lossy : bool
        The wall already looks like a codec's: extend the MP3 search when no grid has fired.
    layer3 : GridScore, optional
        The short MP3 search of these samples (:func:`.mpeg.layer3_grid` with its defaults), when the caller ran
        it already.

    Returns
    -------
    FrameGrid
        Per codec tried a :class:`~.evidence.GridScore`; ``best`` (the codec the grid names, :func:`grid_codec`),
        its ``z`` (0 when nothing could be scored) and ``stages`` (what ran).
    """
    chans = channels(y)
    every, live = live_blocks(chans[0] if len(chans) == 1 else np.ascontiguousarray(chans[0] + chans[1]))
    scores: dict[str, GridScore] = {}
    stages: list[str] = []
    searched = {n: search_shares(chans, live, n) for n in
                ((1024, 512) if sample_rate <= VORBIS_SHORT_MAX_RATE else (1024,))}
    for codec in ("vorbis", "aac") if searched[1024] is not None else ():
        # AAC's candidates also take FFmpeg's decoder alignment (AAC_PRIORS) and the positions of the Vorbis
        # residue (the two 1024-hop grids light up on either codec, and the moving-grid search is the surer)
        extra = () if codec == "vorbis" else AAC_PRIORS + (
            tuple(scores["vorbis"].offset + 128 * j for j in range(8)) if "vorbis" in scores else ())
        got = mdct_grid(chans, live, codec, searched[1024], extra=extra)
        if got is not None:
            stages.append(codec)
            if AMBIGUOUS_Z <= got.z < Z_DECIDES:
                frames = MDCT_EXTENDED_FACTOR * (MOVING_SCORE_FRAMES if codec == "vorbis" else SCORE_FRAMES)
                wide = mdct_grid(chans, every, codec, searched[1024], extra=extra, frames=frames)
                if wide is not None:
                    got = wide
                    stages.append(f"{codec} extended")
        if codec == "vorbis" and searched.get(512) is not None:
            short = mdct_grid(chans, live, "vorbis_short", searched[512])
            if short is not None:
                stages.append("vorbis 1024")
                if got is None or short.z > got.z:
                    got = short
        if got is not None:
            scores[codec] = got

    def fired() -> bool:
        return any(s.z >= Z_DECIDES for s in scores.values())

    mp3 = layer3 if layer3 is not None else mpeg.layer3_grid(chans)
    if mp3 is not None:
        scores["mp3"] = mp3
        stages.append("mp3")
        if not fired() and (AMBIGUOUS_Z <= mp3.z < Z_DECIDES or wall_says_lossy):
            wide = mpeg.layer3_grid(chans, regions=EXTENDED_FACTOR * mpeg.SEARCH_REGIONS,
                                    score_regions=EXTENDED_FACTOR * mpeg.SCORE_REGIONS)
            if wide is not None:
                scores["mp3"] = wide
                stages.append("mp3 extended")
    if not fired() and (mp3 is None or scores["mp3"].z < AMBIGUOUS_Z):
        mp2 = mpeg.layer2_grid(chans, sample_rate=sample_rate)
        if mp2 is not None:
            scores["mp2"] = mp2
            stages.append("mp2")
    if not scores:
        return FrameGrid()
    ordered = {c: scores[c] for c in GRID_CODECS if c in scores}
    best = grid_codec(ordered)
    return FrameGrid(best=best, z=round(max(s.z for s in ordered.values()), 2), scores=ordered, stages=tuple(stages))


def grid_codec(scores: dict[str, GridScore]) -> str | None:
    """The codec the grids name: the largest z, except that when AAC and Vorbis (both 1024-hop MDCTs) both
    decide, the one whose window leaves the larger excess zero share (share - null) wins: at the right offset the
    wrong window still finds most zeros, but the right window finds more."""
    if not scores:
        return None
    best = max(scores, key=lambda c: scores[c].z)
    if best in ("aac", "vorbis") and all(c in scores and scores[c].z >= Z_DECIDES for c in ("aac", "vorbis")):
        best = max(("aac", "vorbis"), key=lambda c: scores[c].share - scores[c].null)
    return best


def grid_at_lower_rate(y: np.ndarray, sample_rate: int, rates: list[int]) -> FrameGrid | None:
    """The MP3 grid of the excerpt resampled to each lower rate of ``rates`` in turn (an encoder that ran at that
    rate, LAME's own resampling to 32 kHz at 96 kbps and V7 included, decoded and resampled up to
    ``sample_rate``, leaves its frame grid only at its own rate: resampling back puts the samples on the
    encoder's again, to within the two resamplers' ripple); the first that decides (z >= Z_DECIDES), with
    ``read_at_hz`` set, else None. Only an MP3 grid counts: its null was measured on resampled genuine
    recordings (z <= 4 through 32 kHz against >= 13 for LAME V7); the MDCT grids of AAC and Vorbis fired on a
    resampled sparse sample that never met either codec.

    The short MP3 search screens each rate, and the staged search runs only from an ambiguous z (AMBIGUOUS_Z)
    up: every MP3 found at a lower rate in the corpus and its real-world layer reads z >= 10 on the short search
    alone, and the extended search lifts a true grid's z by about sqrt(3) (from under 4 to under 7). Music whose
    top lies near a lower rate's Nyquist frequency so pays one resampling and the short search."""
    from scipy.signal import resample_poly  # here: scipy.signal takes long to import, and few files need it

    for rate in rates:
        g = math.gcd(int(rate), int(sample_rate))
        low = np.ascontiguousarray(resample_poly(y, int(rate) // g, int(sample_rate) // g, axis=0),
                                   dtype=np.float32)
        screen = mpeg.layer3_grid(channels(low))
        if screen is None or screen.z < AMBIGUOUS_Z:
            continue
        got = frame_grid(low, int(rate), wall_says_lossy=True, layer3=screen)
        if got.best == "mp3" and got.z >= Z_DECIDES:
            return replace(got, read_at_hz=int(rate))
    return None
