"""The wall test on every time segment of a track: where a spliced lossy stretch, or one transcoded track of a
compilation, sits.

Each 2 s row of the spectral pass's (segment x 250 Hz band) matrix is searched for a wall with the same finder
as the whole track (:func:`musicforensics.spectral.wall.find_walls`, all rows at once). A segment is lossy-looking
when its wall drops at least SEG_DROP_DB into a bare floor (SEG_BARE_FLOOR_DB; or SEG_DEEP_DROP_DB over anything:
frames that straddle a splice leak the loud side's content into the segment's floor) with live content below,
and sits where no converter puts its edge (:func:`musicforensics.lossy.walls.converter_rate`: a
resampled recording shows its converter's edge in every segment); undecidable when it has too little content in
the band the whole-track test reads.
"""

from __future__ import annotations

import numpy as np

from ..spectral.summary import SpectralSummary
from ..spectral.wall import find_walls
from .evidence import SegmentWalls
from .walls import BARE_FLOOR_DB, converter_rate

#: Highest segment wall searched, Hz (the highest codec low-pass at 44.1 / 48 kHz, twolame's 20.9 kHz, and
#: LAME 320's 20.5 kHz sit below it).
WALL_MAX_HZ = 21000.0
#: Lowest frequency searched for a wall, Hz (MP3 at 64 kbps cuts near 11 kHz; lower walls are telephone
#: bands, still found, since the search is over [WALL_MIN_HZ, WALL_MAX_HZ]).
WALL_MIN_HZ = 8000.0
#: A segment is lossy-looking when its wall drops at least this much (dB) into a silent floor.
SEG_DROP_DB = 30.0
#: A segment's floor counts as bare when it lies at most this many dB over 16-bit rounding: the whole-track
#: rule's BARE_FLOOR_DB plus the 2.5 dB by which a band's mean power reads over the mean of its bins' dB for
#: noise (E[10 log10 P] sits 2.5 dB under 10 log10 E[P] for exponentially distributed P). A deep drop over a noise
#: or dither floor is a band-limited master's as often as a codec's.
SEG_BARE_FLOOR_DB = BARE_FLOOR_DB + 2.5
#: A segment drop this deep (dB, within ~1.5 kHz) counts over any floor (see above). A uniformly band-limited
#: recording shows it in every segment; the decision's partial rule wants a track that is not (SEG_MAX_SHARE).
SEG_DEEP_DROP_DB = 55.0
#: A segment wall closer than this (Hz) to a too-high whole-track edge is that edge (at 250 Hz resolution).
SEG_SAME_EDGE_HZ = 750.0
#: The level of the band 0.5-0.725 x Nyquist (11-16 kHz at 44.1 kHz; dB re 16-bit rounding) under which a
#: segment cannot be judged.
HF_CONTENT_MIN_DB = 20.0
#: That band, as fractions of the Nyquist frequency.
HF_BAND = (0.5, 0.725)


def segment_walls(spectrum: SpectralSummary, q16_db: float, *, fmax: float = WALL_MAX_HZ) -> SegmentWalls:
    """Run the wall test on every segment row of the spectrum's band matrix (walls searched up to ``fmax`` Hz).

    Returns per-segment flags (True lossy-looking, False clean, None undecidable), their walls, the flagged
    segment start times (s), and counts.
    """
    sp = spectrum
    bands = sp.band_db
    edges = sp.band_edges_hz
    centres = (edges[:-1] + edges[1:]) / 2
    nyq = sp.sample_rate / 2
    hf = (centres >= HF_BAND[0] * nyq) & (centres < HF_BAND[1] * nyq)
    flags: list = []
    walls: list = []
    usable = np.all(np.isfinite(bands), axis=1) & hf.any()
    found = iter(find_walls(centres, bands[usable], fmin=WALL_MIN_HZ, fmax=min(fmax, sp.sample_rate / 2),
                            side_hz=1250.0, guard_hz=250.0, smooth_hz=250.0))
    # per-row mean of the 11-16 kHz bands (C-ordered rows: the same sums as np.mean of each row)
    hf_means = np.ascontiguousarray(bands[:, hf]).mean(axis=1) if hf.any() else np.zeros(bands.shape[0])
    for hf_mean, ok in zip(hf_means, usable):
        if not ok:
            flags.append(None)
            walls.append(None)
            continue
        w = next(found)
        content = float(hf_mean) - q16_db
        if w is not None and w.drop_db >= SEG_DROP_DB and (w.floor_db - q16_db <= SEG_BARE_FLOOR_DB
                                                           or w.drop_db >= SEG_DEEP_DROP_DB) \
                and w.below_db - q16_db >= HF_CONTENT_MIN_DB and w.freq_hz <= fmax \
                and converter_rate(w.freq_hz, sp.sample_rate) is None:
            flags.append(True)
            walls.append(round(w.freq_hz, 1))
        elif content < HF_CONTENT_MIN_DB:
            flags.append(None)
            walls.append(None)
        else:
            flags.append(False)
            walls.append(None if w is None else round(w.freq_hz, 1))
    decided = [f for f in flags if f is not None]
    flagged = [i for i, f in enumerate(flags) if f]
    return SegmentWalls(segment_seconds=sp.segment_seconds, flags=tuple(flags), walls_hz=tuple(walls),
                        decided=len(decided), flagged=len(flagged),
                        flagged_starts_s=tuple(round(i * sp.segment_seconds, 3) for i in flagged))
