"""The ``lossy`` verdict: measure the evidence of one track, decide, and say why in words.

Evidence (docs/lossy.md), gathered by :func:`measure`:

* the **wall** of the long-term spectrum (:func:`musicforensics.spectral.wall.find_wall` on the mean dB
  spectrum), **judged against the file's rate** (:func:`musicforensics.lossy.walls.judge_wall`): a codec's
  low-pass sits at an absolute frequency set by bitrate and rate, steep and deep; a converter's edge at a fixed
  fraction of Nyquist; an analogue roll-off is gentle and shallow; in an upsampled file, walls near the source
  Nyquist are the resampler's and are not searched (UPSAMPLED_WALL_RATIO);
* the **codec-exact grids** (:mod:`.grid`: MP3, MP2, AAC, Vorbis), band-local **holes** (:mod:`.holes`) and
  **band breaks** (:mod:`.band_breaks`) on a <= 30 s excerpt; the **floor step** at Opus's band edge;
* **segments** (:mod:`.segments`): the wall test on every 2 s segment.

:mod:`.decision` turns them into the verdict (its rules, each in words), the calibrated probability, the codec
family and the bitrate class. A lossy container (MP3, Ogg, Opus, AAC) is flagged only when its content shows an
earlier, lower-quality generation.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..detector import Detector, TrackContext
from ..hires.upsampled import MIN_RATE as HIRES_MIN_RATE
from ..hires.upsampled import source_candidate, upsampling_evidence
from ..results import Finding
from ..spectral.wall import find_wall, quantisation_floor_db
from . import SPEC
from .band_breaks import band_breaks
from .codecs import GENERATION_MARGIN_HZ, bitrate_class, container_expected_wall, settings_near
from .decision import bitrate_probabilities, decide
from .evidence import CodecFamily, ContainerCheck, EarlierGeneration, ExcerptSpan, GridScore, LossyEvidence
from .grid import Z_DECIDES, frame_grid, grid_at_lower_rate, grid_codec
from .holes import EXCERPT_SECONDS, hole_rates
from .segments import HF_BAND, WALL_MAX_HZ, WALL_MIN_HZ, SEG_SAME_EDGE_HZ, segment_walls
from .walls import (BARE_FLOOR_DB, CODEC_MIN_DROP_DB, SILENT_FLOOR_DB, codec_rates_below, floor_step,
                    is_bare_floor, judge_wall, resampler_through, upsampler_images)

#: In a file upsampled from a lower rate r (:func:`musicforensics.hires.upsampled.source_candidate`), walls are
#: searched only below this fraction of r / 2: the resampler's anti-imaging filter and the source's own content
#: edge sit just under r / 2 over an empty band, exactly like a codec low-pass (dev split: an ffmpeg 44.1 ->
#: 96 kHz upsample of a genuine render showed a 20.70 kHz "wall", 0.94 of 22.05 kHz). The price: an MP3 320 /
#: Opus transcode that was then upsampled is found only by its grid.
UPSAMPLED_WALL_RATIO = 0.9
#: Highest wall searched, Hz (a 96 kHz file's content edge above it is no codec's).
WALL_SEARCH_MAX_HZ = 24000.0
#: Rates whose bitrate classes the family model fitted (the reference corpus's), Hz.
FITTED_RATES = (44100, 48000)


def floor_kind(floor_re_16bit_db: float) -> str:
    """``digital silence`` (a bare decode's floor), ``dither`` (a dithered 16-bit floor's level) or ``noise``."""
    if floor_re_16bit_db <= BARE_FLOOR_DB:
        return "digital silence"
    return "dither" if floor_re_16bit_db <= SILENT_FLOOR_DB else "noise"


def measure(ctx: TrackContext) -> LossyEvidence:
    """Every measured quantity of the lossy test for one track (the decision fields still empty; also used by
    the calibration script)."""
    sp = ctx.spectrum
    sr = sp.sample_rate
    nyq = sr / 2
    q16 = quantisation_floor_db(16, sp.n_fft)
    upsampled_from = None
    wall_fmax = min(nyq - 300.0, WALL_SEARCH_MAX_HZ)
    if sr > HIRES_MIN_RATE:
        src = source_candidate(upsampling_evidence(sp.freqs, sp.mean_db, sr, sp.n_fft, sp.mean_power))
        if src is not None:
            # the resampler's anti-imaging filter (and the source's own content edge) sits just below the
            # source Nyquist: only clearly lower walls are codec evidence
            upsampled_from = src.rate
            wall_fmax = min(wall_fmax, UPSAMPLED_WALL_RATIO * src.rate / 2)
    wall = find_wall(sp.freqs, sp.mean_db, fmin=min(WALL_MIN_HZ, 0.5 * nyq), fmax=wall_fmax)
    if upsampled_from is not None and wall is not None and wall.freq_hz > wall_fmax:
        wall = None  # the edge's slope reaches into the search band, but its crossing is the resampler's
    wall = None if wall is None else wall.rounded()
    judgement = judge_wall(wall, sr, q16)
    hf = (sp.freqs >= HF_BAND[0] * nyq) & (sp.freqs < HF_BAND[1] * nyq)
    hf_content = float(np.mean(sp.mean_db[hf]) - q16) if hf.any() else float("-inf")
    dur = ctx.analysed_seconds
    length = min(EXCERPT_SECONDS, dur)
    start = max(0.0, (dur - length) / 2)
    y = ctx.excerpt(start, length)
    grid = frame_grid(y, sr, wall_says_lossy=judgement.kind == "codec" and is_bare_floor(wall, q16))
    if wall is not None and (grid.best is None or grid.z < Z_DECIDES):
        # an edge just under a lower rate's Nyquist frequency: a codec may have run at that rate and the decode
        # been resampled up, which hides its grid at this rate (a converter's edge of a round trip sits there too)
        lower = codec_rates_below(wall.freq_hz, sr)
        found = grid_at_lower_rate(y, sr, lower)
        if found is not None:
            grid = found
        else:
            judgement = resampler_through(judgement, wall, lower)
            judgement = upsampler_images(judgement, wall, sp.freqs, sp.mean_db, sr)
    codec_wall = judgement.kind == "codec"
    top = (wall.freq_hz - 300.0) if codec_wall else None
    return LossyEvidence(
        wall=wall,
        wall_counts=codec_wall,
        upsampled_from_hz=upsampled_from,
        wall_search_max_hz=round(wall_fmax, 1),
        q16_floor_db=round(q16, 3),
        floor_above_wall_re_16bit_db=None if wall is None else round(wall.floor_db - q16, 3),
        floor_kind=None if wall is None else floor_kind(wall.floor_db - q16),
        hf_content_re_16bit_db=round(hf_content, 3),
        holes=hole_rates(y, sr, top_hz=top),
        band_breaks=band_breaks(y, sr, wall_hz=wall.freq_hz if codec_wall else None),
        grid=grid,
        excerpt=ExcerptSpan(round(start, 3), round(length, 3)),
        sample_rate=int(sr),
        analysed_seconds=round(float(dur), 3),
        wall_judgement=judgement,
        # Opus's band edge in the floor: only in a file at Opus's output rates that was not upsampled
        floor_step=floor_step(sp.freqs, sp.mean_db, q16, sr) if sr <= 48000 and upsampled_from is None else None,
    )


def other_codec_grid(scores: dict[str, GridScore], container: str) -> str | None:
    """The codec whose grid decides besides a lossy container's own (an earlier generation), or None. The
    container's grid is set aside, and so is the other 1024-hop MDCT codec's (AAC's grid lights on a Vorbis
    decode and the reverse) unless its window wins by :func:`grid_codec`."""
    best = grid_codec(scores)
    if best is not None and best != container:
        return best if scores[best].z >= Z_DECIDES else None
    mdct_pair = ("aac", "vorbis")
    rest = {c: s for c, s in scores.items()
            if c != container and not (container in mdct_pair and c in mdct_pair) and s.z >= Z_DECIDES}
    return grid_codec(rest)


def _segment_search_max(ev: LossyEvidence) -> float:
    """Highest wall frequency the segment test looks at: the whole-track search bound, and below a high edge of
    the whole track that is not a codec's (resampling, upsampling), whose own segments show it too."""
    fmax = min(WALL_MAX_HZ, ev.wall_search_max_hz)
    w = ev.wall
    if w is not None and ev.wall_judgement is not None and ev.wall_judgement.kind == "converter":
        fmax = min(fmax, w.freq_hz - SEG_SAME_EDGE_HZ)
    return fmax


def bitrate_label(family: str, ev: LossyEvidence) -> tuple[str | None, dict]:
    """The bitrate class and its probabilities: the fitted classes at 44.1 / 48 kHz (from the wall, or the
    Nyquist frequency without one); at other rates the measured settings of the family whose low-pass matches."""
    rate = int(ev.sample_rate or 0)
    wall_khz = (ev.wall_hz or rate / 2) / 1000.0
    if rate in FITTED_RATES:
        rates = bitrate_probabilities(family, wall_khz)
        if rates:
            return max(rates, key=rates.get), {k: round(v, 4) for k, v in rates.items()}
        return bitrate_class(family, ev.wall_hz), {}
    if ev.wall_hz is None:
        return None, {}
    near = [s.setting for s in settings_near(rate, ev.wall_hz) if s.family == family]
    return (f"{', '.join(near)} at {rate / 1000:g} kHz" if near else None), {}


#: Lengths of the unnamed input lists schema 1.0 wrote (``x``, ``family_x``), still written in 1.1: the first
#: model inputs and family features (docs/output-schema.md).
LEGACY_X_LEN = 3
LEGACY_FAMILY_X_LEN = 6


class LossyDetector(Detector):
    spec = SPEC

    def analyze(self, ctx: TrackContext):
        t0 = time.perf_counter()
        info = ctx.info
        q16 = quantisation_floor_db(16, ctx.spectrum.n_fft)
        ev = measure(ctx)
        ev = replace(ev, segments=segment_walls(ctx.spectrum, q16, fmax=_segment_search_max(ev)))
        d = decide(ev)
        ev = replace(ev, model_input=d.model_input, family_input=d.family_input,
                     x=d.model_input.vector()[:LEGACY_X_LEN],
                     family_x=tuple(d.family_input.values())[:LEGACY_FAMILY_X_LEN],
                     probability_model=round(d.p_model, 6), partial=d.partial, decided_by=d.via)
        if info.lossy_codec:
            finding = self._container_finding(ev, info)
        elif d.state == "lossy":
            rate_class, rates = bitrate_label(d.family, ev)
            ev = replace(ev, codec_family=CodecFamily(d.family, d.family_p), bitrate_class=rate_class,
                         bitrate_class_probabilities=rates or None)
            finding = Finding("lossy", True, d.p, ev, reason=d.reason, detector=self.name)
        elif d.state == "inconclusive":
            finding = Finding.undecided("lossy", d.reason, detector=self.name, evidence=ev)
        else:
            finding = Finding("lossy", False, d.p, ev, reason=d.reason, detector=self.name)
        return self.result(findings=[finding], evidence=finding.evidence, seconds=time.perf_counter() - t0)

    def _container_finding(self, ev: LossyEvidence, info) -> Finding:
        """A lossy container: flagged only when its content shows an earlier, lower-quality generation: a wall
        into digital silence well below the lowest one a single generation at the container's bitrate and rate
        leaves, or a codec-exact grid of another family."""
        kbps = None if info.bitrate_kbps is None else round(info.bitrate_kbps, 1)
        rate = int(ev.sample_rate or info.sample_rate)
        expected = container_expected_wall(info.lossy_codec, info.bitrate_kbps, rate)
        ev = replace(ev, container=ContainerCheck(info.lossy_codec, kbps, expected))
        w = ev.wall
        other = other_codec_grid(ev.grid.scores, info.lossy_codec) if ev.grid.scores else None
        if other is not None:
            s = ev.grid.scores[other]
            ev = replace(ev, earlier_generation=EarlierGeneration(None, f"{other} (frame grid z {s.z:.0f})"))
            reason = (f"{info.lossy_codec} container at {kbps} kbps, but its content carries a {other} frame grid "
                      f"(z {s.z:.0f}): an earlier {other} generation")
            return Finding("lossy", True, 0.99, ev, reason=reason, detector=self.name)
        if (expected is not None and w is not None and w.drop_db >= CODEC_MIN_DROP_DB
                and w.freq_hz < expected - GENERATION_MARGIN_HZ
                and w.floor_db - ev.q16_floor_db <= SILENT_FLOOR_DB):
            implied = bitrate_class(info.lossy_codec, w.freq_hz) if rate in FITTED_RATES else "lower bitrate"
            ev = replace(ev, earlier_generation=EarlierGeneration(w.freq_hz, implied))
            reason = (f"{info.lossy_codec} container at {kbps} kbps, but the wall at {w.freq_hz / 1000:.1f} kHz lies "
                      f"more than {GENERATION_MARGIN_HZ / 1000:g} kHz below the {expected / 1000:.1f} kHz one "
                      f"generation at this bitrate and {rate / 1000:g} kHz leaves: an earlier {implied} generation")
            return Finding("lossy", True, 0.95, ev, reason=reason, detector=self.name)
        where = f"{expected / 1000:.1f} kHz expected" if expected is not None else "no table entry"
        reason = (f"lossy container ({info.lossy_codec}, {kbps} kbps); content consistent with a single generation "
                  f"({where}; wall {'none' if w is None else f'{w.freq_hz / 1000:.1f} kHz'})")
        return Finding("lossy", False, 0.0, ev, reason=reason, detector=self.name)

    def warm_up(self) -> None:
        """Load the excerpt-feature kernels from numba's cache once per process, on 2 s of noise long enough for
        every one of them to run."""
        y = np.random.default_rng(0).standard_normal((88200, 2)).astype(np.float32) * np.float32(0.1)
        hole_rates(y, 44100)
        frame_grid(y, 44100)
        band_breaks(y, 44100)
