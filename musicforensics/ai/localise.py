"""Where in a track the decoder comb is: the flagged time ranges of a detected comb, and the search for a
generated part when the whole track is not detected (a human intro with a generated continuation, a generated
bridge, a generated stem under part of a song).

For a detected comb the segments of :func:`.segments.segment_scan` mark its ranges. Otherwise the few strongest
candidate combs that music does not explain are scanned; a run of fired segments whose span, taken on its own,
fires (z >= ``z_fire``) and passes the same checks as a whole track (:func:`.judge.check_comb` on the span's
samples) is a generated part: the track is flagged, and the reason names the range. The scans are screened
first (:meth:`.segments.ScanMemo.screened_scan`: block spectra only where a segment can fire), and a run inside
a part a loop already explains, with teeth on the loop's line lattice, is not checked again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .candidates import FoldPlan
from .coherent import CombScore
from .evidence import CombCheck
from .judge import Judgement, check_comb, related
from .lattice import full_spectrum
from .model import DecisionRule
from .segments import SEGMENT_BLOCKS, ScanMemo, SegmentScan, fired_runs

#: Candidate combs scanned when the whole track is not detected (strongest unexplained first).
PARTIAL_CANDIDATES = 3
#: Whole-track z a candidate comb needs before its segments are searched for a generated part. A part of
#: length Np in a track of length N adds to the whole-track fold a line power diluted by Np / N against its own
#: span, so z ~ z_part * Np / N: a 20 s part at z 18 on its own reaches z 4 in a 90 s track, at z 36 in a
#: 3-minute one. The expected maximum of ~200 null z values is about 2.8; below 4 the search would run on
#: almost every track and cost most of the detector's time for combs that are almost always noise.
PART_SEED_Z = 4.0
#: Shortest analysed span the partial search runs on, s (a generated part must be shorter than the track).
MIN_PARTIAL_TRACK_SECONDS = 15.0


@dataclass
class Located:
    """Where a comb is: its scan, the flagged ranges (s), and, for a part found without a whole-track verdict,
    the comb, its z on the range and its check."""

    scan: SegmentScan
    score: CombScore
    ranges: list[tuple[float, float]]
    part_z: float | None = None
    part_check: CombCheck | None = None


def _ranges(scan: SegmentScan, seconds: float) -> list[tuple[float, float]]:
    n = scan.n_blocks
    return [(round(a * scan.block_seconds, 2), round(seconds if b == n else b * scan.block_seconds, 2))
            for a, b in fired_runs(scan)]


def locate_detected(j: Judgement, plan: FoldPlan, memo: ScanMemo) -> Located:
    """Segments and flagged ranges of the comb a positive verdict rests on (its strongest level)."""
    score = j.strongest or j.decisive
    scan = memo.scan(score.candidate, score.top_hz)
    return Located(scan=scan, score=score, ranges=_ranges(scan, memo.mono.shape[0] / plan.sample_rate))


def _on_music_lattice(delta_hz: float, first: int, stop: int, music: list[tuple[int, int, float]]) -> bool:
    """Whether a run of blocks lies inside a part already explained by a loop whose line lattice holds every
    tooth of ``delta_hz`` (a whole multiple of the lattice): the loop lights those teeth there too, as
    :func:`.judge.related` reasons for whole-track combs."""
    for a, b, lattice in music:
        ratio = delta_hz / lattice
        if a <= first and stop <= b and round(ratio) >= 1 and abs(ratio - round(ratio)) < 1e-6 * ratio:
            return True
    return False


def find_part(j: Judgement, scores: list[CombScore], plan: FoldPlan, memo: ScanMemo,
              rule: DecisionRule) -> Located | None:
    """A generated part in a track with no whole-track verdict, or None (see the module docstring)."""
    fs = plan.sample_rate
    mono = memo.mono
    seconds = mono.shape[0] / fs
    if seconds < MIN_PARTIAL_TRACK_SECONDS:
        return None
    explained = j.explained
    pool = [s for s in sorted(scores, key=lambda s: -s.z) if related(s, explained) is None and s.z >= PART_SEED_Z]
    best: Located | None = None
    music: list[tuple[int, int, float]] = []  # (first, stop, line lattice Hz) of parts explained by a loop
    for score in pool[:PARTIAL_CANDIDATES]:
        scan = memo.screened_scan(score.candidate, score.top_hz)
        if scan is None:
            continue  # no segment of this comb can fire
        for first, stop in fired_runs(scan):
            if stop - first < SEGMENT_BLOCKS:
                continue
            z = scan.span_z(first, stop, fs, score.top_hz)
            if z < rule.z_fire or (best is not None and z <= best.part_z):
                continue
            if _on_music_lattice(score.delta_hz, first, stop, music):
                continue
            block = int(round(scan.block_seconds * fs))
            span = mono[first * block: stop * block]
            check = check_comb(replace(score, z=z), plan, span, full_spectrum(span, fs), rule)
            if check.why:
                if check.lattice_m and check.lattice_contrast is not None and \
                        check.lattice_contrast < rule.contrast_min:
                    music.append((first, stop, score.delta_hz / check.lattice_m))
                continue
            full = memo.scan(score.candidate, score.top_hz)  # the whole track's segments, for the evidence
            best = Located(scan=full, score=score, ranges=_ranges(full, seconds), part_z=z, part_check=check)
    return best
