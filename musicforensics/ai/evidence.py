"""The evidence of an ``ai`` verdict, as frozen dataclasses (docs/output-schema.md, docs/ai-detection.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ..results import EvidenceRecord, optional


@dataclass(frozen=True)
class Tooth(EvidenceRecord):
    """One of the strongest teeth of the reported comb: its frequency (Hz) and its power over the local noise
    of the folded spectrum (dB; 0 dB = the noise level, 10 dB is rare without a comb)."""

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
class CombCheck(EvidenceRecord):
    """A comb that fired and what the checks that tell a decoder from periodic music found: the lattice
    contrast (``None``: not measured), the template consistency over time and the drone share, and ``why`` it
    was not taken for a decoder (empty when it was)."""

    delta_hz: float
    rate_hz: int
    stride_product: int
    comb_z: float
    lattice_contrast: float | None
    lattice_m: int | None
    lattice_share: float | None
    consistency: float | None
    consistency_z: float | None
    drone_share: float | None
    why: str = ""
    #: how much of the teeth's excess one tone's MPEG filterbank image set holds beyond a decoder's even spread
    #: (0: even, 1: images only), and that tone (:mod:`.images`); left out when the spacing does not divide
    #: fs / 32 or the set cannot be told from a decoder's teeth
    image_concentration: float | None = optional()
    image_tone_hz: float | None = optional()
    #: top of the band the lattice contrast was read in (Hz) when the teeth stand out only below it
    #: (:func:`.lattice.comb_extent`); left out when it was read on the whole band
    lattice_top_hz: float | None = optional()


@dataclass(frozen=True)
class LongTermComb(EvidenceRecord):
    """The comb on the long-term mean-of-dB spectrum (incoherent; kept as supporting evidence and for the
    plots): z against jittered combs, spacing, and the fakeprint's logit under the model's fakeprint weights.
    ``fakeprint_note`` says when the logit cannot be read as evidence (the fakeprint reads fixed frequency bins,
    so a speed change moves a decoder's peaks off them)."""

    comb_z: float
    delta_hz: float | None
    fakeprint_logit: float | None
    fakeprint_note: str | None = optional()


@dataclass(frozen=True)
class AIEvidence(EvidenceRecord):
    """What the AI detector measured. ``comb_z`` is the coherent comb z of the reported comb (the one the verdict
    rests on, else the strongest) in its high band (``band_hz``), read on the folded track; ``delta_hz`` its
    spacing, generated at ``rate_hz`` with stride product ``stride_product``. ``unexplained_z`` is the decision's
    input: the largest comb z that periodic music does not explain. ``checks`` lists every comb that fired with
    what told it from periodic music; ``alternatives`` says what else could make such a comb. ``segment_z`` is the
    reported comb's z on every ``segment_seconds`` segment (one every ``segment_hop_s``) and ``flagged_ranges_s``
    the time ranges where it fires (empty when nothing is detected). ``speed_factor`` is the factor a speed change or
    resampling pitch shift multiplied the comb's frequencies by (1.0: none found), ``base_delta_hz`` the decoder
    spacing before it."""

    comb_z: float
    comb_z_low_band: float
    unexplained_z: float
    delta_hz: float | None
    rate_hz: int | None
    stride_product: int | None
    band_hz: tuple[float, ...]
    teeth_tested: int
    teeth_lit: int
    teeth: tuple[Tooth, ...]
    family: str | None
    matches: tuple[SpacingMatch, ...]
    lattice_contrast: float | None
    consistency: float | None
    drone_share: float | None
    checks: tuple[CombCheck, ...]
    alternatives: tuple[str, ...]
    analysed_seconds: float
    needed_seconds: float | None
    segment_seconds: float | None
    segment_hop_s: float | None
    segment_z: tuple[float, ...]
    flagged_ranges_s: tuple[tuple[float, float], ...]
    speed_factor: float
    base_delta_hz: float | None
    long_term: LongTermComb | None
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
