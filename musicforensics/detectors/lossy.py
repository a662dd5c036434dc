"""Lossy origin ("fake lossless"): a lossless file whose content went through a lossy codec.

Evidence, all reported (docs/lossy.md):

* the **wall** of the long-term spectrum (:func:`musicforensics.dsp.wall.find_wall` on the spine's mean
  dB spectrum): frequency, steepness in dB/kHz, and the floor above it (level relative to 16-bit rounding
  noise, and its flatness): a lossy low-pass leaves digital silence above a steep edge, an analogue roll-off
  a noise floor above a gradual one (SCIENCE.md section 1);
* **holes** (and the MP3 sfb21 flicker above 16 kHz) on a <= 30 s excerpt
  (:mod:`._lossy_features`), which also catches codecs that leave no wall;
* the codec **frame grid** on the same excerpt (:func:`._lossy_features.frame_grid`): the MDCT of the decoded
  PCM at the codec's frame offset and with its window gives back the quantised spectrum, full of exact zeros
  (AAC: KBD window, hop 1024; Vorbis: power-sine window, hop 1024; MP3: approximated by a 576-line sine MDCT);
  the zero share at the best offset against the file's own other offsets (z) detects codecs that leave no
  wall (AAC >= 256 kbps, LAME V0/320) and names the codec;
* **band breaks** on the same excerpt (:mod:`._band_breaks`): a live band next to a digitally silent one
  within one frame (per-band quantisation to zero);
* **segments**: the wall test repeated on every 2 s row of the spine's segment x band matrix, so a spliced
  lossy stretch or one transcoded track in a compilation shows up where it is.

The features are combined by a logistic model fitted on the dev split (``benchmarks/calibrate_lossy.py``),
and a clear grid (z >= GRID_Z_LOSSY) decides on its own. The codec family comes from a multinomial logistic
model over the measured evidence (:func:`family_features`: wall, floor, steepness, holes, grid z per codec,
band breaks, ...), the bitrate class from per-class wall Gaussians, both fitted on the dev transcodes and
shipped in ``models/lossy_family.json``; in an upsampled file, walls near the source Nyquist are the
resampler's and are not searched (UPSAMPLED_WALL_RATIO).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from importlib import resources

import numpy as np

from ..dsp.wall import Wall, find_wall, find_walls, quantisation_floor_db
from ..results import Finding
from . import _lossy_features as feat
from . import hires
from ._band_breaks import band_breaks
from .base import Detector, TrackContext

#: Lowest frequency searched for a wall, Hz (MP3 at 64 kbps cuts near 11 kHz; lower walls are telephone
#: bands, still found, since the search is over [WALL_MIN_HZ, WALL_MAX_HZ]).
WALL_MIN_HZ = 8000.0
#: Highest wall frequency that counts as a lossy low-pass, Hz. Lossy walls sit at or below ~20.8 kHz (MP2
#: sub-band limit, LAME 320 at 20.1-20.6 kHz); soxr 48 -> 44.1 kHz leaves a genuine edge at 21.6-22 kHz
#: (SCIENCE.md; 21.15-21.23 kHz measured on the dev split), which this bound keeps out.
WALL_MAX_HZ = 21000.0
#: In a file upsampled from a lower rate r (:func:`.hires.source_candidate`), walls are searched only below
#: this fraction of r / 2: the resampler's anti-imaging filter and the source's own content edge sit just under
#: r / 2 over an empty band, exactly like a codec low-pass (dev split: an ffmpeg 44.1 -> 96 kHz upsample of a
#: genuine render showed a 20.70 kHz "wall", 0.94 of 22.05 kHz, with model probability 0.82). The price: an
#: MP3 320 / Opus transcode that was then upsampled is found only by its grid or holes, not its wall.
UPSAMPLED_WALL_RATIO = 0.9
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
#: The 11-16 kHz level (dB re 16-bit rounding) under which a track without evidence is INCONCLUSIVE.
HF_CONTENT_MIN_DB = 20.0

# -- logistic model: p = 1 / (1 + exp(-(b0 + b . x))), x = (drop/10, floor/10, log10 hole rate + 4,
#    min(grid z, 20)/10) (:func:`model_x`) ------------------------------------------------------------------
#: Fitted by ``python -m benchmarks.calibrate_lossy --manifest corpus_full/manifest.csv`` on the dev split of
#: the full reference corpus (``--size full --seed 0``: 326 dev rows, 279 lossy; L2-regularised logistic
#: regression, lambda 0.1, Newton steps); see docs/lossy.md. (Earlier fit: three small corpora, 120 dev rows.)
LOGIT_INTERCEPT = -5.8151
LOGIT_WEIGHTS = (2.4487, 0.1098, 2.7733, 5.3669)
#: Clip of the grid z inside the model (beyond it, more z adds no evidence).
GRID_Z_CLIP = 20.0
#: Decision threshold on the probability, set on the dev split of the full reference corpus: just above the
#: highest model probability of its negatives, 0.744 (a genuine render resampled 48 -> 44.1 kHz by soxr, whose
#: anti-alias edge at 20.83 kHz looks like a shallow wall). The previous highest, 0.822 (an ffmpeg 44.1 -> 96 kHz
#: upsample), no longer has a wall since walls of upsampled files are searched below UPSAMPLED_WALL_RATIO x the
#: source Nyquist; the threshold was 0.83 before that change.
DECISION_P = 0.75

# -- segment-level test on the spine's (segment x 250 Hz band) matrix ---------------------------------------
#: A segment is lossy-looking when its wall drops at least this much (dB) into a silent floor.
SEG_DROP_DB = 30.0
#: Segments flagged (at least this many, and this share of decidable segments) make a track lossy even when
#: the whole-track spectrum is dominated by genuine material (splices, one transcoded track).
SEG_MIN_FLAGGED = 2
#: A segment drop this deep (dB, within ~1.5 kHz) counts even over a floor above digital silence: the Hann
#: leakage of loud content leaves such a floor at 250 Hz resolution; no analogue roll-off is that steep.
SEG_DEEP_DROP_DB = 55.0
SEG_MIN_SHARE = 0.1
#: A segment wall closer than this (Hz) to a too-high whole-track edge is that edge (at 250 Hz resolution).
SEG_SAME_EDGE_HZ = 750.0

# -- codec family and bitrate class: a multinomial logistic model over :func:`family_features`, and per-family
#    Gaussian wall likelihoods, both fitted on the dev transcodes of the reference corpus by
#    ``benchmarks/calibrate_lossy.py`` and shipped in FAMILY_MODEL_RESOURCE with their provenance ------------
#: Package resource holding the fitted family / bitrate-class model (JSON).
FAMILY_MODEL_RESOURCE = "models/lossy_family.json"
#: Names of :func:`family_features`, in order (the model file must list the same).
FAMILY_FEATURES = ("wall_khz", "floor_re_16bit_db", "steepness_per_100", "log_holes_4_11k", "log_holes_11_16k",
                   "log_holes_16_19k", "grid_z_aac", "grid_z_vorbis", "grid_z_mp3", "segment_wall_spread_khz",
                   "wall_drop_per_60", "grid_excess_aac_minus_vorbis", "log_band_breaks")
#: Clip of the family floor feature (floor above the wall re 16-bit rounding), dB.
FAMILY_FLOOR_CLIP_DB = (0.0, 8.0)
#: Clip of each codec's frame-grid z inside the family features (which take log10(1 + z)).
FAMILY_GRID_Z_CLIP = 1000.0
#: A detected track's reason cites the frame grid of its family when that grid's z reaches this: below it
#: the grids of AAC / Vorbis / MP3 are not told apart reliably on dev.
GRID_Z_FAMILY = 5.0
#: Frame-grid evidence (:func:`._lossy_features.frame_grid`): a track whose best codec grid stands this many
#: robust standard deviations above the file's own null is lossy whatever its wall says (codecs that leave no
#: wall: AAC >= 256 kbps, LAME V0/320). Calibrated on the dev split of the full reference corpus: the largest z
#: of its 63 genuine / hard-negative dev files is 4.56, times 1.5 = 6.84 (docs/lossy.md). (The first value, 5.1,
#: came from 33 small-corpus dev files, max 3.38, and let a soxr-resampled eval file with z 5.12 through.)
GRID_Z_LOSSY = 6.84

#: Bitrate class from the wall frequency per family (upper wall bound in Hz, label), SCIENCE.md wall table.
BITRATE_CLASSES = {
    "mp3": ((15800, "<=96 kbps"), (17150, "128 kbps / V5"), (18200, "160 kbps"), (19250, "192 kbps / V2"),
            (20000, "256 kbps"), (1e9, "320 kbps / V0")),
    "aac": ((16600, "<=96 kbps"), (18300, "128 kbps"), (19900, "192 kbps"), (1e9, ">=256 kbps")),
    "vorbis": ((16000, "q0-q1"), (17800, "q2-q3"), (19600, "q4"), (20900, "q5"), (1e9, ">=q6")),
    "opus": ((1e9, "any (20 kHz band limit)"),),
    "mp2": ((1e9, ">=192 kbps"),),
}
#: Expected lowest wall of a lossy container at its bitrate (kbps upper bound, Hz): content whose wall sits
#: more than GENERATION_MARGIN_HZ below it went through an earlier, lower-quality generation.
CONTAINER_WALL_HZ = {
    "mp3": ((100, 15000), (140, 16400), (176, 17100), (224, 18600), (288, 19300), (1e9, 19900)),
    "vorbis": ((100, 15000), (140, 16500), (176, 17000), (224, 18800), (1e9, 19900)),
    "opus": ((1e9, 19500),),
}
GENERATION_MARGIN_HZ = 1500.0


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def model_x(ev: dict) -> tuple[float, ...]:
    """Input of the logistic model: the wall/holes vector ``ev["x"]`` and the frame-grid z clipped to
    [0, GRID_Z_CLIP], / 10."""
    gz = float((ev.get("grid") or {}).get("z") or 0.0)
    return (*ev["x"][:3], min(max(gz, 0.0), GRID_Z_CLIP) / 10.0)


def lossy_probability(x: tuple[float, ...]) -> float:
    """Calibrated P(lossy) from the model input (:func:`model_x`; see LOGIT_WEIGHTS)."""
    return _sigmoid(LOGIT_INTERCEPT + sum(w * v for w, v in zip(LOGIT_WEIGHTS, x)))


def feature_vector(wall: Wall | None, q16_db: float, holes_max: float) -> tuple[float, float, float]:
    """(drop/10, floor/10, log10(hole rate + eps) + 4) with the clips documented above; the drop counts only
    when the floor above the wall is digital silence."""
    if wall is not None and wall.freq_hz <= WALL_MAX_HZ and wall.drop_db >= WALL_MIN_DROP_DB:
        floor = float(np.clip(wall.floor_db - q16_db, *FLOOR_CLIP_DB))
        # only a wall into digital silence counts as drop evidence (a noise floor above is analogue-like)
        drop = min(wall.drop_db, DROP_CLIP_DB) if floor <= SILENT_FLOOR_MARGIN_DB else 0.0
    else:
        drop, floor = 0.0, NO_WALL_FLOOR_DB
    return (drop / 10.0, floor / 10.0, math.log10(holes_max + HOLE_EPS) + 4.0)


def family_vector(wall_khz: float, floor_db: float, steep: float, holes: dict) -> tuple[float, ...]:
    """(wall kHz, floor above the wall re 16-bit rounding clipped to FAMILY_FLOOR_CLIP_DB, steepness / 100
    clipped to [0, 4], log10 hole rate + 4 per region). The floor separates MP2 (twolame leaves ~2.5-5 dB
    above rounding noise over its wall) from MP3 / Vorbis / Opus (~0.5 dB); the wall and steepness Opus
    (CELT's 20 kHz band edge, ~65-70 dB/kHz after resampling) from LAME 320."""
    rates = [holes.get(k, {}).get("rate") for k in ("4-11k", "11-16k", "16-19.5k")]
    return (wall_khz, float(np.clip(floor_db, *FAMILY_FLOOR_CLIP_DB)), float(np.clip(steep / 100.0, 0.0, 4.0)),
            *[math.log10((r or 0.0) + HOLE_EPS) + 4.0 for r in rates])


def family_features(ev: dict) -> tuple[float, ...]:
    """The codec-family model's input (names in FAMILY_FEATURES): :func:`family_vector` (``ev["family_x"]``),
    log10(1 + each codec's frame-grid z clipped to [0, FAMILY_GRID_Z_CLIP]) (the grid names AAC and Vorbis,
    and LAME's 576-line granule MP3), the spread of the per-segment walls in kHz (VBR MP3 and Vorbis move their
    low-pass with the bit budget; Opus and CBR encoders hold it), the wall's drop / 60 dB, 10 x the AAC
    grid's excess zero share over its null minus the Vorbis grid's, and log10 band-break rate + 4
    (:mod:`._band_breaks`: Vorbis and AAC break most, LAME less, Opus almost never)."""
    grid = ev.get("grid") or {}
    gz = [math.log10(1.0 + min(max(float((grid.get(c) or {}).get("z") or 0.0), 0.0), FAMILY_GRID_Z_CLIP))
          for c in ("aac", "vorbis", "mp3")]
    # AAC and Vorbis share the 1024 hop, so both grids light up on either; the window that fits leaves more
    # zeros than its null (the excess share), which tells them apart (as feat.grid_codec does)
    excess = [float((grid.get(c) or {}).get("share") or 0.0) - float((grid.get(c) or {}).get("null") or 0.0)
              for c in ("aac", "vorbis")]
    walls = [w for w in (ev.get("segments") or {}).get("walls_hz") or [] if w]
    spread = float(np.std(walls)) / 1000.0 if len(walls) > 1 else 0.0
    wall = ev.get("wall") or {}
    drop = min(float(wall.get("drop_db") or 0.0), DROP_CLIP_DB) / 60.0 if ev.get("wall_counts") else 0.0
    breaks = math.log10(float((ev.get("band_breaks") or {}).get("rate") or 0.0) + HOLE_EPS) + 4.0
    return (*ev["family_x"], *gz, spread, drop, 10.0 * (excess[0] - excess[1]), breaks)


@functools.cache
def _family_model_text() -> str:
    return resources.files("musicforensics").joinpath(FAMILY_MODEL_RESOURCE).read_text("utf-8")


@functools.cache
def family_model() -> dict:
    """The shipped codec-family / bitrate-class model (FAMILY_MODEL_RESOURCE), parsed once per process."""
    model = json.loads(_family_model_text())
    if tuple(model["features"]) != FAMILY_FEATURES:
        raise ValueError(f"{FAMILY_MODEL_RESOURCE}: features {model['features']} != {FAMILY_FEATURES}")
    return model


def family_probabilities(features: tuple[float, ...], model: dict | None = None) -> dict[str, float]:
    """P(family | features) from the multinomial logistic model: softmax(W^T [1, (x - mean) / scale])."""
    m = model or family_model()
    z = (np.asarray(features, float) - np.asarray(m["mean"])) / np.asarray(m["scale"])
    logits = np.asarray(m["intercepts"]) + np.asarray(m["weights"]) @ z  # weights: (families, features)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {f: float(q) for f, q in zip(m["families"], p)}


def estimate_family(ev: dict, model: dict | None = None) -> tuple[str, dict[str, float]]:
    """Most probable family and the probabilities (rounded) of every family."""
    probs = family_probabilities(family_features(ev), model)
    best = max(probs, key=probs.get)
    return best, {f: round(q, 4) for f, q in probs.items()}


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


def decide(ev: dict) -> dict:
    """The decision from measured evidence (also used by the calibration script to re-decide cached rows).

    Returns ``{"p", "p_model", "detected", "partial", "via", "family", "family_p"}``: ``via`` names the
    evidence that decided (``model``: the logistic model over wall, holes and grid z; ``segments``;
    ``grid``: a grid z >= GRID_Z_LOSSY alone).
    """
    p_model = lossy_probability(model_x(ev))
    seg = ev.get("segments") or {}
    decided = seg.get("decided") or 0
    share = (seg.get("flagged", 0) / decided) if decided else 0.0
    partial = seg.get("flagged", 0) >= SEG_MIN_FLAGGED and share >= SEG_MIN_SHARE and p_model < DECISION_P
    p, via = p_model, "model"
    if partial:
        # splice / one transcoded track: the segment evidence decides; probability from the flagged share
        p, via = max(p, min(0.99, 0.5 + share / 2)), "segments"
    grid = ev.get("grid") or {}
    gz = float(grid.get("z") or 0.0)
    if gz >= GRID_Z_LOSSY and p < DECISION_P:
        p, via = min(0.999, 0.5 + 0.5 * (1.0 - GRID_Z_LOSSY / gz) + 0.01), "grid"
    # the segment and grid rules are decision rules of their own (calibrated separately), not model scores
    detected = p_model >= DECISION_P or via in ("segments", "grid")
    family, fam_p = estimate_family(ev)
    return {"p": p, "p_model": p_model, "detected": detected, "partial": bool(partial), "via": via,
            "family": family, "family_p": fam_p}


def bitrate_class(family: str, wall_hz: float | None) -> str:
    """Bitrate class of ``family`` implied by the wall (the top class when there is no wall)."""
    table = BITRATE_CLASSES.get(family, ((1e9, "unknown"),))
    f = 1e12 if wall_hz is None else wall_hz
    for bound, label in table:
        if f <= bound:
            return label
    return table[-1][1]


def segment_walls(ctx: TrackContext, q16_db: float, *, fmax: float = WALL_MAX_HZ) -> dict:
    """Run the wall test on every segment row of the spine's band matrix (walls searched up to ``fmax`` Hz).

    Returns a dict with per-segment flags (True lossy-looking, False clean, None undecidable), the flagged
    segment start times (s), and counts.
    """
    sp = ctx.spectrum
    bands = sp.band_db
    edges = sp.band_edges_hz
    centres = (edges[:-1] + edges[1:]) / 2
    hf = (centres >= 11000) & (centres < 16000)
    flags: list = []
    walls: list = []
    usable = np.all(np.isfinite(bands), axis=1) & hf.any()
    found = iter(find_walls(centres, bands[usable], fmin=WALL_MIN_HZ, fmax=min(fmax, sp.sample_rate / 2),
                            side_hz=1250.0, guard_hz=250.0, smooth_hz=250.0))
    # per-row mean of the 11-16 kHz bands (C-ordered rows: the same sums as np.mean of each row)
    hf_means = np.ascontiguousarray(bands[:, hf]).mean(axis=1) if hf.any() else np.zeros(bands.shape[0])
    for hf_mean, ok in zip(hf_means, usable):
        if not ok:
            flags.append(None)
            walls.append(None)
            continue
        w = next(found)
        content = float(hf_mean) - q16_db
        if w is not None and w.drop_db >= SEG_DROP_DB and (w.floor_db - q16_db <= SILENT_FLOOR_MARGIN_DB
                                                           or w.drop_db >= SEG_DEEP_DROP_DB) \
                and w.below_db - q16_db >= HF_CONTENT_MIN_DB and w.freq_hz <= fmax:
            flags.append(True)
            walls.append(round(w.freq_hz, 1))
        elif content < HF_CONTENT_MIN_DB:
            flags.append(None)
            walls.append(None)
        else:
            flags.append(False)
            walls.append(None if w is None else round(w.freq_hz, 1))
    decided = [f for f in flags if f is not None]
    flagged = [i for i, f in enumerate(flags) if f]
    return {
        "segment_seconds": sp.segment_seconds,
        "flags": flags,
        "walls_hz": walls,
        "decided": len(decided),
        "flagged": len(flagged),
        "flagged_starts_s": [round(i * sp.segment_seconds, 3) for i in flagged],
    }


def _container_expected_wall(codec: str, kbps: float | None) -> float | None:
    table = CONTAINER_WALL_HZ.get(codec)
    if table is None or kbps is None:
        return None
    for bound, hz in table:
        if kbps <= bound:
            return float(hz)
    return None


def analyze_features(ctx: TrackContext) -> dict:
    """Every measured quantity of the lossy test for one track (also used by the calibration script)."""
    sp = ctx.spectrum
    nyq = sp.sample_rate / 2
    q16 = quantisation_floor_db(16, sp.n_fft)
    upsampled_from = None
    wall_fmax = min(nyq - 300.0, 24000.0)
    if sp.sample_rate > hires.MIN_RATE:
        src = hires.source_candidate(hires.upsampling_evidence(sp.freqs, sp.mean_db, sp.sample_rate, sp.n_fft,
                                                                   sp.mean_power))
        if src is not None:
            # the resampler's anti-imaging filter (and the source's own content edge) sits just below the
            # source Nyquist: only clearly lower walls are codec evidence
            upsampled_from = src["rate"]
            wall_fmax = min(wall_fmax, UPSAMPLED_WALL_RATIO * src["rate"] / 2)
    wall = find_wall(sp.freqs, sp.mean_db, fmin=WALL_MIN_HZ, fmax=wall_fmax)
    if upsampled_from is not None and wall is not None and wall.freq_hz > wall_fmax:
        wall = None  # the edge's slope reaches into the search band, but its crossing is the resampler's
    hf = (sp.freqs >= 11000) & (sp.freqs < 16000)
    hf_content = float(np.mean(sp.mean_db[hf]) - q16) if hf.any() else float("-inf")
    dur = ctx.info.duration_s if ctx.config.max_seconds is None else min(ctx.info.duration_s, ctx.config.max_seconds)
    length = min(feat.EXCERPT_SECONDS, dur)
    start = max(0.0, (dur - length) / 2)
    y = ctx.excerpt(start, length)
    lossy_wall = wall is not None and wall.freq_hz <= WALL_MAX_HZ and wall.drop_db >= WALL_MIN_DROP_DB
    holes = feat.hole_rates(y, sp.sample_rate, top_hz=(wall.freq_hz - 300.0) if lossy_wall else None)
    grid = feat.frame_grid(y, sp.sample_rate)
    breaks = band_breaks(y, sp.sample_rate, wall_hz=wall.freq_hz if lossy_wall else None)
    x = feature_vector(wall, q16, holes["max_rate"])
    return {
        "wall": None if wall is None else wall.to_dict(),
        "wall_counts": bool(lossy_wall),
        "upsampled_from_hz": upsampled_from,
        "wall_search_max_hz": round(wall_fmax, 1),
        "q16_floor_db": round(q16, 3),
        "floor_above_wall_re_16bit_db": None if wall is None else round(wall.floor_db - q16, 3),
        "floor_kind": None if wall is None else (
            "digital silence" if wall.floor_db - q16 <= SILENT_FLOOR_MARGIN_DB else "noise"),
        "hf_content_re_16bit_db": round(hf_content, 3),
        "holes": holes,
        "band_breaks": breaks,
        "grid": grid,
        "excerpt": {"start_s": round(start, 3), "seconds": round(length, 3)},
        "x": [round(v, 5) for v in x],
        "family_x": [round(v, 5) for v in family_vector(
            (wall.freq_hz if lossy_wall else nyq) / 1000.0,
            (wall.floor_db - q16) if lossy_wall else FAMILY_FLOOR_CLIP_DB[1],
            wall.steepness_db_per_khz if lossy_wall else 0.0, holes)],
    }


class LossyDetector(Detector):
    name = "lossy"
    version = "2"
    kinds = ("lossy",)
    order = 30
    reads_samples = True  # holes, band breaks and the frame grid read the kept excerpt

    def analyze(self, ctx: TrackContext):
        t0 = time.perf_counter()
        info = ctx.info
        q16 = quantisation_floor_db(16, ctx.spectrum.n_fft)
        ev = analyze_features(ctx)
        w = ev["wall"]
        fmax = min(WALL_MAX_HZ, ev["wall_search_max_hz"])
        if w is not None and w["drop_db"] >= WALL_MIN_DROP_DB and w["freq_hz"] > WALL_MAX_HZ:
            # the whole track has a genuine high edge (resampling, upsampling): the same edge seen in a
            # segment is no evidence; only clearly lower walls are
            fmax = min(fmax, w["freq_hz"] - SEG_SAME_EDGE_HZ)
        seg = segment_walls(ctx, q16, fmax=fmax)
        ev["segments"] = seg
        d = decide(ev)
        p, family, fam_p = d["p"], d["family"], d["family_p"]
        wall = ev["wall"]
        wall_hz = wall["freq_hz"] if wall and ev["wall_counts"] else None
        ev["probability_model"] = round(d["p_model"], 6)
        ev["partial"] = d["partial"]
        ev["decided_by"] = d["via"]
        detected = d["detected"]
        if info.lossy_codec:
            ev["container"] = {"codec": info.lossy_codec,
                               "bitrate_kbps": None if info.bitrate_kbps is None else round(info.bitrate_kbps, 1)}
            expected = _container_expected_wall(info.lossy_codec, info.bitrate_kbps)
            ev["container"]["expected_wall_hz"] = expected
            earlier = expected is not None and wall_hz is not None and wall_hz < expected - GENERATION_MARGIN_HZ \
                and (ev["floor_above_wall_re_16bit_db"] or 0) <= SILENT_FLOOR_MARGIN_DB
            if earlier:
                fam = "mp3" if info.lossy_codec == "mp3" else family
                ev["earlier_generation"] = {"wall_hz": wall_hz, "implied": bitrate_class(fam, wall_hz)}
                reason = (f"{info.lossy_codec} container at {ev['container']['bitrate_kbps']} kbps, but the wall at "
                          f"{wall_hz / 1000:.1f} kHz implies an earlier {bitrate_class(fam, wall_hz)} generation")
                finding = Finding("lossy", True, max(p, 0.9), ev, reason=reason, detector=self.name)
            else:
                reason = (f"lossy container ({info.lossy_codec}, {ev['container']['bitrate_kbps']} kbps); content "
                          "consistent with a single generation")
                finding = Finding("lossy", False, 0.0, ev, reason=reason, detector=self.name)
            return self.result(findings=[finding], evidence=ev, seconds=time.perf_counter() - t0)
        if detected:
            ev["codec_family"] = {"estimate": family, "probabilities": fam_p}
            rates = bitrate_probabilities(family, ev["family_x"][0])
            ev["bitrate_class"] = max(rates, key=rates.get) if rates else bitrate_class(family, wall_hz)
            ev["bitrate_class_probabilities"] = {k: round(v, 4) for k, v in rates.items()}
            fam_grid = (ev.get("grid") or {}).get(family)
            fam_gz = float(fam_grid.get("z") or 0.0) if isinstance(fam_grid, dict) else 0.0
            if fam_gz >= GRID_Z_FAMILY and (d["via"] == "grid" or (wall_hz is None and not ev["partial"])):
                reason = (f"{family} frame grid: the MDCT at offset {fam_grid['offset']} leaves "
                          f"{fam_grid['share']:.0%} zero coefficients against {fam_grid['null']:.0%} at other "
                          f"offsets (z {fam_gz:.0f}); no wall needed")
            elif d["via"] == "grid":
                g = ev["grid"]
                best = g[g["best"]]
                reason = (f"{g['best']} frame grid at offset {best['offset']} (z {g['z']:.0f}); no wall needed; "
                          f"the codec features point to {family}")
            elif ev["partial"]:
                reason = (f"{seg['flagged']} of {seg['decided']} segments show a lossy wall "
                          f"(from {seg['flagged_starts_s'][0]:.0f} s): partly lossy")
            elif wall_hz is not None:
                reason = (f"wall at {wall_hz / 1000:.2f} kHz ({wall['steepness_db_per_khz']:.0f} dB/kHz) over "
                          f"{ev['floor_kind']}; looks like {family} {ev['bitrate_class']}")
            else:
                reason = f"no wall, but spectro-temporal holes (rate {ev['holes']['max_rate']:.4f}); looks like {family}"
            finding = Finding("lossy", True, p, ev, reason=reason, detector=self.name)
        elif ev["hf_content_re_16bit_db"] < HF_CONTENT_MIN_DB and ev["holes"]["max_rate"] == 0.0:
            if math.isfinite(ev["hf_content_re_16bit_db"]):
                why = (f"too little high-frequency content to judge (11-16 kHz at "
                       f"{ev['hf_content_re_16bit_db']:.0f} dB above 16-bit rounding noise)")
            else:
                why = (f"sample rate {ctx.spectrum.sample_rate} Hz: the 11-16 kHz band the test reads lies above "
                       f"its Nyquist frequency ({ctx.spectrum.sample_rate / 2000:g} kHz)")
            finding = Finding.undecided("lossy", why, detector=self.name, evidence=ev)
        else:
            if wall is not None and wall["drop_db"] >= WALL_MIN_DROP_DB:
                what = f"edge at {wall['freq_hz'] / 1000:.2f} kHz over {ev['floor_kind']}"
            else:
                what = "no wall"
            finding = Finding("lossy", False, p, ev, reason=f"{what}; hole rate {ev['holes']['max_rate']:.4f}",
                              detector=self.name)
        return self.result(findings=[finding], evidence=ev, seconds=time.perf_counter() - t0)

    def identity(self) -> str:
        """Version plus the digest of the shipped codec-family model."""
        return f"{self.version}+{hashlib.sha256(_family_model_text().encode('utf-8')).hexdigest()[:12]}"

    def warm_up(self) -> None:
        """Load the excerpt-feature kernels from numba's cache once per process (measured 0.4 s including the
        first scipy transforms), on 1 s of noise long enough for every one of them to run."""
        y = np.random.default_rng(0).standard_normal((44100, 2)).astype(np.float32) * np.float32(0.1)
        feat.hole_rates(y, 44100)
        feat.frame_grid(y, 44100)
        band_breaks(y, 44100)


DETECTOR = LossyDetector
