"""Is a fired comb a decoder's? The checks that tell a decoder comb from periodic music, and the walk over the
fired combs that finds the one a verdict rests on (see :mod:`.detector` for the physics of each check)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .candidates import FoldPlan, same_family_levels
from .coherent import OWN_TEETH_RATIO, CombScore, finest_level
from .evidence import CombCheck
from .images import MPEG_SUBBANDS, image_share
from .lattice import EXTENT_BAND_HZ, SPAN_SECONDS, FullSpectrum, comb_extent, drone_share, lattice_contrast
from .model import DecisionRule
from .segments import ScanMemo, template_consistency

#: Combs checked, strongest first; any comb beyond these counts as explained by music.
MAX_CHECKED = 12
#: Combs from this z on are checked even below the firing z: a comb that music explains does not count toward
#: z*, so a loop whose weaker combs sit just under the firing z is not given a probability near 0.5.
CHECK_Z = 5.0


@dataclass
class Judgement:
    """The comb a verdict rests on and how it was reached."""

    z_star: float
    decisive: CombScore | None
    strongest: CombScore | None
    checks: list[CombCheck]
    contrast: float | None = None
    consistency: float | None = None
    drone: float | None = None
    explained: list = field(default_factory=list)


def check_comb(score: CombScore, plan: FoldPlan, mono: np.ndarray, full: FullSpectrum, rule: DecisionRule, *,
               factor: float = 1.0, known: tuple[float, ...] = ()) -> CombCheck:
    """Run the checks on one fired comb; ``why`` is empty when nothing musical explains it. ``factor``: a comb
    moved by a speed change (spacing ``factor`` times the candidate's): its period is no whole number of samples,
    so the template consistency, read on folds, is not measured."""
    c = score.candidate
    fs = plan.sample_rate
    levels = frozenset(round(level * factor, 6) for level in same_family_levels(c, plan))
    contrast = lattice_contrast(full, c.delta_hz * factor, score.top_hz, levels, known=known)
    lattice_top = None
    if contrast is not None and contrast.c_min < rule.contrast_min:
        # a comb lit only in the lower part of the band (a codec that rebuilt the upper band by folding lower
        # bands into it) is judged where its teeth are: unlit teeth above would dilute the contrast
        extent = comb_extent(full, c.delta_hz * factor, score.top_hz)
        if extent < score.top_hz - EXTENT_BAND_HZ:
            narrow = lattice_contrast(full, c.delta_hz * factor, extent, levels, known=known)
            if narrow is not None and narrow.c_min >= rule.contrast_min:
                contrast, lattice_top = narrow, extent
    drone = drone_share(full, c.delta_hz * factor, score.top_hz)
    # the checks run in order until one explains the comb: a later one would only add a second reason, and the
    # template consistency (six block folds of the span) is the costliest
    why = []
    if contrast is not None and contrast.c_min < rule.contrast_min:
        lattice = ("random positions" if contrast.m == 1 else "the line lattice of an explained comb" if contrast.m == 0
                   else f"the lattice every {c.delta_hz * factor / contrast.m:.2f} Hz")
        why.append(f"lattice contrast {contrast.c_min:.1f} < {rule.contrast_min:g}: {lattice} is as strong as the "
                   "teeth (a sample-exact loop, a sequence on a tempo grid or a looped sample)")
    images = None if why else image_share(full, c.delta_hz * factor, score.top_hz, fs)
    if images is not None and images.concentration >= rule.image_concentration_max:
        edge = fs / (2 * MPEG_SUBBANDS)
        on_edges = abs(images.tone_hz - edge) < 1e-6 * edge
        where = (f"on the odd multiples of {edge:.2f} Hz, the sub-band edges of an MP1/MP2/MP3 encoder" if on_edges
                 else f"at k x {edge:.2f} +- {images.tone_hz:.2f} Hz, the aliasing of a tone at "
                      f"{images.tone_hz:.2f} Hz about the sub-band edges of an MP1/MP2/MP3 encoder")
        why.append(f"MPEG filterbank images: the lit teeth sit {where} (image concentration "
                   f"{images.concentration:.2f} >= {rule.image_concentration_max:g}); a decoder lights every tooth")
    consistency = template_consistency(mono, fs, c, score.top_hz) if factor == 1.0 and not why else None
    if consistency is not None and consistency.z_incoherent >= rule.consistency_min_z \
            and consistency.kappa < rule.consistency_min:
        why.append(f"template consistency {consistency.kappa:.2f} < {rule.consistency_min:g}: the periodic pattern "
                   "changes along the track (sample-locked waveforms that follow the notes)")
    return CombCheck(delta_hz=round(c.delta_hz * factor, 4), rate_hz=c.rate, stride_product=c.period, comb_z=round(score.z, 3),
                     lattice_contrast=None if contrast is None else round(contrast.c_min, 3),
                     lattice_m=None if contrast is None else contrast.m,
                     lattice_share=None if contrast is None else round(contrast.share, 4),
                     consistency=None if consistency is None else round(consistency.kappa, 4),
                     consistency_z=None if consistency is None else round(consistency.z_incoherent, 2),
                     drone_share=round(drone, 5), why="; ".join(why),
                     image_concentration=None if images is None else round(images.concentration, 4),
                     image_tone_hz=None if images is None else round(images.tone_hz, 3),
                     lattice_top_hz=None if lattice_top is None else round(float(lattice_top), 1))


def related(score: CombScore, explained: list[tuple[CombScore, CombCheck]]) -> CombCheck | None:
    """The explained comb whose lines also make ``score`` fire, if any: ``score``'s teeth are a subset of its teeth
    (spacing a whole multiple), or contain them without teeth of their own (spacing a whole divisor whose z is
    no more than dilution of the explained comb's, see :data:`~.coherent.OWN_TEETH_RATIO`)."""
    for other, check in explained:
        ratio = score.delta_hz / other.delta_hz
        if abs(ratio - round(ratio)) < 1e-6 and round(ratio) >= 1:
            return check
        m = other.delta_hz / score.delta_hz
        if abs(m - round(m)) < 1e-6 and score.z * np.sqrt(round(m)) / max(other.z, 1e-9) < OWN_TEETH_RATIO:
            return check
    return None


def strongest_span(memo: ScanMemo, score: CombScore) -> tuple[int, int]:
    """The SPAN_SECONDS stretch (first and last sample) where ``score``'s comb is strongest: the checks read it
    there, not in a part of the track the comb may not reach (a generated continuation of a human intro)."""
    mono, sample_rate = memo.mono, memo.sample_rate
    span = int(round(SPAN_SECONDS * sample_rate))
    if mono.shape[0] <= span:
        return 0, mono.shape[0]
    scan = memo.scan(score.candidate, score.top_hz)
    per_span = max(int(round(SPAN_SECONDS / scan.block_seconds)), 1)
    z = np.convolve(np.maximum(scan.block_z, 0.0), np.ones(per_span), mode="valid")
    block = int(round(scan.block_seconds * sample_rate))
    first = int(np.argmax(z)) * block if z.size else 0
    first = min(first, mono.shape[0] - span)
    return first, first + span


def judge(scores: list[CombScore], plan: FoldPlan, memo: ScanMemo, rule: DecisionRule) -> Judgement:
    """Check the combs from CHECK_Z on, strongest first, until a fired one is not explained by music (see the
    module docstring). They are checked on the stretch where the strongest of them is strongest
    (:func:`strongest_span`)."""
    mono = memo.mono
    strongest = max(scores, key=lambda s: s.z, default=None)
    checked = sorted((s for s in scores if s.z >= min(CHECK_Z, rule.z_fire)), key=lambda s: -s.z)
    spectra: dict = {}

    def full(score: CombScore) -> tuple[np.ndarray, FullSpectrum]:
        # every comb is read on the stretch where the strongest checked comb is strongest: one segment scan and
        # one full-resolution spectrum per track
        if "span" not in spectra:
            spectra["span"] = memo.span = strongest_span(memo, score)
        a, b = spectra["span"]
        return mono[a:b], memo.full(a, b)

    checks: list[CombCheck] = []
    explained: list[tuple[CombScore, CombCheck]] = []
    music_lattices: list[float] = []
    seen: set = set()
    unexplained: list[float] = []
    for score in checked[:MAX_CHECKED]:
        fine = finest_level(score, scores, rule.z_fire)
        if fine.candidate in seen or related(score, explained) is not None:
            continue
        seen.add(fine.candidate)
        part, spectrum = full(score)
        check = check_comb(score, plan, part, spectrum, rule, known=tuple(music_lattices))
        checks.append(check)
        if not check.why:
            if score.z >= rule.z_fire:
                return Judgement(z_star=score.z, decisive=fine, strongest=score, checks=checks,
                                 contrast=check.lattice_contrast, consistency=check.consistency,
                                 drone=check.drone_share)
            unexplained.append(score.z)
            continue
        explained.append((score, check))
        if check.lattice_m and check.lattice_contrast is not None and check.lattice_contrast < rule.contrast_min:
            music_lattices.append(check.delta_hz / check.lattice_m)
    # z*: the strongest comb left that music does not explain: a checked comb that passed, or one too weak to be
    # checked; a comb whose teeth belong to an explained comb is explained with it
    unchecked = max((s.z for s in scores if s.z < CHECK_Z and related(s, explained) is None), default=0.0)
    return Judgement(z_star=max([unchecked, 0.0, *unexplained]), decisive=None, strongest=strongest,
                     checks=checks, explained=explained)
