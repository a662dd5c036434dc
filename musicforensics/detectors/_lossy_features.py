"""Excerpt-level evidence of lossy coding: spectro-temporal holes (and the MP3 sfb21 flicker above 16 kHz).

Psychoacoustic coders quantise whole time-frequency tiles (one scale-factor band for one frame) to zero;
decoded, such a tile is a "hole": a band that goes quiet for one codec frame between two frames where it
sounds (Hennequin et al., ICASSP 2017, "holes and clusters"; SCIENCE.md section 1). In MP3 the band above
16 kHz (sfb21) switches on and off from granule to granule in this way. A genuine recording cannot drop a
~350 Hz band by more than ``HOLE_DIP_DB`` for ~12 ms and come back, because the analysis frames overlap by
75 % and noise-like bands of 8 bins fluctuate by ~1.5 dB only.

Measure: STFT (``FRAME`` samples at 44.1 kHz, scaled with the rate, hop FRAME/4) of the mid channel of an
excerpt; band energies G[t, g] over groups of ``GROUP_BINS`` bins; a tile (t, g) is eligible when both
G[t - 4, g] and G[t + 4, g] (one frame length away) are more than ``ACTIVE_MARGIN_DB`` above the 16-bit
rounding level, and a hole when G[t, g] is more than ``HOLE_DIP_DB`` below the smaller of the two. The hole
rate is holes / eligible tiles, per frequency region.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

#: STFT frame at 44.1 kHz (23 ms; scaled with the sample rate so tiles cover the same time span).
FRAME = 1024
#: Bins per band group (8 bins of 43 Hz = 344 Hz, about the width of MP3/AAC scale-factor bands up high).
GROUP_BINS = 8
#: A tile is a hole when it sits this many dB under both its neighbours one frame away. Chosen on the dev
#: split (genuine renders: hole rate <= 0.005 with 12 dB; lossy: up to 0.4).
HOLE_DIP_DB = 12.0
#: Neighbours must be this many dB above the 16-bit rounding level of one group to count.
ACTIVE_MARGIN_DB = 25.0
#: Frequency regions (Hz) whose hole rates are reported; the last one is MP3's sfb21 (flicker).
REGIONS = ((4000.0, 11000.0), (11000.0, 16000.0), (16000.0, 19500.0))
#: A region needs at least this share of eligible tiles for its rate to count.
MIN_ELIGIBLE_SHARE = 0.2
#: Seconds of audio examined (the middle of the track).
EXCERPT_SECONDS = 30.0


def hole_rates(y: np.ndarray, sample_rate: int, *, top_hz: float | None = None) -> dict:
    """Hole rate per region of an excerpt.

    Parameters
    ----------
    y : np.ndarray, shape (frames,) or (frames, channels)
        Samples, full scale 1.
    sample_rate : int
        Hz.
    top_hz : float, optional
        Ignore frequencies above this (e.g. a wall already found), Hz.

    Returns
    -------
    dict
        ``{"4-11k": {"rate": float or None, "eligible": float}, ...}`` and ``"max_rate"`` (largest rate over
        regions with enough eligible tiles, 0.0 when none).
    """
    y = np.asarray(y, dtype=np.float64)
    x = y.mean(axis=1) if y.ndim == 2 else y
    n_fft = int(2 ** round(np.log2(FRAME * sample_rate / 44100.0)))
    hop = n_fft // 4
    out: dict = {}
    best = 0.0
    if x.size < n_fft + 9 * hop:
        for lo, hi in REGIONS:
            out[f"{lo / 1000:g}-{hi / 1000:g}k"] = {"rate": None, "eligible": 0.0}
        out["max_rate"] = 0.0
        return out
    n_frames = 1 + (x.size - n_fft) // hop
    win = np.hanning(n_fft + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames]
    spec = scipy.fft.rfft(frames * win, axis=-1)
    scale = (2.0 / win.sum()) ** 2
    power = (spec.real ** 2 + spec.imag ** 2) * scale  # (frames, bins), dB re full-scale sine
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    q16 = 6.0 * (2.0 ** -15) ** 2 / 12.0 / n_fft  # rounding-noise power per bin (see dsp.wall)
    floor_db = 10 * np.log10(q16)
    for lo, hi in REGIONS:
        key = f"{lo / 1000:g}-{hi / 1000:g}k"
        top = hi if top_hz is None else min(hi, top_hz)
        sel = np.nonzero((freqs >= lo) & (freqs < top))[0]
        ng = sel.size // GROUP_BINS
        if ng == 0:
            out[key] = {"rate": None, "eligible": 0.0}
            continue
        p = power[:, sel[: ng * GROUP_BINS]].reshape(n_frames, ng, GROUP_BINS).mean(axis=2)
        g = 10 * np.log10(p + 1e-20)
        a, b, c = g[:-8], g[4:-4], g[8:]
        ok = (a > floor_db + ACTIVE_MARGIN_DB) & (c > floor_db + ACTIVE_MARGIN_DB)
        hole = ok & (np.minimum(a, c) - b > HOLE_DIP_DB)
        share = float(ok.mean())
        rate = float(hole.sum() / ok.sum()) if ok.any() else None
        out[key] = {"rate": rate, "eligible": round(share, 4)}
        if rate is not None and share >= MIN_ELIGIBLE_SHARE:
            best = max(best, rate)
    out["max_rate"] = best
    return out


# -- codec frame grid: exact MDCT sparsity at the codec's frame offset ---------------------------------------
#
# AAC-LC and Vorbis code long blocks as the MDCT of 2048 windowed samples every 1024 (AAC: Kaiser-Bessel-
# derived window, alpha 4, as ffmpeg's encoder writes; Vorbis: the power-sine window sin(pi/2 sin^2)). Their
# decoders invert the quantised MDCT, so the MDCT of the decoded PCM *at the codec's frame offset and with the
# codec's window* gives back the dequantised coefficients: every coefficient quantised to zero comes back as
# zero to within 16-bit rounding noise. At any other offset (or with another window) the spectrum is dense.
# Genuine audio has no preferred offset, so the zero share at the best offset is compared with the same share
# at other offsets of the same file (a null from the file itself).

#: MDCT half-length (hop) of AAC-LC and Vorbis long blocks, samples.
GRID_N = 1024
#: A coefficient counts as zero below this many standard deviations of 16-bit rounding noise in the
#: (orthonormal) MDCT domain (q / sqrt(12), q = 2^-15). 10 sigma: rounding noise never reaches it, and at a
#: wrong offset the leakage of any audible band does.
GRID_TAU_SIGMA = 10.0
#: Frames (2048 samples each, spread over the excerpt) used to search all GRID_N offsets, and to score the
#: best candidates.
GRID_SEARCH_FRAMES = 2
GRID_SCORE_FRAMES = 8
#: Offsets re-scored with GRID_SCORE_FRAMES frames (the best of the search), and offsets forming the null.
GRID_CANDIDATES = 4
GRID_NULL_OFFSETS = 12
#: Floor of the robust spread (1.4826 MAD) of the null zero share, so files whose share hardly varies
#: (digital silence, mono) cannot produce large z from nothing.
GRID_MIN_SPREAD = 0.003


def _kbd_window(n2: int, alpha: float = 4.0) -> np.ndarray:
    import scipy.signal.windows as sw

    half = n2 // 2
    k = sw.kaiser(half + 1, np.pi * alpha)
    c = np.cumsum(k)
    w = np.sqrt(c[:half] / c[half])
    return np.concatenate([w, w[::-1]])


def _vorbis_window(n2: int) -> np.ndarray:
    n = np.arange(n2)
    return np.sin(np.pi / 2 * np.sin(np.pi * (n + 0.5) / n2) ** 2)


#: Codec -> long-block MDCT window (length 2 GRID_N).
GRID_WINDOWS = {"aac": _kbd_window(2 * GRID_N), "vorbis": _vorbis_window(2 * GRID_N)}
#: Window used to search the offset: the Vorbis window finds both codecs' offsets (its shape lies between
#: the sine and KBD windows; measured on the dev split).
GRID_SEARCH_WINDOW = "vorbis"


def mdct(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Orthonormal MDCT of 2N-sample frames.

    ``X[k] = sqrt(2/N) sum_n w[n] x[n] cos(pi/N (n + 1/2 + N/2)(k + 1/2))``, computed as a DCT-IV of the
    time-folded windowed frame.

    Parameters
    ----------
    frames : np.ndarray, shape (..., 2N)
        Samples.
    window : np.ndarray, shape (2N,)

    Returns
    -------
    np.ndarray, shape (..., N)
    """
    n2 = frames.shape[-1]
    n = n2 // 2
    h = n // 2
    w = window.astype(frames.dtype, copy=False)
    # fold without windowing the whole frame first: u = (-c_r - d, a - b_r) of the windowed quarters
    u = np.empty(frames.shape[:-1] + (n,), dtype=np.result_type(frames.dtype, np.float32))
    np.multiply(frames[..., n + h - 1:n - 1:-1], w[n + h - 1:n - 1:-1], out=u[..., :h])
    u[..., :h] += frames[..., n + h:] * w[n + h:]
    np.negative(u[..., :h], out=u[..., :h])
    np.multiply(frames[..., :h], w[:h], out=u[..., h:])
    u[..., h:] -= frames[..., n - 1:h - 1:-1] * w[n - 1:h - 1:-1]
    return scipy.fft.dct(u, type=4, axis=-1) * (np.sqrt(2.0 / n) / 2.0)


def _zero_share(x: np.ndarray, starts: np.ndarray, offsets: np.ndarray, window: np.ndarray, tau: float) -> np.ndarray:
    """Share of |MDCT| < tau over frames starting at ``starts + offset``, per offset."""
    n2 = window.size
    if offsets.size == GRID_N and np.all(offsets == np.arange(GRID_N)):
        # every offset: a zero-copy sliding view per start frame
        counts = np.zeros(GRID_N)
        for s in starts:
            view = np.lib.stride_tricks.sliding_window_view(x[s:s + n2 + GRID_N - 1], n2)
            counts += np.count_nonzero(np.abs(mdct(view, window)) < tau, axis=-1)
        return counts / (len(starts) * (n2 // 2))
    idx = offsets[:, None, None] + starts[None, :, None] + np.arange(n2)[None, None, :]
    X = mdct(x[idx], window)
    return (np.abs(X) < tau).mean(axis=(1, 2))


def frame_grid(y: np.ndarray, sample_rate: int) -> dict:
    """Evidence of an AAC / Vorbis frame grid in decoded PCM.

    Parameters
    ----------
    y : np.ndarray, shape (frames,) or (frames, channels)
        Samples, full scale 1 (an excerpt).
    sample_rate : int
        Hz (reported only: the grid is in samples).

    Returns
    -------
    dict
        ``offset`` (best offset mod GRID_N, samples), per codec ``{"share": zero share at the offset,
        "null": median share over other offsets, "z": (share - null) / spread}``, and ``best`` (codec with
        the largest z) / ``z`` (its z). ``z`` is 0.0 when the excerpt is too short.
    """
    y = np.asarray(y)
    chans = [y] if y.ndim == 1 else [y[:, c] for c in range(y.shape[1])]
    n = chans[0].size
    span = 2 * GRID_N
    out: dict = {"offset": None, "z": 0.0, "best": None, "sample_rate": sample_rate}
    usable = n - span - GRID_N
    if usable < 4 * GRID_N:
        return out
    tau = GRID_TAU_SIGMA * (2.0 ** -15) / np.sqrt(12.0)
    n_blocks = usable // GRID_N
    # frames spread over the excerpt, skipping (near-)silent blocks of the first channel
    x0 = chans[0].astype(np.float32)
    blocks = x0[: n_blocks * GRID_N].reshape(n_blocks, GRID_N)
    hf = np.sum(np.diff(blocks, axis=1) ** 2, axis=1)
    live = np.nonzero(hf > tau * tau * GRID_N)[0]
    if live.size < 2:
        return out
    pick = live[np.linspace(0, live.size - 1, GRID_SCORE_FRAMES).round().astype(int)]
    score_starts = np.unique(pick) * GRID_N
    search_starts = score_starts[np.linspace(0, score_starts.size - 1, GRID_SEARCH_FRAMES).round().astype(int)]
    offs = np.arange(GRID_N)
    share = _zero_share(x0, search_starts, offs, GRID_WINDOWS[GRID_SEARCH_WINDOW], tau)
    cands = np.argsort(share)[::-1][:GRID_CANDIDATES]
    # null offsets: evenly spread, away from the candidates by at least 8 samples
    null = (cands[0] + 17 + np.arange(GRID_NULL_OFFSETS) * (GRID_N // GRID_NULL_OFFSETS)) % GRID_N
    null = np.array([o for o in null if np.min(np.abs(((o - cands) + GRID_N // 2) % GRID_N - GRID_N // 2)) >= 8])
    best = {"z": -np.inf}
    per_codec = {}
    for codec, win in GRID_WINDOWS.items():
        zc, rec = -np.inf, None
        for x in chans:
            xf = x.astype(np.float32)
            s_c = _zero_share(xf, score_starts, cands, win, tau)
            s_n = _zero_share(xf, score_starts, null, win, tau)
            med = float(np.median(s_n))
            spread = max(1.4826 * float(np.median(np.abs(s_n - med))), GRID_MIN_SPREAD)
            k = int(np.argmax(s_c))
            z = (float(s_c[k]) - med) / spread
            if z > zc:
                zc = z
                rec = {"share": round(float(s_c[k]), 4), "null": round(med, 4), "z": round(z, 2),
                       "offset": int(cands[k])}
        per_codec[codec] = rec
        if zc > best["z"]:
            best = {"z": zc, "codec": codec, "offset": rec["offset"]}
    out.update(per_codec)
    out["offset"] = best["offset"]
    out["best"] = best["codec"]
    out["z"] = round(float(best["z"]), 2)
    return out
