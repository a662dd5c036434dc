"""The lossy decision: the calibrated probability, the rules that decide on their own, the codec family and
the bitrate class, all computed from the measured evidence (:class:`~.evidence.LossyEvidence`).

* **Model**: ``p = 1 / (1 + exp(-(b0 + b . x)))`` over :class:`~.evidence.LossyModelInput` (wall drop into
  digital silence, floor above the wall, hole rate, frame-grid z), fitted on the reference corpus's dev split
  and shipped in ``models/lossy_decision.json`` with its decision threshold;
* **segments**: lossy-looking walls in enough 2 s segments mark a partly lossy track (a splice, one transcoded
  track in a compilation) even when the whole-track spectrum is dominated by genuine material;
* **grid**: a clear codec frame grid (z >= the model file's ``grid_z_lossy``) decides on its own (codecs that
  leave no wall: AAC >= 256 kbps, LAME V0/320);
* **family**: a multinomial logistic model over 13 measured features (:data:`FAMILY_FEATURES`) and per-class
  wall Gaussians for the bitrate class, shipped in ``models/lossy_family.json``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .. import model_files
from ..spectral.wall import Wall
from .evidence import HoleRates, LossyEvidence, LossyModelInput

#: Model files (``musicforensics/models/``) and their formats.
DECISION_MODEL = "lossy_decision.json"
FAMILY_MODEL = "lossy_family.json"

#: Highest wall frequency that counts as a lossy low-pass, Hz. Lossy walls sit at or below ~20.8 kHz (MP2
#: sub-band limit, LAME 320 at 20.1-20.6 kHz); soxr 48 -> 44.1 kHz leaves a genuine edge at 21.6-22 kHz
#: (21.15-21.23 kHz measured on the dev split), which this bound keeps out.
WALL_MAX_HZ = 21000.0
#: Drop (dB) below which no wall is reported at all.
WALL_MIN_DROP_DB = 12.0
#: Clip of the drop feature, dB (beyond this a deeper floor adds no evidence).
DROP_CLIP_DB = 60.0
#: Clip of the floor feature (floor above the wall minus 16-bit rounding level), dB.
FLOOR_CLIP_DB = (-10.0, 50.0)
#: Floor-above-wall value used when no wall was found (a "noise" floor), dB re 16-bit rounding.
NO_WALL_FLOOR_DB = 40.0
#: A floor no more than this many dB above 16-bit rounding noise is "digital silence".
SILENT_FLOOR_MARGIN_DB = 10.0
#: Hole-rate floor inside the log feature log10(rate + HOLE_EPS).
HOLE_EPS = 1e-4
#: Clip of the grid z inside the model (beyond it, more z adds no evidence).
GRID_Z_CLIP = 20.0
#: Segments flagged (at least this many, and this share of decidable segments) make a track lossy even when
#: the whole-track spectrum is dominated by genuine material (splices, one transcoded track).
SEG_MIN_FLAGGED = 2
SEG_MIN_SHARE = 0.1
#: Names of :func:`family_features`, in order (the family model file must list the same).
FAMILY_FEATURES = ("wall_khz", "floor_re_16bit_db", "steepness_per_100", "log_holes_4_11k", "log_holes_11_16k",
                   "log_holes_16_19k", "grid_z_aac", "grid_z_vorbis", "grid_z_mp3", "segment_wall_spread_khz",
                   "wall_drop_per_60", "grid_excess_aac_minus_vorbis", "log_band_breaks")
#: Clip of the family floor feature (floor above the wall re 16-bit rounding), dB.
FAMILY_FLOOR_CLIP_DB = (0.0, 8.0)
#: Clip of each codec's frame-grid z inside the family features (which take log10(1 + z)).
FAMILY_GRID_Z_CLIP = 1000.0


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@functools.cache
def decision_model() -> dict:
    """The shipped logistic decision model (intercept, weights, threshold, grid-alone z), parsed once."""
    return model_files.load(DECISION_MODEL, expected_format="musicforensics-lossy-decision")[0]


@functools.cache
def family_model() -> dict:
    """The shipped codec-family / bitrate-class model, parsed once per process."""
    model = model_files.load(FAMILY_MODEL, expected_format="musicforensics-lossy-family-model")[0]
    if tuple(model["features"]) != FAMILY_FEATURES:
        raise model_files.ModelError(f"{FAMILY_MODEL}: features {model['features']} != {FAMILY_FEATURES}")
    return model


def decision_threshold() -> float:
    """Probability at or above which the model calls a track lossy."""
    return float(decision_model()["decision_threshold"])


def grid_z_lossy() -> float:
    """Frame-grid z at or above which the grid alone makes a track lossy."""
    return float(decision_model()["grid_z_lossy"])


def wall_vector(wall: Wall | None, q16_db: float, holes_max: float) -> tuple[float, float, float]:
    """(drop/10, floor/10, log10(hole rate + eps) + 4) with the clips documented above; the drop counts only
    when the floor above the wall is digital silence."""
    if wall is not None and wall.freq_hz <= WALL_MAX_HZ and wall.drop_db >= WALL_MIN_DROP_DB:
        floor = float(np.clip(wall.floor_db - q16_db, *FLOOR_CLIP_DB))
        # only a wall into digital silence counts as drop evidence (a noise floor above is analogue-like)
        drop = min(wall.drop_db, DROP_CLIP_DB) if floor <= SILENT_FLOOR_MARGIN_DB else 0.0
    else:
        drop, floor = 0.0, NO_WALL_FLOOR_DB
    return (drop / 10.0, floor / 10.0, math.log10(holes_max + HOLE_EPS) + 4.0)


def model_input(ev: LossyEvidence) -> LossyModelInput:
    """The model input of measured evidence: the wall/holes vector ``ev.x`` and the frame-grid z clipped to
    [0, GRID_Z_CLIP], / 10."""
    gz = float(ev.grid.z or 0.0)
    drop, floor, holes = ev.x[:3]
    return LossyModelInput(drop, floor, holes, min(max(gz, 0.0), GRID_Z_CLIP) / 10.0)


def lossy_probability(x: LossyModelInput) -> float:
    """Calibrated P(lossy) of a model input (weights in ``models/lossy_decision.json``)."""
    m = decision_model()
    return _sigmoid(m["intercept"] + sum(w * v for w, v in zip(m["weights"], x.vector())))


def family_vector(wall_khz: float, floor_db: float, steep: float, holes: HoleRates) -> tuple[float, ...]:
    """(wall kHz, floor above the wall re 16-bit rounding clipped to FAMILY_FLOOR_CLIP_DB, steepness / 100
    clipped to [0, 4], log10 hole rate + 4 per region). The floor separates MP2 (twolame leaves ~2.5-5 dB
    above rounding noise over its wall) from MP3 / Vorbis / Opus (~0.5 dB); the wall and steepness Opus
    (CELT's 20 kHz band edge, ~65-70 dB/kHz after resampling) from LAME 320."""
    rates = [holes.rate(k) for k in ("4-11k", "11-16k", "16-19.5k")]
    return (wall_khz, float(np.clip(floor_db, *FAMILY_FLOOR_CLIP_DB)), float(np.clip(steep / 100.0, 0.0, 4.0)),
            *[math.log10((r or 0.0) + HOLE_EPS) + 4.0 for r in rates])


def family_features(ev: LossyEvidence) -> dict[str, float]:
    """The codec-family model's input (names in FAMILY_FEATURES): the family vector ``ev.family_x``,
    log10(1 + each codec's frame-grid z clipped to [0, FAMILY_GRID_Z_CLIP]) (the grid names AAC and Vorbis, and
    LAME's 576-line granule MP3), the spread of the per-segment walls in kHz (VBR MP3 and Vorbis move their
    low-pass with the bit budget; Opus and CBR encoders hold it), the wall's drop / 60 dB, 10 x the AAC grid's
    excess zero share over its null minus the Vorbis grid's, and log10 band-break rate + 4 (Vorbis and AAC
    break most, LAME less, Opus almost never)."""
    scores = ev.grid.scores
    gz = [math.log10(1.0 + min(max(float(scores[c].z if c in scores else 0.0), 0.0), FAMILY_GRID_Z_CLIP))
          for c in ("aac", "vorbis", "mp3")]
    # AAC and Vorbis share the 1024 hop, so both grids light up on either; the window that fits leaves more
    # zeros than its null (the excess share), which tells them apart (as grid.grid_codec does)
    excess = [float(scores[c].share - scores[c].null) if c in scores else 0.0 for c in ("aac", "vorbis")]
    walls = [w for w in (ev.segments.walls_hz if ev.segments else ()) if w]
    spread = float(np.std(walls)) / 1000.0 if len(walls) > 1 else 0.0
    drop = min(float(ev.wall.drop_db or 0.0), DROP_CLIP_DB) / 60.0 if ev.wall_counts and ev.wall else 0.0
    breaks = math.log10(float(ev.band_breaks.rate or 0.0) + HOLE_EPS) + 4.0
    values = (*ev.family_x, *gz, spread, drop, 10.0 * (excess[0] - excess[1]), breaks)
    return dict(zip(FAMILY_FEATURES, values))


def family_probabilities(features: dict[str, float], model: dict | None = None) -> dict[str, float]:
    """P(family | features) from the multinomial logistic model: softmax(W^T [1, (x - mean) / scale])."""
    m = model or family_model()
    x = np.asarray([features[f] for f in FAMILY_FEATURES], float)
    z = (x - np.asarray(m["mean"])) / np.asarray(m["scale"])
    logits = np.asarray(m["intercepts"]) + np.asarray(m["weights"]) @ z  # weights: (families, features)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {f: float(q) for f, q in zip(m["families"], p)}


def bitrate_probabilities(family: str, wall_khz: float, model: dict | None = None) -> dict[str, float]:
    """P(bitrate class | family, wall) with equal priors: each class's wall frequency (kHz; the file's Nyquist
    when there is no wall) is Gaussian with the median and robust spread (1.4826 MAD) measured on the dev
    transcodes of that class."""
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
    """What :func:`decide` concludes: the reported probability, the model's own, the verdict, whether it is a
    partly lossy track, which evidence decided (``model``, ``segments`` or ``grid``), and the codec family."""

    p: float
    p_model: float
    detected: bool
    partial: bool
    via: str
    family: str
    family_p: dict
    model_input: LossyModelInput
    family_input: dict


def decide(ev: LossyEvidence) -> Decision:
    """The decision from measured evidence (also used by the calibration script to re-decide cached rows)."""
    x = model_input(ev)
    p_model = lossy_probability(x)
    threshold = decision_threshold()
    seg = ev.segments
    decided = seg.decided if seg else 0
    flagged = seg.flagged if seg else 0
    share = (flagged / decided) if decided else 0.0
    partial = flagged >= SEG_MIN_FLAGGED and share >= SEG_MIN_SHARE and p_model < threshold
    p, via = p_model, "model"
    if partial:
        # splice / one transcoded track: the segment evidence decides; probability from the flagged share
        p, via = max(p, min(0.99, 0.5 + share / 2)), "segments"
    gz = float(ev.grid.z or 0.0)
    gz_alone = grid_z_lossy()
    if gz >= gz_alone and p < threshold:
        p, via = min(0.999, 0.5 + 0.5 * (1.0 - gz_alone / gz) + 0.01), "grid"
    # the segment and grid rules are decision rules of their own (calibrated separately), not model scores
    detected = p_model >= threshold or via in ("segments", "grid")
    features = family_features(ev)
    probs = family_probabilities(features)
    family = max(probs, key=probs.get)
    return Decision(p=p, p_model=p_model, detected=detected, partial=bool(partial), via=via, family=family,
                    family_p={f: round(q, 4) for f, q in probs.items()}, model_input=x, family_input=features)
