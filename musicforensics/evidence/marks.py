"""What the figures mark on a track, read from its verdicts' typed evidence: the wall and the floor above it,
the band where the named codec puts its edge, the per-segment verdicts, the comb's teeth and spacing, and one
line per verdict. Every field may be missing (a verdict that was not run, or evidence written by another
version); a missing field only removes a marker.

>>> from musicforensics import analyze_file
>>> marks = read_marks(analyze_file("sample_audio/lossy_mp3_128.flac"))
>>> round(marks.wall_hz), marks.codec
(16508, 'mp3')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ai.evidence import AIEvidence
from ..hires.evidence import UpsampledEvidence
from ..lossy.codecs import bitrate_class_band, expected_wall_band
from ..lossy.evidence import LossyEvidence


@dataclass
class Marks:
    """Markers of the figures (Hz, dB re full-scale sine, s)."""

    wall_hz: float | None = None
    floor_db: float | None = None
    steepness_db_per_khz: float | None = None
    codec: str | None = None
    bitrate_class: str | None = None
    expected_wall_hz: tuple[float, float] | None = None
    segments: list[tuple[float, float, bool | None]] = field(default_factory=list)
    bandwidth_hz: float | None = None
    delta_hz: float | None = None
    teeth_hz: list[float] = field(default_factory=list)
    architecture: str | None = None
    expected_delta_hz: float | None = None
    ai_ranges: list[tuple[float, float]] = field(default_factory=list)
    ai_segment_z: list[float] = field(default_factory=list)
    ai_segment_hop_s: float | None = None
    ai_segment_seconds: float | None = None
    speed_factor: float | None = None
    verdicts: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, state, text)


def _counted_wall(kind: str, finding) -> Any:
    """The wall a finding's evidence draws: the lossy test's when it counts as codec evidence, the upsampling
    test's when the file was found upsampled."""
    ev = finding.evidence
    if kind == "lossy" and isinstance(ev, LossyEvidence) and ev.wall_counts:
        return ev.wall
    if kind == "upsampled" and isinstance(ev, UpsampledEvidence) and finding.detected and not finding.inconclusive:
        return ev.wall
    return None


def read_marks(report: Any) -> Marks:
    """Collect what the figures mark from a :class:`~musicforensics.results.TrackReport` (or None)."""
    marks = Marks()
    if report is None:
        return marks
    verdicts = getattr(report, "verdicts", {}) or {}
    # a positive finding comes first, so an upsampled file's wall wins over a clean lossy test
    order = sorted((k for k in ("lossy", "upsampled") if k in verdicts), key=lambda k: not verdicts[k].detected)
    wall = next((w for w in (_counted_wall(k, verdicts[k]) for k in order) if w is not None), None)
    if wall is not None:
        marks.wall_hz, marks.floor_db, marks.steepness_db_per_khz = wall.freq_hz, wall.floor_db, \
            wall.steepness_db_per_khz
    lossy = verdicts.get("lossy")
    if lossy is not None and isinstance(lossy.evidence, LossyEvidence):
        ev = lossy.evidence
        marks.codec = ev.codec_family.estimate if ev.codec_family else None
        marks.bitrate_class = ev.bitrate_class
        if ev.segments is not None:
            step = ev.segments.segment_seconds
            marks.segments = [(i * step, (i + 1) * step, flag) for i, flag in enumerate(ev.segments.flags)]
    marks.expected_wall_hz = (bitrate_class_band(marks.codec, marks.bitrate_class)
                              or expected_wall_band(marks.codec, marks.bitrate_class))
    bandwidth = (getattr(report, "facts", {}) or {}).get("bandwidth_hz")
    marks.bandwidth_hz = None if bandwidth is None else float(bandwidth)
    ai = verdicts.get("ai")
    if ai is not None and isinstance(ai.evidence, AIEvidence):
        ev = ai.evidence
        marks.delta_hz = ev.delta_hz
        marks.teeth_hz = [t.freq_hz for t in ev.teeth]
        marks.architecture = ev.family or ev.architecture
        marks.expected_delta_hz = ev.expected_delta_hz
        marks.ai_ranges = [tuple(r) for r in ev.flagged_ranges_s]
        marks.ai_segment_z = list(ev.segment_z)
        marks.ai_segment_hop_s = ev.segment_hop_s
        marks.ai_segment_seconds = ev.segment_seconds
        marks.speed_factor = ev.speed_factor if ev.speed_factor != 1.0 else None
    for kind in sorted(verdicts):
        f = verdicts[kind]
        state = "INCONCLUSIVE" if f.inconclusive else ("DETECTED" if f.detected else "not detected")
        prob = "" if f.probability is None else f" p={f.probability:.2f}"
        marks.verdicts.append((kind, state, f"{kind}: {state}{prob}" + (f" ({f.reason})" if f.reason else "")))
    return marks
