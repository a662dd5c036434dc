"""Figures a person can check: spectrogram, long-term spectrum, comb view and a one-page summary.

This module and :mod:`.plot_eval` are the only ones that import matplotlib; both go through :class:`matplotlib.figure.Figure`
with the Agg canvas: no pyplot, no global backend, no window ever opens. Every ``*_figure`` function
returns a Figure; :func:`figure_to_png` turns it into PNG bytes. Importing :mod:`musicforensics` (or running
``musicforensics --help``) never imports this module. The data come from :mod:`.plot_data`, the markers from
:mod:`.marks`.

What the views show (docs/plots-and-reports.md):

1. **Spectrogram** (:func:`spectrogram_figure`): power over time and frequency (linear or log frequency
   axis), the detected wall as a horizontal line, segments the lossy detector judged lossy shaded.
2. **Long-term average spectrum** (:func:`ltas_figure`): mean over frames of the power in dB, the wall, the
   floor above it and the band where the matched codec/bitrate puts its low-pass edge.
3. **Comb view** (:func:`comb_figure`): the 5-16 kHz residual of the mean-dB spectrum above its lower hull
   (the fakeprint of Afchar et al., ISMIR 2025), the teeth the AI detector found, the measured spacing
   Delta and the comb the matched decoder architecture predicts.
4. **Summary** (:func:`summary_figure`): verdicts plus the three views on one page.

Why one module: it is the single door to matplotlib (tests/test_architecture.py); the four views share
their drawing helpers, and moving them apart would spread that dependency.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from PIL import Image

from ..config import AnalysisConfig
from ..errors import MusicForensicsError, ParameterError
from ..io.files import write_new, write_unique
from .marks import Marks, read_marks
from .plot_data import COMB_BAND_HZ, PlotData, comb_residual, compute_plot_data

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
}
#: Perceptually uniform colour map for spectrograms (readable in grey scale and by colour-blind readers).
SPECTROGRAM_CMAP = "magma"

#: Dynamic range shown on the spectrogram, dB below its 99.9th percentile.
SPECTROGRAM_RANGE_DB = 110.0
#: Lowest frequency of a log-frequency axis, Hz, and rows of the log-frequency image.
LOG_FREQ_MIN_HZ = 20.0
SPECTROGRAM_LOG_ROWS = 480

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


def _new_figure(width: float, height: float, **adjust):
    # Fixed margins rather than a layout engine: constrained layout doubles the drawing time.
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
    fmt = FuncFormatter(lambda v, _pos: f"{v / 1000:g}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _segment_runs(segments: Sequence[tuple[float, float, bool | None]]) -> list[tuple[float, float, bool | None]]:
    """Adjacent segments with the same verdict merged into (start_s, end_s, lossy) runs (fewer artists)."""
    runs: list[list] = []
    for a, b, state in sorted(segments, key=lambda s: s[0]):
        state = None if state is None else bool(state)
        if runs and runs[-1][2] is state and abs(runs[-1][1] - a) < 1e-6:
            runs[-1][1] = b
        else:
            runs.append([a, b, state])
    return [tuple(r) for r in runs]


def draw_spectrogram(ax, data: PlotData, ev: Marks, *, freq_scale: str = "linear", colorbar: bool = True) -> None:
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
    for i, (a, b) in enumerate(ev.ai_ranges):
        # generated parts: a strip along the bottom edge
        ax.axvspan(a, min(b, t1), ymin=0.0, ymax=0.035, color=OKABE_ITO["reddish_purple"], lw=0)
        if i == 0:
            handles.append(Patch(facecolor=OKABE_ITO["reddish_purple"], label="decoder comb present"))
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


def draw_ltas(ax, data: PlotData, ev: Marks) -> None:
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


def draw_comb(ax, data: PlotData, ev: Marks, *, xlim: tuple[float, float] | None = None, legend: bool = True) -> None:
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


def draw_folded(ax, data: PlotData, ev: Marks) -> None:
    """The high band folded at the comb spacing: every tooth at phase 0."""
    v = data.comb
    ax.plot(v.phase, v.folded, color=OKABE_ITO["blue"], lw=0.8)
    at_teeth = int(np.argmin(np.abs(v.phase)))
    ax.plot([v.phase[at_teeth]], [v.folded[at_teeth]], "v", color=OKABE_ITO["vermillion"], ms=7,
            label="the teeth (phase 0)")
    floor = float(np.median(v.folded))
    ax.axhline(floor, color=OKABE_ITO["black"], lw=0.8, ls=":", label="music (median)")
    ax.set_xlim(-0.5, 0.5)
    ax.set_ylim(0, max(float(v.folded.max()) * 1.1, floor * 2))
    ax.set_xlabel(f"position between teeth (fraction of \u0394 = {v.delta_hz:.2f} Hz)")
    ax.set_ylabel("mean whitened power (capped at 10)")
    ax.set_title("high band folded at the comb spacing: a decoder comb stacks at 0", fontsize=9.5, parse_math=False)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)


def draw_spacing_z(ax, data: PlotData, ev: Marks) -> None:
    """Coherent comb z of every candidate spacing."""
    v = data.comb
    ax.vlines(v.spacings, 0, np.maximum(v.spacing_z, 0), color=OKABE_ITO["black"], lw=0.9)
    hit = np.isclose(v.spacings, v.delta_hz, rtol=1e-6)
    ax.plot(v.spacings[hit], v.spacing_z[hit], "o", color=OKABE_ITO["vermillion"], ms=6,
            label=f"reported spacing {v.delta_hz:.2f} Hz")
    ax.axhline(8.0, color=OKABE_ITO["orange"], lw=1.0, ls="--", label="fires at z 8")
    ax.set_xscale("log")
    ax.set_xlabel("candidate spacing r / P (Hz)")
    ax.set_ylabel("coherent comb z")
    ax.set_title("comb z over candidate spacings", fontsize=9.5)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)


def draw_zoom(ax, data: PlotData, ev: Marks) -> None:
    """500 Hz of the whitened spectrum around the strongest tooth, with the expected teeth."""
    v = data.comb
    ax.plot(v.zoom_freqs, v.zoom_ratio_db, color=OKABE_ITO["black"], lw=0.5)
    if v.zoom_teeth_hz.size:
        top = float(v.zoom_ratio_db.max()) if v.zoom_ratio_db.size else 10.0
        ax.vlines(v.zoom_teeth_hz, top * 0.85, top * 1.05, color=OKABE_ITO["vermillion"], lw=1.2,
                  label=f"expected teeth (every {v.delta_hz:.2f} Hz)")
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power over local noise (dB)")
    ax.set_title("500 Hz zoom on the strongest tooth", fontsize=9.5)


def draw_comb_time(ax, data: PlotData, ev: Marks) -> None:
    """The comb's z on every segment, with the flagged ranges."""
    z = np.asarray(ev.ai_segment_z, dtype=float)
    if not z.size or not ev.ai_segment_hop_s:
        ax.text(0.5, 0.5, "no per-segment evidence (no comb detected)", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
        ax.set_axis_off()
        return
    starts = np.arange(z.size) * ev.ai_segment_hop_s
    centres = starts + (ev.ai_segment_seconds or 0.0) / 2
    ax.plot(centres, z, "-o", color=OKABE_ITO["blue"], ms=3, lw=1.0, label=f"{ev.ai_segment_seconds:g} s segments")
    ax.axhline(5.0, color=OKABE_ITO["orange"], lw=1.0, ls="--", label="segment fires at z 5")
    for i, (a, b) in enumerate(ev.ai_ranges):
        ax.axvspan(a, b, color=OKABE_ITO["reddish_purple"], alpha=0.2, lw=0,
                   label="flagged range" if i == 0 else None)
    ax.set_xlim(0, max(data.duration_s, float(centres[-1]) + 1))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("comb z")
    ax.set_title("where the comb is", fontsize=9.5)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)


def _title(fig, data: PlotData, what: str) -> None:
    fig.suptitle(f"{what}: {_short(data.label)}", fontsize=11, parse_math=False, y=0.99)


def spectrogram_figure(data: PlotData, report: Any = None, *, freq_scale: str = "linear"):
    """The spectrogram view (``freq_scale``: ``"linear"`` or ``"log"``); returns a Figure."""
    fig = _new_figure(11, 5.5, right=0.94)  # room for the colour bar's ticks and label
    draw_spectrogram(fig.add_subplot(), data, read_marks(report), freq_scale=freq_scale)
    _title(fig, data, "spectrogram")
    return fig


def ltas_figure(data: PlotData, report: Any = None):
    """The long-term average spectrum view; returns a Figure."""
    fig = _new_figure(11, 5)
    draw_ltas(fig.add_subplot(), data, read_marks(report))
    _title(fig, data, "long-term average spectrum")
    return fig


def comb_figure(data: PlotData, report: Any = None):
    """The comb views; returns a Figure. With a comb reported by the AI verdict: the high band folded at its
    spacing, the z of every candidate spacing, a 500 Hz zoom with the expected teeth, and the comb along the
    track. Without one: the long-term 5-16 kHz residual, whole band and a zoom on its strongest stretch."""
    ev = read_marks(report)
    if data.comb is not None:
        fig = _new_figure(12, 8, hspace=0.4, wspace=0.25)
        grid = fig.subplots(2, 2)
        draw_folded(grid[0][0], data, ev)
        draw_spacing_z(grid[0][1], data, ev)
        draw_zoom(grid[1][0], data, ev)
        draw_comb_time(grid[1][1], data, ev)
        _title(fig, data, "comb views")
        return fig
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
    ev = read_marks(report)
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
    if data.comb is not None:
        draw_folded(fig.add_subplot(grid[2, 1]), data, ev)
    else:
        draw_comb(fig.add_subplot(grid[2, 1]), data, ev)
    _title(fig, data, "musicforensics summary")
    return fig


FIGURES = {
    "spectrogram": spectrogram_figure, "ltas": ltas_figure, "comb": comb_figure, "summary": summary_figure,
}


def figure_to_png(fig, *, dpi: int = DEFAULT_DPI) -> bytes:
    """PNG bytes of ``fig`` (Agg canvas), as a 256-colour palette image.

    Figures use a 256-entry colour map plus a few line colours, so a palette loses nothing visible and
    makes the file 2-3 times smaller than RGBA (spectrogram noise compresses badly), which matters for
    reports that embed many figures.
    """
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
    return write_new(path, figure_to_png(fig, dpi=dpi), force=force)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(label: str, *, limit: int = 80) -> str:
    """A file-name stem from a track path: its base name without extension, unsafe characters replaced."""
    base = os.path.basename(str(label).rstrip("/\\")) or "track"
    stem = os.path.splitext(base)[0] or base
    stem = _UNSAFE.sub("_", stem).strip("._") or "track"
    return stem[:limit]


def write_unique_png(fig, directory: str | os.PathLike, name: str, *, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``fig`` as ``directory/name``; if that exists, as ``name-2``, ``name-3``... (never overwrites)."""
    return write_unique(directory, name, figure_to_png(fig, dpi=dpi))


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
    "OKABE_ITO", "spectrogram_figure", "ltas_figure", "comb_figure", "summary_figure", "figure_to_png",
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
