"""The ``lossy`` verdict: measure the evidence of one track, decide, and say why in words.

Evidence (docs/lossy.md), gathered by :func:`measure`:

* the **wall** of the long-term spectrum (:func:`musicforensics.spectral.wall.find_wall` on the mean dB
  spectrum): frequency, steepness, and the floor above it (level re 16-bit rounding noise, and its flatness): a
  lossy low-pass leaves digital silence above a steep edge, an analogue roll-off a noise floor above a gradual
  one; in an upsampled file, walls near the source Nyquist are the resampler's and are not searched
  (UPSAMPLED_WALL_RATIO);
* **holes** (:mod:`.holes`), the codec **frame grid** (:mod:`.grid`) and **band breaks** (:mod:`.band_breaks`)
  on a <= 30 s excerpt, which also catch codecs that leave no wall;
* **segments** (:mod:`.segments`): the wall test on every 2 s segment.

:mod:`.decision` turns them into the calibrated probability, the codec family and the bitrate class. A lossy
container (MP3, Ogg, Opus) is flagged only when its content shows an earlier, lower-quality generation.
"""

from __future__ import annotations

import math
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
from .codecs import GENERATION_MARGIN_HZ, bitrate_class, container_expected_wall
from .decision import (
    FAMILY_FLOOR_CLIP_DB, SILENT_FLOOR_MARGIN_DB, WALL_MAX_HZ, WALL_MIN_DROP_DB, bitrate_probabilities, decide,
    family_vector, wall_vector,
)
from .evidence import CodecFamily, ContainerCheck, EarlierGeneration, ExcerptSpan, LossyEvidence
from .grid import frame_grid
from .holes import EXCERPT_SECONDS, hole_rates
from .segments import HF_CONTENT_MIN_DB, SEG_SAME_EDGE_HZ, WALL_MIN_HZ, segment_walls

#: In a file upsampled from a lower rate r (:func:`musicforensics.hires.upsampled.source_candidate`), walls are
#: searched only below this fraction of r / 2: the resampler's anti-imaging filter and the source's own content
#: edge sit just under r / 2 over an empty band, exactly like a codec low-pass (dev split: an ffmpeg 44.1 ->
#: 96 kHz upsample of a genuine render showed a 20.70 kHz "wall", 0.94 of 22.05 kHz, with model probability
#: 0.82). The price: an MP3 320 / Opus transcode that was then upsampled is found only by its grid or holes.
UPSAMPLED_WALL_RATIO = 0.9
#: A detected track's reason cites the frame grid of its family when that grid's z reaches this: below it
#: the grids of AAC / Vorbis / MP3 are not told apart reliably on dev.
GRID_Z_FAMILY = 5.0


def measure(ctx: TrackContext) -> LossyEvidence:
    """Every measured quantity of the lossy test for one track (the decision fields still empty; also used by
    the calibration script)."""
    sp = ctx.spectrum
    nyq = sp.sample_rate / 2
    q16 = quantisation_floor_db(16, sp.n_fft)
    upsampled_from = None
    wall_fmax = min(nyq - 300.0, 24000.0)
    if sp.sample_rate > HIRES_MIN_RATE:
        src = source_candidate(upsampling_evidence(sp.freqs, sp.mean_db, sp.sample_rate, sp.n_fft, sp.mean_power))
        if src is not None:
            # the resampler's anti-imaging filter (and the source's own content edge) sits just below the
            # source Nyquist: only clearly lower walls are codec evidence
            upsampled_from = src.rate
            wall_fmax = min(wall_fmax, UPSAMPLED_WALL_RATIO * src.rate / 2)
    wall = find_wall(sp.freqs, sp.mean_db, fmin=WALL_MIN_HZ, fmax=wall_fmax)
    if upsampled_from is not None and wall is not None and wall.freq_hz > wall_fmax:
        wall = None  # the edge's slope reaches into the search band, but its crossing is the resampler's
    hf = (sp.freqs >= 11000) & (sp.freqs < 16000)
    hf_content = float(np.mean(sp.mean_db[hf]) - q16) if hf.any() else float("-inf")
    dur = ctx.analysed_seconds
    length = min(EXCERPT_SECONDS, dur)
    start = max(0.0, (dur - length) / 2)
    y = ctx.excerpt(start, length)
    lossy_wall = wall is not None and wall.freq_hz <= WALL_MAX_HZ and wall.drop_db >= WALL_MIN_DROP_DB
    holes = hole_rates(y, sp.sample_rate, top_hz=(wall.freq_hz - 300.0) if lossy_wall else None)
    x = wall_vector(wall, q16, holes.max_rate)
    family_x = family_vector((wall.freq_hz if lossy_wall else nyq) / 1000.0,
                             (wall.floor_db - q16) if lossy_wall else FAMILY_FLOOR_CLIP_DB[1],
                             wall.steepness_db_per_khz if lossy_wall else 0.0, holes)
    return LossyEvidence(
        wall=None if wall is None else wall.rounded(),
        wall_counts=bool(lossy_wall),
        upsampled_from_hz=upsampled_from,
        wall_search_max_hz=round(wall_fmax, 1),
        q16_floor_db=round(q16, 3),
        floor_above_wall_re_16bit_db=None if wall is None else round(wall.floor_db - q16, 3),
        floor_kind=None if wall is None else (
            "digital silence" if wall.floor_db - q16 <= SILENT_FLOOR_MARGIN_DB else "noise"),
        hf_content_re_16bit_db=round(hf_content, 3),
        holes=holes,
        band_breaks=band_breaks(y, sp.sample_rate, wall_hz=wall.freq_hz if lossy_wall else None),
        grid=frame_grid(y, sp.sample_rate),
        excerpt=ExcerptSpan(round(start, 3), round(length, 3)),
        x=tuple(round(v, 5) for v in x),
        family_x=tuple(round(v, 5) for v in family_x),
    )


def _segment_search_max(ev: LossyEvidence) -> float:
    """Highest wall frequency the segment test looks at: the whole-track search bound, and below a genuine high
    edge of the whole track (resampling, upsampling), whose own segments show it too."""
    fmax = min(WALL_MAX_HZ, ev.wall_search_max_hz)
    w = ev.wall
    if w is not None and w.drop_db >= WALL_MIN_DROP_DB and w.freq_hz > WALL_MAX_HZ:
        fmax = min(fmax, w.freq_hz - SEG_SAME_EDGE_HZ)
    return fmax


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
                     probability_model=round(d.p_model, 6), partial=d.partial, decided_by=d.via)
        if info.lossy_codec:
            finding = self._container_finding(ev, info, d)
        elif d.detected:
            finding = self._detected_finding(ev, d)
        elif ev.hf_content_re_16bit_db < HF_CONTENT_MIN_DB and ev.holes.max_rate == 0.0:
            if math.isfinite(ev.hf_content_re_16bit_db):
                why = (f"too little high-frequency content to judge (11-16 kHz at "
                       f"{ev.hf_content_re_16bit_db:.0f} dB above 16-bit rounding noise)")
            else:
                why = (f"sample rate {ctx.spectrum.sample_rate} Hz: the 11-16 kHz band the test reads lies above "
                       f"its Nyquist frequency ({ctx.spectrum.sample_rate / 2000:g} kHz)")
            finding = Finding.undecided("lossy", why, detector=self.name, evidence=ev)
        else:
            wall = ev.wall
            if wall is not None and wall.drop_db >= WALL_MIN_DROP_DB:
                what = f"edge at {wall.freq_hz / 1000:.2f} kHz over {ev.floor_kind}"
            else:
                what = "no wall"
            finding = Finding("lossy", False, d.p, ev, reason=f"{what}; hole rate {ev.holes.max_rate:.4f}",
                              detector=self.name)
        return self.result(findings=[finding], evidence=finding.evidence, seconds=time.perf_counter() - t0)

    def _container_finding(self, ev: LossyEvidence, info, d) -> Finding:
        """A lossy container: flagged only when its content shows an earlier, lower-quality generation."""
        kbps = None if info.bitrate_kbps is None else round(info.bitrate_kbps, 1)
        expected = container_expected_wall(info.lossy_codec, info.bitrate_kbps)
        ev = replace(ev, container=ContainerCheck(info.lossy_codec, kbps, expected))
        wall_hz = ev.wall_hz
        earlier = expected is not None and wall_hz is not None and wall_hz < expected - GENERATION_MARGIN_HZ \
            and (ev.floor_above_wall_re_16bit_db or 0) <= SILENT_FLOOR_MARGIN_DB
        if earlier:
            fam = "mp3" if info.lossy_codec == "mp3" else d.family
            ev = replace(ev, earlier_generation=EarlierGeneration(wall_hz, bitrate_class(fam, wall_hz)))
            reason = (f"{info.lossy_codec} container at {kbps} kbps, but the wall at {wall_hz / 1000:.1f} kHz "
                      f"implies an earlier {bitrate_class(fam, wall_hz)} generation")
            return Finding("lossy", True, max(d.p, 0.9), ev, reason=reason, detector=self.name)
        reason = f"lossy container ({info.lossy_codec}, {kbps} kbps); content consistent with a single generation"
        return Finding("lossy", False, 0.0, ev, reason=reason, detector=self.name)

    def _detected_finding(self, ev: LossyEvidence, d) -> Finding:
        """A detected track: the codec family, the bitrate class, and the evidence that decided, in words."""
        family = d.family
        rates = bitrate_probabilities(family, ev.family_x[0])
        wall_hz = ev.wall_hz
        ev = replace(ev, codec_family=CodecFamily(family, d.family_p),
                     bitrate_class=max(rates, key=rates.get) if rates else bitrate_class(family, wall_hz),
                     bitrate_class_probabilities={k: round(v, 4) for k, v in rates.items()})
        fam_grid = ev.grid.score(family)
        fam_gz = float(fam_grid.z or 0.0) if fam_grid is not None else 0.0
        if fam_gz >= GRID_Z_FAMILY and (d.via == "grid" or (wall_hz is None and not ev.partial)):
            reason = (f"{family} frame grid: the MDCT at offset {fam_grid.offset} leaves {fam_grid.share:.0%} zero "
                      f"coefficients against {fam_grid.null:.0%} at other offsets (z {fam_gz:.0f}); no wall needed")
        elif d.via == "grid":
            best = ev.grid.score(ev.grid.best)
            reason = (f"{ev.grid.best} frame grid at offset {best.offset} (z {ev.grid.z:.0f}); no wall needed; "
                      f"the codec features point to {family}")
        elif ev.partial:
            seg = ev.segments
            reason = (f"{seg.flagged} of {seg.decided} segments show a lossy wall "
                      f"(from {seg.flagged_starts_s[0]:.0f} s): partly lossy")
        elif wall_hz is not None:
            reason = (f"wall at {wall_hz / 1000:.2f} kHz ({ev.wall.steepness_db_per_khz:.0f} dB/kHz) over "
                      f"{ev.floor_kind}; looks like {family} {ev.bitrate_class}")
        else:
            reason = f"no wall, but spectro-temporal holes (rate {ev.holes.max_rate:.4f}); looks like {family}"
        return Finding("lossy", True, d.p, ev, reason=reason, detector=self.name)

    def warm_up(self) -> None:
        """Load the excerpt-feature kernels from numba's cache once per process, on 1 s of noise long enough for
        every one of them to run."""
        y = np.random.default_rng(0).standard_normal((44100, 2)).astype(np.float32) * np.float32(0.1)
        hole_rates(y, 44100)
        frame_grid(y, 44100)
        band_breaks(y, 44100)
