"""Lossy origin ("fake lossless"): a lossless file whose content went through a lossy codec.

Evidence, all reported (docs/lossy.md):

* the **wall** of the long-term spectrum (:func:`musicforensics.dsp.wall.find_wall` on the spine's mean
  dB spectrum): frequency, steepness in dB/kHz, and the floor above it (level relative to 16-bit rounding
  noise, and its flatness): a lossy low-pass leaves digital silence above a steep edge, an analogue roll-off
  a noise floor above a gradual one (SCIENCE.md section 1);
* **holes** (and the MP3 sfb21 flicker above 16 kHz) on a <= 30 s excerpt
  (:mod:`._lossy_features`), which also catches codecs that leave no wall;
* **segments**: the wall test repeated on every 2 s row of the spine's segment x band matrix, so a spliced
  lossy stretch or one transcoded track in a compilation shows up where it is.

The features are combined by a logistic model fitted on the dev split (``benchmarks/calibrate_lossy.py``);
the codec family by a nearest-centroid rule on the same features, and the bitrate class from the wall
frequency (SCIENCE.md wall table).
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

# -- logistic model: p = 1 / (1 + exp(-(b0 + b . x))), x = (drop/10, floor/10, log10 hole rate + 4) ----------
#: Fitted by ``python -m benchmarks.calibrate_lossy --manifest /tmp/corpus_small/manifest.csv
#: /tmp/lc_s1/manifest.csv /tmp/lc_s2/manifest.csv`` (three small corpora, seeds 0/1/2; 120 dev rows, 93 lossy;
#: L2-regularised logistic regression, lambda 0.1, Newton steps); see docs/lossy.md.
LOGIT_INTERCEPT = 1.7369
LOGIT_WEIGHTS = (1.2447, -1.0228, 0.8588)
#: Decision threshold on the probability.
DECISION_P = 0.5

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

# -- codec family: nearest centroid in (wall kHz, floor/10, log10 hole rates per region + 4) ---------------
#: Centroids (per-family medians) fitted on dev transcodes by ``benchmarks/calibrate_lossy.py`` (same data as the
#: logistic model); scale = per-feature standard deviation over all dev transcodes (at least 0.25).
FAMILY_CENTROIDS = {
    "aac": (18.310, 0.258, 1.154, 1.237, 0.708),  # n=18 dev transcodes
    "mp2": (18.018, 0.261, 0.593, 1.245, 1.909),  # n=9
    "mp3": (17.279, 0.050, 0.952, 1.228, 2.065),  # n=33 (incl. double encodes, first codec)
    "opus": (20.169, 0.056, 0.896, 1.669, 1.719),  # n=12
    "vorbis": (18.448, 0.045, 1.069, 1.271, 1.468),  # n=21
}
FAMILY_SCALE = (2.067, 0.855, 0.765, 0.861, 1.078)
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


def lossy_probability(x: tuple[float, float, float]) -> float:
    """Calibrated P(lossy) from the feature vector (see LOGIT_WEIGHTS)."""
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


def family_vector(wall_khz: float, floor: float, holes: dict) -> tuple[float, ...]:
    rates = [holes.get(k, {}).get("rate") for k in ("4-11k", "11-16k", "16-19.5k")]
    return (wall_khz, floor, *[math.log10((r or 0.0) + HOLE_EPS) + 4.0 for r in rates])


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
            (wall.freq_hz if lossy_wall else nyq) / 1000.0, x[1], holes)],
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
        x = tuple(ev["x"])
        p = lossy_probability(x)
        wall = ev["wall"]
        wall_hz = wall["freq_hz"] if wall and ev["wall_counts"] else None
        share = seg["flagged"] / seg["decided"] if seg["decided"] else 0.0
        partial = seg["flagged"] >= SEG_MIN_FLAGGED and share >= SEG_MIN_SHARE
        ev["probability_model"] = round(p, 6)
        ev["partial"] = bool(partial and p < DECISION_P)
        if partial and p < DECISION_P:
            # splice / one transcoded track: the segment evidence decides; probability from the flagged share
            p = max(p, min(0.99, 0.5 + share / 2))
        detected = p >= DECISION_P
        family, fam_p = estimate_family(tuple(ev["family_x"]))
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
            if ev["partial"]:
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
