"""Search a long-term spectrum for the comb of small peaks that transposed convolutions leave.

Background (Afchar et al., ISMIR 2025, Sec. 3; docs/references.md): a transposed convolution of stride k
is zero insertion by k followed by a stride-1 convolution; zero insertion replicates the input spectrum, so
energy near 0 Hz (biases, offsets) is copied to every multiple of the layer's input rate. A decoder at rate
r with strides k1..kL therefore leaves peaks at multiples of ``Delta = r / (k1 ... kL)`` Hz. Resampling the
output to another rate keeps them at the same absolute frequencies, up to ``min(r, fs) / 2``.

The search here is training-free:

* **peakiness** ``p(f)``: the long-term mean-of-dB spectrum minus its running median over
  :data:`MEDIAN_BINS` bins, clipped to [0, :data:`PEAK_CAP_DB`] (a single loud partial cannot dominate);
* **comb statistic** for a spacing D over a band [fmin, fmax): the teeth-minus-gaps sum
  ``T(D) = sum_n [p(nD) - p((n + 1/2) D)] / sqrt(N)`` (N teeth; p read as the larger of the two bins either
  side). Halving D puts half the teeth in gaps, doubling D puts the gaps on teeth, so T peaks at the true
  spacing, not at its multiples or divisors;
* **null**: T is evaluated on a log grid of spacings (15-400 Hz; every :data:`NULL_STRIDE`-th spacing of a
  grid whose neighbouring combs' top teeth are one bin apart) and on the spacings that known decoder
  rates and stride products allow; the z score of a spacing is ``T / s`` with ``s`` the robust spread
  (1.4826 MAD) of T over the whole grid, i.e. over thousands of jittered combs on the same spectrum;
* **harmonic protection**: musical tones are periodic too (a naive periodicity score reached AUC 0.37 in an
  independent re-measurement). A candidate is discounted when its teeth below :data:`HARMONIC_FMAX_HZ` sit on
  strong tonal peaks (a note's harmonic series: prominence above :data:`HARMONIC_PEAK_DB`), measured as the
  fraction of such teeth minus the fraction at the gaps; AI teeth are a few dB and drown under the music
  there, harmonic series are loudest there;
* the spacing is refined by a least-squares fit of the fired teeth's interpolated positions, which gives
  far finer than the 2.69 Hz bin (tooth n carries a position error / n).

Numba kernels: :func:`musicforensics.spectral.kernels.comb.comb_sums` (NumPy twin in
:mod:`musicforensics.spectral.kernels.twins`).

Why one module: the statistic, its null and the rules that discount tones and codec grids share the
spectrum's read-outs and constants; split, each part would need the others' internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.ndimage import median_filter

from ..errors import ParameterError
from ..spectral.kernels import comb as _k
from .decoders import (
    DELTA_MIN_HZ, GENERATOR_RATES, KNOWN_DELTAS, explain_spacing, family_of, plausible_deltas,
)

#: Running-median length (bins) of the peakiness baseline; 15 bins = 40 Hz at 2.69 Hz/bin, so teeth as close
#: as 15 Hz (5.6 bins) still leave the median on the floor between them.
MEDIAN_BINS = 15
#: Peakiness cap, dB: AI teeth measure 0.5-6 dB; louder partials are capped so one cannot dominate.
PEAK_CAP_DB = 6.0
#: Lowest tooth frequency scored, Hz. Below ~4 kHz music's own partials dominate the mean spectrum.
COMB_FMIN_HZ = 4000.0
#: Range of the dense spacing search, Hz (from DELTA_MIN_HZ).
DELTA_MAX_HZ = 400.0
#: A divisor d/m of the best spacing is preferred when its z score exceeds DIVISOR_Z_FRACTION * z / sqrt(m):
#: a divisor that only re-reads the coarse teeth scores z / sqrt(m) (m times the teeth, the same hits), so
#: clearly more than that means teeth of its own between the coarse ones.
DIVISOR_Z_FRACTION = 1.3
#: ... and at least this z score (the spacing is reported only when it stands out of the null this far).
DIVISOR_Z_MIN = 6.0
#: Grid step of the dense search in bins at the top tooth (1: the top tooth moves by one bin between
#: neighbouring grid spacings, so the true spacing is within half a bin of a grid point, inside the +-1 bin
#: the tooth read-out tolerates).
GRID_STEP_BINS = 1.0
#: The null is measured on every NULL_STRIDE-th spacing of the dense grid (~1700 jittered combs at 44.1 kHz
#: instead of ~27 000): the median and MAD of T are then known to ~3 % (standard error ~1/sqrt(n)), below the
#: margins of the z thresholds, and the search costs a sixteenth. Checked on the full reference corpus against
#: every 8th spacing: no verdict changed and the comb z moved by at most 6 % (the shipped AI model was refitted
#: on the dev split with these z; docs/ai-detection.md). 16 instead of 8 saves ~1.3 ms per track.
NULL_STRIDE = 16
#: ... and the REFINE_TOP best spacings of that coarse grid are searched again at full grid resolution (+-
#: NULL_STRIDE steps) for the reported ``dense_z``.
REFINE_TOP = 8
#: Harmonic protection: teeth below this frequency are checked against the music's tonal peaks, Hz.
HARMONIC_FMAX_HZ = 4000.0
#: A tooth below HARMONIC_FMAX_HZ louder than this over the running median (dB) is a musical partial.
HARMONIC_PEAK_DB = 8.0
#: Harmonic score (fraction of teeth on partials minus fraction of gaps on partials) above which a
#: spacing is taken for a note's harmonic series. A 100 Hz sawtooth scores ~0.9; decoder combs under
#: music score ~0.0 +- 0.1 (tests/test_comb.py and the dev split).
HARMONIC_SCORE_MAX = 0.3
#: Harmonic series have a smooth tooth envelope: a sawtooth's 1/n gives 0.1-0.2 dB second difference between
#: neighbouring teeth (also mixed with music). Below this roughness (dB) a spacing with a high harmonic score
#: is taken for a musical tone; above it, strong low-band teeth are the decoder's own. Why a tone this smooth
#: is the only one to fear: a note makes a sharp comb above 4 kHz only if its pitch holds to 1/n of a bin over
#: the whole track (partial n moves n times as far as the fundamental under vibrato or a pitch change), i.e. a
#: steady synthetic drone, whose partials follow a smooth law. Decoder combs are filter-shaped: 2-7 dB on
#: random weights, and briefly trained decoders come down to 0.7-1.3 dB (dev split of the full reference
#: corpus: HiFi-GAN V1 trained after MP3 320, 0.71 dB at z 29; EnCodec 48 kHz trained, 1.26 dB). The value
#: was 1.2 dB, which threw those combs away as tones; on the same dev split every non-AI spacing with a
#: harmonic score above HARMONIC_SCORE_MAX and a roughness in [0.5, 1.2) dB scored z < 5.
SMOOTH_ENVELOPE_DB = 0.5
#: A spacing is discounted with a rejected tone when every b-th of its teeth (b <= TONE_SHARE_MAX) lands on the
#: tone's partials: with b = 4 a quarter of its teeth and none of its gaps hit them, still a clear comb (a 100 Hz
#: sawtooth gave 375 Hz a z of 17.7; tests/test_comb.py).
TONE_SHARE_MAX = 4
#: Transform grids of lossy codecs: a spacing fs / N for these N at the file's rate (or at 44.1/48/32 kHz) is
#: also what MDCT quantisation leaves (measured: Vorbis q0 at 44.1 kHz, N = 2048, z = 13.7 at 21.53 Hz on the
#: small corpus; MP3 V5 reached dense z 8.4 near 44100/1152). Vorbis/AAC long blocks, MP3 granules. Short
#: blocks (N = 256, 128) are left out: encoders switch to them only around transients, a few percent of the
#: frames, too few to build a long-term comb; and their grids are decoder levels (48000/128 = 375 Hz is SNAC
#: 24 kHz's strong level, 22050/256 = 86.13 Hz HiFi-GAN V1's spacing, rejected at z 18.8 on the full corpus's
#: dev split while they were listed; no dev negative gained from their removal).
#: Opus/CELT's 960/1920-sample frames are deliberately absent: 48000/960 = 50 Hz is EnCodec 32 kHz
#: (MusicGen)'s spacing, and no Opus file of the small corpus showed a comb (z <= 4.8).
CODEC_GRID_N = (2048, 1024, 1152, 576)
#: z a spacing on a codec grid must reach (the strongest codec comb measured, 13.7, plus margin). Stable Audio
#: Open's 21.53 Hz at 44.1 kHz shares the Vorbis/AAC grid: its weak combs are given up (docs: blind spots).
CODEC_GRID_Z_MIN = 20.0
def band_edges(sample_rate: int) -> np.ndarray:
    """Upper edges (Hz) of the cumulative bands scored: min(r, fs)/2 for each generator rate, and fs/2."""
    nyq = sample_rate / 2.0
    edges = {min(r, sample_rate) / 2.0 for r in GENERATOR_RATES} | {nyq}
    edges = sorted(e * 0.995 for e in edges if e > COMB_FMIN_HZ + 1000.0)  # stay off the resampler's edge
    return np.array(edges)


def dense_grid(bin_hz: float, fmax: float, *, dmin: float = DELTA_MIN_HZ, dmax: float = DELTA_MAX_HZ) -> np.ndarray:
    """Log-spaced spacings (Hz) with neighbouring combs' top teeth :data:`GRID_STEP_BINS` bins apart."""
    return _dense_grid(float(bin_hz), float(fmax), float(dmin), float(dmax)).copy()


@lru_cache(maxsize=16)
def _dense_grid(bin_hz: float, fmax: float, dmin: float, dmax: float) -> np.ndarray:
    ratio = GRID_STEP_BINS * bin_hz / fmax
    n = int(np.ceil(np.log(dmax / dmin) / np.log1p(ratio))) + 1
    grid = dmin * (1.0 + ratio) ** np.arange(n)
    grid.flags.writeable = False  # shared between calls (one grid per sample rate and FFT length)
    return grid


def prominence(mean_db: np.ndarray) -> np.ndarray:
    """``mean_db - running_median(mean_db, MEDIAN_BINS)``, dB, shape of ``mean_db``."""
    x = np.ascontiguousarray(mean_db, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 * MEDIAN_BINS:
        raise ParameterError(f"spectrum must be 1-D with >= {2 * MEDIAN_BINS} bins, got shape {x.shape!r}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("spectrum contains NaN or Inf")
    return x - median_filter(x, size=MEDIAN_BINS, mode="nearest")


def peakiness(mean_db: np.ndarray, *, cap_db: float = PEAK_CAP_DB) -> np.ndarray:
    """``clip(mean_db - running_median(mean_db, MEDIAN_BINS), 0, cap_db)``, dB, shape of ``mean_db``."""
    return np.clip(prominence(mean_db), 0.0, cap_db)


def comb_statistic(p: np.ndarray, bin_hz: float, deltas: np.ndarray, edges: np.ndarray,
                   *, fmin: float = COMB_FMIN_HZ) -> tuple[np.ndarray, np.ndarray]:
    """Teeth-minus-gaps statistic T (dB, divided by sqrt(teeth)) for each spacing and cumulative band.

    Returns
    -------
    T : np.ndarray, shape (n_deltas, n_edges)
    counts : np.ndarray, shape (n_deltas, n_edges)
        Teeth scored.
    """
    deltas = np.ascontiguousarray(deltas, dtype=np.float64)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    sums = np.zeros((deltas.size, edges.size))
    counts = np.zeros((deltas.size, edges.size))
    _k.comb_sums(np.ascontiguousarray(p, dtype=np.float64), float(bin_hz), deltas, float(fmin), edges, sums, counts)
    return sums / np.sqrt(np.maximum(counts, 1.0)), counts


def harmonic_score(prom_db: np.ndarray, bin_hz: float, delta: float, *, fmax: float = HARMONIC_FMAX_HZ,
                   threshold_db: float = HARMONIC_PEAK_DB) -> float:
    """Fraction of teeth n*delta (40 Hz..fmax) on tonal peaks minus the fraction of gaps on them.

    ``prom_db`` is the unclipped mean spectrum minus its running median (dB). Near 1 for a note's harmonic
    series with fundamental ``delta``; near 0 for a decoder comb under music.
    """
    n = np.arange(max(1, int(np.ceil(40.0 / delta))), int(fmax / delta) + 1)
    if n.size == 0:
        return 0.0

    def on_peak(f):
        i = np.clip(np.round(f / bin_hz).astype(np.int64), 1, prom_db.size - 2)
        v = np.maximum(np.maximum(prom_db[i - 1], prom_db[i]), prom_db[i + 1])
        return float(np.mean(v > threshold_db))

    return on_peak(n * delta) - on_peak((n + 0.5) * delta)


def envelope_roughness(mean_db: np.ndarray, bin_hz: float, delta: float, *, fmin: float = COMB_FMIN_HZ,
                       fmax: float | None = None) -> float:
    """Median second difference (dB) of the tooth levels along n, the smoother of steps 1 and 2.

    Step 2 (the louder residue class) covers odd-harmonic tones (square-like waves, clarinet-like spectra).
    Small for a note's harmonic series, large for a decoder comb. Returns inf with fewer than 5 teeth.
    """
    fmax = (mean_db.size - 3) * bin_hz if fmax is None else fmax
    n = np.arange(int(np.ceil(fmin / delta)), int(fmax / delta) + 1)
    if n.size < 5:
        return float("inf")
    i = np.clip(np.round(n * delta / bin_hz).astype(np.int64), 1, mean_db.size - 2)
    level = np.maximum(np.maximum(mean_db[i - 1], mean_db[i]), mean_db[i + 1])
    best = float("inf")
    for step in (1, 2):
        classes = [level[c::step] for c in range(step)]
        seq = max(classes, key=lambda v: float(np.mean(v)))
        if seq.size >= 5:
            best = min(best, float(np.median(np.abs(seq[1:-1] - 0.5 * (seq[:-2] + seq[2:])))))
    return best


@dataclass
class CombResult:
    """Outcome of :func:`comb_search`.

    Attributes
    ----------
    z : float
        Best comb z score among spacings that pass the harmonic check (0 when none).
    delta_hz : float or None
        Refined spacing of that comb, Hz.
    band_hz : tuple of float
        Band the z score was measured on, Hz.
    plausible : bool
        Whether the spacing is r/P for a generator rate and a plausible stride product.
    teeth : list of dict
        Teeth that fired (peakiness above 1 dB): {"freq_hz" (parabolic-interpolated), "prominence_db" (over the
        running median)}, the 64 most prominent, in frequency order.
    harmonic : float
        Harmonic score of the chosen spacing (see :func:`harmonic_score`).
    rejected : list of dict
        Strong spacings discounted as musical harmonic series: {"delta_hz", "z", "harmonic"}.
    matches : list of dict
        (rate, stride product, known decoders) explaining the spacing (see :func:`explain_spacing`).
    """

    z: float
    delta_hz: float | None
    band_hz: tuple[float, float]
    plausible: bool
    teeth: list = field(default_factory=list)
    harmonic: float = 0.0
    rejected: list = field(default_factory=list)
    matches: list = field(default_factory=list)
    dense_z: float = 0.0
    coarse_delta_hz: float | None = None
    codec_grid: bool = False
    dense_best: tuple = ()

    @property
    def stride_product(self) -> int | None:
        for m in self.matches:
            if m["stride_product"]:
                return m["stride_product"]
        return None

    @property
    def family(self) -> str | None:
        return family_of(self.matches)

    def to_dict(self) -> dict:
        return {
            "comb_z": round(self.z, 3), "delta_hz": None if self.delta_hz is None else round(self.delta_hz, 4),
            "band_hz": [round(b, 1) for b in self.band_hz], "plausible_spacing": self.plausible,
            "stride_product": self.stride_product, "family": self.family, "harmonic_score": round(self.harmonic, 3),
            "teeth": self.teeth, "rejected_harmonic_spacings": self.rejected, "matches": self.matches[:4],
            "dense_z": round(self.dense_z, 3),
            "on_codec_grid": self.codec_grid,
            "strongest_spacing_hz": None if self.coarse_delta_hz is None else round(self.coarse_delta_hz, 4),
        }


def _refine(p: np.ndarray, prom: np.ndarray, bin_hz: float, delta: float, fmin: float, fmax: float) -> tuple[float, list]:
    """Least-squares spacing from the parabolic-interpolated positions of the teeth that fired."""
    n_all = np.arange(int(np.ceil(fmin / delta)), int(fmax / delta) + 1)
    # each tooth n: the largest of the 4 bins from floor(n delta / bin_hz) - 1, kept when it stands >= 1 dB
    i0 = np.floor(n_all * delta / bin_hz).astype(np.int64) - 1
    inside = (i0 >= 1) & (i0 + 3 < p.size - 1)
    n_in, i0 = n_all[inside], i0[inside]
    j = i0 + np.argmax(p[i0[:, None] + np.arange(4)], axis=1)
    fired = p[j] >= 1.0
    ns, j = n_in[fired], j[fired]
    a, b, cc = p[j - 1], p[j], p[j + 1]
    den = a - 2 * b + cc
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(den < 0, 0.5 * (a - cc) / den, 0.0)
    pos = (j + np.clip(off, -0.5, 0.5)) * bin_hz
    proms = prom[j]
    if len(ns) >= 3:
        ns_a, pos_a = ns.astype(float), pos
        refined = float(np.dot(ns_a, pos_a) / np.dot(ns_a, ns_a))  # line through the origin: f_n = n * Delta
        if abs(refined - delta) > 0.5 * bin_hz / max(ns_a.min(), 1):
            refined = delta
    else:
        refined = delta
    order = np.argsort(proms)[::-1][:64]
    teeth = sorted(({"freq_hz": round(float(pos[i]), 2), "prominence_db": round(float(proms[i]), 2)} for i in order),
                   key=lambda t: t["freq_hz"])
    return refined, teeth


def on_codec_grid(delta: float, sample_rate: int, bin_hz: float, fmax: float) -> bool:
    """Whether ``delta`` is fs / N for a lossy codec's transform size N (see :data:`CODEC_GRID_N`)."""
    for rate in {int(sample_rate), 44100, 48000, 32000}:
        for n in CODEC_GRID_N:
            g = rate / n
            if abs(g - delta) * fmax / max(delta, 1e-9) < 0.5 * bin_hz:
                return True
    return False


def _shares_teeth(d: float, f0: float, bin_hz: float, fmax: float) -> bool:
    """Whether a comb of spacing ``d`` puts at least every TONE_SHARE_MAX-th tooth on multiples of ``f0``.

    True when d / f0 = a / b with b <= TONE_SHARE_MAX (to within half a bin at ``fmax``): divisors of the tone's
    spacing (a = 1) and commensurate spacings alike.
    """
    for b in range(1, TONE_SHARE_MAX + 1):
        a = round(b * d / f0)
        if a >= 1 and abs(b * d - a * f0) * fmax / (b * d) < 0.5 * bin_hz:
            return True
    return False


def _is_multiple(big: float, small: float, bin_hz: float, fmax: float) -> bool:
    """Whether ``big`` is an integer multiple (2..16) of ``small`` to within half a bin at ``fmax``."""
    m = round(big / small)
    if m < 2 or m > 16:
        return False
    return abs(big - m * small) * fmax / big < 0.5 * bin_hz


def _own_teeth(z: float, delta: float, z_best: float, delta_best: float) -> float:
    """How far a spacing's z exceeds what re-reading the best comb's teeth would give it (1 = no teeth of its own).

    A spacing ``delta`` finer than the best comb ``delta_best`` by a factor m = delta_best / delta puts m times
    as many teeth, of which only the coarse ones hit: T falls to T_best / sqrt(m). So z * sqrt(m) / z_best
    above 1 means teeth between the coarse ones, i.e. a genuine finer level. Example: a SNAC 24 kHz comb whose
    375 Hz level dominates (z 20.7) after resampling: 46.875 Hz (m = 8) scores 9.0 (ratio 1.22), the DAC 24 kHz
    spacing 75 Hz (m = 5) 9.2 (ratio 0.99): 46.875 Hz has teeth of its own, 75 Hz only re-reads 375 Hz.
    Coarser spacings (m < 1) are compared by z alone.
    """
    m = max(delta_best / delta, 1.0)
    return float(z * np.sqrt(m) / max(z_best, 1e-9))


def _distinct_best(spacings: np.ndarray, z: np.ndarray, count: int) -> list[int]:
    """Indices of the ``count`` highest z whose spacings differ by more than 1 % from each other."""
    out: list[int] = []
    for k in np.argsort(z)[::-1]:
        if all(abs(spacings[k] / spacings[j] - 1.0) > 0.01 for j in out):
            out.append(int(k))
        if len(out) == count:
            break
    return out


def comb_search(mean_db: np.ndarray, sample_rate: int, n_fft: int, *, top: int = 12) -> CombResult:
    """Find the strongest decoder-like comb in a long-term mean-of-dB spectrum.

    Parameters
    ----------
    mean_db : np.ndarray, shape (n_fft // 2 + 1,)
        Mean over frames and channels of the power in dB (any constant offset).
    sample_rate : int
        Hz.
    n_fft : int
        STFT length the spectrum came from.
    top : int
        Strongest spacings examined by the harmonic check.

    Returns
    -------
    CombResult
    """
    mean_db = np.asarray(mean_db, dtype=np.float64)
    if mean_db.shape != (n_fft // 2 + 1,):
        raise ParameterError(f"mean_db shape {mean_db.shape!r} does not match n_fft={n_fft!r}")
    bin_hz = sample_rate / n_fft
    edges = band_edges(sample_rate)
    if edges.size == 0:
        return CombResult(0.0, None, (COMB_FMIN_HZ, sample_rate / 2.0), False)
    prom = prominence(mean_db)  # one running median for both
    p = np.clip(prom, 0.0, PEAK_CAP_DB)
    dense = _dense_grid(float(bin_hz), float(edges[-1]), DELTA_MIN_HZ, DELTA_MAX_HZ)
    cand = plausible_deltas()
    # coarse-to-fine: the null (median and spread of T over jittered combs) is taken on every NULL_STRIDE-th
    # spacing of the dense grid, then the best coarse spacings are searched again at full grid resolution
    coarse = dense[::NULL_STRIDE]
    t_coarse, _ = comb_statistic(p, bin_hz, coarse, edges)
    t_cand, _ = comb_statistic(p, bin_hz, cand, edges)
    med = np.median(t_coarse, axis=0)
    spread = 1.4826 * np.median(np.abs(t_coarse - med), axis=0)
    spread = np.maximum(spread, 1e-6)
    z_cand = ((t_cand - med) / spread)
    # best band per spacing (a generator at rate r only has teeth below min(r, fs)/2)
    zc = z_cand.max(axis=1)
    ec = z_cand.argmax(axis=1)
    best_coarse = np.argsort(((t_coarse - med) / spread).max(axis=1))[::-1][:REFINE_TOP]
    near = np.unique(np.clip((best_coarse[:, None] * NULL_STRIDE + np.arange(-NULL_STRIDE, NULL_STRIDE + 1)).ravel(),
                             0, dense.size - 1))
    t_near, _ = comb_statistic(p, bin_hz, dense[near], edges)
    zd = ((t_near - med) / spread).max(axis=1)
    order = np.argsort(zc)[::-1][:top]
    rejected = []
    tones: list[float] = []
    best = None
    for i in order:
        d = float(cand[i])
        # a spacing that shares teeth with a rejected tone's partials scores through them: its divisors, and
        # spacings commensurate with it (375 Hz puts every 4th tooth on a 100 Hz tone's partials)
        if any(_shares_teeth(d, f0, bin_hz, float(edges[-1])) for f0 in tones):
            rejected.append({"delta_hz": round(d, 4), "z": round(float(zc[i]), 2), "harmonic": None,
                             "divides": True})
            continue
        hs = [(harmonic_score(prom, bin_hz, m * d), m) for m in range(1, 9) if m == 1 or m * d <= 500.0]
        h, m_h = max(hs)
        if h > HARMONIC_SCORE_MAX:
            rough = envelope_roughness(mean_db, bin_hz, m_h * d, fmax=float(edges[ec[i]]))
            if rough < SMOOTH_ENVELOPE_DB:
                rejected.append({"delta_hz": round(d, 4), "z": round(float(zc[i]), 2), "harmonic": round(h, 3),
                                 "roughness_db": round(rough, 2)})
                tones.append(m_h * d)
                continue
        if on_codec_grid(d, sample_rate, bin_hz, float(edges[ec[i]])) and zc[i] < CODEC_GRID_Z_MIN:
            rejected.append({"delta_hz": round(d, 4), "z": round(float(zc[i]), 2), "harmonic": round(h, 3),
                             "codec_grid": True})
            continue
        best = (i, h)
        break
    # dense-search best (unknown spacings, e.g. speed-changed output): not used for the verdict here; the three
    # strongest distinct spacings seed the speed search (musicforensics.ai.speed)
    dense_best = float(zd.max()) if zd.size else 0.0
    dense_top = tuple((float(dense[near][k]), float(zd[k])) for k in _distinct_best(dense[near], zd, 3))
    if best is None:
        return CombResult(0.0, None, (COMB_FMIN_HZ, float(edges[-1])), False, rejected=rejected[:5], dense_z=dense_best,
                          dense_best=dense_top)
    i, h = best
    # prefer the finest significant divisor: the comb's true spacing, of which coarser levels are subsets
    chosen = i
    for m in range(16, 1, -1):
        target = cand[i] / m
        if target < DELTA_MIN_HZ:
            continue
        j = int(np.argmin(np.abs(cand - target)))
        if abs(cand[j] - target) * float(edges[-1]) / cand[i] < 0.5 * bin_hz and \
                zc[j] >= max(DIVISOR_Z_FRACTION * zc[i] / np.sqrt(m), DIVISOR_Z_MIN):
            chosen = j
            break
    # ... unless a known decoder's spacing is among the significant spacings of the same comb family
    related = [j for j in np.nonzero(zc >= DIVISOR_Z_MIN)[0]
               if _is_multiple(cand[i], cand[j], bin_hz, float(edges[-1]))
               or _is_multiple(cand[j], cand[i], bin_hz, float(edges[-1]))
               or _is_multiple(cand[chosen], cand[j], bin_hz, float(edges[-1]))
               or _is_multiple(cand[j], cand[chosen], bin_hz, float(edges[-1])) or j == i]
    known = [j for j in related if any(abs(cand[j] - k) * float(edges[-1]) / k < 0.5 * bin_hz for k in KNOWN_DELTAS)]
    if known:
        chosen = max(known, key=lambda j: zc[j])
        # known spacings that neither divide nor multiply it are rival explanations of the same coarse teeth
        # (375 Hz is 8 x 46.875 for SNAC 24 kHz and 5 x 75 for DAC/EnCodec 24 kHz): the one with teeth of its
        # own between the coarse ones wins, not the one whose z is higher by re-reading them
        rivals = [j for j in known if j == chosen or not (
            _is_multiple(cand[j], cand[chosen], bin_hz, float(edges[-1]))
            or _is_multiple(cand[chosen], cand[j], bin_hz, float(edges[-1])))]
        chosen = max(rivals, key=lambda j: _own_teeth(zc[j], cand[j], zc[i], cand[i]))
    d = float(cand[chosen])
    fmax = float(edges[ec[chosen]])
    refined, teeth = _refine(p, prom, bin_hz, d, COMB_FMIN_HZ, fmax)
    return CombResult(
        z=float(zc[i]), delta_hz=refined, band_hz=(COMB_FMIN_HZ, fmax), plausible=True, teeth=teeth, harmonic=h,
        rejected=rejected[:5], matches=explain_spacing(refined, sample_rate), dense_z=dense_best,
        coarse_delta_hz=float(cand[i]), codec_grid=on_codec_grid(d, sample_rate, bin_hz, fmax), dense_best=dense_top,
    )


def warm_up() -> None:
    """Compile (or load from cache) the comb kernel on a tiny input."""
    p = np.abs(np.sin(np.arange(512) * 0.3))
    comb_statistic(p, 10.0, np.array([50.0, 70.0]), np.array([3000.0, 5000.0]), fmin=1000.0)
