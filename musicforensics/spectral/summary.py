"""Streamed long-term average spectrum, per-segment band energies and sample statistics.

One pass over the audio, block by block, feeds a single Hann-windowed STFT (``n_fft``, ``hop``) whose
frames serve every measure: the mean over frames and channels of the power in dB (the quantity the
fakeprint of Afchar et al., ISMIR 2025, is built on: mean of dB, not dB of mean), the mean power, and a
coarse (segment x band) energy matrix for time-localised evidence. Memory is bounded by the block size.

Power is scaled so that a full-scale sine has 0 dB at its bin: P = (2 |X| / sum(w))^2.

Cost (docs/performance.md): per batch of FFT_BATCH_FRAMES frames and channel, a window product into a reused
float32 buffer, a float32 real FFT and one numba kernel that squares, sums and band-sums the spectrum and
multiplies the powers into a product per bin whose exponent is taken out every LOG_PRODUCT_FRAMES frames (the
sum of logs as the log of a product, one logarithm per bin at the end); per block, the sample statistics
(NumPy max/min and one fast-math kernel) and the frame peaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import scipy.fft

from ..config import POWER_FLOOR, AnalysisConfig
from .framing import excerpt_span, frame_view, periodic_hann
from .kernels import spectral as _k

#: Active frames whose powers (+ floor) are multiplied into each bin's running product before its binary
#: exponent is taken out (the log of a product is the sum of the logs, so this only changes rounding, ~1e-15
#: relative; see :func:`musicforensics.spectral.kernels.spectral.accumulate_spectrum`).
LOG_PRODUCT_FRAMES = 16
#: Largest sample magnitude of a block for which LOG_PRODUCT_FRAMES is safe: P <= 4 A^2, so a product of 16
#: (4 A^2 + 1e-14) started in [1, 2) stays below 1e202 and above 1e-224, far from double-precision overflow and
#: underflow. Blocks with louder samples (float files far above full scale) renormalise after every frame.
LOG_PRODUCT_MAX_AMPLITUDE = 1e6
#: STFT frames windowed, transformed and accumulated together: 16 frames of 16384 float32 samples (1 MB) and
#: their spectrum stay in cache between the three steps; a whole 2^18-frame block (31 frames) does not
#: (measured 3.6 against 4.5 ms per stereo block on the 2-core benchmark machine, docs/performance.md).
FFT_BATCH_FRAMES = 16
#: Largest |x| * 2^(bits - 1) for which :func:`update_sample_stats` takes the fast path (the integer test
#: there converts to int64).
FAST_STATS_MAX_GRID = 2.0 ** 62


@dataclass
class SpectralSummary:
    """The long-term spectrum of a track and its coarse time-frequency energy.

    Attributes
    ----------
    sample_rate : int
        Hz.
    n_fft, hop : int
        STFT frame length and hop, samples.
    freqs : np.ndarray, shape (n_fft // 2 + 1,)
        Bin centre frequencies, Hz.
    mean_db : np.ndarray, shape (n_bins,)
        Mean over active frames and channels of 10 log10(P + 1e-14), dB re full-scale sine.
    mean_power : np.ndarray, shape (n_bins,)
        Mean over active frames and channels of P (linear).
    n_frames, n_active_frames : int
        STFT frames seen, and those louder than the silence threshold (the means use only these).
    band_edges_hz : np.ndarray, shape (n_bands + 1,)
        Edges of the coarse bands, Hz.
    segment_seconds : float
        Length of one segment, s; segment i covers [i, i+1) * segment_seconds.
    band_db : np.ndarray, shape (n_segments, n_bands)
        Mean power per band and segment in dB (NaN for segments with no active frame).
    """

    sample_rate: int
    n_fft: int
    hop: int
    freqs: np.ndarray
    mean_db: np.ndarray
    mean_power: np.ndarray
    n_frames: int
    n_active_frames: int
    band_edges_hz: np.ndarray
    segment_seconds: float
    band_db: np.ndarray

    @property
    def mean_power_db(self) -> np.ndarray:
        """dB of the mean power (the classical LTAS), shape (n_bins,)."""
        return 10.0 * np.log10(self.mean_power + POWER_FLOOR)

    @property
    def bin_hz(self) -> float:
        """Frequency resolution, Hz per bin."""
        return self.sample_rate / self.n_fft


@dataclass
class SampleStats:
    """Sample-level facts gathered in the same pass.

    Attributes
    ----------
    peak : float
        Largest finite |x| (full scale = 1).
    rms : float
        Root mean square over all finite samples of all channels.
    dc_offset : np.ndarray, shape (channels,)
        Mean of each channel.
    clipped_samples : int
        Samples at digital full scale (|x| >= 1 - 2^-15).
    nonfinite_samples : int
        NaN or Inf samples (float files only).
    grid_bits : int
        Bits of the integer grid tested (e.g. 24 for PCM_24).
    off_grid_samples : int
        Samples not on that grid (non-zero for genuine float data).
    effective_bits : int or None
        Bits actually used on the grid: ``grid_bits`` minus the trailing zero bits common to every sample
        (None when no sample is non-zero on the grid).
    samples : int
        Finite samples counted (all channels).
    """

    peak: float
    rms: float
    dc_offset: np.ndarray
    clipped_samples: int
    nonfinite_samples: int
    grid_bits: int
    off_grid_samples: int
    effective_bits: int | None
    samples: int

    @property
    def peak_dbfs(self) -> float:
        return float(20 * np.log10(self.peak)) if self.peak > 0 else float("-inf")

    @property
    def rms_dbfs(self) -> float:
        return float(20 * np.log10(self.rms)) if self.rms > 0 else float("-inf")


def update_sample_stats(x: np.ndarray, scale: float, stats: np.ndarray, or_bits: np.ndarray, sums: np.ndarray,
                        peak: float | None = None) -> None:
    """Add a block (frames, channels) to the running sample statistics, as :func:`musicforensics.spectral.kernels.spectral.sample_stats`.

    All-finite blocks (the rule) take the fast path: the peak from NumPy's vectorised max/min (or ``peak``, the
    caller's max |x| of the same samples, NaN when there is a NaN), the rest from
    :func:`musicforensics.spectral.kernels.spectral.finite_sample_stats`. A NaN or Inf anywhere makes the peak non-finite, and the
    block goes through the exact NaN-aware kernel instead, so the counts never depend on the path.
    """
    if x.shape[0] == 0:
        return
    x = np.ascontiguousarray(x)
    if peak is None:
        peak = max(float(x.max()), -float(x.min()))
    if not (np.isfinite(peak) and peak * scale < FAST_STATS_MAX_GRID):
        _k.sample_stats(x, scale, stats, or_bits, sums)
        return
    sq, clipped, off_grid, orb = _k.finite_sample_stats(x.reshape(-1), x.shape[1], scale, sums)
    stats[0] = max(stats[0], peak)
    stats[1] += sq
    stats[2] += x.size
    stats[3] += clipped
    stats[5] += off_grid
    or_bits[0] |= orb


class SpectrumAccumulator:
    """Consume overlapping blocks and build a :class:`SpectralSummary` and :class:`SampleStats`.

    Parameters
    ----------
    sample_rate : int
        Hz.
    channels : int
        Channel count.
    total_frames : int
        Expected samples per channel (sizes the segment matrix; longer input is still handled).
    config : AnalysisConfig
    grid_bits : int
        Integer grid to test samples against (the stored bit depth; 24 for float files).
    """

    def __init__(self, *, sample_rate: int, channels: int, total_frames: int, config: AnalysisConfig, grid_bits: int,
                 keep_excerpt: bool = True):
        self.keep_start, self.keep_stop = excerpt_span(total_frames, sample_rate, config.excerpt_seconds)
        if not keep_excerpt:
            self.keep_stop = self.keep_start
        # filled in order by _keep; only the first kept_frames rows are ever read, so no zero fill is needed
        self.kept = np.empty((max(self.keep_stop - self.keep_start, 0), channels), dtype=np.float32)
        self.kept_frames = 0
        self.sr = int(sample_rate)
        self.channels = int(channels)
        self.cfg = config
        self.n_fft = config.n_fft
        self.hop = config.hop
        self.window, self.window32 = periodic_hann(self.n_fft)
        self.scale = 2.0 / self.window.sum()
        self.freqs = np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)
        nyquist = self.sr / 2
        n_bands = max(1, int(np.ceil(nyquist / config.band_hz)))
        self.band_edges = np.minimum(np.arange(n_bands + 1) * config.band_hz, nyquist)
        self.band_of_bin = np.minimum((self.freqs // config.band_hz).astype(np.int64), n_bands - 1)
        self.segment_frames = max(1, int(round(config.segment_seconds * self.sr)))
        n_segments = max(1, int(np.ceil(max(total_frames, 1) / self.segment_frames)))
        self.band_sum = np.zeros((n_segments, n_bands))
        self.band_count = np.zeros(n_segments)
        # the sum over frames of each bin's dB, carried as a product mantissa * 2^exponent (_k.sum_db)
        self.log_mantissa = np.ones(self.freqs.size)
        self.log_exponent = np.zeros(self.freqs.size)
        self.sum_power = np.zeros(self.freqs.size)
        self.n_frames = 0
        self.n_active = 0
        self.silence_amp = 10.0 ** (config.silence_dbfs / 20.0)
        self.grid_bits = int(grid_bits)
        self.stats = np.zeros(6)
        self.or_bits = np.zeros(1, dtype=np.int64)
        self.dc_sums = np.zeros(self.channels)
        self._fft_in = np.empty((FFT_BATCH_FRAMES, self.n_fft), dtype=np.float32)  # reused windowed frames
        self.frame_cursor = 0  # index of the next STFT frame in the whole file
        self.sample_cursor = 0  # samples per channel counted for stats (non-overlapping part)

    # -- stats -------------------------------------------------------------------------------------
    def _keep(self, fresh: np.ndarray) -> None:
        """Copy the part of ``fresh`` (which starts at sample_cursor) that falls in the kept excerpt."""
        a = max(self.keep_start, self.sample_cursor)
        b = min(self.keep_stop, self.sample_cursor + fresh.shape[0])
        if b > a:
            self.kept[a - self.keep_start:b - self.keep_start] = fresh[a - self.sample_cursor:b - self.sample_cursor]
            self.kept_frames = max(self.kept_frames, b - self.keep_start)

    def _update_stats(self, fresh: np.ndarray, peak: float | None = None) -> None:
        if fresh.shape[0] == 0:
            return
        self._keep(fresh)
        update_sample_stats(fresh, float(2 ** (self.grid_bits - 1)), self.stats, self.or_bits, self.dc_sums, peak)
        self.sample_cursor += fresh.shape[0]

    # -- spectrum ----------------------------------------------------------------------------------
    def _update_spectrum(self, block: np.ndarray, hop_peaks: np.ndarray | None = None) -> None:
        n = block.shape[0]
        if n < self.n_fft:
            return
        n_frames = 1 + (n - self.n_fft) // self.hop
        # NaN/Inf (counted by the stats kernel) would poison the FFT: zero them, but only when there are any
        clean = np.where(np.isfinite(block), block, 0.0) if self.stats[4] else block
        frames = frame_view(clean, self.n_fft, self.hop)  # (n_frames, channels, n_fft)
        peaks = self._frame_peaks(clean, n_frames, hop_peaks if clean is block else None)
        active = peaks > self.silence_amp
        chunk = LOG_PRODUCT_FRAMES if float(peaks.max()) <= LOG_PRODUCT_MAX_AMPLITUDE else 1
        global_start = (self.frame_cursor + np.arange(n_frames)) * self.hop
        segment = np.minimum((global_start + self.n_fft // 2) // self.segment_frames, self.band_sum.shape[0] - 1)
        segment = segment.astype(np.int64)
        for a in range(0, n_frames, FFT_BATCH_FRAMES):
            b = min(n_frames, a + FFT_BATCH_FRAMES)
            buf = self._fft_in[: b - a]
            for ch in range(self.channels):
                # Single precision halves the FFT cost; its rounding error, about 4 eps rms sqrt(log2 N / N)
                # (~ -180 dB re full scale per bin at N = 16384), sits far below the 16-bit quantisation floor
                # (~ -135 dB per bin), so no measure that reads a floor is affected (tested against float64).
                # Samples are rounded to float32 first (float32 blocks already are), then windowed in float32,
                # in a reused buffer (NumPy's strided multiply beats a numba loop here: 0.6 against 2.4 ms per
                # stereo block). Tried and dropped, no faster in the whole pass on this machine: the Hann window
                # applied in the frequency domain (3-tap) to FFTs of the raw frames, and one complex FFT of
                # L + iR per stereo frame instead of two real ones.
                if frames.dtype == np.float32:
                    np.multiply(frames[a:b, ch, :], self.window32, out=buf)
                else:
                    np.copyto(buf, frames[a:b, ch, :], casting="same_kind")
                    np.multiply(buf, self.window32, out=buf)
                spec = scipy.fft.rfft(buf, axis=-1, overwrite_x=True)
                _k.accumulate_spectrum(
                    spec, self.scale ** 2, active[a:b], POWER_FLOOR, chunk, self.log_mantissa, self.log_exponent,
                    self.sum_power, self.band_of_bin, segment[a:b], self.band_sum, self.band_count,
                )
        self.n_frames += n_frames
        self.n_active += int(active.sum())
        self.frame_cursor += n_frames

    def _hop_peaks(self, block: np.ndarray) -> np.ndarray | None:
        """Peak |x| over channels of each hop-long chunk the block's STFT frames cover (they cover all but the
        last < hop samples); None when n_fft is not a multiple of hop or the block holds no frame. NaN
        propagates (a chunk with a NaN has a NaN peak)."""
        n = block.shape[0]
        if n < self.n_fft or self.n_fft % self.hop:
            return None
        n_chunks = (n - self.n_fft) // self.hop + self.n_fft // self.hop
        chunk = block[: n_chunks * self.hop].reshape(n_chunks, self.hop * block.shape[1])
        return np.maximum(chunk.max(axis=1), -chunk.min(axis=1))

    def _frame_peaks(self, block: np.ndarray, n_frames: int, hop_peaks: np.ndarray | None = None) -> np.ndarray:
        """Peak |x| of each frame; with n_fft a multiple of hop, from per-hop peaks (one pass, no copies;
        ``hop_peaks`` when the caller has them for this block already)."""
        if self.n_fft % self.hop:
            return np.abs(frame_view(block, self.n_fft, self.hop)[:n_frames]).max(axis=(1, 2))
        per_frame = self.n_fft // self.hop
        chunk_peak = self._hop_peaks(block) if hop_peaks is None else hop_peaks
        return np.lib.stride_tricks.sliding_window_view(chunk_peak, per_frame)[:n_frames].max(axis=1)

    def update(self, block: np.ndarray, *, fresh_from: int) -> None:
        """Consume one block; ``block[fresh_from:]`` are samples not seen in earlier blocks.

        The per-hop peaks are taken once and serve both the frame peaks and the sample statistics' peak of the
        fresh samples (the chunks from ``fresh_from`` on, plus the uncovered tail).
        """
        hop_peaks = self._hop_peaks(block)
        peak = None
        if hop_peaks is not None and fresh_from % self.hop == 0 and fresh_from < hop_peaks.size * self.hop:
            tail = block[hop_peaks.size * self.hop:]
            parts = [hop_peaks[fresh_from // self.hop:].max()]
            if tail.shape[0]:
                parts += [tail.max(), -tail.min()]
            peak = float(np.max(parts))  # NaN-propagating, like the max/min it replaces
        self._update_stats(block[fresh_from:], peak)
        self._update_spectrum(block, hop_peaks)

    def finish(self, short_signal: np.ndarray | None = None) -> tuple[SpectralSummary, SampleStats]:
        """Return the summary. ``short_signal`` (whole signal shorter than n_fft) is zero-padded into one frame."""
        if self.n_frames == 0 and short_signal is not None and short_signal.shape[0] > 0:
            padded = np.zeros((self.n_fft, self.channels))
            padded[: short_signal.shape[0]] = short_signal
            self._update_spectrum(padded)
        active = max(self.n_active * self.channels, 1)
        band_counts = self.band_count[:, None] * self.channels
        with np.errstate(divide="ignore", invalid="ignore"):
            band_mean = np.where(band_counts > 0, self.band_sum / np.maximum(band_counts, 1), np.nan)
            band_db = 10.0 * np.log10(band_mean + POWER_FLOOR)
        summary = SpectralSummary(
            sample_rate=self.sr, n_fft=self.n_fft, hop=self.hop, freqs=self.freqs,
            mean_db=(_k.sum_db(self.log_mantissa, self.log_exponent) / active if self.n_active
                     else np.full(self.freqs.size, 10 * np.log10(POWER_FLOOR))),
            mean_power=self.sum_power / active,
            n_frames=self.n_frames, n_active_frames=self.n_active,
            band_edges_hz=self.band_edges, segment_seconds=self.segment_frames / self.sr, band_db=band_db,
        )
        samples = int(self.stats[2])
        or_value = int(self.or_bits[0])
        effective = None
        if or_value != 0:
            trailing = (or_value & -or_value).bit_length() - 1
            effective = max(self.grid_bits - trailing, 0)
        stats = SampleStats(
            peak=float(self.stats[0]),
            rms=float(np.sqrt(self.stats[1] / samples)) if samples else 0.0,
            dc_offset=self.dc_sums / max(self.sample_cursor, 1),
            clipped_samples=int(self.stats[3]), nonfinite_samples=int(self.stats[4]),
            grid_bits=self.grid_bits, off_grid_samples=int(self.stats[5]),
            effective_bits=effective, samples=samples,
        )
        return summary, stats

    def kept_excerpt(self) -> tuple[int, np.ndarray]:
        """(first frame, samples float32 (frames, channels)) of the middle excerpt kept during the pass."""
        return self.keep_start, self.kept[: self.kept_frames]


def summarize_blocks(
    blocks: Iterable[np.ndarray], *, sample_rate: int, channels: int, total_frames: int,
    config: AnalysisConfig, grid_bits: int, overlap: int, keep: list | None = None,
    observe: Callable[[np.ndarray], None] | None = None,
) -> tuple[SpectralSummary, SampleStats]:
    """Run a :class:`SpectrumAccumulator` over blocks that overlap by ``overlap`` frames.

    With ``keep`` (a list), the middle excerpt ``(first_frame, samples)`` is kept during the pass and appended
    to it; without, no samples are kept. ``observe`` is called with each block's new samples (frames, channels)
    in order, so another measure (the plotted spectrogram) can ride on the same decode.
    """
    acc = SpectrumAccumulator(
        sample_rate=sample_rate, channels=channels, total_frames=total_frames, config=config, grid_bits=grid_bits,
        keep_excerpt=keep is not None,
    )
    first = True
    whole: list[np.ndarray] = []
    seen = 0
    for block in blocks:
        fresh_from = 0 if first else overlap
        acc.update(block, fresh_from=fresh_from)
        if observe is not None:
            observe(block[fresh_from:])
        seen += block.shape[0] - fresh_from
        if seen < config.n_fft:
            whole.append(block[fresh_from:])
        first = False
    short = np.concatenate(whole) if (whole and acc.n_frames == 0) else None
    if keep is not None:
        keep.append(acc.kept_excerpt())
    return acc.finish(short)
