"""The evidence of an ``ai`` verdict, as frozen dataclasses (docs/output-schema.md, docs/ai-detection.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..results import EvidenceRecord


@dataclass(frozen=True)
class Tooth(EvidenceRecord):
    """A comb tooth that fired: its frequency (parabolic-interpolated, Hz) and prominence over the running
    median of the long-term spectrum (dB)."""

    freq_hz: float
    prominence_db: float


@dataclass(frozen=True)
class SpacingMatch(EvidenceRecord):
    """One explanation of a comb spacing: a generator rate and stride product with rate / product within
    tolerance, and the published decoders that have them (:func:`musicforensics.ai.decoders.explain_spacing`)."""

    rate_hz: float | None
    stride_product: int | None
    delta_hz: float
    decoders: tuple[str, ...] = ()


@dataclass(frozen=True)
class AIEvidence(EvidenceRecord):
    """What the AI detector measured: the comb (z, spacing, band, teeth, explanations, rejected spacings), the
    fakeprint's logit, and the model that turned them into the probability."""

    comb_z: float
    delta_hz: float | None
    band_hz: tuple[float, ...]
    plausible_spacing: bool
    stride_product: int | None
    family: str | None
    harmonic_score: float
    teeth: tuple[Tooth, ...]
    rejected_harmonic_spacings: tuple[Mapping[str, Any], ...]
    matches: tuple[SpacingMatch, ...]
    dense_z: float
    on_codec_grid: bool
    strongest_spacing_hz: float | None
    fakeprint_logit: float
    model: str
    model_id: str
    threshold: float

    @property
    def architecture(self) -> str | None:
        """The first published decoder that explains the spacing (None when none does)."""
        for m in self.matches:
            if m.decoders:
                return m.decoders[0]
        return None

    @property
    def expected_delta_hz(self) -> float | None:
        """The spacing the first explanation predicts (rate / stride product), Hz."""
        for m in self.matches:
            if m.rate_hz and m.stride_product:
                return m.rate_hz / m.stride_product
        return None
