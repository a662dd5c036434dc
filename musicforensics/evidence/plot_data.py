"""What the figures need about one track, computed without matplotlib: the long-term spectrum (the analysis's
own), a spectrogram of back-to-back 2048-sample frames gathered on the same decode, and the comb residual.

>>> from musicforensics.evidence.plot_data import compute_plot_data
>>> data = compute_plot_data("sample_audio/lossy_mp3_128.flac")
>>> data.spec_db.shape[0], data.sample_rate
(1025, 44100)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ai.fold import FoldAccumulator, accumulator_for
from ..ai.views import CombViews, comb_views
from ..config import POWER_FLOOR, AnalysisConfig
from ..io import audio
from ..pipeline.analysis import spectral_pass
from ..spectral.framing import frame_view, periodic_hann
from ..spectral.hull import lower_hull
from ..spectral.summary import SpectralSummary

#: STFT frame length of the plotted spectrogram at <= 50 kHz (doubled above): 21.5 Hz bins at 44.1 kHz.
SPECTROGRAM_N_FFT = 2048
#: At most this many time columns; frames falling in one column are averaged (power), so the plot costs
#: the same whatever the track length.
SPECTROGRAM_MAX_COLUMNS = 600
#: The comb view's band (Hz) and hull window: those of the fakeprint (Afchar et al., ISMIR 2025, Sec. 4).
#: The fakeprint's -45 dB hull floor is not applied: our levels are dB re a full-scale sine, on which a
#: typical 5-16 kHz music spectrum lies at -60 to -90 dB, so that floor would erase the whole residual.
COMB_BAND_HZ = (5000.0, 16000.0)
COMB_HULL_WIDTH_BINS = 10


@dataclass
class PlotData:
    """What the figures need about one track.

    Attributes
    ----------
    label : str
        Name shown on the figures (normally the file path).
    spectrum : SpectralSummary
        Long-term spectrum (the analysis' own, or recomputed with the same configuration).
    spec_db : np.ndarray, shape (n_freqs, n_columns)
        Spectrogram, mean power per column in dB re full-scale sine.
    spec_freqs : np.ndarray, shape (n_freqs,)
        Hz.
    spec_times : np.ndarray, shape (n_columns + 1,)
        Column edges, s.
    duration_s : float
        Seconds covered.
    comb : CombViews or None
        The comb views at the AI verdict's spacing (None without a report that names one).
    """

    label: str
    spectrum: SpectralSummary
    spec_db: np.ndarray
    spec_freqs: np.ndarray
    spec_times: np.ndarray
    duration_s: float
    comb: CombViews | None = None

    @property
    def sample_rate(self) -> int:
        return self.spectrum.sample_rate


class SpectrogramAccumulator:
    """Non-overlapping Hann frames of ``n_fft`` samples, power averaged over channels and within columns."""

    def __init__(self, *, sample_rate: int, total_frames: int, max_columns: int = SPECTROGRAM_MAX_COLUMNS):
        self.sr = int(sample_rate)
        self.n_fft = SPECTROGRAM_N_FFT * (2 if sample_rate > 50_000 else 1)
        self.window = periodic_hann(self.n_fft)[0]
        self.scale = (2.0 / self.window.sum()) ** 2
        self.expected = max(1, total_frames // self.n_fft)
        self.n_cols = max(1, min(max_columns, self.expected))
        self.sums = np.zeros((self.n_fft // 2 + 1, self.n_cols))
        self.counts = np.zeros(self.n_cols)
        self.carry: np.ndarray | None = None
        self.frame_index = 0
        self.samples = 0

    def update(self, fresh: np.ndarray) -> None:
        if fresh.shape[0] == 0:
            return
        self.samples += fresh.shape[0]
        data = fresh if self.carry is None else np.concatenate([self.carry, fresh])
        n = data.shape[0] // self.n_fft
        self.carry = data[n * self.n_fft:]
        if n == 0:
            return
        frames = frame_view(data, self.n_fft, self.n_fft)  # (n, channels, n_fft): back to back
        n = frames.shape[0]
        frames = np.where(np.isfinite(frames), frames, 0.0)
        spec = np.fft.rfft(frames * self.window, axis=-1)
        power = (spec.real ** 2 + spec.imag ** 2).mean(axis=1) * self.scale  # (n, bins)
        cols = np.minimum((self.frame_index + np.arange(n)) * self.n_cols // self.expected, self.n_cols - 1)
        starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])  # cols is non-decreasing
        self.sums[:, cols[starts]] += np.add.reduceat(power, starts, axis=0).T
        self.counts[cols[starts]] += np.diff(np.r_[starts, n])
        self.frame_index += n

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.frame_index == 0 and self.carry is not None and self.carry.shape[0]:
            pad = np.zeros((self.n_fft, self.carry.shape[1]))
            pad[: self.carry.shape[0]] = self.carry
            self.carry = None
            self.update(pad)
            self.samples -= self.n_fft
        used = self.counts > 0
        sums, counts = self.sums[:, used], self.counts[used]
        if counts.size == 0:
            sums, counts = np.zeros((self.sums.shape[0], 1)), np.ones(1)
        db = 10.0 * np.log10(sums / counts[None, :] + POWER_FLOOR)
        freqs = np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)
        seconds = max(self.samples, 1) / self.sr
        times = np.linspace(0.0, seconds, db.shape[1] + 1)
        return db, freqs, times


def compute_plot_data(path: str | os.PathLike, *, report: Any = None, config: AnalysisConfig | None = None,
                      label: str | None = None) -> PlotData:
    """Read ``path`` once and gather what the figures need.

    Parameters
    ----------
    path : path-like
        The audio file.
    report : TrackReport, optional
        Its analysis. When it still carries its in-memory ``spectrum`` (``analyze_file`` keeps it; scan workers
        drop it) that spectrum is reused and the file is read only for the spectrogram; otherwise one spectral
        pass gives both.
    config : AnalysisConfig, optional
        Analysis parameters (``max_seconds`` limits the span plotted too); default: the library defaults.
    label : str, optional
        Name shown on the figures (default: the report's path, else ``path``).

    Raises
    ------
    AudioReadError
        The file cannot be read.
    """
    cfg = config or AnalysisConfig()
    info = audio.read_info(path)
    spectrum = getattr(report, "spectrum", None) if report is not None else None
    max_frames = None if cfg.max_seconds is None else int(round(cfg.max_seconds * info.sample_rate))
    total = info.frames if max_frames is None else min(info.frames, max_frames)
    sg = SpectrogramAccumulator(sample_rate=info.sample_rate, total_frames=total)
    comb_at = _comb_spacing(report)
    folds = accumulator_for(info, cfg) if comb_at is not None else None

    def observe(block: np.ndarray) -> None:
        sg.update(block)
        if folds is not None:
            folds(block)

    if spectrum is None:
        spectrum = spectral_pass(path, config=cfg, observe=observe)
    else:
        for blk in audio.iter_blocks(path, block_frames=cfg.block_frames, max_frames=max_frames):
            observe(blk)
    if label is None:
        label = getattr(report, "path", None) or str(path)
    return plot_data(str(label), spectrum, sg, folds=folds, comb_at=comb_at)


def _comb_spacing(report: Any) -> tuple[float, float] | None:
    """(spacing Hz, band top Hz) of the comb the AI verdict reports, if any."""
    finding = (getattr(report, "verdicts", None) or {}).get("ai")
    ev = getattr(finding, "evidence", None)
    delta = getattr(ev, "delta_hz", None)
    band = getattr(ev, "band_hz", None)
    if not delta or not band or len(band) < 2:
        return None
    return float(delta), float(band[1])


def plot_data(label: str, spectrum: SpectralSummary, spectrogram: SpectrogramAccumulator, *,
              folds: FoldAccumulator | None = None, comb_at: tuple[float, float] | None = None) -> PlotData:
    """A :class:`PlotData` from a long-term spectrum and a filled spectrogram accumulator (for callers that fed
    the accumulator from their own analysis, as ``explain --plot`` does); with ``folds`` and ``comb_at``
    (spacing, band top) the comb views too."""
    db, freqs, times = spectrogram.finish()
    comb = None
    if folds is not None and comb_at is not None and folds.frames:
        comb = comb_views(folds, *comb_at)
    return PlotData(label=label, spectrum=spectrum, spec_db=db, spec_freqs=freqs, spec_times=times,
                    duration_s=float(times[-1]), comb=comb)


def comb_residual(spectrum: SpectralSummary, *, band_hz: tuple[float, float] = COMB_BAND_HZ) -> tuple[np.ndarray, np.ndarray]:
    """The fakeprint residual: mean-dB spectrum in ``band_hz`` minus its lower hull, clipped below at 0 dB.

    Returns
    -------
    freqs : np.ndarray, shape (n,)
        Hz.
    residual : np.ndarray, shape (n,)
        dB above the lower hull (10-bin windows, quadratic joins; no floor, see :data:`COMB_BAND_HZ`).
    """
    lo, hi = band_hz
    sel = (spectrum.freqs >= lo) & (spectrum.freqs <= min(hi, spectrum.sample_rate / 2))
    freqs = spectrum.freqs[sel]
    if freqs.size == 0:
        return freqs, np.zeros(0)
    x = np.nan_to_num(spectrum.mean_db[sel], nan=-140.0, posinf=0.0, neginf=-140.0)
    hull = lower_hull(x, width=COMB_HULL_WIDTH_BINS)
    return freqs, np.maximum(x - hull, 0.0)
