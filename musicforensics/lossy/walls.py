"""Walls judged against the file's sample rate: is an edge of the long-term spectrum a codec's low-pass, a
converter's anti-alias edge, an analogue roll-off, or nothing?

Measured with the real tools (docs/lossy.md, "where codecs and converters put their edges"):

* **Converters** put their edge at a fixed *fraction* of the Nyquist frequency of the lower of the two rates:
  every steep resampler (sox ``rate -l/-m/-h/-v``, soxr, FFmpeg's soxr) at 0.935-0.995 of it, whichever rates;
  FFmpeg's default swr and sox ``-q`` leave no wall at all. So an edge at CONVERTER_RATIO or more of the file's
  own Nyquist is converter-compatible, and so is an edge in LOWER_RATE_BAND of the Nyquist of a *lower* standard
  rate r (a recording resampled down and back up, or up-sampled), unless (outside LOWER_RATE_CORE) a codec
  setting whose decode keeps no grid puts its low-pass there at the file's rate: LAME resamples its low bitrates internally (LAME 96 kbps and
  V7 at 44.1 / 48 kHz: 15.2-15.3 kHz, 0.95-0.96 of 32 kHz's Nyquist; V8: 11.4 kHz, 0.95 of 24 kHz's), and a
  decode of it brought back to the file's rate is a resampled signal too. Such an edge stays codec-compatible:
  the wall cannot tell a LAME 96 kbps decode from a recording sent through 32 kHz by a steep converter.
* **Codecs** put it at an absolute frequency set by the bitrate and the rate (``models/codec_lowpass.json``),
  and it is steep and deep: every codec wall measured drops at least 28.9 dB at 27 dB/kHz or more, every
  Butterworth roll-off of order 2-4 into a 16-bit dither floor at most 26.6 dB at 5-33 dB/kHz. Under quiet music
  the wall cannot be deep (the band under it stands less than 28 dB over the floor): there it must fall all the
  way to a bare floor, at a codec's steepness (:func:`quiet_codec_edge`).
* An **upsampler that lets images through** (FFmpeg's default swr from 22.05 or 32 kHz) copies the band below the
  old Nyquist frequency, reversed, above it, and leaves an edge a little above it: :func:`upsampler_images`
  tells it from a codec's low-pass by that mirror (IMAGE_MIRROR_MIN), which no codec's band has.
* A **dither floor is not digital silence**: TPDF-dithered 16-bit reads +4.3-4.8 dB over rounding noise in the
  long-term spectrum, a bare (undithered) decode +0.4-2.6 dB. A wall alone is codec evidence only over a bare
  floor (BARE_FLOOR_DB).

:func:`judge_wall` gives the kind (``codec``, ``converter``, ``gentle``, ``shallow``, ``noise floor`` or ``none``)
with the numbers that decided it; :func:`opus_edge` and :func:`floor_step` recognise Opus, whose decode keeps no
codec grid (it decodes at 48 kHz; CELT's last band ends at 20 kHz whatever the bitrate).
"""

from __future__ import annotations

import numpy as np

from ..spectral.wall import Wall, moving_mean
from .codecs import TIGHT_MATCH_BELOW_HZ, settings_near, wall_only_settings
from .evidence import FloorStep, WallJudgement

#: Standard sample rates, Hz.
STANDARD_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400)
#: An edge at or above this fraction of the file's own Nyquist is where converters put theirs (lowest steep
#: converter measured: 0.935; highest codec outside the grids' reach: LAME at 22.05 kHz, 0.917).
CONVERTER_RATIO = 0.93
#: Band (fractions of r / 2) of a lower standard rate r's converter edge (sox, soxr, FFmpeg's soxr: 0.935-0.995),
#: and its core, where no codec setting whose decode keeps no grid was measured on music (LAME V7 reads <= 15.4
#: kHz, 0.9625 of 16 kHz): outside the core, an edge a wall-only setting explains stays codec-compatible.
LOWER_RATE_BAND = (0.935, 0.995)
LOWER_RATE_CORE = (0.965, 0.993)
#: A codec run at a lower rate r puts its low-pass between these fractions of r / 2 (LAME V7 at 32 kHz: 0.96).
CODEC_AT_LOWER_RATE = (0.8, 1.0)
#: An upsampler's image band: an edge above a lower standard rate r's Nyquist, up to this fraction of it, whose band
#: above r / 2 mirrors the band below it at least this closely (correlation of the two detrended dB spectra, each
#: less its IMAGE_DETREND_HZ running mean). Measured (Welch spectra) on the real-world layer: FFmpeg swr round trips
#: through 22.05 and 32 kHz 0.97-1.00; the 367 codec low-passes in those bands at most 0.46.
IMAGE_BAND_MAX = 1.2
IMAGE_MIRROR_MIN = 0.8
IMAGE_DETREND_HZ = 150.0
#: Smallest drop (dB) of any edge worth judging (below it: no edge).
EDGE_MIN_DROP_DB = 12.0
#: A codec's wall drops at least this much (dB) ...
CODEC_MIN_DROP_DB = 28.0
#: ... at least this steeply (dB/kHz; LAME 96 on quiet material reads 23).
CODEC_MIN_STEEPNESS = 15.0
#: Quiet content: an edge over a bare floor that drops all the way to it (its drop within TO_FLOOR_DB of the level
#: under it over the floor, which stands under CODEC_MIN_DROP_DB, so no edge could drop further) is a codec's
#: when it is at least this steep (dB/kHz) and sits where a measured codec setting puts its low-pass. Measured on
#: the real-world layer: such edges of codec transcodes at up to 243 dB/kHz; every edge of a genuine, resampled or
#: band-limited recording under 37 dB/kHz (analogue roll-offs into a floor: 5-33).
QUIET_CODEC_MIN_STEEPNESS = 40.0
TO_FLOOR_DB = 1.5
#: A floor more than this many dB over 16-bit rounding noise above the edge is a noise floor, not silence.
SILENT_FLOOR_DB = 10.0
#: A wall-only verdict needs a bare floor: at most this many dB over 16-bit rounding (TPDF dither: +4.3-4.8 dB).
BARE_FLOOR_DB = 3.5
#: Opus's band edge (CELT's last band ends at 20 kHz), as measured on its decodes, Hz; its floor and slope.
OPUS_EDGE_HZ = (19850.0, 20350.0)
OPUS_FLOOR_DB = 3.0
OPUS_MIN_STEEPNESS = 10.0
#: Floor step: stretches compared either side of a candidate (Hz), how floor-like the stretch below must be (dB
#: over rounding at most, its halves within FLAT_DB), and the band the stretch above must lie in, dB re 16-bit
#: rounding: a bare 16-bit decode's floor (a 24-bit file's quieter floor, or a dithered one, is no codec's cut).
STEP_GUARD_HZ = 150.0
STEP_SIDE_HZ = 900.0
STEP_BELOW_MAX_DB = 30.0
STEP_ABOVE_DB = (-1.5, BARE_FLOOR_DB)
STEP_FLAT_DB = 1.5


def converter_rate(freq_hz: float, sample_rate: int) -> int | None:
    """The rate whose converter could have left an edge at ``freq_hz`` in a file at ``sample_rate``: the file's
    own (edge at >= CONVERTER_RATIO of its Nyquist) or a lower standard rate (edge in its band), else None.

    >>> converter_rate(10700.0, 22050), converter_rate(10600.0, 44100), converter_rate(15200.0, 44100)
    (22050, 22050, None)
    """
    if freq_hz >= CONVERTER_RATIO * sample_rate / 2:
        return int(sample_rate)
    for r in STANDARD_RATES:
        if r >= sample_rate * 0.99:
            break
        ratio = freq_hz / (r / 2)
        if LOWER_RATE_BAND[0] <= ratio <= LOWER_RATE_BAND[1]:
            core = LOWER_RATE_CORE[0] <= ratio <= LOWER_RATE_CORE[1]
            if not core and wall_only_settings(sample_rate, freq_hz, below_hz=TIGHT_MATCH_BELOW_HZ):
                return None
            return r
    return None


def codec_rates_below(freq_hz: float, sample_rate: int, most: int = 2) -> list[int]:
    """The lower standard rates (up to ``most``, the closest first) a codec could have run at to leave an edge at
    ``freq_hz`` (in CODEC_AT_LOWER_RATE of their Nyquist) before the file was resampled to ``sample_rate``.

    >>> codec_rates_below(15380.0, 44100), codec_rates_below(20000.0, 44100)
    ([32000], [])
    """
    rates = [r for r in STANDARD_RATES if r < sample_rate * 0.99
             and CODEC_AT_LOWER_RATE[0] <= freq_hz / (r / 2) < CODEC_AT_LOWER_RATE[1]]
    return sorted(rates, key=lambda r: r / 2 - freq_hz)[:most]


def resampler_through(judgement: WallJudgement, wall: Wall, rates_without_grid: list[int]) -> WallJudgement:
    """A codec-like edge in the converter band of a lower rate r (LOWER_RATE_BAND of r / 2) whose excerpt,
    resampled to r, shows no codec grid: the codec settings with a low-pass there (LAME 96 kbps and V7 at
    44.1 kHz) encode at r themselves, and their grid shows at r (every V7 and 13 of 16 CBR 96 transcodes of real
    recordings at z >= 13, the resampled genuine recordings at most 4), so the edge is judged a resampler's
    round trip through r; any other judgement is returned as it is."""
    if judgement.kind != "codec":
        return judgement
    for r in rates_without_grid:
        if LOWER_RATE_BAND[0] <= wall.freq_hz / (r / 2) <= LOWER_RATE_BAND[1]:
            return WallJudgement(kind="converter", ratio_to_nyquist=judgement.ratio_to_nyquist, converter_rate_hz=r,
                                 text=f"{judgement.text.rstrip(': ')}: where resamplers through {r / 1000:g} kHz put "
                                      f"the anti-alias edge, and no codec grid at {r / 1000:g} kHz either")
    return judgement


def mirror_correlation(freqs: np.ndarray, level_db: np.ndarray, nyquist_hz: float, edge_hz: float) -> float | None:
    """Correlation of the detrended dB spectrum between ``nyquist_hz`` and ``edge_hz`` with its mirror image about
    ``nyquist_hz`` (the band below it, reversed); None when the band holds too few bins. An upsampler that lets
    images through copies the band below the old Nyquist frequency, reversed, above it."""
    bin_hz = float(freqs[1] - freqs[0])
    k = max(int(IMAGE_DETREND_HZ / bin_hz), 3)
    detrended = level_db - moving_mean(np.asarray(level_db, dtype=np.float64), 2 * k + 1)
    above = (freqs > nyquist_hz + 50.0) & (freqs < edge_hz - 50.0)
    if above.sum() < 20:
        return None
    mirrored = np.interp(2.0 * nyquist_hz - freqs[above], freqs, detrended)
    a = detrended[above]
    if a.std() == 0 or mirrored.std() == 0:
        return None
    return float(np.corrcoef(a, mirrored)[0, 1])


def upsampler_images(judgement: WallJudgement, wall: Wall, freqs: np.ndarray, level_db: np.ndarray,
                     sample_rate: int) -> WallJudgement:
    """A codec-like edge just above a lower standard rate's Nyquist frequency (up to IMAGE_BAND_MAX of it) whose
    band above that Nyquist mirrors the band below it (IMAGE_MIRROR_MIN): the images an upsampler from that rate let
    through (FFmpeg's default resampler leaks them over about a tenth of the old Nyquist), judged a converter's
    edge; a codec's low-pass band does not mirror. Any other judgement is returned as it is."""
    if judgement.kind != "codec":
        return judgement
    for r in STANDARD_RATES:
        nyq_low = r / 2
        if r >= sample_rate or not nyq_low < wall.freq_hz <= IMAGE_BAND_MAX * nyq_low:
            continue
        corr = mirror_correlation(freqs, level_db, nyq_low, wall.freq_hz)
        if corr is not None and corr >= IMAGE_MIRROR_MIN:
            return WallJudgement(kind="converter", ratio_to_nyquist=judgement.ratio_to_nyquist, converter_rate_hz=r,
                                 text=f"{judgement.text.rstrip(': ')}: the band above {nyq_low / 1000:g} kHz mirrors "
                                      f"the band below it (correlation {corr:.2f}), the images an upsampler from "
                                      f"{r / 1000:g} kHz let through, not a codec's low-pass")
    return judgement


def judge_wall(wall: Wall | None, sample_rate: int, q16_db: float) -> WallJudgement:
    """What an edge of the long-term spectrum can be, judged against the file's rate (module docstring)."""
    if wall is None or wall.drop_db < EDGE_MIN_DROP_DB:
        return WallJudgement(kind="none", text="no edge")
    nyq = sample_rate / 2
    floor = wall.floor_db - q16_db
    conv = converter_rate(wall.freq_hz, sample_rate)
    text = (f"edge at {wall.freq_hz / 1000:.2f} kHz ({wall.freq_hz / nyq:.3f} of Nyquist, "
            f"{wall.steepness_db_per_khz:.0f} dB/kHz, drop {wall.drop_db:.0f} dB, floor {floor:+.1f} dB re 16-bit "
            f"rounding)")

    def judged(kind: str, why: str) -> WallJudgement:
        return WallJudgement(kind=kind, ratio_to_nyquist=round(wall.freq_hz / nyq, 4), converter_rate_hz=conv,
                             text=f"{text}: {why}" if why else text)

    if floor > SILENT_FLOOR_DB:
        return judged("noise floor", "over a noise floor")
    if conv is not None:
        where = "this rate" if conv == sample_rate else f"{conv / 1000:g} kHz"
        return judged("converter", f"where resamplers put the anti-alias edge of {where}")
    if wall.steepness_db_per_khz < CODEC_MIN_STEEPNESS:
        return judged("gentle", "too gentle for a codec low-pass")
    if wall.drop_db < CODEC_MIN_DROP_DB:
        if quiet_codec_edge(wall, sample_rate, q16_db):
            return judged("codec", f"codec-steep and down to the floor: the content under it stands only "
                                   f"{wall.below_db - wall.floor_db:.0f} dB over the floor, too little for a deeper "
                                   f"drop")
        return judged("shallow", "too shallow for a codec low-pass")
    return judged("codec", "")


def quiet_codec_edge(wall: Wall, sample_rate: int, q16_db: float) -> bool:
    """An edge too shallow for a codec's only because the content under it is quiet: it drops all the way to a
    bare floor, steeply, where a measured codec setting at this rate puts its low-pass (QUIET_CODEC_MIN_STEEPNESS)."""
    to_floor = (wall.below_db - wall.floor_db) - wall.drop_db <= TO_FLOOR_DB
    return (to_floor and is_bare_floor(wall, q16_db) and wall.steepness_db_per_khz >= QUIET_CODEC_MIN_STEEPNESS
            and bool(settings_near(sample_rate, wall.freq_hz)))


def is_bare_floor(wall: Wall, q16_db: float) -> bool:
    """The floor above the wall is an undithered decode's (BARE_FLOOR_DB over 16-bit rounding at most)."""
    return wall.floor_db - q16_db <= BARE_FLOOR_DB


def opus_edge(wall: Wall | None, sample_rate: int, q16_db: float) -> bool:
    """CELT's 20 kHz band edge: a wall in OPUS_EDGE_HZ at a rate of 44.1 kHz or more, dropping >= 12 dB at >=
    OPUS_MIN_STEEPNESS dB/kHz into a bare floor (OPUS_FLOOR_DB); genuine edges near 20 kHz measured over dither
    or noise (floor >= 5.7 dB), Opus walls over 0.35-0.8 dB."""
    return (wall is not None and sample_rate >= 44100 and OPUS_EDGE_HZ[0] <= wall.freq_hz <= OPUS_EDGE_HZ[1]
            and wall.drop_db >= EDGE_MIN_DROP_DB and wall.steepness_db_per_khz >= OPUS_MIN_STEEPNESS
            and wall.floor_db - q16_db <= OPUS_FLOOR_DB)


def floor_step(freqs: np.ndarray, level_db: np.ndarray, q16_db: float, sample_rate: int,
               band_hz: tuple[float, float] = OPUS_EDGE_HZ) -> FloorStep | None:
    """The largest step of the noise floor down to rounding level with its edge in ``band_hz`` (a codec low-pass
    above band-limited music cuts only the recording's noise or dither floor).

    Over the long-term level re 16-bit rounding, L: step = mean L over [f - guard - side, f - guard] minus mean L
    over [f + guard, f + guard + side], where the stretch below is floor-like (at most STEP_BELOW_MAX_DB, its two
    halves within STEP_FLAT_DB: music ending at f is not a floor) and the stretch above a bare 16-bit floor
    (STEP_ABOVE_DB). None when no candidate qualifies or the band lies above Nyquist.
    """
    if band_hz[1] + STEP_GUARD_HZ + STEP_SIDE_HZ > sample_rate / 2:
        return None
    level = np.asarray(level_db, dtype=np.float64) - q16_db
    df = float(freqs[1] - freqs[0])
    c = np.concatenate([[0.0], np.cumsum(level)])
    g, s = int(round(STEP_GUARD_HZ / df)), int(round(STEP_SIDE_HZ / df))
    h = s // 2
    idx = np.nonzero((freqs >= band_hz[0]) & (freqs <= band_hz[1]))[0]
    idx = idx[(idx - g - s >= 0) & (idx + g + s < level.size)]
    if idx.size == 0:
        return None
    below = (c[idx - g] - c[idx - g - s]) / s
    above = (c[idx + g + s] - c[idx + g]) / s
    first_half = (c[idx - g - h] - c[idx - g - s]) / (s - h)
    second_half = (c[idx - g] - c[idx - g - h]) / h
    ok = ((below <= STEP_BELOW_MAX_DB) & (above >= STEP_ABOVE_DB[0]) & (above <= STEP_ABOVE_DB[1])
          & (np.abs(first_half - second_half) <= STEP_FLAT_DB))
    if not ok.any():
        return None
    step = np.where(ok, below - above, -np.inf)
    k = int(np.argmax(step))
    return FloorStep(freq_hz=round(float(freqs[idx[k]]), 1), step_db=round(float(step[k]), 2),
                     below_re_16bit_db=round(float(below[k]), 2), above_re_16bit_db=round(float(above[k]), 2))
