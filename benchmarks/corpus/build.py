"""Build the labelled reference corpus for musicforensics benchmarks.

Usage::

    python -m benchmarks.corpus.build --out DIR --size small|full [--seed N] [--jobs N] [--no-neural]
        [--layers base|evasion|base,evasion]

Every file derives from one music21 corpus piece rendered with fluidsynth (``render.py``); all files from one
piece share a split (``dev``/``eval``). The build runs in four phases, each resumable (an existing output file
is kept; files are written under a ``.part.`` name and renamed when complete):

1. per piece: genuine renders and genuine hard negatives (24-bit, mono, roll-off, quiet solo, hi-res) and
   the 96 kHz bit-padded file;
2. derived from the genuine 16-bit render: lossy transcodes, double encodes, soxr 48 -> 44.1 kHz, fake hi-res
   upsampling, 16-in-24-bit padding;
3. neural autoencoder outputs (``neural.autoencode``), in the main process;
4. post-processed neural outputs (MP3 320, soxr to 48 kHz, gain changes).

``--layers evasion`` builds the evasion layer instead (``evasion.py``: splices, stems, speed and pitch
changes, codecs and noise), in three more phases: long renders (5), decoder outputs (6), derived files (7).

``manifest.csv`` and ``corpus_info.json`` are rewritten at the end from the plan, listing only files that
exist. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import codecs, evasion, render
from .items import (
    Item,
    Piece,
    gain,
    hash_key,
    item_rng,
    khz,
    noise,
    quantise,
    rotate,
    row_meta,
    write_pcm,
)

MANIFEST_COLUMNS = (
    "path",
    "split",
    "class",
    "family",
    "codec",
    "setting",
    "architecture",
    "weights",
    "expected_delta_hz",
    "postprocess",
    "source_piece",
    "sample_rate",
    "bit_depth",
    "channels",
    "duration_s",
    "label_lossy",
    "label_upsampled",
    "label_bitpadded",
    "label_ai",
)
SPLITS = ("dev", "eval")
ARRANGEMENT_ORDER = (
    "band_drums",
    "synth",
    "strings",
    "piano",
    "synth_drums",
    "organ",
    "guitar",
    "brass",
    "harpsichord",
)
"""Arrangements cycle over pieces in this order, so even 5 pieces cover plain, synth and drums."""

ROLLOFF_FLOOR_DBFS = -84.0  # RMS of the white noise floor under the analogue-style roll-off
HIRES_FLOOR_DBFS = -78.0  # RMS of the analogue-like noise floor of genuine hi-res files
HIRES_BANDWIDTH_HZ = 40_000.0
QUIET_PEAK_DBFS = -30.0
AI_PEAK_DBFS = -4.0  # AI outputs are stored at -4 dBFS so +3 dB lands at -1 dBFS without limiting
GAIN_POSTPROCESS_DB = {"gain_-6db": -6.0, "gain_+3db": 3.0}


@dataclass(frozen=True)
class SizeConfig:
    """How big a corpus to build.

    Attributes
    ----------
    n_pieces : int
        Number of music21 pieces.
    duration_s : float
        Excerpt length of every non-AI file, seconds.
    lossy_coverage : int
        Pieces that each lossy setting / double chain is applied to (rotating over pieces, dev/eval balanced).
    variant_coverage : int
        Pieces per genuine hard-negative and fake-hi-res variant.
    ai_pieces : int
        Pieces per (architecture, weights) AI row.
    ai_post_pieces : int
        Of those, how many also get the four post-processed versions.
    ai_duration_s : float
        Excerpt length fed to the neural autoencoders, seconds.
    ai_train_seconds : float
        Training budget per architecture for the ``trained`` weights (sets
        ``MUSICFORENSICS_NEURAL_TRAIN_SECONDS`` for ``neural.py`` unless already set).
    lossy_settings : tuple of str, optional
        Restrict single encodes to these ``codec_setting`` labels (``None``: all).
    variants : tuple of str, optional
        Restrict genuine/fake variants to these names (``None``: all).
    doubles : bool
        Include double encodes.
    """

    n_pieces: int
    duration_s: float
    lossy_coverage: int
    variant_coverage: int
    ai_pieces: int
    ai_post_pieces: int
    ai_duration_s: float
    ai_train_seconds: float = 60.0
    lossy_settings: tuple[str, ...] | None = None
    variants: tuple[str, ...] | None = None
    doubles: bool = True


SIZES: dict[str, SizeConfig] = {
    "tiny": SizeConfig(
        1,
        4.0,
        1,
        1,
        1,
        1,
        3.0,
        lossy_settings=("mp3_128", "aac_128", "opus_96"),
        variants=("rolloff", "upsample_sox", "pad24"),
        doubles=False,
    ),
    "small": SizeConfig(6, 9.0, 2, 2, 2, 1, 4.0, ai_train_seconds=30.0),
    "full": SizeConfig(36, 25.0, 18, 8, 2, 1, 6.0, ai_train_seconds=60.0),
}
"""``tiny`` is for tests only (hidden from ``--help``)."""

LAYERS = ("base", "evasion")
"""Parts of the corpus ``--layers`` chooses from: the base corpus and the evasion layer (``evasion.py``)."""
GENUINE_VARIANTS = ("24bit", "mono", "rolloff", "quiet", "hires")
FAKE_VARIANTS = ("resampled_soxr", "upsample_sox", "upsample_ffmpeg", "pad24")


# --------------------------------------------------------------------------------------------------------
# planning (pure functions: deterministic given the seed)
# --------------------------------------------------------------------------------------------------------


def select_pieces(n: int, *, seed: int, pool: tuple[str, ...] = render.PIECE_POOL) -> list[str]:
    """Choose ``n`` distinct pieces from ``pool``, deterministically for a seed."""
    if not 1 <= n <= len(pool):
        raise ValueError(f"n must be between 1 and {len(pool)}, got {n!r}")
    return sorted(pool, key=lambda p: hash_key(seed, "select:" + p))[:n]


def assign_splits(pieces: list[str], *, seed: int) -> dict[str, str]:
    """Assign each piece to ``dev`` or ``eval``: rank by a seeded hash, first half (rounded up) is dev.

    The split depends only on the piece set and seed, never on the order of ``pieces``.
    """
    ranked = sorted(set(pieces), key=lambda p: hash_key(seed, "split:" + p))
    n_dev = (len(ranked) + 1) // 2
    return {p: ("dev" if i < n_dev else "eval") for i, p in enumerate(ranked)}


def interleave_by_split(splits: dict[str, str], *, seed: int) -> list[str]:
    """Order pieces dev, eval, dev, eval, ... so consecutive positions alternate splits."""
    by = {
        s: sorted((p for p, sp in splits.items() if sp == s), key=lambda p: hash_key(seed, "order:" + p))
        for s in SPLITS
    }
    out = []
    for i in range(max(len(v) for v in by.values())):
        out += [by[s][i] for s in SPLITS if i < len(by[s])]
    return out


def slugify(piece: str) -> str:
    """``"bach/bwv66.6"`` -> ``"bach_bwv66-6"``."""
    return piece.replace("/", "_").replace(".", "-").replace(" ", "-")


def plan_pieces(n: int, *, seed: int) -> list[Piece]:
    """Pieces with split, arrangement, base rate and render seed.

    Rates follow position pairs (44.1, 44.1, 48, 48, ...) so each split gets both rates.
    """
    names = select_pieces(n, seed=seed)
    splits = assign_splits(names, seed=seed)
    ordered = interleave_by_split(splits, seed=seed)
    return [
        Piece(
            piece=p,
            slug=slugify(p),
            split=splits[p],
            position=i,
            arrangement=ARRANGEMENT_ORDER[i % len(ARRANGEMENT_ORDER)],
            sample_rate=48000 if (i // 2) % 2 else 44100,
            seed=int(hash_key(seed, "render:" + p)[:8], 16),
        )
        for i, p in enumerate(ordered)
    ]


def base_path(piece: Piece) -> str:
    """Relative path of a piece's genuine 16-bit render (source of every phase-2 file)."""
    family = render.ARRANGEMENTS[piece.arrangement].family
    return f"genuine/{family}/{piece.slug}__{piece.arrangement}_{khz(piece.sample_rate)}.flac"


def plan_genuine(pieces: list[Piece], cfg: SizeConfig) -> list[Item]:
    """Phase 1: base renders and genuine hard negatives (plus 96 kHz 16-in-24 padding of hi-res renders)."""
    items = [
        Item(
            base_path(p),
            "base",
            p,
            1,
            {},
            row_meta(p, "genuine", render.ARRANGEMENTS[p.arrangement].family, setting=p.arrangement),
        )
        for p in pieces
    ]
    variants = [v for v in GENUINE_VARIANTS if cfg.variants is None or v in cfg.variants]
    for j, variant in enumerate(variants):
        for k, p in enumerate(rotate(pieces, j, cfg.variant_coverage)):
            stem = f"genuine/{variant}/{p.slug}"
            if variant == "24bit":
                items.append(
                    Item(
                        f"{stem}__24bit_{khz(p.sample_rate)}.flac",
                        "24bit",
                        p,
                        1,
                        {},
                        row_meta(p, "genuine", "24bit", setting="float_to_24bit"),
                    )
                )
            elif variant == "mono":
                items.append(
                    Item(
                        f"{stem}__mono_{khz(p.sample_rate)}.flac",
                        "mono",
                        p,
                        1,
                        {},
                        row_meta(p, "genuine", "mono", setting="downmix"),
                    )
                )
            elif variant == "rolloff":
                order = 2 + (p.position + k) % 3
                cutoff = 11000 + 1000 * ((p.position * 3 + k) % 6)
                items.append(
                    Item(
                        f"{stem}__butter{order}_{cutoff // 1000}k.flac",
                        "rolloff",
                        p,
                        1,
                        {"order": order, "cutoff_hz": cutoff},
                        row_meta(p, "genuine", "rolloff", setting=f"butter{order}_{cutoff}hz"),
                    )
                )
            elif variant == "quiet":
                program = render.SOLO_PROGRAMS[(p.position + k) % len(render.SOLO_PROGRAMS)]
                items.append(
                    Item(
                        f"{stem}__solo{program}_m30dbfs.flac",
                        "quiet",
                        p,
                        1,
                        {"program": program},
                        row_meta(p, "genuine", "quiet", setting=f"solo_gm{program}_peak-30dbfs"),
                    )
                )
            elif variant == "hires":
                rate = 96000 if k % 2 == 0 else 88200
                items.append(
                    Item(
                        f"{stem}__hires_{khz(rate)}.flac",
                        "hires",
                        p,
                        1,
                        {"rate": rate},
                        row_meta(p, "genuine", "hires", setting=f"native{rate}_24bit"),
                    )
                )
                items.append(
                    Item(
                        f"bitpadded/pad24/{p.slug}__hires16in24_{khz(rate)}.flac",
                        "pad24_hires",
                        p,
                        1,
                        {"rate": rate},
                        row_meta(p, "bitpadded", "pad24", setting=f"16in24_{rate}", bitpadded=1),
                    )
                )
    return items


def _lossy_selected(cfg: SizeConfig) -> list[codecs.LossySetting]:
    return [s for s in codecs.LOSSY_SETTINGS if cfg.lossy_settings is None or s.label in cfg.lossy_settings]


def plan_derived(pieces: list[Piece], cfg: SizeConfig) -> list[Item]:
    """Phase 2: lossy transcodes, double encodes, soxr resampling, fake hi-res."""
    items = []
    for j, s in enumerate(_lossy_selected(cfg)):
        for p in rotate(pieces, j, cfg.lossy_coverage):
            items.append(
                Item(
                    f"lossy/{s.family}/{p.slug}__{s.codec}_{s.setting}.flac",
                    "lossy",
                    p,
                    2,
                    {"chain": [s.label]},
                    row_meta(p, "lossy", s.family, codec=s.codec, setting=s.setting, lossy=1),
                )
            )
    if cfg.doubles:
        offset = len(codecs.LOSSY_SETTINGS)
        for j, chain in enumerate(codecs.DOUBLE_CHAINS):
            setting = "+".join(s.label for s in chain)
            for p in rotate(pieces, offset + j, cfg.lossy_coverage):
                items.append(
                    Item(
                        f"lossy/double/{p.slug}__{setting}.flac",
                        "lossy",
                        p,
                        2,
                        {"chain": [s.label for s in chain]},
                        row_meta(p, "lossy", "double", codec=chain[-1].codec, setting=setting, lossy=1),
                    )
                )
    variants = [v for v in FAKE_VARIANTS if cfg.variants is None or v in cfg.variants]
    for j, variant in enumerate(variants, start=len(GENUINE_VARIANTS)):
        if variant == "resampled_soxr":
            for p in (p for p in pieces if p.sample_rate == 48000):
                items.append(
                    Item(
                        f"genuine/resampled_soxr/{p.slug}__48k_to_44.1k.flac",
                        "resample_soxr",
                        p,
                        2,
                        {"rate": 44100},
                        row_meta(p, "genuine", "resampled_soxr", setting="soxr_v_44100"),
                    )
                )
            continue
        for k, p in enumerate(rotate(pieces, j, cfg.variant_coverage)):
            if variant in ("upsample_sox", "upsample_ffmpeg"):
                tool = variant.removeprefix("upsample_")
                rate = 96000 if (p.sample_rate == 48000 or tool == "ffmpeg" or k % 2) else 88200
                items.append(
                    Item(
                        f"upsampled/{tool}/{p.slug}__{khz(p.sample_rate)}_to_{khz(rate)}.flac",
                        "upsample",
                        p,
                        2,
                        {"tool": tool, "rate": rate},
                        row_meta(
                            p, "upsampled", tool, setting=f"{p.sample_rate}_to_{rate}_24bit", upsampled=1
                        ),
                    )
                )
            elif variant == "pad24":
                items.append(
                    Item(
                        f"bitpadded/pad24/{p.slug}__16in24_{khz(p.sample_rate)}.flac",
                        "pad24",
                        p,
                        2,
                        {},
                        row_meta(p, "bitpadded", "pad24", setting=f"16in24_{p.sample_rate}", bitpadded=1),
                    )
                )
    return items


def plan_ai(pieces: list[Piece], cfg: SizeConfig, architectures: dict[str, dict]) -> list[Item]:
    """Phases 3 and 4: one autoencoded file per (architecture, weights, piece) plus post-processed copies.

    Pieces rotate over architectures; ``ai_pieces`` is kept even so both splits are represented.
    """
    items = []
    for j, (arch, meta) in enumerate(sorted(architectures.items())):
        delta = meta.get("expected_delta_hz")
        family = meta.get("family", arch)
        rate = int(meta["sample_rate"])
        for w, weights in enumerate(("random", "trained")):
            chosen = rotate(pieces, 2 * j + w, cfg.ai_pieces)
            # post-process alternate members so dev and eval both get post-processed rows
            post_ks = {(j + w + t) % len(chosen) for t in range(min(cfg.ai_post_pieces, len(chosen)))}
            for k, p in enumerate(chosen):
                bits = 24 if (p.position + w) % 4 == 3 else 16
                stem = f"ai/{family}/{p.slug}__{arch}_{weights}"
                base = f"{stem}.flac"
                common = {"architecture": arch, "weights": weights, "expected_delta_hz": delta}
                items.append(
                    Item(
                        base,
                        "ai",
                        p,
                        3,
                        {"architecture": arch, "weights": weights, "bits": bits},
                        row_meta(p, "ai", family, setting=f"{khz(rate)}_{bits}bit", ai=1, **common),
                    )
                )
                if k not in post_ks:
                    continue
                for post in ("mp3_320", "resample48k", "gain_-6db", "gain_+3db"):
                    if post == "resample48k" and rate == 48000:
                        continue  # would be a no-op
                    lossy = post == "mp3_320"
                    items.append(
                        Item(
                            f"{stem}__{post}.flac",
                            "ai_post",
                            p,
                            4,
                            {"source": base, "post": post},
                            row_meta(
                                p,
                                "ai",
                                family,
                                codec="mp3" if lossy else "none",
                                setting="cbr320" if lossy else "",
                                postprocess=post,
                                ai=1,
                                lossy=int(lossy),
                                **common,
                            ),
                        )
                    )
    return items


def plan_corpus(
    cfg: SizeConfig,
    *,
    seed: int,
    architectures: dict[str, dict] | None,
    base: bool = True,
    evasion_cfg: evasion.EvasionSize | None = None,
) -> list[Item]:
    """The full list of items for a corpus (AI items only when ``architectures`` is given).

    ``base`` plans the base layer; ``evasion_cfg`` adds the evasion layer (``evasion.py``) on the same pieces,
    so a piece has one split in both layers.
    """
    pieces = plan_pieces(cfg.n_pieces, seed=seed)
    items = []
    if base:
        items += plan_genuine(pieces, cfg) + plan_derived(pieces, cfg)
        if architectures:
            items += plan_ai(pieces, cfg, architectures)
    if evasion_cfg is not None:
        items += evasion.plan(pieces, evasion_cfg, seed=seed, architectures=architectures)
    paths = [it.path for it in items]
    duplicates = [p for p, c in Counter(paths).items() if c > 1]
    if duplicates:
        raise RuntimeError(f"planner produced duplicate paths: {duplicates[:3]!r}")
    return items


# --------------------------------------------------------------------------------------------------------
# signal helpers
# --------------------------------------------------------------------------------------------------------


def analogue_rolloff(
    audio: np.ndarray, sample_rate: int, *, order: int, cutoff_hz: float, rng: np.random.Generator
) -> np.ndarray:
    """Causal low-order Butterworth low-pass plus a white noise floor (tape/vinyl-like), re-normalised."""
    from scipy.signal import butter, sosfilt

    sos = butter(order, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    y = sosfilt(sos, audio, axis=0) + noise(audio.shape, rms_dbfs=ROLLOFF_FLOOR_DBFS, rng=rng)
    return render.normalise(y, peak_dbfs=render.TARGET_PEAK_DBFS)


def add_hires_content(audio: np.ndarray, sample_rate: int, *, rng: np.random.Generator) -> np.ndarray:
    """Mix synthetic cymbal-like bursts and an analogue-like noise floor, both band-limited to 40 kHz.

    fluidsynth's samples stop near 22 kHz whatever the output rate, so a genuine hi-res render needs native
    high-rate content: decaying noise bursts every 0.4-1.2 s, high-passed at 6 kHz and tilted by a
    first-order low-pass at 12 kHz (falling ~6 dB/octave, like real cymbals), and a white noise floor at
    -78 dBFS RMS, both through a 4th-order Butterworth low-pass at 40 kHz.
    """
    from scipy.signal import butter, sosfilt

    n, ch = audio.shape
    bursts = np.zeros((n, ch))
    t = float(rng.uniform(0.05, 0.4))
    while t < n / sample_rate:
        start = int(t * sample_rate)
        length = min(n - start, int(rng.uniform(0.3, 1.0) * sample_rate))
        env = np.exp(-np.arange(length) / (rng.uniform(0.08, 0.3) * sample_rate))
        bursts[start : start + length] += (
            rng.standard_normal((length, ch)) * env[:, None] * rng.uniform(0.3, 1.0)
        )
        t += float(rng.uniform(0.4, 1.2))
    hp = butter(2, 6000, btype="high", fs=sample_rate, output="sos")
    tilt = butter(1, 12000, btype="low", fs=sample_rate, output="sos")  # ~6 dB/octave fall, like real cymbals
    bursts = sosfilt(tilt, sosfilt(hp, bursts, axis=0), axis=0) * 10 ** (-24 / 20)
    floor = noise((n, ch), rms_dbfs=HIRES_FLOOR_DBFS, rng=rng)
    lp = butter(4, HIRES_BANDWIDTH_HZ, btype="low", fs=sample_rate, output="sos")
    y = audio + sosfilt(lp, bursts + floor, axis=0)
    return render.normalise(y, peak_dbfs=render.TARGET_PEAK_DBFS)


# --------------------------------------------------------------------------------------------------------
# makers (run in worker processes; each writes exactly the item's file)
# --------------------------------------------------------------------------------------------------------


def _part_path(path: Path) -> Path:
    return path.with_name(f".part.{path.name}")


def _render(item: Item, cfg: SizeConfig, *, sample_rate: int | None = None, solo: int | None = None):
    p = item.piece
    return render.render_piece(
        p.piece,
        arrangement=render.ARRANGEMENTS[p.arrangement],
        sample_rate=sample_rate or p.sample_rate,
        duration_s=cfg.duration_s,
        seed=p.seed,
        solo_program=solo,
    )


def make_phase1(item: Item, out: Path, tmp: Path, cfg: SizeConfig, seed: int, cache: dict) -> None:
    """Write a genuine/hard-negative/hi-res item to ``tmp`` (renders are shared through ``cache``)."""
    rng = item_rng(item, seed)
    p = item.piece
    if item.kind in ("base", "24bit", "mono", "rolloff"):
        if "main" not in cache:
            cache["main"] = _render(item, cfg)
        audio = cache["main"]
        if item.kind == "base":
            write_pcm(tmp, audio, p.sample_rate, bits=16, rng=rng)
        elif item.kind == "24bit":
            y = audio + noise(audio.shape, rms_dbfs=-110.0, rng=rng)
            write_pcm(tmp, y, p.sample_rate, bits=24, rng=rng)
        elif item.kind == "mono":
            y = render.normalise(audio.mean(axis=1, keepdims=True), peak_dbfs=render.TARGET_PEAK_DBFS)
            write_pcm(tmp, y, p.sample_rate, bits=16, rng=rng)
        else:
            y = analogue_rolloff(
                audio, p.sample_rate, order=item.params["order"], cutoff_hz=item.params["cutoff_hz"], rng=rng
            )
            write_pcm(tmp, y, p.sample_rate, bits=16, rng=rng)
    elif item.kind == "quiet":
        y = _render(item, cfg, solo=item.params["program"])
        write_pcm(tmp, render.normalise(y, peak_dbfs=QUIET_PEAK_DBFS), p.sample_rate, bits=16, rng=rng)
    elif item.kind in ("hires", "pad24_hires"):
        rate = item.params["rate"]
        key = f"hires{rate}"
        if key not in cache:
            hires_rng = np.random.default_rng(p.seed + rate)
            cache[key] = add_hires_content(_render(item, cfg, sample_rate=rate), rate, rng=hires_rng)
        y = cache[key]
        if item.kind == "hires":
            write_pcm(tmp, y, rate, bits=24, rng=rng)
        else:  # 16-bit quantised content, stored left-aligned in 24 bits: low 8 bits exactly zero
            data = quantise(y, bits=16, rng=rng)
            sf.write(str(tmp), data, rate, subtype="PCM_24")
    else:
        raise ValueError(f"unknown phase-1 kind {item.kind!r}")


def make_phase2(item: Item, out: Path, tmp: Path, cfg: SizeConfig, seed: int) -> None:
    """Write a transcode / resample / fake-hi-res item derived from the piece's genuine 16-bit render."""
    src = out / base_path(item.piece)
    if not src.exists():
        raise FileNotFoundError(f"source render {str(src)!r} is missing (phase 1 failed?)")
    p = item.piece
    if item.kind == "lossy":
        by_label = {s.label: s for s in codecs.LOSSY_SETTINGS}
        by_label.update({s.label: s for chain in codecs.DOUBLE_CHAINS for s in chain})
        chain = tuple(by_label[label] for label in item.params["chain"])
        codecs.transcode(src, tmp, chain, sample_rate=p.sample_rate)
    elif item.kind == "resample_soxr":
        codecs.sox_resample(src, tmp, sample_rate=item.params["rate"], bit_depth=16)
    elif item.kind == "upsample":
        if item.params["tool"] == "sox":
            codecs.sox_resample(src, tmp, sample_rate=item.params["rate"], bit_depth=24)
        else:
            codecs.ffmpeg_resample(src, tmp, sample_rate=item.params["rate"], bit_depth=24)
    elif item.kind == "pad24":
        data, rate = sf.read(str(src), dtype="int16", always_2d=True)
        sf.write(str(tmp), data.astype(np.int32) << 16, rate, subtype="PCM_24")
    else:
        raise ValueError(f"unknown phase-2 kind {item.kind!r}")


def make_phase4(item: Item, out: Path, tmp: Path, cfg: SizeConfig, seed: int) -> None:
    """Post-process an AI file: MP3 320 round trip, soxr to 48 kHz, or a gain change."""
    src = out / item.params["source"]
    if not src.exists():
        raise FileNotFoundError(f"AI source {str(src)!r} is missing (phase 3 failed?)")
    post = item.params["post"]
    if post == "mp3_320":
        info = sf.info(str(src))
        with tempfile.TemporaryDirectory(prefix="mf_ai_") as work:
            feed = src
            if info.samplerate < 32000:  # MPEG-2/2.5 layer III caps at 160 kbps: go to 44.1 kHz first
                feed = Path(work) / "up.flac"
                codecs.sox_resample(src, feed, sample_rate=44100, bit_depth=16)
            codecs.transcode(
                feed,
                tmp,
                (codecs.LossySetting("mp3", "cbr320", "mp3_cbr"),),
                sample_rate=sf.info(str(feed)).samplerate,
            )
    elif post == "resample48k":
        codecs.sox_resample(src, tmp, sample_rate=48000, bit_depth=16)
    elif post in GAIN_POSTPROCESS_DB:
        audio, rate = sf.read(str(src), dtype="float64", always_2d=True)
        write_pcm(tmp, gain(audio, GAIN_POSTPROCESS_DB[post]), rate, bits=16, rng=item_rng(item, seed))
    else:
        raise ValueError(f"unknown postprocess {post!r}")


def _finish(tmp: Path, dst: Path) -> None:
    if not tmp.exists() or tmp.stat().st_size == 0:
        raise RuntimeError(f"maker wrote nothing to {str(tmp)!r}")
    os.replace(tmp, dst)


def run_piece_items(items: list[Item], out: str, cfg: SizeConfig, seed: int) -> list[tuple[str, str]]:
    """Worker: make a piece's phase-1 items, sharing renders. Returns ``(path, error)`` pairs ('' = ok)."""
    out_dir, cache, results = Path(out), {}, []
    for item in items:
        results.append((item.path, _guarded(make_phase1, item, out_dir, cfg, seed, cache)))
    return results


def run_item(maker_name: str, item: Item, out: str, cfg: SizeConfig, seed: int) -> list[tuple[str, str]]:
    """Worker: make one phase-2 or phase-4 item."""
    maker = {
        "phase2": make_phase2,
        "phase4": make_phase4,
        "evasion_render": evasion.make_render,
        "evasion_derive": evasion.make_derived,
    }[maker_name]
    return [(item.path, _guarded(maker, item, Path(out), cfg, seed))]


def _guarded(maker, item: Item, out: Path, cfg: SizeConfig, seed: int, *extra) -> str:
    """Run a maker into a ``.part.`` file and rename it; return '' or an error message (never raise)."""
    dst = out / item.path
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _part_path(dst)
    try:
        maker(item, out, tmp, cfg, seed, *extra)
        _finish(tmp, dst)
        return ""
    except Exception as exc:  # noqa: BLE001 - a failed file must not abort the build
        tmp.unlink(missing_ok=True)
        return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress/diagnostics to stderr."""
    print(message, file=sys.stderr, flush=True)


def _pending(items: list[Item], out: Path) -> list[Item]:
    return [it for it in items if not (out / it.path).exists()]


def _run_pool(label: str, tasks: list[tuple], jobs: int, failures: dict[str, str]) -> None:
    """Run ``(function, *args)`` tasks on a process pool (inline when ``jobs == 1``); log progress."""
    if not tasks:
        log(f"[{label}] nothing to do")
        return
    done = 0
    total = sum(len(t[1]) if isinstance(t[1], list) else 1 for t in tasks)

    def record(results):
        nonlocal done
        for path, error in results:
            done += 1
            if error:
                failures[path] = error
                log(f"[{label}] {done}/{total} FAILED {path}: {error.splitlines()[0]}")
            else:
                log(f"[{label}] {done}/{total} {path}")

    if jobs <= 1:
        for fn, *args in tasks:
            record(fn(*args))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(fn, *args) for fn, *args in tasks]
        for fut in as_completed(futures):
            record(fut.result())


def load_neural(no_neural: bool):
    """Return ``(module, architectures)`` or ``(None, None)`` with a warning explaining why."""
    if no_neural:
        log("[neural] --no-neural given: building without AI rows")
        return None, None
    try:
        from . import neural
    except Exception as exc:  # noqa: BLE001 - any import failure means no AI rows, with the reason
        log(
            f"WARNING: benchmarks/corpus/neural.py could not be imported ({type(exc).__name__}: {exc}); "
            "building WITHOUT AI rows"
        )
        return None, None
    ok, reason = neural.available()
    if not ok:
        log(
            f"WARNING: neural decoders unavailable ({reason}); building WITHOUT AI rows "
            "(see benchmarks/corpus/install_neural.sh)"
        )
        return None, None
    return neural, dict(neural.ARCHITECTURES)


def _training_audio(paths: list[str], out: Path):
    """Up to four genuine dev-split renders of one rate: the training material of the ``trained`` weights."""
    clips, rate = [], None
    for path in (out / p for p in paths):
        if path.exists() and (rate is None or sf.info(str(path)).samplerate == rate):
            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
            clips.append(audio)
        if len(clips) >= 4:
            break
    return clips, rate


def run_neural(
    label: str,
    items: list[Item],
    out: Path,
    cfg: SizeConfig,
    seed: int,
    neural,
    failures: dict[str, str],
    make,
    training: tuple[list, int | None],
) -> None:
    """Run neural items in this process (torch uses the cores itself), in plan order.

    ``make(item, out, tmp, seed, encode)`` writes one item; ``encode(audio, rate)`` autoencodes with the item's
    ``architecture`` and ``weights`` params and returns ``(audio, native_rate)``. After a failure the other
    items of that (architecture, weights) are skipped with the same error.
    """
    os.environ.setdefault("MUSICFORENSICS_NEURAL_TRAIN_SECONDS", str(cfg.ai_train_seconds))
    clips, clips_sr = training
    cache_dir = out / "_cache" / "neural"
    broken: dict[tuple[str, str], str] = {}
    for i, item in enumerate(items, start=1):
        key = (item.params["architecture"], item.params["weights"])
        if key in broken:
            failures[item.path] = broken[key]
            continue
        t0 = time.perf_counter()

        def encode(audio, rate, key=key):
            return neural.autoencode(
                audio,
                rate,
                architecture=key[0],
                weights=key[1],
                seed=seed,
                cache_dir=cache_dir,
                training_audio=clips or None,
                training_sr=clips_sr,
            )

        def maker(it, out_dir, tmp, cfg_, seed_, encode=encode):
            make(it, out_dir, tmp, seed_, encode)

        error = _guarded(maker, item, out, cfg, seed)
        if error:
            failures[item.path] = error
            broken[key] = error
            log(f"[{label}] {i}/{len(items)} FAILED {item.path}: {error.splitlines()[0]} (skipping {key})")
        else:
            log(f"[{label}] {i}/{len(items)} {item.path} ({time.perf_counter() - t0:.1f}s)")


def run_ai(
    items: list[Item], out: Path, cfg: SizeConfig, seed: int, neural, failures: dict[str, str]
) -> None:
    """Phase 3, in this process: autoencode genuine excerpts."""
    pieces = sorted({it.piece for it in items}, key=lambda p: p.position)
    training = (
        _training_audio([base_path(p) for p in pieces if p.split == "dev"], out) if items else ([], None)
    )

    def make(it, out_dir, tmp, seed_, encode):
        audio, rate = sf.read(str(out_dir / base_path(it.piece)), dtype="float32", always_2d=True)
        y, native = encode(audio[: int(cfg.ai_duration_s * rate)], rate)
        y = render.normalise(y, peak_dbfs=AI_PEAK_DBFS)
        write_pcm(tmp, y, native, bits=it.params["bits"], rng=item_rng(it, seed_))

    run_neural("ai", items, out, cfg, seed, neural, failures, make, training)


def run_evasion(
    items: list[Item], out: Path, cfg: SizeConfig, seed: int, jobs: int, neural, failures: dict[str, str]
) -> None:
    """The evasion layer's phases: long renders (pool), decoder outputs (this process), derived files (pool)."""

    def pooled(maker_name: str, phase: int) -> None:
        tasks = [
            (run_item, maker_name, it, str(out), cfg, seed)
            for it in _pending(items, out)
            if it.phase == phase
        ]
        _run_pool(maker_name.replace("_", "-"), tasks, jobs, failures)

    pooled("evasion_render", 5)
    if neural is not None:
        dev_long = [it.path for it in items if it.kind == "ev_long" and it.piece.split == "dev"]
        neural_items = [it for it in _pending(items, out) if it.phase == 6]
        training = _training_audio(dev_long, out) if neural_items else ([], None)
        cache: dict = {}
        run_neural(
            "evasion-ai",
            sorted(neural_items, key=lambda it: (it.params["architecture"], it.params["weights"])),
            out,
            cfg,
            seed,
            neural,
            failures,
            lambda it, out_dir, tmp, seed_, encode: evasion.make_neural(
                it, out_dir, tmp, seed_, encode, cache
            ),
            training,
        )
    pooled("evasion_derive", 7)


def manifest_row(item: Item, out: Path) -> dict:
    """Manifest row for an existing item (rate, depth, channels, duration read from the file)."""
    info = sf.info(str(out / item.path))
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "PCM_S8": 8, "PCM_U8": 8}.get(info.subtype, 0)
    row = {
        "path": item.path,
        **item.meta,
        "sample_rate": info.samplerate,
        "bit_depth": bits,
        "channels": info.channels,
        "duration_s": f"{info.frames / info.samplerate:.3f}",
    }
    if row.get("ai_segments") == evasion.WHOLE_FILE:
        row["ai_segments"] = evasion.segments_text([(0.0, info.frames / info.samplerate)])
    return row


def write_manifest(items: list[Item], out: Path) -> list[dict]:
    """Write ``manifest.csv`` (sorted by path) for the items whose files exist; return the rows.

    The evasion layer's columns (:data:`evasion.EVASION_COLUMNS`) follow the base ones when it is planned.
    """
    rows = [manifest_row(it, out) for it in sorted(items, key=lambda it: it.path) if (out / it.path).exists()]
    columns = MANIFEST_COLUMNS
    if any(it.phase >= 5 for it in items):
        columns += evasion.EVASION_COLUMNS
    save_manifest(out, rows, columns)
    return rows


def save_manifest(out: Path, rows: list[dict], columns) -> None:
    """Write ``out/manifest.csv`` whole or not at all (a temporary file renamed over it)."""
    tmp = out / ".part.manifest.csv"
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out / "manifest.csv")


def _package_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("music21", "numpy", "scipy", "soundfile", "torch"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def write_info(
    out: Path,
    *,
    size: str,
    seed: int,
    rows: list[dict],
    failures: dict[str, str],
    neural_note: str,
    architectures,
    seconds: float,
    layers: tuple[str, ...] = ("base",),
) -> None:
    """Write ``corpus_info.json``: tools and versions, settings, counts, failures."""
    info = {
        "size": size,
        "seed": seed,
        "build_seconds": round(seconds, 1),
        "tools": codecs.tool_versions(),
        "debian_packages": codecs.library_versions(),
        "python_packages": _package_versions(),
        "soundfont": str(render.DEFAULT_SOUNDFONT),
        "neural": neural_note,
        "architectures": {
            k: {kk: (list(vv) if isinstance(vv, tuple) else vv) for kk, vv in v.items()}
            for k, v in (architectures or {}).items()
        },
        "size_config": {k: v for k, v in SIZES[size].__dict__.items()},
        "counts": {
            "total": len(rows),
            "by_class": dict(Counter(r["class"] for r in rows)),
            "by_family": dict(Counter(f"{r['class']}/{r['family']}" for r in rows)),
            "by_split": dict(Counter(r["split"] for r in rows)),
        },
        "failures": failures,
        "commands": {
            "render": "fluidsynth -ni -q -g 0.6 -r RATE -O float -T wav -F out.wav FluidR3_GM.sf2 piece.mid",
            "mp3": "lame --quiet --noreplaygain --cbr -b KBPS | -V Q in.wav out.mp3",
            "aac/vorbis/opus/mp2": (
                "ffmpeg -i in.wav -c:a aac|libvorbis|libopus|libtwolame -b:a Nk | -q:a Q out"
            ),
            "decode": "ffmpeg -i in -af aresample=RATE:resampler=swr -c:a flac -sample_fmt s16 out.flac",
            "soxr": "sox -G in.flac -b BITS out.flac rate -v RATE",
            "ffmpeg_upsample": "ffmpeg -i in.flac -af aresample=RATE:resampler=swr -c:a flac -sample_fmt s32 "
            "-bits_per_raw_sample 24 out.flac",
        },
    }
    if "evasion" in layers:
        info["layers"] = list(layers)
        info["evasion_size_config"] = dict(evasion.SIZES[size].__dict__)
        info["commands"].update(
            {
                "speed_pitch_resample": "sox -G in.flac -b 16 out.flac speed FACTOR rate -v RATE",
                "pitch_vocoder": " | ".join(
                    " ".join(codecs.pitch_shift_command(Path("in.flac"), Path("out.wav"), 1, t))
                    for t in ("rubberband", "sox")
                ),
                "vocoder_used": codecs.vocoder_tool(),
            }
        )
    (out / "corpus_info.json").write_text(json.dumps(info, indent=2, sort_keys=True))


def build(
    out: Path,
    *,
    size: str,
    seed: int = 0,
    jobs: int | None = None,
    no_neural: bool = False,
    layers: tuple[str, ...] = ("base",),
) -> list[dict]:
    """Build (or resume) a corpus in ``out`` and return the manifest rows.

    Parameters
    ----------
    out : Path
        Output directory (created). Nothing is written outside it except temporary directories.
    size : str
        ``small``, ``full`` (or ``tiny``, for tests).
    seed : int
        Seeds piece selection, splits, rendering and noise.
    jobs : int, optional
        Worker processes (default: all cores).
    no_neural : bool
        Skip AI rows.
    layers : tuple of str
        ``base`` (the corpus above) and/or ``evasion`` (``evasion.py``: splices, stems, speed/pitch, codecs).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    unknown = sorted(set(layers) - set(LAYERS))
    if unknown or not layers:
        raise ValueError(f"layers must be some of {LAYERS}, got {layers!r}")
    cfg = SIZES[size]
    jobs = jobs or os.cpu_count() or 1
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for tool in ("fluidsynth", "lame", "ffmpeg", "sox"):
        codecs.require_tool(tool)
    neural, architectures = load_neural(no_neural)
    neural_note = "used" if neural else "not used (no-neural or unavailable)"
    items = plan_corpus(
        cfg,
        seed=seed,
        architectures=architectures,
        base="base" in layers,
        evasion_cfg=evasion.SIZES[size] if "evasion" in layers else None,
    )
    log(
        f"[plan] {len(items)} files for size={size} seed={seed} layers={','.join(layers)} jobs={jobs} into {out}"
    )
    failures: dict[str, str] = {}
    pending = _pending(items, out)

    phase1 = [it for it in pending if it.phase == 1]
    by_piece: dict[str, list[Item]] = {}
    for it in phase1:
        by_piece.setdefault(it.piece.piece, []).append(it)
    _run_pool(
        "render", [(run_piece_items, v, str(out), cfg, seed) for v in by_piece.values()], jobs, failures
    )
    _run_pool(
        "derive",
        [(run_item, "phase2", it, str(out), cfg, seed) for it in pending if it.phase == 2],
        jobs,
        failures,
    )
    if neural is not None:
        run_ai([it for it in _pending(items, out) if it.phase == 3], out, cfg, seed, neural, failures)
        _run_pool(
            "ai-post",
            [(run_item, "phase4", it, str(out), cfg, seed) for it in _pending(items, out) if it.phase == 4],
            jobs,
            failures,
        )
    if "evasion" in layers:
        run_evasion(items, out, cfg, seed, jobs, neural, failures)
    rows = write_manifest(items, out)
    seconds = time.perf_counter() - t0
    write_info(
        out,
        size=size,
        seed=seed,
        rows=rows,
        failures=failures,
        neural_note=neural_note,
        architectures=architectures,
        seconds=seconds,
        layers=layers,
    )
    counts = Counter(r["class"] for r in rows)
    log(
        f"[done] {len(rows)} files in {seconds:.0f}s: "
        + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    )
    if failures:
        log(f"[done] {len(failures)} files failed; see corpus_info.json")
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory (resumable)")
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="small",
        metavar="{small,full}",
        help="corpus size (default: small)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--no-neural", action="store_true", help="skip the AI (neural autoencoder) rows")
    parser.add_argument(
        "--layers",
        default="base",
        help="comma-separated layers to build: base, evasion (default: base)",
    )
    parser.add_argument("--realworld", type=Path, default=None, metavar="SOURCE",
                        help="build the real-world layer instead (benchmarks/corpus/realworld.py): the genuine "
                             "recordings of SOURCE (a folder with manifest.csv, read in place) through the corpus's "
                             "codecs, resamplers and variants; --size is then ignored")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 when every planned file was built, 1 when some failed."""
    args = parse_args(argv)
    if args.realworld is not None:
        from . import realworld

        rows = realworld.build_layer(args.out, args.realworld, seed=args.seed, jobs=args.jobs)
        info = json.loads((args.out / "layer_info.json").read_text())
        return 1 if info["failures"] or not rows else 0
    layers = tuple(x.strip() for x in args.layers.split(",") if x.strip())
    rows = build(
        args.out, size=args.size, seed=args.seed, jobs=args.jobs, no_neural=args.no_neural, layers=layers
    )
    info = json.loads((args.out / "corpus_info.json").read_text())
    return 1 if info["failures"] or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
