"""The lossy decision: ordered rules on the measured evidence (:class:`~.evidence.LossyEvidence`), each saying in
words what decided, then the calibrated probability, the codec family and the bitrate class.

The rules, in order (docs/lossy.md, "the decision"):

1. **grid**: a codec-exact grid at z >= Z_DECIDES decides alone and names the family (MP3, MP2, AAC, Vorbis); on a
   clip shorter than MIN_SECONDS it needs SHORT_GRID_Z, else the answer is INCONCLUSIVE;
2. **opus edge**: CELT's 20 kHz band edge over a bare floor (Opus leaves no grid: it decodes at 48 kHz);
3. **wall**: a codec-compatible wall (judged against the rate, :mod:`.walls`) over a bare floor; the family from
   the settings whose decode keeps no grid (LAME's resampled low bitrates) or ``unknown``; a codec-compatible
   wall over a dithered floor is an edge of unknown origin (rule 6);
4. **floor step**: a step of the noise floor at Opus's band edge above music that ends lower;
5. **segments**: lossy-looking walls at one frequency in some 2 s segments but not nearly all (a splice, one
   transcoded track of a compilation);
6. **edge of unknown origin** (the reject class): an edge no codec explains (a converter's, a gentle or shallow
   roll-off, one over a noise or dither floor) is reported with its numbers, never given a family: not lossy;
7. **INCONCLUSIVE** when nothing decided and the clip is too short for the rules above to have ruled a codec
   out (MIN_SECONDS), the upper band holds too little content for a low-pass to show (HF_CONTENT_MIN_DB), or the
   rate lies below the measured codec tables (LOWEST_TABLE_RATE).

Probability: a logistic model over :class:`~.evidence.LossyModelInput` (the largest grid z and which rule
applied), fitted on the dev splits of the reference corpus and its real-world layer, ``models/lossy_decision.json``.
Family: a multinomial logistic model over the grids, the wall and the Opus evidence, whose classes include
``unknown`` (edges that fit no codec, fitted on the genuine files' edges), ``models/lossy_family.json``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .. import model_files
from .codecs import settings_near, wall_only_settings
from .evidence import LossyEvidence, LossyModelInput
from .grid import Z_DECIDES, grid_codec
from .walls import is_bare_floor, opus_edge

#: Model files (``musicforensics/models/``) and their formats.
DECISION_MODEL = "lossy_decision.json"
FAMILY_MODEL = "lossy_family.json"
#: Clip of each grid z inside the models (which take log10(1 + z)).
GRID_Z_CLIP = 1000.0
#: A wall-only, Opus-edge or floor-step verdict, and a clean one, need at least this much audio (s): below it a
#: one-shot's spectrum is one note's, and the grid search has too few frames to rule a codec out.
MIN_SECONDS = 2.0
#: Below MIN_SECONDS a grid decides only from this z: its null is the spread of a handful of frames (1 s clips of
#: real recordings reach z 19 with 10 % isolated zeros against 6 %; MP3-derived 2-3 s excerpts read z 124-193).
SHORT_GRID_Z = 40.0
#: Level (dB re 16-bit rounding) of the band 0.5-0.725 x Nyquist under which a low-pass could hide unseen.
HF_CONTENT_MIN_DB = 20.0
#: Below this rate (Hz) no codec low-pass was measured (the table covers 22.05-48 kHz): only a grid decides.
LOWEST_TABLE_RATE = 22050
#: Segments flagged (at least this many, and this share of decidable ones, but not nearly all: a track with the
#: same wall everywhere is judged as a whole) make a track partly lossy when their walls agree (a codec holds its
#: low-pass; a synthesiser's filter sweep moves): spread at most SEG_MAX_SPREAD_HZ.
SEG_MIN_FLAGGED = 2
SEG_MIN_SHARE = 0.1
SEG_MAX_SHARE = 0.9
SEG_MAX_SPREAD_HZ = 1000.0
#: Floor step that counts (dB), at Opus's band edge.
FLOOR_STEP_MIN_DB = 3.0
#: Names of :func:`family_features`, in order (the family model file must list the same).
FAMILY_FEATURES = ("grid_z_mp3", "grid_z_mp2", "grid_z_aac", "grid_z_vorbis", "grid_excess_aac_minus_vorbis",
                   "codec_wall", "converter_edge", "wall_ratio", "floor_re_16bit_db", "steepness_per_100",
                   "opus_edge", "floor_step_per_10db", "lame_resampled_wall", "log_band_breaks")
#: Clip of the family floor feature (floor above the wall re 16-bit rounding), dB.
FAMILY_FLOOR_CLIP_DB = (0.0, 12.0)
#: Band-break rate floor inside log10(rate + BREAKS_EPS).
BREAKS_EPS = 1e-4
#: Family label of a detection whose evidence fits no codec.
UNKNOWN = "unknown"


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@functools.cache
def decision_model() -> dict:
    """The shipped calibration model (intercept, weights over :class:`~.evidence.LossyModelInput`), parsed once."""
    return model_files.load(DECISION_MODEL, expected_format="musicforensics-lossy-decision", versions=(2,))[0]


@functools.cache
def family_model() -> dict:
    """The shipped codec-family / bitrate-class model, parsed once per process."""
    model = model_files.load(FAMILY_MODEL, expected_format="musicforensics-lossy-family-model", versions=(2,))[0]
    if tuple(model["features"]) != FAMILY_FEATURES:
        raise model_files.ModelError(f"{FAMILY_MODEL}: features {model['features']} != {FAMILY_FEATURES}")
    return model


def _log_z(z: float | None) -> float:
    return math.log10(1.0 + min(max(float(z or 0.0), 0.0), GRID_Z_CLIP))


@dataclass(frozen=True)
class Rule:
    """Which rule applies to measured evidence, before any model: ``state`` (``lossy``, ``clean`` or
    ``inconclusive``), ``via`` (the rule's name), the reason in words, and the family a rule names by itself
    (a grid's codec, Opus, a wall-only setting's family; None otherwise)."""

    state: str
    via: str
    reason: str
    family: str | None = None


def _seconds(ev: LossyEvidence) -> float:
    return float(ev.analysed_seconds if ev.analysed_seconds is not None else ev.excerpt.seconds)


def _partial(ev: LossyEvidence) -> tuple[bool, float]:
    seg = ev.segments
    if not seg or not seg.decided:
        return False, 0.0
    share = seg.flagged / seg.decided
    walls = [w for w, f in zip(seg.walls_hz, seg.flags) if f and w]
    agree = bool(walls) and max(walls) - min(walls) <= SEG_MAX_SPREAD_HZ
    return seg.flagged >= SEG_MIN_FLAGGED and SEG_MIN_SHARE <= share <= SEG_MAX_SHARE and agree, share


def sample_rate_of(ev: LossyEvidence) -> int:
    """The file's sample rate (evidence written before it was recorded: from the wall search bound)."""
    return int(ev.sample_rate) if ev.sample_rate else int(2 * (ev.wall_search_max_hz + 300.0))


def wall_only_family(ev: LossyEvidence) -> tuple[str | None, str]:
    """(family, settings in words) of the codec settings whose decode keeps no grid and whose low-pass matches
    the wall (LAME's resampled low bitrates, Opus), or (None, '')."""
    if ev.wall is None:
        return None, ""
    found = wall_only_settings(sample_rate_of(ev), ev.wall.freq_hz)
    families = sorted({s.family for s in found})
    if len(families) != 1:
        return None, ""
    return families[0], ", ".join(s.label for s in found[:4])


def apply_rules(ev: LossyEvidence) -> Rule:
    """The rule that decides (module docstring, rules 1-7)."""
    secs = _seconds(ev)
    j = ev.wall_judgement
    jtext = j.text if j is not None else "no edge"
    grid = ev.grid
    best = grid_codec(grid.scores) if grid.scores else None
    z = float(grid.z or 0.0)
    if best is not None and z >= Z_DECIDES:
        s = grid.scores[best]
        if secs < MIN_SECONDS and z < SHORT_GRID_Z:
            return Rule("inconclusive", "short", f"{best} frame grid at z {s.z:.0f} ({s.share:.0%} isolated exact "
                                                 f"zeros against {s.null:.0%}), but on a {secs:.1f} s clip its null "
                                                 f"rests on too few frames: at least {MIN_SECONDS:g} s needed, or "
                                                 f"z >= {SHORT_GRID_Z:g}")
        at = (f" read at {grid.read_at_hz / 1000:g} kHz (the excerpt resampled to the rate the codec ran at, "
              f"just above the edge: resampled up after decoding, the grid survives only there)"
              if grid.read_at_hz else "")
        return Rule("lossy", "grid", f"{best} frame grid{at}: its analysis at alignment {s.offset} leaves "
                                      f"{s.share:.0%} isolated exact zeros against {s.null:.0%} at other "
                                      f"alignments (z {s.z:.0f}); {jtext}", best)
    rate = sample_rate_of(ev)
    q16 = ev.q16_floor_db
    if rate < LOWEST_TABLE_RATE:
        return Rule("inconclusive", "rate", f"sample rate {rate} Hz: below the rates whose codec low-passes were "
                                            f"measured ({LOWEST_TABLE_RATE / 1000:g}-48 kHz; Nyquist "
                                            f"{rate / 2000:g} kHz), and no codec grid")
    if opus_edge(ev.wall, rate, q16):
        if secs < MIN_SECONDS:
            return Rule("inconclusive", "short", f"{jtext}, like Opus's 20 kHz band edge, but a {secs:.1f} s clip "
                                                 f"is too short to call it (at least {MIN_SECONDS:g} s needed)")
        return Rule("lossy", "opus edge", f"{jtext}; Opus's 20 kHz band edge over an undithered floor (Opus "
                                          f"decodes at 48 kHz and keeps no codec grid)", "opus")
    if j is not None and j.kind == "codec":
        if not is_bare_floor(ev.wall, q16):
            return Rule("clean", "edge of unknown origin", f"edge of unknown origin: {jtext}; steep, but over a "
                                                          f"dithered or noise floor and with no codec grid")
        if secs < MIN_SECONDS:
            return Rule("inconclusive", "short", f"{jtext}: a codec-like wall, but a {secs:.1f} s clip is too "
                                                 f"short for a verdict on the wall alone (at least "
                                                 f"{MIN_SECONDS:g} s needed)")
        family, which = wall_only_family(ev)
        near = settings_near(rate, ev.wall.freq_hz)
        text = f"the wall matches {which}" if which else (
            f"no codec grid; settings with a low-pass here: {', '.join(s.label for s in near[:4])}" if near
            else "no codec grid, and no measured codec setting puts its low-pass here")
        return Rule("lossy", "wall", f"{jtext} over an undithered floor; {text}", family)
    step = ev.floor_step
    if step is not None and step.step_db >= FLOOR_STEP_MIN_DB and secs >= MIN_SECONDS:
        return Rule("lossy", "floor step", f"the noise floor steps down {step.step_db:.1f} dB at "
                                           f"{step.freq_hz / 1000:.2f} kHz to rounding level (Opus's 20 kHz band "
                                           f"edge above music that ends lower); no codec grid", "opus")
    partial, share = _partial(ev)
    if partial:
        seg = ev.segments
        return Rule("lossy", "segments", f"{seg.flagged} of {seg.decided} segments show a lossy wall (from "
                                         f"{seg.flagged_starts_s[0]:.0f} s): partly lossy")
    if ev.hf_content_re_16bit_db < HF_CONTENT_MIN_DB:
        if math.isfinite(ev.hf_content_re_16bit_db):
            why = (f"too little content high in the band to judge (0.5-0.725 x Nyquist at "
                   f"{ev.hf_content_re_16bit_db:.0f} dB above 16-bit rounding noise) and no codec grid")
        else:
            why = "no content in the upper band to judge and no codec grid"
        if j is not None and j.kind != "none":
            why += f"; {'the edge' if j.kind == 'codec' else 'edge of unknown origin'}: {jtext}"
        return Rule("inconclusive", "content", why)
    if j is not None and j.kind in ("converter", "gentle", "shallow", "noise floor"):
        return Rule("clean", "edge of unknown origin", f"edge of unknown origin: {jtext}; no codec grid")
    if secs < MIN_SECONDS:
        return Rule("inconclusive", "short", f"a {secs:.1f} s clip is too short for the grid search to rule a codec "
                                             f"out (at least {MIN_SECONDS:g} s needed); {jtext}")
    return Rule("clean", "no evidence", f"{jtext}; no codec grid (largest z {z:.1f})")


def model_input(ev: LossyEvidence, rule: Rule) -> LossyModelInput:
    """The calibration model's input of measured evidence and the rule that applied."""
    partial, _ = _partial(ev)
    return LossyModelInput(
        grid_log_z=round(_log_z(ev.grid.z), 5),
        codec_wall=float(rule.via == "wall"),
        opus_edge=float(rule.via == "opus edge"),
        floor_step=float(rule.via == "floor step"),
        segments=float(partial),
        unknown_edge=float(rule.via == "edge of unknown origin"),
    )


def lossy_probability(x: LossyModelInput) -> float:
    """Calibrated P(lossy) of a model input (weights in ``models/lossy_decision.json``)."""
    m = decision_model()
    return _sigmoid(m["intercept"] + sum(w * v for w, v in zip(m["weights"], x.vector())))


def family_features(ev: LossyEvidence) -> dict[str, float]:
    """The codec-family model's input (names in FAMILY_FEATURES): log10(1 + z) of each grid (0 when it did not
    run); 10 x (the AAC grid's excess zero share over its null minus the Vorbis grid's: both 1024-hop grids light
    up on either codec, the right window leaves more zeros); whether the wall is codec-compatible or a
    converter's; the wall as a fraction of Nyquist (1 without a wall); the floor above it re 16-bit rounding,
    clipped to FAMILY_FLOOR_CLIP_DB (its top without a wall); steepness / 100 clipped to [0, 4]; Opus's edge; the
    floor step / 10 dB; whether the wall matches a LAME setting that resampled internally; log10 band-break
    rate + 4."""
    scores = ev.grid.scores
    gz = {c: _log_z(scores[c].z) if c in scores else 0.0 for c in ("mp3", "mp2", "aac", "vorbis")}
    excess = [float(scores[c].share - scores[c].null) if c in scores else 0.0 for c in ("aac", "vorbis")]
    j = ev.wall_judgement
    rate = sample_rate_of(ev)
    wall = ev.wall if j is not None and j.kind != "none" else None
    lame = 0.0
    if wall is not None:
        lame = float(any(s.encoder == "lame" for s in wall_only_settings(rate, wall.freq_hz)))
    step = ev.floor_step.step_db if ev.floor_step is not None else 0.0
    values = (
        gz["mp3"], gz["mp2"], gz["aac"], gz["vorbis"], 10.0 * (excess[0] - excess[1]),
        float(j is not None and j.kind == "codec"), float(j is not None and j.kind == "converter"),
        float(j.ratio_to_nyquist) if wall is not None and j.ratio_to_nyquist else 1.0,
        float(np.clip(wall.floor_db - ev.q16_floor_db, *FAMILY_FLOOR_CLIP_DB)) if wall is not None
        else FAMILY_FLOOR_CLIP_DB[1],
        float(np.clip(wall.steepness_db_per_khz / 100.0, 0.0, 4.0)) if wall is not None else 0.0,
        float(opus_edge(ev.wall, rate, ev.q16_floor_db)), min(max(step, 0.0), 30.0) / 10.0, lame,
        math.log10(float(ev.band_breaks.rate or 0.0) + BREAKS_EPS) + 4.0,
    )
    return {k: round(float(v), 5) for k, v in zip(FAMILY_FEATURES, values)}


def family_probabilities(features: dict[str, float], model: dict | None = None) -> dict[str, float]:
    """P(family | features) from the multinomial logistic model: softmax(W [(x - mean) / scale] + b), over the
    codec families and UNKNOWN."""
    m = model or family_model()
    x = np.asarray([features[f] for f in FAMILY_FEATURES], float)
    z = (x - np.asarray(m["mean"])) / np.asarray(m["scale"])
    logits = np.asarray(m["intercepts"]) + np.asarray(m["weights"]) @ z  # weights: (classes, features)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {f: float(q) for f, q in zip(m["families"], p)}


def bitrate_probabilities(family: str, wall_khz: float, model: dict | None = None) -> dict[str, float]:
    """P(bitrate class | family, wall) at 44.1 / 48 kHz with equal priors: each class's wall frequency (kHz;
    the file's Nyquist when there is no wall) is Gaussian with the median and robust spread (1.4826 MAD)
    measured on the dev transcodes of that class."""
    classes = (model or family_model())["bitrate_classes"].get(family) or []
    if not classes:
        return {}
    loglik = np.array([-0.5 * ((wall_khz - c["wall_khz_mean"]) / c["wall_khz_sd"]) ** 2 - math.log(c["wall_khz_sd"])
                       for c in classes])
    p = np.exp(loglik - loglik.max())
    p /= p.sum()
    return {c["label"]: float(q) for c, q in zip(classes, p)}


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` concludes: the reported probability (None when inconclusive), the verdict state
    (``lossy``, ``clean``, ``inconclusive``), the rule that decided and why, whether it is a partly lossy track,
    the codec family (None unless lossy) with every class's probability, and the models' inputs."""

    p: float | None
    p_model: float
    state: str
    via: str
    reason: str
    partial: bool
    family: str | None
    family_p: dict
    model_input: LossyModelInput
    family_input: dict

    @property
    def detected(self) -> bool:
        return self.state == "lossy"


def decide(ev: LossyEvidence) -> Decision:
    """The decision from measured evidence (also used by the calibration script to re-decide cached rows)."""
    rule = apply_rules(ev)
    x = model_input(ev, rule)
    p_model = lossy_probability(x)
    features = family_features(ev)
    probs = family_probabilities(features)
    family = None
    if rule.state == "lossy":
        pool = {f: q for f, q in probs.items() if not (rule.via == "grid" and f == UNKNOWN)}
        family = max(pool, key=pool.get)
        if rule.via == "grid":
            family = rule.family  # the grid that fired is exact: it names the codec
        probs = {f: q / sum(pool.values()) for f, q in pool.items()}
    p = None if rule.state == "inconclusive" else p_model
    return Decision(p=p, p_model=p_model, state=rule.state, via=rule.via, reason=rule.reason,
                    partial=rule.via == "segments", family=family, family_p={f: round(q, 4) for f, q in probs.items()},
                    model_input=x, family_input=features)
