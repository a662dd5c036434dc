"""The evidence of the ``upsampled`` and ``bitpadded`` verdicts, as frozen dataclasses (docs/output-schema.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..results import EvidenceRecord, optional
from ..spectral.wall_record import Wall


@dataclass(frozen=True)
class UpsamplingCandidate(EvidenceRecord):
    """One standard rate r below the file's rate, tested as the source of an upsample (dB re full-scale sine per
    bin): the median level above r/2, that level re 16-bit rounding noise, the unfloored level above re 24-bit
    rounding (None without the linear spectrum), the content level below, the edge at r/2, and the verdicts."""

    rate: int
    above_db: float
    above_re_16bit_db: float
    above_re_24bit_unfloored_db: float | None
    content_db: float
    edge_db: float
    digital_silence: bool
    silent_above: bool
    content_gap_db: float | None = optional()


@dataclass(frozen=True)
class MirrorTest(EvidenceRecord):
    """The mirror test of an interpolating upsampler at one standard rate (:func:`musicforensics.hires.
    upsampled.mirror_test`): the correlation of the fine spectral structure mirrored around ``rate`` / 2, the
    median of the same correlation around other centres, and the robust z (0 when there was too little audio)."""

    rate: int
    corr: float | None
    null: float | None
    z: float


@dataclass(frozen=True)
class UpsampledEvidence(EvidenceRecord):
    """What the upsampling test measured: every candidate source rate, the spectrum's wall, the 16-bit rounding
    level, and the source rate when the file was upsampled. For files at or below CD rate only ``sample_rate``
    (nothing is tested)."""

    candidates: tuple[UpsamplingCandidate, ...] = ()
    wall: Wall | None = None
    q16_floor_db: float | None = None
    mirror: tuple[MirrorTest, ...] | None = optional()
    source_rate_hz: int | None = optional()
    sample_rate: int | None = optional()

    def to_dict(self) -> dict:
        if self.sample_rate is not None:
            return {"sample_rate": self.sample_rate}
        return super().to_dict()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "UpsampledEvidence":
        if "candidates" not in data:
            return cls(sample_rate=data.get("sample_rate"))
        return super().from_dict(data)


@dataclass(frozen=True)
class BitpaddedEvidence(EvidenceRecord):
    """The reduced bit-depth test (:mod:`musicforensics.hires.bitdepth`): stored bits, the integer grid tested, the
    bits in use on it by trailing zeros (None when no sample is non-zero), whether the file stores floats, the
    samples off the grid; then, when trailing zeros do not decide, the lattice of the excerpt's values (step,
    offset, effective bits) and the occupancy of its central codes (used, expected, the lattice step it implies,
    that line's strength, the share of central values on that lattice, effective bits), and which test decided
    (``method``)."""

    stored_bits: int | None
    grid_bits: int
    effective_bits: int | None
    is_float: bool
    off_grid_samples: int
    lattice_step: int | None = optional()
    lattice_offset: int | None = optional()
    effective_bits_lattice: float | None = optional()
    occupancy: float | None = optional()
    occupancy_expected: float | None = optional()
    occupancy_step: float | None = optional()
    occupancy_step_strength: float | None = optional()
    occupancy_coherence: float | None = optional()
    effective_bits_occupancy: float | None = optional()
    method: str | None = optional()
