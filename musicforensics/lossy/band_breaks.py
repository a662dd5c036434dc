"""Band breaks: a live band next to a digitally silent one, within a single short frame.

A transform codec quantises each scale-factor band with its own step, and a band whose energy falls under
its masking threshold is quantised to zero. In one decoded frame the spectrum then steps from music straight
down to the rounding floor at a band edge (Hennequin et al., ICASSP 2017, "band breaks";
docs/references.md). Genuine music does not: within the passband its spectrum has leakage and noise between partials, far
above the 16-bit rounding floor. Opus is the instructive exception: CELT preserves each band's energy and
fills emptied bands with folded noise, so it leaves a wall but almost no breaks, which is why the rate
helps to name the codec (dev split of the reference corpus: Vorbis median 0.01, AAC 0.004-0.006, LAME
0.0005-0.003, Opus ~0, genuine ~0).

Measured on the kept excerpt (first channel): Hann frames of BREAK_FRAME_S without overlap, power in
BAND_BINS-bin bands (~86 Hz) between BREAK_LO_HZ and the wall (or BREAK_TOP_HZ); a break is a step of at least
BREAK_STEP_DB between neighbouring bands whose quieter side lies within BREAK_SILENT_DB of the 16-bit rounding
level of one bin (:func:`musicforensics.spectral.wall.quantisation_floor_db`), in frames whose loudest band stands
LIVE_DB over that level.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from ..config import POWER_FLOOR
from ..spectral.framing import frame_view, periodic_hann
from ..spectral.kernels import lossy as _k
from ..spectral.wall import quantisation_floor_db
from .evidence import BandBreaks

#: Frame length, s (2048 samples at 44.1 kHz: 21.5 Hz bins; rounded to a power of two at other rates).
BREAK_FRAME_S = 2048 / 44100
#: Bins averaged into one band (4 x 21.5 Hz = 86 Hz at 44.1 kHz: narrower than every codec's bands above 4 kHz).
BAND_BINS = 4
#: Frequency range searched, Hz: above 4 kHz (codec bands there are wide and masking strong), below the wall
#: (the wall itself is one big break) and at most 19.5 kHz.
BREAK_LO_HZ = 4000.0
BREAK_TOP_HZ = 19500.0
#: Guard below a wall, Hz.
WALL_GUARD_HZ = 500.0
#: A break: neighbouring bands differ by at least this, dB ...
BREAK_STEP_DB = 20.0
#: ... and the quieter one is within this of 16-bit rounding noise in one bin, dB (digitally silent).
BREAK_SILENT_DB = 6.0
#: Frames whose loudest band is less than this over 16-bit rounding noise are skipped, dB.
LIVE_DB = 30.0
#: Frames transformed per batch (one reused buffer of ~0.5 MB at 44.1 kHz instead of whole-excerpt arrays).
BREAK_BATCH_FRAMES = 64
#: Break positions reported (the most frequent band edges).
TOP_POSITIONS = 5


def band_breaks(y: np.ndarray, sample_rate: int, *, wall_hz: float | None = None) -> BandBreaks:
    """Rate and positions of band breaks in ``y`` (samples x channels or 1-D; the first channel is used).

    Returns a :class:`~.evidence.BandBreaks`: ``rate`` is the share of (live frame, band edge) pairs that break
    (0 when nothing could be measured), ``frames`` the live frames, ``bands`` the bands searched and ``top_hz``
    the most frequent break edges (Hz, at most TOP_POSITIONS, most frequent first).
    """
    x = np.asarray(y, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, 0]
    n_fft = 1 << int(round(np.log2(BREAK_FRAME_S * sample_rate)))
    empty = BandBreaks(rate=0.0, frames=0, bands=0)
    m = x.size // n_fft
    df = sample_rate / n_fft
    top = min(BREAK_TOP_HZ, sample_rate / 2 - WALL_GUARD_HZ)
    if wall_hz is not None:
        top = min(top, wall_hz - WALL_GUARD_HZ)
    k0 = int(np.ceil(BREAK_LO_HZ / df))
    n_bands = (int(top / df) - k0) // BAND_BINS
    if m < 1 or n_bands < 2:
        return empty
    win = periodic_hann(n_fft)[1]
    scale = (2.0 / win.sum()) ** 2  # float32, as the FFT
    starts = k0 + BAND_BINS * np.arange(n_bands)
    frames = frame_view(x, n_fft, n_fft)  # back to back, no overlap
    buf = np.empty((min(m, BREAK_BATCH_FRAMES), n_fft), dtype=np.float32)
    power = np.empty((m, n_bands), dtype=np.float32)  # band power re full-scale sine
    for f0 in range(0, m, BREAK_BATCH_FRAMES):
        fb = buf[: min(m - f0, BREAK_BATCH_FRAMES)]
        np.multiply(frames[f0:f0 + fb.shape[0]], win, out=fb)
        _k.band_means(scipy.fft.rfft(fb, axis=1), starts, BAND_BINS, scale, power[f0:f0 + fb.shape[0]])
    bands = 10.0 * np.log10(power + POWER_FLOOR)
    q16 = quantisation_floor_db(16, n_fft)
    bands = bands[bands.max(axis=1) >= q16 + LIVE_DB]
    if bands.shape[0] == 0:
        return BandBreaks(rate=0.0, frames=0, bands=n_bands)
    lower, upper = bands[:, :-1], bands[:, 1:]
    silent = q16 + BREAK_SILENT_DB
    breaks = ((lower - upper >= BREAK_STEP_DB) & (upper <= silent)) | ((upper - lower >= BREAK_STEP_DB) & (lower <= silent))
    counts = breaks.sum(axis=0)
    order = [int(i) for i in np.argsort(counts)[::-1][:TOP_POSITIONS] if counts[i] > 0]
    return BandBreaks(rate=round(float(breaks.mean()), 6), frames=int(bands.shape[0]), bands=n_bands,
                      top_hz=tuple(round((k0 + (i + 1) * BAND_BINS) * df, 1) for i in order))
