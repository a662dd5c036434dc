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


#: STFT frames transformed per batch in :func:`hole_rates` (bounds the work memory to a few MB whatever the
#: excerpt length and sample rate, and keeps each batch in cache).
HOLE_BATCH_FRAMES = 512


def _mono(y: np.ndarray, batch: int = 1 << 16) -> np.ndarray:
    """Channel mean as float32, summed channel by channel in double precision (the same rounding as
    ``y.mean(axis=1)`` for fewer than 8 channels, without NumPy's slow reduction over a short axis), ``batch``
    frames at a time so no full-length double-precision temporary is made."""
    if y.ndim == 1:
        return y.astype(np.float32)
    out = np.empty(y.shape[0], dtype=np.float32)
    acc = np.empty(min(batch, y.shape[0]))
    for a in range(0, y.shape[0], batch):
        part = y[a:a + batch]
        s = acc[: part.shape[0]]
        s[:] = part[:, 0]
        for j in range(1, y.shape[1]):
            s += part[:, j]
        s /= y.shape[1]
        out[a:a + part.shape[0]] = s
    return out


def _group_mean8(p: np.ndarray) -> np.ndarray:
    """Mean over the last axis (length 8) in the order NumPy's pairwise sum uses for 8 elements, so the
    float32 result is bit-identical to ``p.mean(axis=-1)`` at a fraction of its cost."""
    s = ((p[..., 0] + p[..., 1]) + (p[..., 2] + p[..., 3])) + ((p[..., 4] + p[..., 5]) + (p[..., 6] + p[..., 7]))
    return s / np.float32(8)


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

    Notes
    -----
    The STFT runs in batches of HOLE_BATCH_FRAMES frames and only the bins of the regions are squared and
    grouped, so memory stays at a few MB; single precision halves the FFT cost.
    """
    x = _mono(np.asarray(y))
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
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    scale = np.float32((2.0 / float(win.sum())) ** 2)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    q16 = 6.0 * (2.0 ** -15) ** 2 / 12.0 / n_fft  # rounding-noise power per bin (see dsp.wall)
    floor_db = 10 * np.log10(q16)
    # contiguous bin range [k0, k0 + 8 ng) of each region (after the top_hz cut)
    spans = []
    for lo, hi in REGIONS:
        top = hi if top_hz is None else min(hi, top_hz)
        sel = np.nonzero((freqs >= lo) & (freqs < top))[0]
        ng = sel.size // GROUP_BINS
        spans.append((int(sel[0]) if ng else 0, ng))
    used = [(k0, ng) for k0, ng in spans if ng]
    k_lo = min((k0 for k0, _ in used), default=0)
    k_hi = max((k0 + ng * GROUP_BINS for k0, ng in used), default=0)
    groups = [np.empty((n_frames, ng)) for _, ng in spans]  # group level G[t, g], dB
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n_frames]
    buf = np.empty((min(HOLE_BATCH_FRAMES, n_frames), n_fft), dtype=np.float32)
    for f0 in range(0, n_frames if used else 0, HOLE_BATCH_FRAMES):
        f1 = min(n_frames, f0 + HOLE_BATCH_FRAMES)
        fb = buf[: f1 - f0]
        np.multiply(frames[f0:f1], win, out=fb)
        spec = scipy.fft.rfft(fb, axis=-1)[:, k_lo:k_hi]
        power = (spec.real ** 2 + spec.imag ** 2) * scale  # (frames, bins), re full-scale sine
        for (k0, ng), g in zip(spans, groups):
            if ng:
                p = _group_mean8(power[:, k0 - k_lo:k0 - k_lo + ng * GROUP_BINS].reshape(f1 - f0, ng, GROUP_BINS))
                g[f0:f1] = 10 * np.log10(p.astype(np.float64) + 1e-20)
    for (lo, hi), (k0, ng), g in zip(REGIONS, spans, groups):
        key = f"{lo / 1000:g}-{hi / 1000:g}k"
        if ng == 0:
            out[key] = {"rate": None, "eligible": 0.0}
            continue
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
# MP3's hybrid filterbank (32-band polyphase, then an 18-line MDCT per band: 576 lines per granule) is
# approximated by a 576-line sine-window MDCT: not exact, so its zero test is looser (GRID_SPECS tau).
# Genuine audio has no preferred offset, so the zero share at the best offset is compared with the same share
# at other offsets of the same file (a null from the file itself): z = (share - median null) / spread.


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
#: Offsets transformed per batch in the all-offset search.
GRID_CHUNK = 128
#: Rounding-noise standard deviation of 16-bit PCM (full scale 1).
Q16_SIGMA = (2.0 ** -15) / np.sqrt(12.0)


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
    """
    n2 = window.size
    n = n2 // 2
    offsets = np.asarray(offsets)
    if offsets.size == n and np.array_equal(offsets, np.arange(n)):
        # every offset: a zero-copy sliding view per start frame
        # every offset: zero-copy sliding views, GRID_CHUNK offsets at a time (stays in cache: 2.4x faster
        # than all 1024 at once, measured)
        counts = np.zeros(n)
        for s in starts:
            for a in range(0, n, GRID_CHUNK):
                m = min(GRID_CHUNK, n - a)
                view = np.lib.stride_tricks.sliding_window_view(x[s + a:s + a + m + n2 - 1], n2)
                counts[a:a + m] += np.count_nonzero(np.abs(mdct(view, window)) < tau, axis=-1)
        return counts / (len(starts) * n)
    idx = offsets[:, None, None] + np.asarray(starts)[None, :, None] + np.arange(n2)[None, None, :]
    X = mdct(x[idx], window)
    return (np.abs(X) < tau).mean(axis=(1, 2))


def _spread_starts(live: np.ndarray, count: int, hop: int, n: int) -> np.ndarray:
    """Starts of ``count`` frames spread over the live blocks, on multiples of ``n`` (so that one offset means
    one grid position in every frame)."""
    pick = live[np.linspace(0, live.size - 1, min(count, live.size)).round().astype(int)]
    return np.unique(pick * hop // n * n)


def _block_diff_energy(blocks: np.ndarray, batch: int = 256) -> np.ndarray:
    """``np.sum(np.diff(blocks, axis=1) ** 2, axis=1)`` (same float32 rounding), ``batch`` rows at a time in
    one reused buffer instead of two whole-excerpt temporaries."""
    n, hop = blocks.shape
    out = np.empty(n, dtype=blocks.dtype)
    buf = np.empty((min(batch, n), hop - 1), dtype=blocks.dtype)
    for a in range(0, n, batch):
        d = buf[: min(batch, n - a)]
        np.subtract(blocks[a:a + d.shape[0], 1:], blocks[a:a + d.shape[0], :-1], out=d)
        np.square(d, out=d)
        out[a:a + d.shape[0]] = d.sum(axis=1)
    return out


def frame_grid(y: np.ndarray, sample_rate: int) -> dict:
    """Evidence of an AAC / Vorbis / MP3 frame grid in decoded PCM (first channel of an excerpt).

    Parameters
    ----------
    y : np.ndarray, shape (frames,) or (frames, channels)
        Samples, full scale 1.
    sample_rate : int
        Hz (reported only: the grid is in samples).

    Returns
    -------
    dict
        Per codec ``{"offset": best offset mod n (samples), "share": zero share there, "null": median share
        over other offsets, "z": (share - null) / spread}``; ``best`` (codec with the largest z) and ``z``
        (its z, 0.0 when the excerpt is too short or silent).
    """
    y = np.asarray(y)
    x = (y if y.ndim == 1 else y[:, 0]).astype(np.float32)
    out: dict = {"best": None, "z": 0.0}
    hop = 1152
    usable = x.size - 2 * 2048
    if usable < 8 * hop:
        return out
    n_blocks = usable // hop
    blocks = x[: n_blocks * hop].reshape(n_blocks, hop)
    hf = _block_diff_energy(blocks)
    live = np.nonzero(hf > 100.0 * Q16_SIGMA ** 2 * hop)[0]  # skip (near-)silent blocks
    if live.size < 4:
        return out
    # search and score on disjoint frames (blocks 0 and 3 mod 6: a 2048-sample frame spans < 2 blocks), so
    # the offsets picked by the search are not favoured by the frames that score them
    live_search, live_score = live[live % 6 == 0], live[live % 6 == 3]
    if live_search.size < 2 or live_score.size < 2:
        return out
    cands: dict = {}
    for codec, nf in GRID_SEARCH_FRAMES.items():
        spec = GRID_SPECS[codec]
        share = zero_share(x, _spread_starts(live_search, nf, hop, spec["n"]), np.arange(spec["n"]), spec["window"],
                           spec["tau"] * Q16_SIGMA)
        cands[codec] = np.argsort(share)[::-1][:GRID_CANDIDATES]
    best_z, best_codec = -np.inf, None
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
        out[codec] = {"offset": int(c[k]), "share": round(float(s_c[k]), 4), "null": round(med, 4),
                      "z": round(z, 2)}
        if z > best_z:
            best_z, best_codec = z, codec
    out["z"] = round(float(best_z), 2)
    out["best"] = grid_codec(out) if best_codec is not None else None
    return out


def grid_codec(grid: dict) -> str | None:
    """The codec a :func:`frame_grid` result names: the largest z, except that between codecs of the same
    frame size (AAC / Vorbis, both 1024) the one whose window leaves the larger excess zero share (share -
    null) wins: at the right offset the wrong window still finds most zeros, so its z can come close, but
    the right window always finds more (synthetic and dev-split transcodes)."""
    scored = {c: grid[c] for c in GRID_SPECS if isinstance(grid.get(c), dict) and "z" in grid[c]}
    if not scored:
        return None
    best = max(scored, key=lambda c: scored[c]["z"])
    peers = [c for c in scored if GRID_SPECS[c]["n"] == GRID_SPECS[best]["n"]]
    return max(peers, key=lambda c: scored[c]["share"] - scored[c]["null"])
