"""Plain NumPy twins of the numba kernels in :mod:`musicforensics.spectral.kernels`, written independently; the
tests check that each kernel agrees with its twin on seeded and property-generated inputs.

Sections follow the kernel modules: :mod:`.spectral` (the streamed pass, sample statistics and the lattice of
sample values), :mod:`.comb` (hull anchors and the comb sums), :mod:`.fold` (the coherent comb's folds),
:mod:`.lossy` (the lossy detector's excerpt features: the NumPy code the kernels replaced, operation for
operation), :mod:`.exact` (the codec-exact grids: the formulas of ISO 11172-3 written as array expressions).
"""

from __future__ import annotations

import numpy as np


# -- spectral -------------------------------------------------------------------------------------------------

def accumulate_frames(power, active, floor, sum_db, sum_power, band_of_bin, segment_of_frame, band_sum, band_count):
    p = power[active]
    seg = segment_of_frame[active]
    sum_db += (10.0 * np.log10(p + floor)).sum(axis=0)
    sum_power += p.sum(axis=0)
    np.add.at(band_count, seg, 1.0)
    valid = band_of_bin >= 0
    n_bands = band_sum.shape[1]
    per_band = np.zeros((p.shape[0], n_bands))
    for b in range(n_bands):
        per_band[:, b] = p[:, valid & (band_of_bin == b)].sum(axis=1)
    np.add.at(band_sum, seg, per_band)


def accumulate_spectrum(spec, scale2, active, floor, chunk, sum_db, sum_power, band_of_bin, segment_of_frame,
                        band_sum, band_count):
    # the plain per-frame sum of logs (``chunk`` only changes how often the kernel renormalises its products)
    power = (spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2) * scale2
    accumulate_frames(power, active, floor, sum_db, sum_power, band_of_bin, segment_of_frame, band_sum, band_count)


def sample_stats(x, scale, stats, or_bits, sums):
    finite = np.isfinite(x)
    sums += np.where(finite, x, 0.0).sum(axis=0)
    v = x[finite]
    stats[4] += (~finite).sum()
    if v.size == 0:
        return
    stats[0] = max(stats[0], np.abs(v).max())
    stats[1] += (v * v).sum()
    stats[2] += v.size
    stats[3] += (np.abs(v) >= 1.0 - 1.0 / 32768.0).sum()
    q = v * scale
    on_grid = np.floor(q) == q
    stats[5] += (~on_grid).sum()
    if on_grid.any():
        or_bits[0] |= np.bitwise_or.reduce(q[on_grid].astype(np.int64))


def lattice_gcd(flat, scale, limit):
    v = np.asarray(flat, dtype=np.float64) * scale
    v = v[np.abs(v) < limit]
    if v.size == 0:
        return 0, 0, 0
    off = np.nonzero(np.floor(v) != v)[0]
    q = (v[: off[0]] if off.size else v).astype(np.int64)  # the kernel stops at the first off-grid sample
    if q.size == 0:
        return 1, 0, 0
    running = np.gcd.accumulate(np.abs(q - q[0]))
    ones = np.nonzero(running == 1)[0]
    if ones.size:
        return 1, int(q[0]), int(ones[0]) + 1
    return (1 if off.size else int(running[-1])), int(q[0]), int(q.size)


# -- comb -----------------------------------------------------------------------------------------------------

def window_minima(x, width):
    starts = np.arange(0, x.size, width)
    idx = np.array([s + int(np.argmin(x[s:s + width])) for s in starts], dtype=np.int64)
    return idx, x[idx].astype(np.float64)


def clipped_residual(x, hull, floor, lo, hi):
    out = np.clip(x - np.maximum(hull, floor), lo, hi)
    top = out.max() if out.size else 0.0
    return out / top if top > 0 else out


def _at(r, pos):
    pos = np.asarray(pos, dtype=np.float64)
    i = np.floor(pos).astype(np.int64)
    ok = (i >= 0) & (i + 1 < r.size)
    j = np.clip(i, 0, r.size - 2)
    return np.where(ok, np.maximum(r[j], r[j + 1]), -1.0)


def comb_sums(r, bin_hz, deltas, fmin, edges, sums, counts):
    for i, d in enumerate(deltas):
        n = np.arange(int(np.ceil(fmin / d)), int(np.ceil(edges[-1] / d)) + 1)
        f = n * d
        n, f = n[f < edges[-1]], f[f < edges[-1]]
        a = _at(r, f * (1.0 / bin_hz))
        b = _at(r, (f + 0.5 * d) * (1.0 / bin_hz))
        ok = (a >= 0) & (b >= 0)
        for e, edge in enumerate(edges):
            sel = ok & (f < edge)
            sums[i, e] = (a - b)[sel].sum()
            counts[i, e] = sel.sum()


# -- fold -----------------------------------------------------------------------------------------------------

def channel_sum(x, out):
    out[:] = x.sum(axis=1, dtype=np.float64)


def fold_add(m, acc, start):
    length = acc.shape[0]
    rolled = np.zeros(length)
    head = min(m.shape[0], length - start)
    rolled[start:start + head] = m[:head]
    rest = m[head:].astype(np.float64)
    whole = rest.shape[0] // length
    if whole:
        rolled += rest[: whole * length].reshape(whole, length).sum(axis=0)
    tail = rest[whole * length:]
    rolled[: tail.shape[0]] += tail
    acc += rolled
    return (start + m.shape[0]) % length


def block_median_noise(power, block, out):
    n_blocks = power.shape[0] // block
    medians = np.median(power[: n_blocks * block].reshape(n_blocks, block), axis=1)
    centres = np.arange(n_blocks) * block + 0.5 * (block - 1)
    out[:] = np.interp(np.arange(power.shape[0]), centres, medians)


def lattice_sums(level, delta_hz, bin_hz, lo, hi, f_lo, f_hi, m_max, skip, sums, squares, counts):
    for m in range(2, m_max + 1):
        if skip[m]:
            continue
        fine = delta_hz / m
        j = np.arange(int(np.ceil(f_lo / fine)), int(f_hi / fine) + 1)
        phase = (j % m) / m
        j = j[(phase >= 0.25) & (phase <= 0.75)]
        points = np.round(j * fine / bin_hz).astype(np.int64)
        h = level[points[(points > lo) & (points < hi)]]
        sums[m], squares[m], counts[m] = h.sum(), np.dot(h, h), h.size


# -- lossy ----------------------------------------------------------------------------------------------------

def channel_mean(y, out, batch=1 << 16):
    # double-precision channel sums, ``batch`` frames at a time (no full-length double temporary)
    acc = np.empty(min(batch, y.shape[0]))
    for a in range(0, y.shape[0], batch):
        part = y[a:a + batch]
        s = acc[: part.shape[0]]
        s[:] = part[:, 0]
        for j in range(1, y.shape[1]):
            s += part[:, j]
        s /= y.shape[1]
        out[a:a + part.shape[0]] = s


def window_frames(x, first, hop, win, out):
    frames = np.lib.stride_tricks.sliding_window_view(x, win.size)[::hop]
    np.multiply(frames[first:first + out.shape[0]], win, out=out)


def band_means(spec, starts, width, scale, out):
    power = (spec.real ** 2 + spec.imag ** 2) * scale
    # C-ordered groups: NumPy's mean over a contiguous last axis is the order the kernel follows
    groups = np.ascontiguousarray(power[:, starts[:, None] + np.arange(width)])
    out[:] = groups.mean(axis=-1)


def local_hole_counts(levels, cols, lag, floor, on, dip, broadband, eligible, holes):
    g0, g1 = cols[0], cols[-1]
    p = levels[:, g0:g1].astype(np.float64) + floor
    a, b, c = p[:-2 * lag], p[lag:-lag], p[2 * lag:]
    ok = (a > on) & (c > on)
    lo = np.minimum(a, c)
    ordered = np.sort(np.where(ok, lo / b, np.inf), axis=1)
    count = ok.sum(axis=1)
    median = ordered[np.arange(ordered.shape[0]), np.maximum(count - 1, 0) // 2]
    quiet_frame = (count > 0) & (median <= broadband)
    dip_tile = ok & (lo > dip * b)
    for r in range(len(cols) - 1):
        part = slice(cols[r] - g0, cols[r + 1] - g0)
        eligible[r] += ok[:, part].sum()
        holes[r] += dip_tile[quiet_frame, part].sum()


def fold_frames(x, starts, w, out):
    frames = x[np.asarray(starts)[:, None] + np.arange(w.size)]
    n = out.shape[1]
    h = n // 2
    # u = (-c_r - d, a - b_r) of the windowed quarters (a, b, c, d)
    out[:, :h] = frames[:, n + h - 1:n - 1:-1] * w[n + h - 1:n - 1:-1]
    out[:, :h] += frames[:, n + h:] * w[n + h:]
    np.negative(out[:, :h], out=out[:, :h])
    out[:, h:] = frames[:, :h] * w[:h]
    out[:, h:] -= frames[:, n - 1:h - 1:-1] * w[n - 1:h - 1:-1]


def count_below(X, scale, tau, counts):
    counts[:] = np.count_nonzero(np.abs(X.astype(np.float64) * scale) < tau, axis=-1)


def diff_energy(blocks, out):
    out[:] = np.sum(np.diff(blocks, axis=1) ** 2, axis=1)


# -- exact ----------------------------------------------------------------------------------------------------

NEIGHBOURS = 4


def polyphase_fold(x, first, n_out, reversed_window, out):
    u = first + 32 * np.arange(n_out)
    frames = np.asarray(x)[u[:, None] + np.arange(512)[None, :]].astype(np.float64)
    out[:] = (frames * reversed_window).reshape(n_out, 8, 64).sum(axis=1)


def granule_fold(s, starts, even_window, odd_window, out):
    blocks = s[:, np.asarray(starts)[:, None] + np.arange(36)[None, :]].astype(np.float64)  # (32, granules, 36)
    w = np.where((np.arange(32) % 2 == 1)[:, None], odd_window, even_window)[:, None, :]
    z = (blocks * w).transpose(1, 0, 2)  # (granules, 32, 36)
    m = np.arange(9)
    folded = np.concatenate([-(z[..., 26 - m] + z[..., 27 + m]), z[..., m] - z[..., 17 - m]], axis=-1)
    out[:] = folded.reshape(-1, 18)


def alias_reduce(x, cs, ca):
    bands = x.reshape(x.shape[0], 32, 18).astype(np.float64)
    i = np.arange(8)
    up = bands[:, :-1, 17 - i].copy()
    down = bands[:, 1:, i].copy()
    bands[:, :-1, 17 - i] = up * cs + down * ca
    bands[:, 1:, i] = down * cs - up * ca
    x[:] = bands.reshape(x.shape)


def isolated_counts(x, tau, live, out):
    sq = np.asarray(x, dtype=np.float64) ** 2
    n = sq.shape[1]
    c = np.concatenate([np.zeros((sq.shape[0], 1)), np.cumsum(sq, axis=1)], axis=1)
    k = np.arange(n)
    lo, hi = np.maximum(0, k - NEIGHBOURS), np.minimum(n, k + NEIGHBOURS + 1)
    others = c[:, hi] - c[:, lo] - sq
    m = hi - lo - 1
    ok = (m > 0) & (others >= m * live * live)
    out[:, 0] = ok.sum(axis=1)
    out[:, 1] = (ok & (sq < tau * tau)).sum(axis=1)


def stereo_counts(left, right, tau, live, out):
    a, b = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
    for k, pair in enumerate(((a, b), (0.5 * (a + b), 0.5 * (a - b)))):
        first, second = np.empty((a.shape[0], 2), np.int64), np.empty((a.shape[0], 2), np.int64)
        isolated_counts(pair[0], tau, live, first)
        isolated_counts(pair[1], tau, live, second)
        out[k] = first + second
