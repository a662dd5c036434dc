"""The evidence of a ``lossy`` verdict, as frozen dataclasses: what the JSON shows, what the decision reads, what
plots, reports and ``evaluate`` consume (docs/output-schema.md).

Values are stored as the JSON shows them (rounded where the JSON rounds), and the decision reads these same
values, so a verdict can always be recomputed from its stored evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..results import EvidenceRecord, optional
from ..spectral.wall_record import Wall


@dataclass(frozen=True)
class HoleRegion(EvidenceRecord):
    """Hole rate in one frequency region: holes per eligible tile (None when no tile was eligible) and the share
    of tiles that were eligible."""

    rate: float | None
    eligible: float


@dataclass(frozen=True)
class HoleRates(EvidenceRecord):
    """Band-local spectro-temporal holes per region (``"4-11k"``, ``"11-16k"``, ``"16-19.5k"``) and the largest
    rate over regions with enough eligible tiles (:func:`musicforensics.lossy.holes.hole_rates`)."""

    regions: Mapping[str, HoleRegion]
    max_rate: float

    def to_dict(self) -> dict:
        return {**{k: v.to_dict() for k, v in self.regions.items()}, "max_rate": self.max_rate}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HoleRates":
        regions = {k: HoleRegion.from_dict(v) for k, v in data.items() if k != "max_rate"}
        return cls(regions=regions, max_rate=data.get("max_rate") or 0.0)

    def rate(self, region: str) -> float | None:
        r = self.regions.get(region)
        return None if r is None else r.rate


@dataclass(frozen=True)
class BandBreaks(EvidenceRecord):
    """Band breaks (:mod:`musicforensics.lossy.band_breaks`): the share of (live frame, band edge) pairs that
    break, the live frames, the bands searched and the most frequent break edges (Hz)."""

    rate: float
    frames: int
    bands: int
    top_hz: tuple[float, ...] = ()


@dataclass(frozen=True)
class GridScore(EvidenceRecord):
    """One codec's frame-grid test: best offset (samples), zero share there, median share at other offsets (the
    file's own null) and the robust z of the difference."""

    offset: int
    share: float
    null: float
    z: float


@dataclass(frozen=True)
class FrameGrid(EvidenceRecord):
    """Codec-exact frame-grid evidence (:func:`musicforensics.lossy.grid.frame_grid`): per codec tried (``mp3``,
    ``mp2``, ``aac``, ``vorbis``) its :class:`GridScore` on isolated exact zeros, the codec the grids name
    (``best``), its z (0 when nothing could be scored), and the search stages that ran, in order."""

    best: str | None = None
    z: float = 0.0
    scores: Mapping[str, GridScore] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    #: the lower rate the excerpt was resampled to before the grids read it (None: the file's own rate)
    read_at_hz: int | None = None

    def to_dict(self) -> dict:
        out = {"best": self.best, "z": self.z, "stages": list(self.stages)}
        if self.read_at_hz is not None:
            out["read_at_hz"] = self.read_at_hz
        return {**out, **{k: v.to_dict() for k, v in self.scores.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FrameGrid":
        scores = {k: GridScore.from_dict(v) for k, v in data.items() if isinstance(v, Mapping)}
        return cls(best=data.get("best"), z=data.get("z") or 0.0, scores=scores,
                   stages=tuple(data.get("stages") or ()), read_at_hz=data.get("read_at_hz"))

    def score(self, codec: str) -> GridScore | None:
        return self.scores.get(codec)


@dataclass(frozen=True)
class ExcerptSpan(EvidenceRecord):
    """The stretch of the track the excerpt features read, s."""

    start_s: float
    seconds: float


@dataclass(frozen=True)
class SegmentWalls(EvidenceRecord):
    """The wall test on every segment of the track (:func:`musicforensics.lossy.segments.segment_walls`):
    per segment True (lossy-looking), False (clean) or None (undecidable), its wall (Hz), and the counts."""

    segment_seconds: float
    flags: tuple[bool | None, ...]
    walls_hz: tuple[float | None, ...]
    decided: int
    flagged: int
    flagged_starts_s: tuple[float, ...]


@dataclass(frozen=True)
class WallJudgement(EvidenceRecord):
    """What the wall can be, judged against the file's rate (:func:`musicforensics.lossy.walls.judge_wall`):
    ``kind`` is ``codec`` (steep and deep, where no converter puts its edge), ``converter`` (at the fraction of
    the Nyquist frequency, of this rate or of a lower standard rate ``converter_rate_hz``, where resamplers put
    theirs), ``gentle`` or ``shallow`` (an analogue-like roll-off), ``noise floor`` (a noise floor above it) or
    ``none``; with the wall's frequency as a fraction of Nyquist and the numbers in words."""

    kind: str
    ratio_to_nyquist: float | None = None
    converter_rate_hz: int | None = None
    text: str = ""


@dataclass(frozen=True)
class FloorStep(EvidenceRecord):
    """A step of the noise floor down to rounding level at a codec's band edge (:func:`musicforensics.lossy.walls.
    floor_step`): its frequency (Hz), size (dB), and the levels either side re 16-bit rounding (dB)."""

    freq_hz: float
    step_db: float
    below_re_16bit_db: float
    above_re_16bit_db: float


@dataclass(frozen=True)
class LossyModelInput(EvidenceRecord):
    """The input of the calibration model (:mod:`musicforensics.lossy.decision`), which turns the evidence into
    the reported probability: log10(1 + the largest codec-grid z, clipped to [0, 1000]) and one indicator per
    rule that can decide (a codec wall over a bare floor, Opus's 20 kHz edge, a floor step at it, lossy-looking
    segments) or reject (an edge of unknown origin)."""

    grid_log_z: float
    codec_wall: float
    opus_edge: float
    floor_step: float
    segments: float
    unknown_edge: float

    def vector(self) -> tuple[float, ...]:
        return (self.grid_log_z, self.codec_wall, self.opus_edge, self.floor_step, self.segments, self.unknown_edge)


@dataclass(frozen=True)
class ContainerCheck(EvidenceRecord):
    """A lossy container (an MP3, Ogg or Opus file): its codec, average bitrate and the lowest wall a single
    generation at that bitrate and sample rate leaves (None when unknown)."""

    codec: str
    bitrate_kbps: float | None
    expected_wall_hz: float | None = None


@dataclass(frozen=True)
class EarlierGeneration(EvidenceRecord):
    """A lossy container whose content shows an earlier, lower-quality generation: its wall (None when a codec
    grid of another family shows it) and what it implies."""

    wall_hz: float | None
    implied: str


@dataclass(frozen=True)
class CodecFamily(EvidenceRecord):
    """The codec family the evidence fits best and every family's probability."""

    estimate: str
    probabilities: Mapping[str, float]


@dataclass(frozen=True)
class LossyEvidence(EvidenceRecord):
    """Everything the lossy detector measured and decided for one track (docs/lossy.md)."""

    wall: Wall | None
    wall_counts: bool
    upsampled_from_hz: int | None
    wall_search_max_hz: float
    q16_floor_db: float
    floor_above_wall_re_16bit_db: float | None
    floor_kind: str | None
    hf_content_re_16bit_db: float
    holes: HoleRates
    band_breaks: BandBreaks
    grid: FrameGrid
    excerpt: ExcerptSpan
    sample_rate: int | None = None
    analysed_seconds: float | None = None
    wall_judgement: WallJudgement | None = None
    floor_step: FloorStep | None = None
    model_input: LossyModelInput | None = None
    family_input: Mapping[str, float] | None = None
    #: Schema 1.0's unnamed lists: the first three model inputs and the first six family features (read
    #: ``model_input`` and ``family_input``; removed in the next major schema version).
    x: tuple[float, ...] | None = optional()
    family_x: tuple[float, ...] | None = optional()
    segments: SegmentWalls | None = None
    probability_model: float | None = None
    partial: bool = False
    decided_by: str | None = None
    container: ContainerCheck | None = optional()
    earlier_generation: EarlierGeneration | None = optional()
    codec_family: CodecFamily | None = optional()
    bitrate_class: str | None = optional()
    bitrate_class_probabilities: Mapping[str, float] | None = optional()

    @property
    def wall_hz(self) -> float | None:
        """The wall's frequency when it counts as codec evidence, else None."""
        return self.wall.freq_hz if self.wall is not None and self.wall_counts else None
