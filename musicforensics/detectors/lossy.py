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
* **segments**: the wall test repeated on every 2 s row of the spine's segment x band matrix, so a spliced
  lossy stretch or one transcoded track in a compilation shows up where it is.

The features are combined by a logistic model fitted on the dev split (``benchmarks/calibrate_lossy.py``),
and a clear grid (z >= GRID_Z_LOSSY) decides on its own; the codec family comes from the grid when it is clear
(z >= GRID_Z_FAMILY), else from a nearest-centroid rule (MP2 / MP3 / Opus), and the bitrate class from the
wall frequency (SCIENCE.md wall table).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..dsp.wall import Wall, find_wall, quantisation_floor_db
from ..results import Finding
from . import _lossy_features as feat
from .base import Detector, TrackContext

#: Lowest frequency searched for a wall, Hz (MP3 at 64 kbps cuts near 11 kHz; lower walls are telephone
#: bands, still found, since the search is over [WALL_MIN_HZ, WALL_MAX_HZ]).
WALL_MIN_HZ = 8000.0
#: Highest wall frequency that counts as a lossy low-pass, Hz. Lossy walls sit at or below ~20.8 kHz (MP2
#: sub-band limit, LAME 320 at 20.1-20.6 kHz); soxr 48 -> 44.1 kHz leaves a genuine edge at 21.6-22 kHz
#: (SCIENCE.md; 21.15-21.23 kHz measured on the dev split), which this bound keeps out.
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
#: highest model probability of its negatives (0.822, a 44.1 -> 96 kHz upsample of a genuine render whose own
#: 20.7 kHz roll-off looks like a wall over digital silence), so dev false positives are 0 while 268 of 279
#: dev transcodes stay detected by the model alone (the grid and segment paths add to that).
DECISION_P = 0.83

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

# -- codec family: the frame grid when it is clear (GRID_Z_FAMILY), else the nearest centroid in
# :func:`family_vector` (wall kHz, floor dB, steepness / 100, log10 hole rates per region + 4) ----------------
#: Centroids (per-family medians) fitted by ``benchmarks/calibrate_lossy.py`` on the dev transcodes whose grid
#: z stays under GRID_Z_FAMILY (the ones the centroids decide: every dev AAC and all but one Vorbis transcode
#: show their grid, so only MP2, Opus and weak-grid MP3 get a centroid; families with < 3 such files none);
#: scale = per-feature standard deviation over those transcodes (at least 0.25).
FAMILY_CENTROIDS = {  # refitted on the full reference corpus's dev split (see LOGIT_WEIGHTS)
    "mp2": (17.315, 2.595, 0.299, 0.909, 1.426, 2.246),  # n=26 dev transcodes
    "mp3": (20.034, 0.467, 0.343, 0.989, 1.052, 2.035),  # n=29
    "opus": (20.144, 0.419, 0.636, 0.961, 1.158, 1.359),  # n=35
    "vorbis": (19.496, 0.771, 0.302, 0.957, 1.323, 2.198),  # n=4
}
FAMILY_SCALE = (2.381, 2.511, 0.290, 0.693, 0.778, 0.970)
#: Clip of the family floor feature (floor above the wall re 16-bit rounding), dB.
FAMILY_FLOOR_CLIP_DB = (0.0, 8.0)
#: Frame-grid evidence (:func:`._lossy_features.frame_grid`): a track whose best codec grid stands this many
#: robust standard deviations above the file's own null is lossy whatever its wall says (codecs that leave no
#: wall: AAC >= 256 kbps, LAME V0/320). Calibrated on the dev split of the full reference corpus: the largest z
#: of its 63 genuine / hard-negative dev files is 4.56, times 1.5 = 6.84 (docs/lossy.md). (The first value, 5.1,
#: came from 33 small-corpus dev files, max 3.38, and let a soxr-resampled eval file with z 5.12 through.)
GRID_Z_LOSSY = 6.84
#: A detected track takes its family from the grid when the best grid z reaches this (and the nearest
#: centroid otherwise): below it the grids of AAC / Vorbis / MP3 are not told apart reliably on dev.
GRID_Z_FAMILY = 5.0
#: Softmax temperature turning centroid distances into family probabilities (fitted with the centroids).
FAMILY_TEMPERATURE = 1.0

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
    if gz >= GRID_Z_FAMILY and grid.get("best"):
        family = feat.grid_codec(grid) or grid["best"]
        fam_p = {family: round(float(min(0.999, 1.0 - GRID_Z_FAMILY / (2 * gz))), 4)}
    else:
        family, fam_p = estimate_family(tuple(ev["family_x"]))
    return {"p": p, "p_model": p_model, "detected": detected, "partial": bool(partial), "via": via,
            "family": family, "family_p": fam_p}


def estimate_family(vec: tuple[float, ...]) -> tuple[str, dict[str, float]]:
    """Nearest-centroid family and softmax probabilities over the families."""
    names = list(FAMILY_CENTROIDS)
    d2 = np.array([sum(((v - c) / s) ** 2 for v, c, s in zip(vec, FAMILY_CENTROIDS[n], FAMILY_SCALE)) for n in names])
    z = -0.5 * d2 / FAMILY_TEMPERATURE
    p = np.exp(z - z.max())
    p /= p.sum()
    probs = {n: round(float(q), 4) for n, q in zip(names, p)}
    return names[int(np.argmax(p))], probs


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
    for row in bands:
        if not np.all(np.isfinite(row)) or not hf.any():
            flags.append(None)
            walls.append(None)
            continue
        w = find_wall(centres, row, fmin=WALL_MIN_HZ, fmax=min(fmax, sp.sample_rate / 2), side_hz=1250.0,
                      guard_hz=250.0, smooth_hz=250.0)
        content = float(np.mean(row[hf])) - q16_db
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
    wall = find_wall(sp.freqs, sp.mean_db, fmin=WALL_MIN_HZ, fmax=min(nyq - 300.0, 24000.0))
    hf = (sp.freqs >= 11000) & (sp.freqs < 16000)
    hf_content = float(np.mean(sp.mean_db[hf]) - q16) if hf.any() else float("-inf")
    dur = ctx.info.duration_s if ctx.config.max_seconds is None else min(ctx.info.duration_s, ctx.config.max_seconds)
    length = min(feat.EXCERPT_SECONDS, dur)
    start = max(0.0, (dur - length) / 2)
    y = ctx.excerpt(start, length)
    lossy_wall = wall is not None and wall.freq_hz <= WALL_MAX_HZ and wall.drop_db >= WALL_MIN_DROP_DB
    holes = feat.hole_rates(y, sp.sample_rate, top_hz=(wall.freq_hz - 300.0) if lossy_wall else None)
    grid = feat.frame_grid(y, sp.sample_rate)
    x = feature_vector(wall, q16, holes["max_rate"])
    return {
        "wall": None if wall is None else wall.to_dict(),
        "wall_counts": bool(lossy_wall),
        "q16_floor_db": round(q16, 3),
        "floor_above_wall_re_16bit_db": None if wall is None else round(wall.floor_db - q16, 3),
        "floor_kind": None if wall is None else (
            "digital silence" if wall.floor_db - q16 <= SILENT_FLOOR_MARGIN_DB else "noise"),
        "hf_content_re_16bit_db": round(hf_content, 3),
        "holes": holes,
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
    version = "1"
    kinds = ("lossy",)
    order = 30

    def analyze(self, ctx: TrackContext):
        t0 = time.perf_counter()
        info = ctx.info
        q16 = quantisation_floor_db(16, ctx.spectrum.n_fft)
        ev = analyze_features(ctx)
        w = ev["wall"]
        fmax = WALL_MAX_HZ
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
            ev["bitrate_class"] = bitrate_class(family, wall_hz)
            gz = float((ev.get("grid") or {}).get("z") or 0.0)
            if d["via"] == "grid" or (wall_hz is None and not ev["partial"] and gz >= GRID_Z_FAMILY
                                      and isinstance(ev["grid"].get(family), dict)):
                g = ev["grid"]
                reason = (f"{family} frame grid: the MDCT at offset {g[family]['offset']} leaves "
                          f"{g[family]['share']:.0%} zero coefficients against {g[family]['null']:.0%} at other "
                          f"offsets (z {g['z']:.0f}); no wall needed")
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
            finding = Finding.undecided(
                "lossy", f"too little high-frequency content to judge (11-16 kHz at "
                f"{ev['hf_content_re_16bit_db']:.0f} dB above 16-bit rounding noise)", detector=self.name, evidence=ev)
        else:
            if wall is not None and wall["drop_db"] >= WALL_MIN_DROP_DB:
                what = f"edge at {wall['freq_hz'] / 1000:.2f} kHz over {ev['floor_kind']}"
            else:
                what = "no wall"
            finding = Finding("lossy", False, p, ev, reason=f"{what}; hole rate {ev['holes']['max_rate']:.4f}",
                              detector=self.name)
        return self.result(findings=[finding], evidence=ev, seconds=time.perf_counter() - t0)


DETECTOR = LossyDetector
