"""The ``ai`` verdict: is there a neural decoder's comb in the track, and nothing musical that explains it?

Neural decoders that upsample with transposed convolutions add a component that repeats every ``P = k1 ... kL``
samples of their output rate ``r``: spectral lines every ``r / P`` Hz (Afchar et al., ISMIR 2025;
docs/references.md). The detector reads those lines coherently, on the whole track folded at lengths that put
every candidate tooth on a bin (:mod:`.candidates`, :mod:`.fold`, :mod:`.coherent`), and then asks of every comb
that fires whether music explains it:

1. a finer lattice as strong as the teeth (:func:`.lattice.lattice_contrast`): a sample-exact loop, a
   sequence on a tempo grid, a looped sample;
2. a pattern that changes along the track (:func:`.segments.template_consistency`): sample-locked synthesiser
   waveforms that follow the notes;

A steady harmonic tone (a drone, a hum) lights a comb only when its period is exactly a whole number of
``P' = P fs / r`` samples for a 5-smooth stride product ``P``: equal-tempered and acoustic pitches are not, and
their partials drift; a synthesised tone at exactly such a frequency cannot be told from a decoder by these
tests (nor by its loudness: the briefly trained decoders of the reference corpus put 86-91 % of the 200 Hz-4 kHz
power on their teeth, as much as a bare sawtooth does). When the teeth carry a notable share of that power
(:func:`.lattice.drone_share`), the verdict names the tone among its alternatives.

The verdict and its probability come from the largest comb z that music does not explain (:mod:`.model`).
Clips shorter than :data:`MIN_SECONDS` are INCONCLUSIVE; up to :data:`MIN_SECONDS_TO_CLEAR` a comb that fires
decides, but the absence of one does not (the coherent excess grows with the length; measured detection of
real generator output: docs/ai-detection.md).

Supporting evidence, not part of the decision: the comb on the long-term mean-of-dB spectrum
(:mod:`.comb`) and the fakeprint logit (:mod:`.fakeprint`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..detector import Detector, TrackContext
from ..results import Finding, MappingEvidence
from . import SPEC
from . import comb as _comb
from . import fakeprint as _fp
from . import fold as _fold
from .candidates import Candidate, FoldPlan
from .coherent import HIGH_BAND_HZ, TOP_FRACTION, fold_spectrum, high_band_bins, score_candidates, strongest_teeth
from .decoders import explain_spacing, family_of
from .evidence import AIEvidence, LongTermComb, SpacingMatch, Tooth
from . import speed as _speed
from .coherent import CombScore
from .judge import Judgement, check_comb, judge
from .lattice import FullSpectrum, full_spectrum
from .localise import Located, find_part, locate_detected
from .segments import ScanMemo
from .model import AIModel, DecisionRule, load_model

#: Shortest analysed span the comb test judges, s. Below it the false-positive rate of the statistic has not
#: been established (docs/ai-detection.md): INCONCLUSIVE.
MIN_SECONDS = 2.0
#: Shortest span whose silence (no comb fired) clears the track, s: below it a comb that fires decides, one
#: that does not leaves the verdict INCONCLUSIVE.
MIN_SECONDS_TO_CLEAR = 5.0
#: Fewest usable high-band bins (on the first fold) the test needs.
MIN_HIGH_BAND_BINS = 200
#: Block hops of common block-based processing (STFT effects, source separators), samples: a comb at
#: ``fs / hop`` is reported with that alternative.
BLOCK_HOPS = (256, 512, 1024, 2048, 4096)


@lru_cache(maxsize=4)
def model_for(source: str | None) -> AIModel:
    """The AI model of a file (None: the shipped default), loaded once per process."""
    return load_model(source)


def alternatives(delta_hz: float, sample_rate: int, drone: float | None, rule: DecisionRule) -> tuple[str, ...]:
    """What else than a generator can leave a comb at this spacing."""
    out = []
    if drone is not None and drone > rule.drone_share_note:
        out.append(f"the teeth carry {100 * drone:.0f}% of the 200 Hz-4 kHz power: a steady tone synthesised at "
                   f"exactly {delta_hz:.2f} Hz (a test tone, a drone) with partials above 4 kHz would look the same")
    out += ["a neural codec, enhancer or source separator applied to a recording leaves the same comb: the audio "
           "went through a neural decoder, which is not proof that the music was generated"]
    for hop in BLOCK_HOPS:
        if abs(sample_rate / hop - delta_hz) < 1e-6 * delta_hz:
            out.append(f"{delta_hz:.2f} Hz is also {sample_rate} / {hop}: block-based processing with a {hop}-sample "
                       "hop that adds the same pattern to every block (a fixed per-block offset or window) would "
                       "leave it; STFT effects that only reweight frequencies do not add a coherent comb (measured)")
    return tuple(out)


def _long_term(comb: _comb.CombResult, spectrum, model: AIModel) -> LongTermComb:
    logit = model.fakeprint_logit(fakeprint_from_summary(spectrum)) if model.fakeprint is not None else None
    return LongTermComb(comb_z=round(comb.z, 3), delta_hz=None if comb.delta_hz is None else round(comb.delta_hz, 4),
                        fakeprint_logit=None if logit is None else round(logit, 3))


def fakeprint_from_summary(spectrum) -> np.ndarray:
    """The fakeprint from a :class:`~musicforensics.spectral.summary.SpectralSummary`: same STFT (16384 / 8192,
    periodic Hann) converted to the unnormalised dB scale; files not at 44.1 kHz are interpolated onto the
    44.1 kHz bin grid (:func:`musicforensics.ai.fakeprint.fakeprint` is the paper-faithful version)."""
    window_sum = spectrum.n_fft / 2.0  # periodic Hann
    offset = 20.0 * np.log10(window_sum / 2.0)  # normalised (full-scale sine = 0 dB) -> unnormalised |X|^2
    lo, hi = _fp.band_bins()
    target = np.arange(lo, hi) * _fp.FAKEPRINT_RATE / _fp.FAKEPRINT_N_FFT
    if spectrum.sample_rate == _fp.FAKEPRINT_RATE and spectrum.n_fft == _fp.FAKEPRINT_N_FFT:
        band = spectrum.mean_db[lo:hi] + offset
    else:
        band = np.interp(target, spectrum.freqs, spectrum.mean_db) + offset
    return _fp.hull_residual(band)


def _evidence(j: Judgement, plan: FoldPlan, spectra, seconds: float, needed: float | None, long_term,
              model: AIModel, located: Located | None, moved: Moved | None) -> AIEvidence:
    fs = plan.sample_rate
    shown = j.decisive or j.strongest
    base = moved.found.base.delta_hz if moved is not None else (shown.delta_hz if shown is not None else None)
    matches = explain_spacing(base, fs) if base is not None else []
    if moved is not None:
        teeth = _speed.strongest_teeth(moved.full, moved.found)
    else:
        teeth = strongest_teeth(spectra[shown.candidate.fold], shown) if shown is not None else []
    return AIEvidence(
        comb_z=round((j.strongest if j.decisive else shown).z, 3) if shown else 0.0,
        comb_z_low_band=round(shown.z_low, 3) if shown else 0.0,
        unexplained_z=round(j.z_star, 3),
        delta_hz=(round(moved.found.delta_hz, 4) if moved is not None else round(shown.delta_hz, 4) if shown
                  else None),
        rate_hz=moved.found.base.rate if moved is not None else shown.candidate.rate if shown else None,
        stride_product=moved.found.base.period if moved is not None else shown.candidate.period if shown else None,
        band_hz=(HIGH_BAND_HZ, round(shown.top_hz if shown else TOP_FRACTION * fs / 2, 1)),
        teeth_tested=shown.teeth if shown else 0, teeth_lit=shown.lit if shown else 0,
        teeth=tuple(Tooth(round(f, 2), round(db, 2)) for f, db in teeth),
        family=family_of(matches) if j.decisive else None,
        matches=tuple(SpacingMatch(m["rate_hz"], m["stride_product"], m["delta_hz"], tuple(m["decoders"]))
                      for m in matches[:4]),
        lattice_contrast=j.contrast, consistency=j.consistency, drone_share=j.drone,
        checks=tuple(j.checks),
        alternatives=(_moved_alternative(moved) + alternatives(shown.delta_hz, fs, j.drone, model.rule)
                      if j.decisive else ()),
        analysed_seconds=round(seconds, 3), needed_seconds=needed,
        segment_seconds=None if located is None else round(located.scan.segment_seconds, 3),
        segment_hop_s=None if located is None else round(located.scan.block_seconds, 3),
        segment_z=() if located is None else tuple(round(float(z), 2) for z in located.scan.segment_z),
        flagged_ranges_s=() if located is None or j.decisive is None else tuple(located.ranges),
        speed_factor=1.0 if moved is None else round(moved.found.factor, 6),
        base_delta_hz=None if base is None else round(base, 4),
        long_term=long_term, model=model.source, model_id=model.digest, threshold=model.threshold,
    )


def _moved_alternative(moved: Moved | None) -> tuple[str, ...]:
    if moved is None or moved.exact is None:
        return ()
    e = moved.exact
    return (f"the same lines are {e.rate} / {e.period} = {e.delta_hz:.2f} Hz at its native speed (no speed "
            f"change): a decoder of no published design at {e.rate} Hz",)


def _reason(j: Judgement, detected: bool, seconds: float, located: Located | None, moved: Moved | None) -> str:
    if detected:
        d = j.decisive
        fam = family_of(explain_spacing(d.delta_hz, 0))
        arch = f"; fits {fam}" if fam else ""
        comb = f"decoder comb every {d.delta_hz:.2f} Hz ({d.candidate.rate} / {d.candidate.period}{arch})"
        if moved is not None:
            f = moved.found
            fam = family_of(explain_spacing(f.base.delta_hz, 0))
            arch = f"; fits {fam}" if fam else ""
            return (f"decoder comb every {f.delta_hz:.3f} Hz: {f.base.rate} / {f.base.period}{arch} = "
                    f"{f.base.delta_hz:.2f} Hz moved by a speed change or resampling pitch shift of "
                    f"x{f.factor:.4f}, z {f.z:.1f}, not explained by music")
        if located is not None and located.part_z is not None:
            where = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in located.ranges)
            return (f"{comb} in part of the track ({where}), coherent z {j.z_star:.1f} there, not explained by music; "
                    "the track as a whole shows no decoder comb")
        return f"{comb}, coherent z {j.z_star:.1f}, not explained by music"
    explained = [c for c in j.checks if c.why]
    if explained:
        c = explained[0]
        return f"the comb every {c.delta_hz:.2f} Hz (z {c.comb_z:.1f}) is explained by the music: {c.why}"
    return f"no decoder comb (largest coherent z {j.z_star:.1f} in {seconds:.1f} s)"


@dataclass
class Moved:
    """A comb found at a speed factor: what the search found, and the spectrum it was read on."""

    found: _speed.SpeedComb
    full: FullSpectrum
    #: the exact comb this moved reading was preferred to (see :func:`.speed.known_reading`), if any
    exact: Candidate | None = None


def _moved(j: Judgement, plan: FoldPlan, memo: ScanMemo, spectrum, seeds: tuple, rule: DecisionRule) \
        -> tuple[Judgement, Moved] | None:
    """The judgement of a track whose comb was moved by a speed change, or None (see :mod:`.speed`).

    Off the exact candidate periods a held note or a drone is a comb too (its harmonic series), so a moved comb
    must also have the rough tooth envelope of a decoder: a note's partials fall smoothly with their number
    (:func:`.comb.envelope_roughness` under SMOOTH_ENVELOPE_DB on the long-term spectrum)."""
    fs = plan.sample_rate
    if not _speed.moves(plan, seeds):
        return None  # no seed to move: the full-resolution spectrum is not needed
    a, b = memo.checked_span()
    full = memo.full(a, b)
    found = _speed.search(full, plan, seeds)
    if found is None or found.z < _speed.MOVED_Z_FIRE or \
            not _speed.in_every_third(memo.mono[a:b], fs, found, full_spectrum):
        return None
    rough = _comb.envelope_roughness(spectrum.mean_db, spectrum.bin_hz, found.delta_hz, fmax=found.top_hz)
    if rough < _comb.SMOOTH_ENVELOPE_DB:
        return None
    score = CombScore(candidate=found.base, z=found.z, z_low=0.0, teeth=0, lit=0, top_hz=found.top_hz)
    check = check_comb(score, plan, memo.mono[a:b], full, rule, factor=found.factor)
    if check.why:
        return None
    judged = Judgement(z_star=found.z, decisive=score, strongest=score, checks=[*j.checks, check],
                       contrast=check.lattice_contrast, consistency=None, drone=check.drone_share,
                       explained=j.explained)
    return judged, Moved(found=found, full=full)


def _known_reading(j: Judgement, plan: FoldPlan, memo: ScanMemo) -> Moved | None:
    """A published decoder moved by a speed change that reads an exact comb better (see
    :func:`.speed.known_reading`), or None."""
    fs = plan.sample_rate
    exact = j.decisive.candidate
    if _speed.is_known(exact) or exact.rate == fs or memo.mono.shape[0] < MIN_SECONDS_TO_CLEAR * fs:
        return None
    a, b = memo.checked_span()
    full = memo.full(a, b)
    found = _speed.known_reading(full, plan, exact, memo.mono[a:b], full_spectrum)
    return None if found is None else Moved(found=found, full=full, exact=exact)


def _with_part(j: Judgement, located: Located) -> Judgement:
    """The judgement of a track flagged for a generated part: the part's comb and check decide."""
    score = replace(located.score, z=located.part_z)
    check = located.part_check
    return Judgement(z_star=located.part_z, decisive=score, strongest=score, checks=[*j.checks, check],
                     contrast=check.lattice_contrast, consistency=check.consistency, drone=check.drone_share,
                     explained=j.explained)


class AIDetector(Detector):
    spec = SPEC

    def analyze(self, ctx: TrackContext):
        t0 = time.perf_counter()
        fs = int(ctx.info.sample_rate)
        acc: _fold.FoldAccumulator = ctx.observed[self.name]
        seconds = acc.frames / fs

        def undecided(why: str):
            f = Finding.undecided("ai", why, detector=self.name)
            return self.result(findings=[f], seconds=time.perf_counter() - t0)

        if TOP_FRACTION * fs / 2.0 < HIGH_BAND_HZ + 1000.0:
            return undecided(f"sample rate {fs} Hz: the comb is read above {HIGH_BAND_HZ:.0f} Hz, which needs "
                             f"at least {2 * (HIGH_BAND_HZ + 1000.0) / TOP_FRACTION:.0f} Hz")
        if seconds < MIN_SECONDS:
            return undecided(f"{seconds:.2f} s analysed: the comb test needs at least {MIN_SECONDS:g} s")
        plan = acc.plan
        spectra = [fold_spectrum(f, fs) for f in acc.folds()]
        if high_band_bins(spectra, fs) < MIN_HIGH_BAND_BINS:
            return undecided(f"no content above {HIGH_BAND_HZ:.0f} Hz to read a decoder comb on")
        model = model_for(self.config.ai_model)
        rule = model.rule
        scores = score_candidates(spectra, plan)
        mono = acc.mono()
        long_comb = _comb.comb_search(ctx.spectrum.mean_db, fs, ctx.spectrum.n_fft)
        memo = ScanMemo(mono, fs)
        j = judge(scores, plan, memo, rule)
        located = moved = None
        if j.decisive is not None:
            located = locate_detected(j, plan, memo)
            moved = _known_reading(j, plan, memo)
        elif seconds >= MIN_SECONDS_TO_CLEAR:
            located = find_part(j, scores, plan, memo, rule)
            if located is not None:
                j = _with_part(j, located)
            else:
                found = _moved(j, plan, memo, ctx.spectrum, long_comb.dense_best, rule)
                if found is not None:
                    j, moved = found
        detected = j.decisive is not None
        needed = None if detected or seconds >= MIN_SECONDS_TO_CLEAR else MIN_SECONDS_TO_CLEAR
        long_term = _long_term(long_comb, ctx.spectrum, model)
        if moved is not None and long_term.fakeprint_logit is not None:
            long_term = replace(long_term, fakeprint_note=(
                f"the fakeprint reads fixed frequency bins and cannot follow the x{moved.found.factor:.4f} speed "
                "change: its logit is not evidence for this track"))
        evidence = _evidence(j, plan, spectra, seconds, needed, long_term, model, located, moved)
        if needed is not None:
            seen = "no decoder comb fired" if not j.checks else "the combs that fired are explained by the music"
            why = f"{seen} in {seconds:.1f} s; {MIN_SECONDS_TO_CLEAR:g} s are needed to rule out a decoder comb"
            f = Finding("ai", False, None, evidence, inconclusive=True, reason=why, detector=self.name)
        else:
            prob = rule.probability(j.z_star)
            if not detected:
                prob = min(prob, np.nextafter(model.threshold, 0.0))
            f = Finding("ai", detected, round(float(prob), 4), evidence, reason=_reason(j, detected, seconds, located, moved),
                        detector=self.name)
        return self.result(findings=[f], evidence=MappingEvidence({"model_id": model.digest}),
                           seconds=time.perf_counter() - t0)

    def warm_up(self) -> None:
        _fold.warm_up()
        _fp.warm_up()
        _comb.warm_up()
