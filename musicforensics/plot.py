"""Figures a person can check: spectrogram, long-term spectrum, comb view and a one-page summary.

This is the only module that imports matplotlib, and it does so through :class:`matplotlib.figure.Figure`
with the Agg canvas: no pyplot, no global backend, no window ever opens. Every ``*_figure`` function
returns a Figure; :func:`figure_to_png` and :func:`save_png` turn it into PNG bytes or a new file.
Importing :mod:`musicforensics` (or running ``musicforensics --help``) never imports this module.

What the views show (see docs/plots-and-reports.md):

1. **Spectrogram** (:func:`spectrogram_figure`): power over time and frequency (linear or log frequency
   axis), the detected wall as a horizontal line, segments the lossy detector judged lossy shaded.
2. **Long-term average spectrum** (:func:`ltas_figure`): mean over frames of the power in dB, the wall, the
   floor above it and the band where the matched codec/bitrate puts its low-pass edge.
3. **Comb view** (:func:`comb_figure`): the 5-16 kHz residual of the mean-dB spectrum above its lower hull
   (the fakeprint of Afchar et al., ISMIR 2025), the teeth the AI detector found, the measured spacing
   Delta and the comb the matched decoder architecture predicts.
4. **Summary** (:func:`summary_figure`): verdicts plus the three views on one page.

Detector evidence is read defensively (:func:`read_evidence`): a missing key only removes a marker.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import audio
from .config import POWER_FLOOR, AnalysisConfig
from .dsp.spectrum import SpectralSummary, SpectrumAccumulator, aligned_block_frames, periodic_hann
from .errors import OutputExistsError, ParameterError

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}
#: Perceptually uniform colour map for spectrograms (readable in grey scale and by colour-blind readers).
SPECTROGRAM_CMAP = "magma"

#: STFT frame length of the plotted spectrogram at <= 50 kHz (doubled above): 21.5 Hz bins at 44.1 kHz.
SPECTROGRAM_N_FFT = 2048
#: At most this many time columns; frames falling in one column are averaged (power), so the plot costs
#: the same whatever the track length.
SPECTROGRAM_MAX_COLUMNS = 600
#: Dynamic range shown on the spectrogram, dB below its 99.9th percentile.
SPECTROGRAM_RANGE_DB = 110.0
#: Lowest frequency of a log-frequency axis, Hz, and rows of the log-frequency image.
LOG_FREQ_MIN_HZ = 20.0
SPECTROGRAM_LOG_ROWS = 480

#: The comb view's band (Hz) and hull window: those of the fakeprint (Afchar et al., ISMIR 2025, Sec. 4).
#: The fakeprint's -45 dB hull floor is not applied: our levels are dB re a full-scale sine, on which a
#: typical 5-16 kHz music spectrum lies at -60 to -90 dB, so that floor would erase the whole residual.
COMB_BAND_HZ = (5000.0, 16000.0)
COMB_HULL_WIDTH_BINS = 10
#: Width (Hz) of the zoomed strip of the stand-alone comb figure.
COMB_ZOOM_HZ = 1200.0

#: Folder ``explain --plot`` writes into when no --plot-dir is given (relative to the working directory).
DEFAULT_PLOT_DIR = "musicforensics-plots"
#: Verdict lines printed at the top of the summary figure.
HEADER_MAX_LINES = 7
#: Default PNG resolution, dots per inch.
DEFAULT_DPI = 100
#: Figure names written by :func:`write_track_plots`.
PLOT_KINDS = ("spectrogram", "ltas", "comb", "summary")

#: Where codecs put their low-pass edge at 44.1 kHz, Hz (lo, hi): /work/shared/SCIENCE.md section 1,
#: measured with LAME 3.100, ffmpeg's native AAC encoder, libvorbis 1.3.7, libopus and twolame. Used only
#: to draw the expected band when the lossy detector reports a codec and bitrate but no band of its own.
EXPECTED_WALLS_HZ: dict[tuple[str, str], tuple[float, float]] = {
    ("mp3", "96"): (15100, 15500), ("mp3", "128"): (16500, 17100), ("mp3", "160"): (17200, 17800),
    ("mp3", "192"): (18700, 19200), ("mp3", "256"): (19400, 19900), ("mp3", "320"): (20100, 20600),
    ("mp3", "v2"): (18700, 19200), ("mp3", "v5"): (16500, 17100),
    ("aac", "96"): (15700, 16300), ("aac", "128"): (16900, 17500), ("aac", "192"): (19100, 19700),
    ("vorbis", "q0"): (15000, 16300), ("vorbis", "q2"): (16400, 17700), ("vorbis", "q3"): (17000, 18300),
    ("vorbis", "q4"): (18800, 20100), ("vorbis", "q5"): (20200, 21500),
    ("opus", ""): (19800, 20200), ("mp2", ""): (20600, 20900),
}


# -- data ------------------------------------------------------------------------------------------------

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
    """

    label: str
    spectrum: SpectralSummary
    spec_db: np.ndarray
    spec_freqs: np.ndarray
    spec_times: np.ndarray
    duration_s: float

    @property
    def sample_rate(self) -> int:
        return self.spectrum.sample_rate


class _SpectrogramAccumulator:
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
        frames = data[: n * self.n_fft].reshape(n, self.n_fft, data.shape[1])
        frames = np.where(np.isfinite(frames), frames, 0.0)
        spec = np.fft.rfft(frames * self.window[None, :, None], axis=1)
        power = (spec.real ** 2 + spec.imag ** 2).mean(axis=2) * self.scale  # (n, bins)
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
        Its analysis. When it still carries the in-memory ``spectrum`` (``analyze_file`` keeps it; scan
        workers drop it) that spectrum is reused; otherwise it is recomputed in the same pass.
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
    sg = _SpectrogramAccumulator(sample_rate=info.sample_rate, total_frames=total)
    if spectrum is None:
        from .analysis import _grid_bits

        overlap = cfg.n_fft - cfg.hop
        block = aligned_block_frames(cfg.block_frames, cfg.n_fft, cfg.hop)
        acc = SpectrumAccumulator(sample_rate=info.sample_rate, channels=info.channels, total_frames=total,
                                  config=cfg, grid_bits=_grid_bits(info))
        first = True
        whole = []
        for blk in audio.iter_blocks(path, block_frames=block, overlap=overlap, max_frames=max_frames):
            fresh_from = 0 if first else overlap
            acc.update(blk, fresh_from=fresh_from)
            sg.update(blk[fresh_from:])
            if acc.n_frames == 0:
                whole.append(blk[fresh_from:])
            first = False
        short = np.concatenate(whole) if (whole and acc.n_frames == 0) else None
        spectrum, _stats = acc.finish(short)
    else:
        for blk in audio.iter_blocks(path, block_frames=cfg.block_frames, max_frames=max_frames):
            sg.update(blk)
    db, freqs, times = sg.finish()
    if label is None:
        label = getattr(report, "path", None) or str(path)
    return PlotData(label=str(label), spectrum=spectrum, spec_db=db, spec_freqs=freqs, spec_times=times,
                    duration_s=float(times[-1]))


# -- evidence ----------------------------------------------------------------------------------------------

@dataclass
class Evidence:
    """Detector evidence the figures draw, gathered from a report; every field may be missing (None)."""

    wall_hz: float | None = None
    floor_db: float | None = None
    steepness_db_per_khz: float | None = None
    codec: str | None = None
    bitrate_class: str | None = None
    expected_wall_hz: tuple[float, float] | None = None
    segments: list[dict] = field(default_factory=list)
    bandwidth_hz: float | None = None
    delta_hz: float | None = None
    teeth_hz: list[float] = field(default_factory=list)
    architecture: str | None = None
    expected_delta_hz: float | None = None
    verdicts: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, state, text)


def _num(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _first(dicts: Sequence[dict], *keys: str):
    for d in dicts:
        for k in keys:
            if isinstance(d, dict) and d.get(k) is not None:
                return d[k]
    return None


def _pair(value) -> tuple[float, float] | None:
    if isinstance(value, dict):
        value = [value.get("lo", value.get("min")), value.get("hi", value.get("max"))]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = _num(value[0]), _num(value[1])
        if lo is not None and hi is not None:
            return (min(lo, hi), max(lo, hi))
    return None


def expected_wall_band(codec: str | None, bitrate_class: str | None) -> tuple[float, float] | None:
    """Band (Hz) where ``codec`` at ``bitrate_class`` puts its low-pass edge, from :data:`EXPECTED_WALLS_HZ`."""
    if not codec:
        return None
    fam = str(codec).lower()
    fam = next((f for f in ("mp3", "aac", "vorbis", "opus", "mp2") if f in fam), fam)
    setting = str(bitrate_class or "").lower().replace("kbps", "").replace("kbit/s", "").replace("cbr", "")
    setting = setting.replace("k", "").strip() if not setting.startswith("q") else setting.strip()
    match = re.search(r"(v\d|q\d|\d{2,3})", setting)
    key = (fam, match.group(1) if match else "")
    return EXPECTED_WALLS_HZ.get(key) or EXPECTED_WALLS_HZ.get((fam, ""))


def _segments_list(value) -> list[dict]:
    """Segments as [{start_s, end_s, lossy}] from either a list of such dicts or the lossy detector's
    {"segment_seconds": s, "flags": [True/False/None, ...]} record (None: undecidable)."""
    out: list[dict] = []
    if isinstance(value, list):
        for s in value:
            if isinstance(s, dict) and _num(s.get("start_s")) is not None and _num(s.get("end_s")) is not None:
                out.append({"start_s": _num(s["start_s"]), "end_s": _num(s["end_s"]), "lossy": s.get("lossy")})
    elif isinstance(value, dict) and isinstance(value.get("flags"), list):
        step = _num(value.get("segment_seconds"))
        if step and step > 0:
            for i, flag in enumerate(value["flags"]):
                out.append({"start_s": i * step, "end_s": (i + 1) * step, "lossy": flag})
    return out


def _bitrate_band(codec: str | None, bitrate_class: str | None) -> tuple[float, float] | None:
    """Wall band of a bitrate class as the lossy detector defines it (its BITRATE_CLASSES table)."""
    if not codec or not bitrate_class:
        return None
    try:
        from .detectors.lossy import BITRATE_CLASSES
    except ImportError:
        return None
    lower = None
    for bound, label in BITRATE_CLASSES.get(str(codec).lower(), ()):
        if label == bitrate_class:
            if bound >= 1e8:  # open-ended top class: no upper edge; the measured table says more
                return None
            return (bound - 1500.0 if lower is None else lower, bound)
        lower = bound
    return None


def read_evidence(report: Any) -> Evidence:
    """Collect what the figures mark from a :class:`~musicforensics.results.TrackReport` (or None).

    Key names read (first found wins), from the lossy/upsampled findings and the ``lossy``/``hires``
    detector records: ``wall`` ({freq_hz, floor_db, steepness_db_per_khz}) or flat ``wall_hz``/``floor_db``/
    ``steepness_db_per_khz``; ``codec_family`` ({estimate} or a name) or ``codec``; ``bitrate_class``;
    ``expected_wall_hz`` ([lo, hi]); ``segments`` ({segment_seconds, flags} or [{start_s, end_s, lossy}]).
    From the ai finding and the ``deconv`` record: ``delta_hz``; ``teeth`` ([{freq_hz}]) or ``teeth_hz``;
    ``architecture`` or ``family`` or the first decoder of ``matches``; ``expected_delta_hz`` or
    rate_hz / stride_product of the first match. Facts: ``bandwidth_hz``.
    """
    ev = Evidence()
    if report is None:
        return ev
    verdicts = getattr(report, "verdicts", {}) or {}
    records = {d.detector: d.evidence for d in getattr(report, "detectors", []) or []}

    def evidences(kinds, detectors):
        out = [verdicts[k].evidence for k in kinds if k in verdicts]
        out += [records[d] for d in detectors if d in records]
        return [e for e in out if isinstance(e, dict)]

    # a positive finding's evidence comes first, so an upsampled file's wall wins over a clean lossy test
    lossy_kinds = sorted(("lossy", "upsampled"), key=lambda k: not (k in verdicts and verdicts[k].detected))
    lossy = evidences(lossy_kinds, ("lossy", "hires"))
    # a wall is drawn only when it counts: the lossy detector says so (``wall_counts``), or the upsampled
    # finding is positive (the hires detector reports candidate walls of clean files too)
    upsampled = verdicts.get("upsampled")
    upsampled_hit = bool(upsampled is not None and upsampled.detected and not upsampled.inconclusive)
    counted = []
    for kind, src in [(k, verdicts[k].evidence) for k in lossy_kinds if k in verdicts] + \
            [({"lossy": "lossy", "hires": "upsampled"}[d], records[d]) for d in ("lossy", "hires") if d in records]:
        if not isinstance(src, dict):
            continue
        if (kind == "lossy" and src.get("wall_counts", True) is not False) or (kind == "upsampled" and upsampled_hit):
            wall = src.get("wall")
            counted += ([wall] if isinstance(wall, dict) else []) + [src]
    ev.wall_hz = _num(_first(counted, "freq_hz", "wall_hz", "cutoff_hz"))
    ev.floor_db = _num(_first(counted, "floor_db", "floor_above_db"))
    ev.steepness_db_per_khz = _num(_first(counted, "steepness_db_per_khz"))
    codec = _first(lossy, "codec_family", "codec", "matched_codec")
    if isinstance(codec, dict):
        codec = codec.get("estimate")
    ev.codec = None if codec is None else str(codec)
    rate = _first(lossy, "bitrate_class", "bitrate", "setting")
    ev.bitrate_class = None if rate is None else str(rate)
    ev.expected_wall_hz = (_pair(_first(lossy, "expected_wall_hz", "expected_edges_hz", "expected_band_hz"))
                           or _bitrate_band(ev.codec, ev.bitrate_class)
                           or expected_wall_band(ev.codec, ev.bitrate_class))
    ev.segments = _segments_list(_first(lossy, "segments"))
    ev.bandwidth_hz = _num((getattr(report, "facts", {}) or {}).get("bandwidth_hz"))

    ai = evidences(("ai",), ("deconv", "ai"))
    ev.delta_hz = _num(_first(ai, "delta_hz"))
    teeth = _first(ai, "teeth_hz", "teeth")
    if isinstance(teeth, list):
        vals = [t.get("freq_hz") if isinstance(t, dict) else t for t in teeth]
        ev.teeth_hz = [t for t in (_num(v) for v in vals) if t is not None]
    matches = _first(ai, "matches")
    match = matches[0] if isinstance(matches, list) and matches and isinstance(matches[0], dict) else {}
    arch = _first(ai, "architecture", "family")
    if arch is None and match.get("decoders"):
        arch = match["decoders"][0]
    ev.architecture = None if arch is None else str(arch)
    ev.expected_delta_hz = _num(_first(ai, "expected_delta_hz"))
    if ev.expected_delta_hz is None and _num(match.get("rate_hz")) and _num(match.get("stride_product")):
        ev.expected_delta_hz = _num(match["rate_hz"]) / _num(match["stride_product"])

    for kind in sorted(verdicts):
        f = verdicts[kind]
        if f.inconclusive:
            state = "INCONCLUSIVE"
        else:
            state = "DETECTED" if f.detected else "not detected"
        prob = "" if f.probability is None else f" p={f.probability:.2f}"
        ev.verdicts.append((kind, state, f"{kind}: {state}{prob}" + (f" ({f.reason})" if f.reason else "")))
    return ev


# -- computed views ---------------------------------------------------------------------------------------------

def comb_residual(spectrum: SpectralSummary, *, band_hz: tuple[float, float] = COMB_BAND_HZ) -> tuple[np.ndarray, np.ndarray]:
    """The fakeprint residual: mean-dB spectrum in ``band_hz`` minus its lower hull, clipped below at 0 dB.

    Returns
    -------
    freqs : np.ndarray, shape (n,)
        Hz.
    residual : np.ndarray, shape (n,)
        dB above the lower hull (10-bin windows, quadratic joins; no floor, see :data:`COMB_BAND_HZ`).
    """
    from .dsp.peaks import lower_hull

    lo, hi = band_hz
    sel = (spectrum.freqs >= lo) & (spectrum.freqs <= min(hi, spectrum.sample_rate / 2))
    freqs = spectrum.freqs[sel]
    if freqs.size == 0:
        return freqs, np.zeros(0)
    x = np.nan_to_num(spectrum.mean_db[sel], nan=-140.0, posinf=0.0, neginf=-140.0)
    hull = lower_hull(x, width=COMB_HULL_WIDTH_BINS)
    return freqs, np.maximum(x - hull, 0.0)


# -- drawing -------------------------------------------------------------------------------------------------------

def _new_figure(width: float, height: float, **adjust):
    # Fixed margins rather than a layout engine: constrained layout doubles the drawing time.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DEFAULT_DPI)
    fig.subplots_adjust(**({"left": 0.07, "right": 0.97, "top": 0.9, "bottom": 0.1} | adjust))
    return fig


def _short(label: str, limit: int = 90) -> str:
    """``label`` cut to ``limit`` characters (keeping its end), with characters the figure font cannot draw
    (e.g. CJK file names with DejaVu Sans) shown as "?" instead of empty boxes and a warning per glyph."""
    label = _drawable(label)
    return label if len(label) <= limit else "..." + label[-(limit - 3):]


@functools.lru_cache(maxsize=1)
def _font_charmap() -> frozenset:
    """Code points the default figure font has glyphs for (empty when it cannot be read: nothing replaced)."""
    try:
        from matplotlib import font_manager, ft2font

        path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=True)
        return frozenset(ft2font.FT2Font(path).get_charmap())
    except Exception:  # noqa: BLE001 - a missing font only costs the replacement
        return frozenset()


def _drawable(text: str) -> str:
    charmap = _font_charmap()
    if not charmap:
        return text
    return "".join(c if ord(c) in charmap or c in "\n\t" else "?" for c in text)


def _khz(ax, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: f"{v / 1000:g}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _segment_runs(segments: Sequence[dict]) -> list[tuple[float, float, bool | None]]:
    """Adjacent segments with the same verdict merged into (start_s, end_s, lossy) runs (fewer artists)."""
    runs: list[list] = []
    for seg in sorted(segments, key=lambda s: float(s["start_s"])):
        state = seg.get("lossy")
        state = None if state is None else bool(state)
        a, b = float(seg["start_s"]), float(seg["end_s"])
        if runs and runs[-1][2] is state and abs(runs[-1][1] - a) < 1e-6:
            runs[-1][1] = b
        else:
            runs.append([a, b, state])
    return [tuple(r) for r in runs]


def draw_spectrogram(ax, data: PlotData, ev: Evidence, *, freq_scale: str = "linear", colorbar: bool = True) -> None:
    """Spectrogram on ``ax`` with the wall and the lossy-looking segments."""
    if freq_scale not in ("linear", "log"):
        raise ParameterError(f"freq_scale={freq_scale!r}: choose 'linear' or 'log'")
    db = data.spec_db
    vmax = float(np.percentile(db, 99.9))
    vmin = vmax - SPECTROGRAM_RANGE_DB
    freqs = data.spec_freqs
    t0, t1 = float(data.spec_times[0]), float(data.spec_times[-1])
    nyquist = float(freqs[-1])
    if freq_scale == "log":
        # imshow cannot sit on a log axis: resample rows onto log-spaced frequencies and label the axis in Hz
        lo = max(LOG_FREQ_MIN_HZ, float(freqs[1]))
        grid = np.geomspace(lo, nyquist, SPECTROGRAM_LOG_ROWS)
        idx = np.clip(np.searchsorted(freqs, grid), 1, freqs.size - 1)
        img = db[idx]
        mesh = ax.imshow(img, aspect="auto", origin="lower", extent=(t0, t1, np.log10(lo), np.log10(nyquist)),
                         cmap=SPECTROGRAM_CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
        ticks = [v for v in (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000) if lo <= v <= nyquist]
        ax.set_yticks(np.log10(ticks))
        ax.set_yticklabels([f"{v:g}" if v < 1000 else f"{v / 1000:g}k" for v in ticks])
        ax.set_ylabel("frequency (Hz, log scale)")

        def ypos(hz: float) -> float:
            return float(np.log10(max(hz, lo)))
    else:
        step = freqs[1] - freqs[0] if freqs.size > 1 else 1.0
        mesh = ax.imshow(db, aspect="auto", origin="lower", extent=(t0, t1, -step / 2, nyquist + step / 2),
                         cmap=SPECTROGRAM_CMAP, vmin=vmin, vmax=vmax, interpolation="antialiased")
        ax.set_ylim(0, nyquist)
        _khz(ax, "y")
        ax.set_ylabel("frequency (kHz)")

        def ypos(hz: float) -> float:
            return float(hz)
    ax.set_xlim(data.spec_times[0], data.spec_times[-1])
    ax.set_xlabel("time (s)")
    handles = []
    from matplotlib.patches import Patch

    states = {True: (OKABE_ITO["vermillion"], "segment test: lossy"),
              False: (OKABE_ITO["bluish_green"], "segment test: clean"),
              None: ("#9a9a9a", "segment test: undecided")}
    seen = set()
    for a, b, state in _segment_runs(ev.segments):
        b = min(b, t1)
        colour = states[state][0]
        # a strip along the top edge says what each segment looked like; lossy ones are also hatched
        ax.axvspan(a, b, ymin=0.965, ymax=1.0, color=colour, lw=0)
        if state:
            ax.axvspan(a, b, ymax=0.965, facecolor="none", edgecolor=colour, hatch="//", lw=0, alpha=0.35)
        seen.add(state)
    for state in (True, False, None):
        if state in seen:
            handles.append(Patch(facecolor=states[state][0], edgecolor=states[state][0],
                                 hatch="//" if state else None, label=states[state][1]))
    if ev.wall_hz:
        handles.append(ax.axhline(ypos(ev.wall_hz), color=OKABE_ITO["sky_blue"], lw=1.6, ls="--",
                                  label=f"wall {ev.wall_hz / 1000:.2f} kHz"))
    elif ev.bandwidth_hz:
        handles.append(ax.axhline(ypos(ev.bandwidth_hz), color=OKABE_ITO["bluish_green"], lw=1.2, ls=":",
                                  label=f"bandwidth {ev.bandwidth_hz / 1000:.2f} kHz"))
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.85)
    if colorbar:
        cb = ax.figure.colorbar(mesh, ax=ax, pad=0.01, fraction=0.04)
        cb.set_label("power (dB re full-scale sine)")


def draw_ltas(ax, data: PlotData, ev: Evidence) -> None:
    """Long-term average spectrum (mean of dB) with wall, floor and the expected codec edge."""
    s = data.spectrum
    f = s.freqs
    ax.plot(f, s.mean_db, color=OKABE_ITO["blue"], lw=0.8, label="mean over frames of dB")
    ax.set_xlim(0, s.sample_rate / 2)
    finite = s.mean_db[np.isfinite(s.mean_db)]
    top = float(finite.max()) if finite.size else 0.0
    bottom = float(np.percentile(finite, 1)) if finite.size else -140.0
    ax.set_ylim(max(bottom - 5, -145), top + 8)
    if ev.expected_wall_hz:
        lo, hi = ev.expected_wall_hz
        name = " ".join(x for x in (ev.codec, ev.bitrate_class) if x) or "matched codec"
        ax.axvspan(lo, hi, color=OKABE_ITO["orange"], alpha=0.3, lw=0, label=f"expected edge: {name}")
    if ev.wall_hz:
        ax.axvline(ev.wall_hz, color=OKABE_ITO["vermillion"], lw=1.4, ls="--", label=f"wall {ev.wall_hz / 1000:.2f} kHz")
        if ev.floor_db is not None:
            ax.hlines(ev.floor_db, ev.wall_hz, s.sample_rate / 2, color=OKABE_ITO["reddish_purple"], lw=1.6,
                      label=f"floor above wall {ev.floor_db:.0f} dB")
    elif ev.bandwidth_hz:
        ax.axvline(ev.bandwidth_hz, color=OKABE_ITO["bluish_green"], lw=1.2, ls=":",
                   label=f"bandwidth {ev.bandwidth_hz / 1000:.2f} kHz")
    _khz(ax, "x")
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel("level (dB re full-scale sine)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)


def draw_comb(ax, data: PlotData, ev: Evidence, *, xlim: tuple[float, float] | None = None, legend: bool = True) -> None:
    """5-16 kHz hull residual, the detected teeth and the expected comb."""
    freqs, res = comb_residual(data.spectrum)
    ax.plot(freqs, res, color=OKABE_ITO["black"], lw=0.6, label="residual above lower hull")
    lo, hi = xlim or (COMB_BAND_HZ[0], min(COMB_BAND_HZ[1], data.sample_rate / 2))
    ax.set_xlim(lo, hi)
    ymax = max(float(res.max()) if res.size else 0.0, 1.0) * 1.15
    ax.set_ylim(0, ymax)
    expected = ev.expected_delta_hz
    if expected and expected > 0:
        k0, k1 = math.ceil(lo / expected), math.floor(hi / expected)
        if k1 - k0 < 2000:
            xs = np.arange(k0, k1 + 1) * expected
            name = f"{ev.architecture} " if ev.architecture else ""
            ax.vlines(xs, 0, ymax, color=OKABE_ITO["sky_blue"], lw=0.6, alpha=0.25)
            ax.vlines(xs, ymax * 0.9, ymax, color=OKABE_ITO["blue"], lw=1.0,
                      label=f"expected comb {name}(every {expected:.2f} Hz)")
    teeth = [t for t in ev.teeth_hz if lo <= t <= hi]
    if teeth:
        idx = np.clip(np.searchsorted(freqs, teeth), 0, max(freqs.size - 1, 0))
        ys = res[idx] if res.size else np.zeros(len(teeth))
        ax.plot(teeth, ys, "v", color=OKABE_ITO["vermillion"], ms=5, label=f"teeth that fired ({len(ev.teeth_hz)})")
    title = "comb view: 5-16 kHz residual"
    if ev.delta_hz:
        title += f", measured spacing \u0394 = {ev.delta_hz:.2f} Hz"
    ax.set_title(title, fontsize=9.5, parse_math=False)
    ax.set_xlabel("frequency (kHz)" if (hi - lo) > 3000 else "frequency (Hz)")
    if (hi - lo) > 3000:
        _khz(ax, "x")
    ax.set_ylabel("dB above hull")
    if legend:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85)


def _title(fig, data: PlotData, what: str) -> None:
    fig.suptitle(f"{what}: {_short(data.label)}", fontsize=11, parse_math=False, y=0.99)


def spectrogram_figure(data: PlotData, report: Any = None, *, freq_scale: str = "linear"):
    """The spectrogram view (``freq_scale``: ``"linear"`` or ``"log"``); returns a Figure."""
    fig = _new_figure(11, 5.5, right=0.94)  # room for the colour bar's ticks and label
    draw_spectrogram(fig.add_subplot(), data, read_evidence(report), freq_scale=freq_scale)
    _title(fig, data, "spectrogram")
    return fig


def ltas_figure(data: PlotData, report: Any = None):
    """The long-term average spectrum view; returns a Figure."""
    fig = _new_figure(11, 5)
    draw_ltas(fig.add_subplot(), data, read_evidence(report))
    _title(fig, data, "long-term average spectrum")
    return fig


def comb_figure(data: PlotData, report: Any = None):
    """The comb view: whole 5-16 kHz band, and a zoom on the strongest stretch; returns a Figure."""
    ev = read_evidence(report)
    fig = _new_figure(11, 7, hspace=0.35)
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 1])
    draw_comb(top, data, ev)
    freqs, res = comb_residual(data.spectrum)
    if ev.teeth_hz:
        centre = float(np.median(ev.teeth_hz))
    elif res.size:
        width = max(1, int(COMB_ZOOM_HZ / data.spectrum.bin_hz))
        energy = np.convolve(res, np.ones(width), mode="same")
        centre = float(freqs[int(np.argmax(energy))])
    else:
        centre = sum(COMB_BAND_HZ) / 2
    lo = min(max(centre - COMB_ZOOM_HZ / 2, COMB_BAND_HZ[0]), COMB_BAND_HZ[1] - COMB_ZOOM_HZ)
    draw_comb(bottom, data, ev, xlim=(lo, lo + COMB_ZOOM_HZ), legend=False)
    bottom.set_title(f"zoom on {lo:.0f}-{lo + COMB_ZOOM_HZ:.0f} Hz", fontsize=9.5)
    _title(fig, data, "comb view (5-16 kHz residual)")
    return fig


def summary_figure(data: PlotData, report: Any = None):
    """One page: verdicts, spectrogram, long-term spectrum and comb view; returns a Figure."""
    ev = read_evidence(report)
    fig = _new_figure(12, 10, left=0.065, right=0.945, top=0.95, bottom=0.06)
    grid = fig.add_gridspec(3, 2, height_ratios=[0.3, 1.4, 1.1], hspace=0.32, wspace=0.2)
    head = fig.add_subplot(grid[0, :])
    head.axis("off")
    lines = []
    status = getattr(report, "status", None)
    if status:
        lines.append((f"status: {status}" + (f" ({'; '.join(report.reasons)})" if getattr(report, "reasons", None) else ""),
                      OKABE_ITO["black"]))
    for _kind, state, text in ev.verdicts:
        colour = OKABE_ITO["vermillion"] if state == "DETECTED" else (
            OKABE_ITO["orange"] if state == "INCONCLUSIVE" else OKABE_ITO["blue"])
        lines.append(((("\u25b2 " if state == "DETECTED" else "\u2022 ") + text), colour))
    if not lines:
        lines.append(("no verdicts (no report given)", OKABE_ITO["black"]))
    for i, (text, colour) in enumerate(lines[:HEADER_MAX_LINES]):
        head.annotate(_short(text, 150), xy=(0, 1), xycoords="axes fraction", xytext=(0, -14 * i),
                      textcoords="offset points", color=colour, fontsize=9.5, va="top", annotation_clip=False,
                      parse_math=False)
    ax = fig.add_subplot(grid[1, :])
    draw_spectrogram(ax, data, ev)
    ax.set_title("spectrogram", fontsize=9.5)
    ax = fig.add_subplot(grid[2, 0])
    draw_ltas(ax, data, ev)
    ax.set_title("long-term average spectrum", fontsize=9.5)
    draw_comb(fig.add_subplot(grid[2, 1]), data, ev)
    _title(fig, data, "musicforensics summary")
    return fig


FIGURES = {
    "spectrogram": spectrogram_figure, "ltas": ltas_figure, "comb": comb_figure, "summary": summary_figure,
}


# -- output ---------------------------------------------------------------------------------------------------------

def figure_to_png(fig, *, dpi: int = DEFAULT_DPI) -> bytes:
    """PNG bytes of ``fig`` (Agg canvas), as a 256-colour palette image.

    Figures use a 256-entry colour map plus a few line colours, so a palette loses nothing visible and
    makes the file 2-3 times smaller than RGBA (spectrogram noise compresses badly), which matters for
    reports that embed many figures.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    img = Image.fromarray(np.ascontiguousarray(rgb)).quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                                                               dither=Image.Dither.NONE)
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=6)
    return buf.getvalue()


def save_png(fig, path: str | os.PathLike, *, dpi: int = DEFAULT_DPI, force: bool = False) -> Path:
    """Write ``fig`` as a PNG to ``path``; refuses to replace an existing file unless ``force``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``force`` is off.
    """
    path = Path(path)
    data = figure_to_png(fig, dpi=dpi)
    try:
        with open(path, "wb" if force else "xb") as fh:
            fh.write(data)
    except FileExistsError:
        raise OutputExistsError(path) from None
    return path


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(label: str, *, limit: int = 80) -> str:
    """A file-name stem from a track path: its base name without extension, unsafe characters replaced."""
    base = os.path.basename(str(label).rstrip("/\\")) or "track"
    stem = os.path.splitext(base)[0] or base
    stem = _UNSAFE.sub("_", stem).strip("._") or "track"
    return stem[:limit]


def write_unique_png(fig, directory: str | os.PathLike, name: str, *, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``fig`` as ``directory/name``; if that exists, as ``name-2``, ``name-3``... (never overwrites).

    Files are created with O_EXCL, so a file that appears meanwhile is not clobbered either.
    """
    directory = Path(directory)
    stem, ext = os.path.splitext(name)
    data = figure_to_png(fig, dpi=dpi)
    for n in range(1, 10_000):
        candidate = directory / (name if n == 1 else f"{stem}-{n}{ext}")
        try:
            with open(candidate, "xb") as fh:
                fh.write(data)
            return candidate
        except FileExistsError:
            continue
    raise OutputExistsError(directory / name)


def write_track_plots(path: str | os.PathLike, report: Any = None, *, out_dir: str | os.PathLike,
                      kinds: Sequence[str] = PLOT_KINDS, freq_scale: str = "linear",
                      config: AnalysisConfig | None = None, dpi: int = DEFAULT_DPI) -> list[Path]:
    """Compute the plot data of one file and write the chosen figures into ``out_dir`` (created if needed).

    Files are named ``<stem>.<kind>.png`` (``-2``, ``-3``... appended when a name is taken: nothing is
    overwritten). Returns the paths written.
    """
    unknown = [k for k in kinds if k not in FIGURES]
    if unknown:
        raise ParameterError(f"plot kinds {unknown!r}: choose from {list(FIGURES)!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"plot folder {str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    data = compute_plot_data(path, report=report, config=config)
    stem = safe_stem(getattr(report, "path", None) or str(path))
    written = []
    for kind in kinds:
        if kind == "spectrogram":
            fig = spectrogram_figure(data, report, freq_scale=freq_scale)
        else:
            fig = FIGURES[kind](data, report)
        written.append(write_unique_png(fig, out, f"{stem}.{kind}.png", dpi=dpi))
    return written


def summary_png(path: str | os.PathLike, report: Any = None, *, config: AnalysisConfig | None = None,
                dpi: int = 80) -> bytes:
    """PNG bytes of the summary figure of one file (used by the HTML report)."""
    data = compute_plot_data(path, report=report, config=config)
    return figure_to_png(summary_figure(data, report), dpi=dpi)


__all__ = [
    "OKABE_ITO", "PlotData", "Evidence", "compute_plot_data", "read_evidence", "comb_residual",
    "expected_wall_band", "spectrogram_figure", "ltas_figure", "comb_figure", "summary_figure", "figure_to_png",
    "save_png", "write_unique_png", "write_track_plots", "summary_png", "safe_stem", "PLOT_KINDS",
    "FlaggedPlotWriter", "DEFAULT_PLOT_DIR",
]


class FlaggedPlotWriter:
    """``on_report`` hook for scans: writes the summary figure of every flagged track into ``out_dir``.

    Each figure is recomputed from the file (scan workers do not send spectra back). A file that cannot be
    plotted is counted in ``failed`` and reported through ``on_error``; it never stops the scan.

    Parameters
    ----------
    out_dir : path-like
        Folder for the PNGs (created if needed); names are ``<stem>.summary.png`` made unique.
    config : AnalysisConfig, optional
        The scan's configuration (``max_seconds`` limits the plotted span too).
    on_written, on_error : callable, optional
        Called with the written path, or with a message naming the file and the problem.
    """

    def __init__(self, out_dir: str | os.PathLike, *, config: AnalysisConfig | None = None,
                 on_written=None, on_error=None, dpi: int = DEFAULT_DPI):
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ParameterError(f"plot folder {str(self.out_dir)!r} exists and is not a folder")
        self.config = config
        self.on_written = on_written
        self.on_error = on_error
        self.dpi = dpi
        self.written: list[Path] = []
        self.failed = 0

    def __call__(self, report: Any) -> None:
        if not getattr(report, "findings", None):
            return
        from .errors import MusicForensicsError

        try:
            paths = write_track_plots(report.path, report, out_dir=self.out_dir, kinds=("summary",),
                                      config=self.config, dpi=self.dpi)
        except (MusicForensicsError, OSError) as exc:
            self.failed += 1
            if self.on_error:
                self.on_error(f"no plot for {report.path!r}: {exc}")
            return
        except Exception as exc:  # a plotting bug must not sink the scan
            self.failed += 1
            if self.on_error:
                self.on_error(f"no plot for {report.path!r}: {type(exc).__name__}: {exc}")
            return
        self.written += paths
        if self.on_written:
            for p in paths:
                self.on_written(p)
