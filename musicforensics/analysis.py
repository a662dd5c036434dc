"""Analyse one track: read facts, one streamed spectral pass, then every selected detector.

:func:`analyze_file` never raises for a bad file: unreadable audio becomes a report with status ``error``,
degenerate audio (silence, too short, NaN/Inf) a report with status ``inconclusive`` and its reasons.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

import numpy as np

from . import audio
from .config import MAX_BLOCK_SAMPLES, POWER_FLOOR, AnalysisConfig
from .detectors import Detector, TrackContext, select
from .dsp.spectrum import SampleStats, SpectralSummary, aligned_block_frames, blocks_from_array, summarize_blocks
from .errors import MusicForensicsError
from .results import STATUS_ERROR, STATUS_INCONCLUSIVE, STATUS_OK, Finding, TrackReport

#: A bin counts as "in use" when the long-term spectrum is within this many dB of its loudest bin;
#: the highest such bin is the reported bandwidth (a plain fact; the lossy detector finds the wall).
BANDWIDTH_RANGE_DB = 70.0


def _grid_bits(info: audio.AudioInfo) -> int:
    # Integer PCM is tested on its own grid; float (and lossy) data on the 24-bit grid.
    if info.bit_depth and not info.is_float and info.bit_depth <= 32:
        return info.bit_depth
    return 24


def bandwidth_hz(spectrum: SpectralSummary, *, range_db: float = BANDWIDTH_RANGE_DB) -> float | None:
    """Highest frequency whose long-term level (dB of mean power, smoothed over ~50 Hz) is within
    ``range_db`` of the loudest bin; None for silence."""
    from scipy.ndimage import uniform_filter1d

    if spectrum.n_active_frames == 0:
        return None
    # smooth the power over ~50 Hz (edges held, not zero-padded) so single-bin noise does not decide
    width = max(1, int(round(50.0 / spectrum.bin_hz)))
    smooth = 10.0 * np.log10(uniform_filter1d(spectrum.mean_power, width, mode="nearest") + POWER_FLOOR)
    top = smooth.max()
    above = np.nonzero(smooth >= top - range_db)[0]
    return float(spectrum.freqs[above[-1]]) if above.size else None


def _facts(info: audio.AudioInfo, spectrum: SpectralSummary, stats: SampleStats) -> dict:
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


def _degenerate_reasons(info: audio.AudioInfo, stats: SampleStats, spectrum: SpectralSummary, cfg: AnalysisConfig) -> list[str]:
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


def _analyze(path_label: str, info: audio.AudioInfo, blocks_factory, excerpt, cfg: AnalysisConfig,
             detectors: tuple[Detector, ...], file_path: Path | None) -> TrackReport:
    overlap = cfg.n_fft - cfg.hop
    block = aligned_block_frames(min(cfg.block_frames, MAX_BLOCK_SAMPLES // max(info.channels, 1)), cfg.n_fft,
                                 cfg.hop)
    max_frames = None if cfg.max_seconds is None else int(round(cfg.max_seconds * info.sample_rate))
    total = info.frames if max_frames is None else min(info.frames, max_frames)
    # the middle excerpt is kept in memory only for detectors that read raw samples
    kept: list | None = [] if any(det.reads_samples for det in detectors) else None
    t_pass = time.perf_counter()
    spectrum, stats = summarize_blocks(
        blocks_factory(block_frames=block, overlap=overlap, max_frames=max_frames),
        sample_rate=info.sample_rate, channels=info.channels, total_frames=total, config=cfg,
        grid_bits=_grid_bits(info), overlap=overlap, keep=kept,
    )
    t_pass = time.perf_counter() - t_pass
    excerpt = _excerpt_from_memory(kept[0] if kept else None, info.sample_rate, excerpt)
    report = TrackReport(path=path_label, status=STATUS_OK, audio=info.to_dict(), config_key=cfg.cache_key())
    # seconds of the shared spectral pass (decoding included), for benchmarks; kept in memory, never serialised
    report.spectral_pass_seconds = t_pass  # type: ignore[attr-defined]
    report.facts = _facts(info, spectrum, stats)
    report.reasons = _degenerate_reasons(info, stats, spectrum, cfg)
    ctx = TrackContext(path=file_path, info=info, config=cfg, spectrum=spectrum, stats=stats,
                       _excerpt=excerpt, _blocks=blocks_factory)
    if report.reasons:
        for det in detectors:
            for kind in det.kinds:
                report.verdicts[kind] = Finding.undecided(kind, "; ".join(report.reasons), detector=det.name)
    else:
        _run_detectors(ctx, detectors, report)
    _finish_status(report)
    report.spectrum = spectrum  # type: ignore[attr-defined]  # kept in memory for plots; never serialised
    return report


def analyze_file(path: str | os.PathLike, *, config: AnalysisConfig | None = None, label: str | None = None) -> TrackReport:
    """Analyse one audio file.

    Parameters
    ----------
    path : path-like
        The file.
    config : AnalysisConfig, optional
    label : str, optional
        Path text to put in the report (default: ``str(path)``).

    Returns
    -------
    TrackReport
        Status ``ok``, ``inconclusive`` (with reasons) or ``error`` (with the error text); never raises for a
        bad file.
    """
    cfg = config or AnalysisConfig()
    label = str(path) if label is None else label
    t0 = time.perf_counter()
    detectors = select(cfg.detectors)
    p = Path(path)
    try:
        info = audio.read_info(p)
        dtype = audio.block_dtype(info)  # float32 where exact: PCM up to 24 bits, libsndfile's lossy decoders

        def blocks_factory(*, block_frames, overlap=0, max_frames=None):
            return audio.iter_blocks(p, block_frames=block_frames, overlap=overlap, max_frames=max_frames,
                                     dtype=dtype)

        def excerpt(start_s=0.0, duration_s=None):
            return audio.read_excerpt(p, start_s=start_s, duration_s=duration_s)[0]

        report = _analyze(label, info, blocks_factory, excerpt, cfg, detectors, p)
    except MusicForensicsError as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        report = TrackReport(path=label, status=STATUS_ERROR, error=reason, config_key=cfg.cache_key())
    except MemoryError:
        report = TrackReport(path=label, status=STATUS_ERROR, error="out of memory while analysing", config_key=cfg.cache_key())
    report.seconds = time.perf_counter() - t0
    return report


def analyze_signal(y: np.ndarray, sample_rate: int, *, config: AnalysisConfig | None = None,
                   subtype: str = "FLOAT", label: str = "<signal>") -> TrackReport:
    """Analyse an in-memory signal (frames,) or (frames, channels), full scale = 1.

    ``subtype`` says how it would be stored (e.g. ``"PCM_24"``), which matters to the bit-depth test.
    """
    cfg = config or AnalysisConfig()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        from .errors import ParameterError

        raise ParameterError(f"signal must be 1-D or 2-D (frames, channels), got shape {y.shape!r}")
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64, "PCM_U8": 8, "PCM_S8": 8}.get(subtype)
    if bits and subtype.startswith("PCM"):
        # what storing it would do: round to the integer grid and clip to the representable range
        step = 2.0 ** (bits - 1)
        y = np.clip(np.round(y * step), -step, step - 1) / step
    info = audio.AudioInfo(container="MEMORY", subtype=subtype, sample_rate=int(sample_rate), channels=y.shape[1],
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

    report = _analyze(label, info, blocks_factory, excerpt, cfg, select(cfg.detectors), None)
    report.seconds = time.perf_counter() - t0
    return report


def warm_up() -> None:
    """Compile or load every numba kernel once (call before starting worker processes)."""
    from .dsp import peaks

    peaks.warm_up()
    rng = np.random.default_rng(0)
    cfg = AnalysisConfig(n_fft=1024, hop=512, block_frames=4096, min_duration_s=0.01)
    analyze_signal(rng.standard_normal((4096, 1)) * 0.1, 8000, config=cfg)
    for det in select(()):
        det.warm_up()


__all__ = ["analyze_file", "analyze_signal", "warm_up", "bandwidth_hz", "POWER_FLOOR"]
