"""Analyse one track: read facts, one streamed spectral pass, then every selected detector.

:func:`analyze_file` never raises for a bad file: unreadable audio becomes a report with status ``error``,
degenerate audio (silence, too short, NaN/Inf) a report with status ``inconclusive`` and its reasons.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.ndimage import uniform_filter1d

from ..config import MAX_BLOCK_SAMPLES, POWER_FLOOR, AnalysisConfig
from ..detector import Detector, TrackContext
from ..errors import MusicForensicsError, ParameterError
from ..io import audio
from ..io.info import SUBTYPE_BITS, AudioInfo
from ..results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, Finding, TrackReport
from ..spectral.framing import aligned_block_frames, blocks_from_array
from ..spectral.summary import SampleStats, SpectralSummary, summarize_blocks
from .registry import select

#: A bin counts as "in use" when the long-term spectrum is within this many dB of its loudest bin;
#: the highest such bin is the reported bandwidth (a plain fact; the lossy detector finds the wall).
BANDWIDTH_RANGE_DB = 70.0


def grid_bits(info: AudioInfo) -> int:
    """The integer grid a file's samples are tested on: integer PCM on its own, float and lossy data on 24 bits."""
    if info.bit_depth and not info.is_float and info.bit_depth <= 32:
        return info.bit_depth
    return 24


def bandwidth_hz(spectrum: SpectralSummary, *, range_db: float = BANDWIDTH_RANGE_DB) -> float | None:
    """Highest frequency whose long-term level (dB of mean power, smoothed over ~50 Hz) is within
    ``range_db`` of the loudest bin; None for silence."""
    if spectrum.n_active_frames == 0:
        return None
    # smooth the power over ~50 Hz (edges held, not zero-padded) so single-bin noise does not decide
    width = max(1, int(round(50.0 / spectrum.bin_hz)))
    smooth = 10.0 * np.log10(uniform_filter1d(spectrum.mean_power, width, mode="nearest") + POWER_FLOOR)
    top = smooth.max()
    above = np.nonzero(smooth >= top - range_db)[0]
    return float(spectrum.freqs[above[-1]]) if above.size else None


def _facts(info: AudioInfo, spectrum: SpectralSummary, stats: SampleStats) -> dict:
    active = spectrum.n_active_frames / spectrum.n_frames if spectrum.n_frames else 0.0
    return {
        "peak_dbfs": round(stats.peak_dbfs, 3) if stats.peak > 0 else None,
        "rms_dbfs": round(stats.rms_dbfs, 3) if stats.rms > 0 else None,
        "dc_offset": [round(float(v), 8) for v in stats.dc_offset],
        "clipped_samples": stats.clipped_samples,
        "nonfinite_samples": stats.nonfinite_samples,
        "effective_bits": stats.effective_bits,
        "active_fraction": round(active, 4),
        "bandwidth_hz": bandwidth_hz(spectrum),
        "lossy_container": (
            {"codec": info.lossy_codec, "bitrate_kbps": None if info.bitrate_kbps is None else round(info.bitrate_kbps, 1)}
            if info.lossy_codec else None
        ),
        "spectrum": {"n_fft": spectrum.n_fft, "hop": spectrum.hop, "frames": spectrum.n_frames,
                     "active_frames": spectrum.n_active_frames},
    }


def _degenerate_reasons(info: AudioInfo, stats: SampleStats, spectrum: SpectralSummary, cfg: AnalysisConfig) -> list[str]:
    reasons = []
    if info.frames == 0 or stats.samples == 0 and stats.nonfinite_samples == 0:
        reasons.append("no audio samples")
    if stats.nonfinite_samples:
        reasons.append(f"{stats.nonfinite_samples} non-finite samples (NaN/Inf): the file is damaged")
    if 0 < info.duration_s < cfg.min_duration_s:
        reasons.append(f"too short: {info.duration_s:.3f} s < {cfg.min_duration_s} s needed")
    if stats.samples and stats.peak == 0:
        reasons.append("digital silence: every sample is zero")
    elif stats.samples and spectrum.n_active_frames == 0:
        reasons.append(f"near silence: no frame louder than {cfg.silence_dbfs} dBFS")
    return reasons


def _run_detectors(ctx: TrackContext, detectors: tuple[Detector, ...], report: TrackReport) -> None:
    for det in detectors:
        t0 = time.perf_counter()
        try:
            result = det.analyze(ctx)
        except MusicForensicsError as exc:
            report.status = STATUS_ERROR
            report.error = f"detector {det.name!r} failed: {exc}"
            continue
        except Exception as exc:  # a detector bug must not sink the scan; it is reported as this file's error
            report.status = STATUS_ERROR
            report.error = f"detector {det.name!r} crashed: {type(exc).__name__}: {exc}"
            report.facts.setdefault("tracebacks", []).append(traceback.format_exc(limit=4))
            continue
        result.seconds = result.seconds or (time.perf_counter() - t0)
        report.detectors.append(result)
        for finding in result.findings:
            finding.detector = finding.detector or det.name
            report.verdicts[finding.kind] = finding


def _finish_status(report: TrackReport) -> None:
    if report.status == STATUS_ERROR:
        return
    if report.reasons:
        report.status = STATUS_INCONCLUSIVE
    elif report.verdicts and all(f.inconclusive for f in report.verdicts.values()):
        report.status = STATUS_INCONCLUSIVE
        report.reasons = sorted({f.reason for f in report.verdicts.values() if f.reason})
    else:
        report.status = STATUS_OK


def _excerpt_from_memory(kept: tuple[int, np.ndarray] | None, sample_rate: int, read_from_source):
    """An excerpt reader that serves spans inside the kept middle excerpt from memory (a read-only float32 view,
    no copy), others (every span when nothing was kept) from the source, converted to float32 like the kept
    samples (exact for PCM up to 24 bits)."""

    def excerpt(start_s=0.0, duration_s=None):
        a = int(round(start_s * sample_rate))
        if kept is not None and duration_s is not None:
            first, samples = kept
            b = a + int(round(duration_s * sample_rate))
            if first <= a and b <= first + samples.shape[0]:
                view = samples[a - first:b - first]
                view.flags.writeable = False
                return view
        return np.asarray(read_from_source(start_s, duration_s), dtype=np.float32)

    return excerpt


def _chain(observers: list) -> Callable[[np.ndarray], None] | None:
    """One observer that feeds each of ``observers`` (None entries skipped) in turn."""
    active = [o for o in observers if o is not None]
    if len(active) <= 1:
        return active[0] if active else None

    def observe(fresh: np.ndarray) -> None:
        for o in active:
            o(fresh)

    return observe


def _pass_geometry(info: AudioInfo, cfg: AnalysisConfig) -> tuple[int, int, int | None, int]:
    """(block frames, overlap, frames to read or None for all, frames covered) of the spectral pass: blocks
    aligned on the STFT grid and capped at MAX_BLOCK_SAMPLES over all channels."""
    overlap = cfg.n_fft - cfg.hop
    block = aligned_block_frames(min(cfg.block_frames, MAX_BLOCK_SAMPLES // max(info.channels, 1)), cfg.n_fft,
                                 cfg.hop)
    max_frames = None if cfg.max_seconds is None else int(round(cfg.max_seconds * info.sample_rate))
    total = info.frames if max_frames is None else min(info.frames, max_frames)
    return block, overlap, max_frames, total


def _analyze(path_label: str, info: AudioInfo, blocks_factory, excerpt, cfg: AnalysisConfig,
             detectors: tuple[Detector, ...], file_path: Path | None,
             observe: Callable[[np.ndarray], None] | None) -> TrackReport:
    block, overlap, max_frames, total = _pass_geometry(info, cfg)
    # the middle excerpt is kept in memory only for detectors that read raw samples
    kept: list | None = [] if any(det.spec.reads_samples for det in detectors) else None
    observers = {det.name: det.spec.make_observer(info, cfg) for det in detectors if det.spec.observer}
    observe = _chain([observe, *observers.values()])
    t_pass = time.perf_counter()
    spectrum, stats = summarize_blocks(
        blocks_factory(block_frames=block, overlap=overlap, max_frames=max_frames),
        sample_rate=info.sample_rate, channels=info.channels, total_frames=total, config=cfg,
        grid_bits=grid_bits(info), overlap=overlap, keep=kept, observe=observe,
    )
    t_pass = time.perf_counter() - t_pass
    excerpt = _excerpt_from_memory(kept[0] if kept else None, info.sample_rate, excerpt)
    report = TrackReport(path=path_label, status=STATUS_OK, audio=info.to_dict(), config_key=cfg.cache_key(),
                         spectrum=spectrum, pass_seconds=t_pass)
    report.facts = _facts(info, spectrum, stats)
    report.reasons = _degenerate_reasons(info, stats, spectrum, cfg)
    ctx = TrackContext(path=file_path, info=info, config=cfg, spectrum=spectrum, stats=stats, observed=observers,
                       _excerpt=excerpt, _blocks=blocks_factory)
    if report.reasons:
        for det in detectors:
            for kind in det.kinds:
                report.verdicts[kind] = Finding.undecided(kind, "; ".join(report.reasons), detector=det.name)
    else:
        _run_detectors(ctx, detectors, report)
    _finish_status(report)
    return report


def analyze_file(path: str | os.PathLike, *, config: AnalysisConfig | None = None, label: str | None = None,
                 observe: Callable[[np.ndarray], None] | None = None) -> TrackReport:
    """Analyse one audio file.

    Parameters
    ----------
    path : path-like
        The file.
    config : AnalysisConfig, optional
    label : str, optional
        Path text to put in the report (default: ``str(path)``).
    observe : callable, optional
        Called with every new stretch of samples (frames, channels) as the file is decoded, so another measure
        (the plotted spectrogram) rides on the same decode.

    Returns
    -------
    TrackReport
        Status ``ok``, ``inconclusive`` (with reasons) or ``error`` (with the error text); never raises for a
        bad file. Its in-memory ``spectrum`` holds the long-term spectrum.

    Examples
    --------
    >>> from musicforensics import analyze_file
    >>> report = analyze_file("sample_audio/lossy_mp3_128.flac")
    >>> report.findings, report.verdicts["lossy"].evidence.codec_family.estimate
    (['lossy'], 'mp3')
    """
    cfg = config or AnalysisConfig()
    label = str(path) if label is None else label
    t0 = time.perf_counter()
    detectors = select(cfg)
    p = Path(path)
    try:
        info = audio.read_info(p)
        dtype = audio.block_dtype(info)  # float32 where exact: PCM up to 24 bits, libsndfile's lossy decoders

        def blocks_factory(*, block_frames, overlap=0, max_frames=None):
            return audio.iter_blocks(p, block_frames=block_frames, overlap=overlap, max_frames=max_frames,
                                     dtype=dtype)

        def excerpt(start_s=0.0, duration_s=None):
            return audio.read_excerpt(p, start_s=start_s, duration_s=duration_s)[0]

        report = _analyze(label, info, blocks_factory, excerpt, cfg, detectors, p, observe)
    except MusicForensicsError as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        report = TrackReport(path=label, status=STATUS_ERROR, error=reason, config_key=cfg.cache_key())
    except MemoryError:
        report = TrackReport(path=label, status=STATUS_ERROR, error="out of memory while analysing",
                             config_key=cfg.cache_key())
    report.seconds = time.perf_counter() - t0
    return report


def spectral_pass(path: str | os.PathLike, *, config: AnalysisConfig | None = None,
                  observe: Callable[[np.ndarray], None] | None = None) -> SpectralSummary:
    """The analysis's spectral pass alone (no detector): the long-term spectrum of a file, with ``observe``
    riding on the same decode (the plots' spectrogram). Raises :class:`~musicforensics.errors.AudioReadError`
    for a file that cannot be read."""
    cfg = config or AnalysisConfig()
    info = audio.read_info(path)
    block, overlap, max_frames, total = _pass_geometry(info, cfg)
    spectrum, _stats = summarize_blocks(
        audio.iter_blocks(path, block_frames=block, overlap=overlap, max_frames=max_frames,
                          dtype=audio.block_dtype(info)),
        sample_rate=info.sample_rate, channels=info.channels, total_frames=total, config=cfg,
        grid_bits=grid_bits(info), overlap=overlap, observe=observe)
    return spectrum


def analyze_signal(y: np.ndarray, sample_rate: int, *, config: AnalysisConfig | None = None,
                   subtype: str = "FLOAT", label: str = "<signal>") -> TrackReport:
    """Analyse an in-memory signal (frames,) or (frames, channels), full scale = 1.

    ``subtype`` says how it would be stored (e.g. ``"PCM_24"``), which matters to the bit-depth test: integer
    subtypes round and clip the signal to their grid first, as storing it would.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.round(np.sin(np.arange(88200) * 0.05) * 0.5 * 32768) / 32768
    >>> analyze_signal(y, 44100, subtype="PCM_24").findings
    ['bitpadded']
    """
    cfg = config or AnalysisConfig()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ParameterError(f"signal must be 1-D or 2-D (frames, channels), got shape {y.shape!r}")
    bits = SUBTYPE_BITS.get(subtype)
    if bits and subtype.startswith("PCM"):
        # what storing it would do: round to the integer grid and clip to the representable range
        step = 2.0 ** (bits - 1)
        y = np.clip(np.round(y * step), -step, step - 1) / step
    info = AudioInfo(container="MEMORY", subtype=subtype, sample_rate=int(sample_rate), channels=y.shape[1],
                     frames=y.shape[0], bit_depth=bits, is_float=subtype in ("FLOAT", "DOUBLE"),
                     lossy_codec=None, file_size=y.nbytes)
    t0 = time.perf_counter()

    def blocks_factory(*, block_frames, overlap=0, max_frames=None):
        data = y if max_frames is None else y[:max_frames]
        return blocks_from_array(data, block_frames=block_frames, overlap=overlap)

    def excerpt(start_s=0.0, duration_s=None):
        a = int(round(start_s * sample_rate))
        b = None if duration_s is None else a + int(round(duration_s * sample_rate))
        return y[a:b]

    report = _analyze(label, info, blocks_factory, excerpt, cfg, select(cfg), None, None)
    report.seconds = time.perf_counter() - t0
    return report


def _blocks_as_read(y: np.ndarray, block: int, overlap: int):
    """Blocks of ``y`` in its own sample type, overlapping as :func:`musicforensics.io.audio.iter_blocks` reads."""
    start = 0
    while True:
        yield y[start:start + block]
        if start + block >= y.shape[0]:
            return
        start += block - overlap


def warm_up(config: AnalysisConfig | None = None) -> None:
    """Compile or load every numba kernel once, for both sample types the pass reads (float64, and float32: PCM
    up to 24 bits and lossy decoders), and plan the FFT of ``config``'s size: the first file then pays for none
    of it. The local pool's fork server runs this once, so the workers forked from it start warm."""
    cfg = config or AnalysisConfig()
    rng = np.random.default_rng(0)
    small = AnalysisConfig(n_fft=1024, hop=512, block_frames=4096, min_duration_s=0.01)
    analyze_signal(rng.standard_normal((4096, 1)) * 0.1, 8000, config=small)
    y = (rng.standard_normal((4 * cfg.n_fft, 2)) * 0.1).astype(np.float32)
    info = AudioInfo(container="MEMORY", subtype="PCM_16", sample_rate=44100, channels=2, frames=y.shape[0],
                     bit_depth=16, is_float=False, lossy_codec=None, file_size=y.nbytes)
    block, overlap, _, total = _pass_geometry(info, cfg)
    summarize_blocks(_blocks_as_read(y, block, overlap), sample_rate=44100, channels=2, total_frames=total,
                     config=cfg, grid_bits=16, overlap=overlap)
    for det in select(cfg):
        det.warm_up()


__all__ = ["analyze_file", "analyze_signal", "spectral_pass", "warm_up", "bandwidth_hz", "grid_bits"]
