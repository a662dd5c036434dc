"""The evasion layer of the corpus: generated music hidden the ways an editor or a forger would hide it.

Built by ``python -m benchmarks.corpus.build --layers evasion`` (or ``base,evasion``). Every file derives from
one piece's long genuine render and neural-decoder output of it, so the labels are true by construction:

- **splices** (``evasion=splice``): a 60-90 s genuine render (``long``, a negative) whose tail from 20-40 s on
  is replaced by decoder output of that tail (``splice_intro``), or with a 20-30 s decoder-output bridge
  (``splice_bridge``); and the same boundaries filled from another genuine render of the piece (another
  arrangement and tempo, class genuine, family ``splice``). Boundaries are 10-50 ms linear crossfades and the
  inserted part is level-matched (RMS) to what it replaces. ``ai_segments`` gives the generated time ranges;
- **stems** (``evasion=stem``): decoder output of the top voice's render, mixed under a genuine render of the
  other parts at ``mix_db`` (-6, -12, -20 dB RMS relative to that genuine mix);
- **whole generated tracks** (``evasion=whole``): the decoder output of a long render's tail (at least 35 s),
  at the decoder's native rate, the untouched reference for the next two groups;
- **speed and pitch** (``evasion=speed_pitch``): the whole track after a speed change by resampling of
  +-2 %/+-6 % or a +-1 semitone pitch change by resampling (``sox speed``; ``speed_factor`` is the factor every
  frequency, so the comb, is scaled by), or a phase-vocoder pitch change of +-1 semitone (``rubberband``, else
  ``sox pitch``), which keeps the tempo and does not scale the comb linearly (``speed_factor`` empty);
- **codecs and noise** (``evasion=codec_noise``): the whole track through MP3 128 (lame CBR), AAC 128 (ffmpeg),
  Opus 96 (libopus), decoded back to FLAC, or with white noise at 30 dB SNR.

Planning is pure; the makers write one item each: renders (pool), neural outputs (main process, through the
``encode`` callable the builder passes), and everything derived from them (pool).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import codecs, render
from .items import Item, Piece, hash_key, item_rng, khz, noise, row_meta, write_pcm

EVASION_COLUMNS = ("evasion", "ai_segments", "mix_db", "speed_factor")
"""Manifest columns the layer adds (empty on rows of other layers)."""
WHOLE_FILE = "whole"
"""``ai_segments`` placeholder of a plan row whose whole file is generated; the manifest writes
``0.00-<duration>`` from the written file."""
ARCHITECTURES = ("encodec24", "encodec48", "hifigan22", "snac24", "dac24")
"""Decoders used, in rotation order (all have a comb; cheapest first: the forward passes dominate the build)."""
STEM_ARCHITECTURES = ("encodec24", "encodec48", "hifigan22", "snac24")
WEIGHTS = ("random", "trained")
AI_PEAK_DBFS = -4.0  # as the base layer's AI rows
SPEED_POSTPROCESS = {
    "speed_0.98": 0.98,
    "speed_1.02": 1.02,
    "speed_0.94": 0.94,
    "speed_1.06": 1.06,
    "pitch_resample_-1": 2 ** (-1 / 12),
    "pitch_resample_+1": 2 ** (1 / 12),
}
"""Resampling operations and the factor they scale every frequency by."""
VOCODER_POSTPROCESS = {"pitch_vocoder_-1": -1, "pitch_vocoder_+1": 1}
"""Phase-vocoder pitch shifts, semitones."""
CODEC_POSTPROCESS = {
    s.label: s
    for s in (
        codecs.LossySetting("mp3", "cbr128", "mp3_cbr"),
        codecs.LossySetting("aac", "128k", "aac"),
        codecs.LossySetting("opus", "96k", "opus"),
    )
}
NOISE_POSTPROCESS = {"noise_snr30": 30.0}
"""White noise at this SNR (dB, RMS over the file)."""
POSTPROCESS = (*SPEED_POSTPROCESS, *VOCODER_POSTPROCESS, *CODEC_POSTPROCESS, *NOISE_POSTPROCESS)


@dataclass(frozen=True)
class EvasionSize:
    """How big an evasion layer to build (times in seconds, ranges inclusive, drawn per piece from the seed).

    Attributes
    ----------
    sources : int
        Generated sources: each is one piece's long render plus a decoder's output of its tail, and gives a
        long genuine file, two generated splices, one genuine splice, the whole track and its post-processed
        copies. Keep it even so dev and eval are balanced.
    stems : int
        Stem sources (one file per ``mix_db`` each), on other pieces.
    duration_s, intro_s, bridge_s : tuple of float
        Length of the long render, of its genuine intro, of a generated bridge.
    min_generated_s : float
        Shortest generated tail (the whole generated track).
    outro_s : float
        Genuine audio kept after a bridge, at least.
    stem_duration_s : float
        Length of the stem mixes.
    mix_db : tuple of float
        Generated stem level relative to the genuine mix (RMS), dB.
    postprocess : tuple of str, optional
        Restrict the whole-track operations (``None``: all of :data:`POSTPROCESS`).
    architectures, weights : tuple of str, optional
        Restrict the decoders (``None``: :data:`ARCHITECTURES` / :data:`STEM_ARCHITECTURES` and both weights).
    """

    sources: int
    stems: int
    duration_s: tuple[float, float]
    intro_s: tuple[float, float]
    bridge_s: tuple[float, float]
    min_generated_s: float
    outro_s: float
    stem_duration_s: float
    mix_db: tuple[float, ...] = (-6.0, -12.0, -20.0)
    postprocess: tuple[str, ...] | None = None
    architectures: tuple[str, ...] | None = None
    weights: tuple[str, ...] | None = None


SIZES: dict[str, EvasionSize] = {
    "tiny": EvasionSize(
        1,
        1,
        (16, 16),
        (5, 5),
        (4, 4),
        8,
        3,
        6,
        mix_db=(-6.0,),
        postprocess=("speed_1.06",),
        architectures=("encodec24",),
        weights=("random",),
    ),
    "small": EvasionSize(2, 2, (60, 64), (20, 25), (20, 24), 36, 10, 30),
    "full": EvasionSize(8, 4, (60, 75), (20, 35), (20, 30), 35, 10, 30),
}
"""``tiny`` is for tests only; it breaks the 60-90 s rule to stay fast."""


# --------------------------------------------------------------------------------------------------------
# planning (pure)
# --------------------------------------------------------------------------------------------------------


def segments_text(segments: list[tuple[float, float]]) -> str:
    """``[(20, 45), (60, 70)]`` -> ``"20.00-45.00;60.00-70.00"`` (the ``ai_segments`` column)."""
    return ";".join(f"{a:.2f}-{b:.2f}" for a, b in segments)


def _columns(evasion: str, *, segments: str = "", mix_db: float | None = None, factor: float | None = None):
    return {
        "evasion": evasion,
        "ai_segments": segments,
        "mix_db": "" if mix_db is None else f"{mix_db:g}",
        "speed_factor": "" if factor is None else f"{factor:.6f}",
    }


def boundaries(piece: Piece, cfg: EvasionSize, *, seed: int) -> dict:
    """The long render's length, the intro, the bridge and the crossfade of one piece (whole seconds).

    The generated tail runs from ``intro`` to ``duration``; the bridge lies inside it and leaves at least
    ``cfg.outro_s`` of genuine audio after it.
    """
    rng = np.random.default_rng(int(hash_key(seed, "evasion:" + piece.piece)[:12], 16))
    duration = round(rng.uniform(*cfg.duration_s))
    intro = round(
        rng.uniform(cfg.intro_s[0], max(cfg.intro_s[0], min(cfg.intro_s[1], duration - cfg.min_generated_s)))
    )
    room = duration - cfg.outro_s - intro
    length = round(rng.uniform(cfg.bridge_s[0], max(cfg.bridge_s[0], min(cfg.bridge_s[1], room))))
    start = intro + round(rng.uniform(0, max(0, room - length)))
    return {
        "duration_s": float(duration),
        "intro_s": float(intro),
        "bridge_s": (float(start), float(start + length)),
        "fade_ms": round(float(rng.uniform(10.0, 50.0)), 1),
    }


def _combos(
    cfg: EvasionSize, names: tuple[str, ...], architectures: dict[str, dict]
) -> list[tuple[str, str]]:
    """(architecture, weights) in rotation order: architectures cycle, weights alternate and swap each cycle."""
    archs = [a for a in (cfg.architectures or names) if architectures.get(a, {}).get("expected_delta_hz")]
    weights = cfg.weights or WEIGHTS
    n = len(archs) * len(weights)
    return [
        (archs[j % len(archs)], weights[(j % len(archs) + j // len(archs)) % len(weights)]) for j in range(n)
    ]


def plan(
    pieces: list[Piece], cfg: EvasionSize, *, seed: int, architectures: dict[str, dict] | None
) -> list[Item]:
    """Every item of the layer: phase 5 renders, phase 6 neural outputs, phase 7 derived files.

    Sources take consecutive pieces (which alternate dev/eval), stems the pieces after them. Without
    ``architectures`` only the genuine rows are planned.
    """
    items: list[Item] = []
    combos = _combos(cfg, ARCHITECTURES, architectures or {})
    stem_combos = _combos(cfg, STEM_ARCHITECTURES, architectures or {})
    vocoder = codecs.vocoder_tool()
    for j in range(cfg.sources):
        p = pieces[j % len(pieces)]
        b = boundaries(p, cfg, seed=seed)
        dur, intro, (b0, b1) = b["duration_s"], b["intro_s"], b["bridge_s"]
        long_path = f"evasion/long/{p.slug}__{p.arrangement}_{khz(p.sample_rate)}_{dur:g}s.flac"
        items.append(
            Item(
                long_path,
                "ev_long",
                p,
                5,
                {"duration_s": dur},
                {**row_meta(p, "genuine", "long", setting=f"{p.arrangement}_{dur:g}s"), **_columns("splice")},
            )
        )
        shape = ("bridge", "intro")[j % 2]
        start, end = (b0, b1) if shape == "bridge" else (intro, dur)
        names = list(render.ARRANGEMENTS)
        other = names[(names.index(p.arrangement) + 1) % len(names)]
        items.append(
            Item(
                f"evasion/splice/{p.slug}__genuine__{shape}.flac",
                "ev_splice",
                p,
                7,
                {"long": long_path, "insert": None, "other": other, "start_s": start, "end_s": end, **b},
                {
                    **row_meta(
                        p,
                        "genuine",
                        "splice",
                        setting=f"{other}_{start:g}-{end:g}s",
                        postprocess=f"splice_{shape}",
                    ),
                    **_columns("splice"),
                },
            )
        )
        if not combos:
            continue
        arch, weights = combos[j % len(combos)]
        meta = architectures[arch]
        ai = {
            "architecture": arch,
            "weights": weights,
            "expected_delta_hz": meta["expected_delta_hz"],
        }
        fam = meta.get("family", arch)
        stem = f"{p.slug}__{arch}_{weights}"
        whole = f"evasion/whole/{fam}/{stem}.flac"
        native = int(meta["sample_rate"])
        items.append(
            Item(
                whole,
                "ev_generated",
                p,
                6,
                {"long": long_path, "start_s": intro, "architecture": arch, "weights": weights},
                {
                    **row_meta(p, "ai", fam, setting=f"{khz(native)}_16bit", ai=1, **ai),
                    **_columns("whole", segments=WHOLE_FILE),
                },
            )
        )
        for shape, (start, end) in (("intro", (intro, dur)), ("bridge", (b0, b1))):
            items.append(
                Item(
                    f"evasion/splice/{stem}__{shape}.flac",
                    "ev_splice",
                    p,
                    7,
                    {"long": long_path, "insert": whole, "start_s": start, "end_s": end, **b},
                    {
                        **row_meta(
                            p,
                            "ai",
                            fam,
                            setting=f"{start:g}-{end:g}s",
                            postprocess=f"splice_{shape}",
                            ai=1,
                            **ai,
                        ),
                        **_columns("splice", segments=segments_text([(start, end)])),
                    },
                )
            )
        for post in cfg.postprocess or POSTPROCESS:
            items.append(_post_item(p, whole, stem, post, fam, ai, vocoder))
    for k in range(cfg.stems if stem_combos else 0):
        p = pieces[(cfg.sources + k) % len(pieces)]
        arch, weights = stem_combos[k % len(stem_combos)]
        meta = architectures[arch]
        fam = meta.get("family", arch)
        ai = {"architecture": arch, "weights": weights, "expected_delta_hz": meta["expected_delta_hz"]}
        for mix in cfg.mix_db:
            items.append(
                Item(
                    f"evasion/stem/{p.slug}__{arch}_{weights}__top{mix:+g}db.flac",
                    "ev_stem",
                    p,
                    6,
                    {
                        "architecture": arch,
                        "weights": weights,
                        "mix_db": mix,
                        "duration_s": cfg.stem_duration_s,
                    },
                    {
                        **row_meta(
                            p,
                            "ai",
                            fam,
                            setting=f"top_voice_{khz(p.sample_rate)}",
                            postprocess="stem_mix",
                            ai=1,
                            **ai,
                        ),
                        **_columns("stem", segments=WHOLE_FILE, mix_db=mix),
                    },
                )
            )
    return items


def _post_item(p: Piece, whole: str, stem: str, post: str, fam: str, ai: dict, vocoder: str) -> Item:
    """One post-processed copy of a whole generated track."""
    params = {"source": whole, "post": post}
    kw: dict = {"postprocess": post, "ai": 1}
    factor = None
    if post in SPEED_POSTPROCESS:
        factor = SPEED_POSTPROCESS[post]
        ai = {**ai, "expected_delta_hz": ai["expected_delta_hz"] * factor}  # the comb moves with the factor
        group, kw["setting"] = "speed_pitch", f"sox_speed_{factor:.6f}"
    elif post in VOCODER_POSTPROCESS:
        semitones = VOCODER_POSTPROCESS[post]
        ai = {**ai, "expected_delta_hz": None}  # no longer a clean comb at a known spacing
        group, kw["setting"] = "speed_pitch", f"{vocoder}_{semitones:+d}st"
        params["tool"] = vocoder
    elif post in CODEC_POSTPROCESS:
        s = CODEC_POSTPROCESS[post]
        group = "codec_noise"
        kw.update(codec=s.codec, setting=s.setting, lossy=1)
    elif post in NOISE_POSTPROCESS:
        group, kw["setting"] = "codec_noise", f"white_snr{NOISE_POSTPROCESS[post]:g}db"
    else:
        raise ValueError(f"unknown postprocess {post!r}")
    return Item(
        f"evasion/{group}/{stem}__{post}.flac",
        "ev_post",
        p,
        7,
        params,
        {**row_meta(p, "ai", fam, **ai, **kw), **_columns(group, segments=WHOLE_FILE, factor=factor)},
    )


# --------------------------------------------------------------------------------------------------------
# signal helpers
# --------------------------------------------------------------------------------------------------------


def rms(audio: np.ndarray) -> float:
    """Root mean square over every sample of every channel."""
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0


def match_gain(audio: np.ndarray, reference: np.ndarray, db: float = 0.0) -> float:
    """The factor that puts the RMS of ``audio`` ``db`` dB relative to the RMS of ``reference`` (1 for silence)."""
    have = rms(audio)
    return 1.0 if have == 0 else rms(reference) * 10 ** (db / 20) / have


def splice(base: np.ndarray, insert: np.ndarray, start: int, end: int, fade: int) -> np.ndarray:
    """``base`` with ``insert`` (same shape, time-aligned) between samples ``start`` and ``end``.

    The insert fades in over its first ``fade`` samples and out over its last ones, linearly, as an editor's
    crossfade; an insert that reaches the end of the file does not fade out.
    """
    weight = np.zeros(len(base))
    weight[start:end] = 1.0
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False) if fade else np.zeros(0)
    weight[start : start + len(ramp)] = ramp
    if end < len(base):
        weight[end - len(ramp) : end] = ramp[::-1]
    return base * (1.0 - weight[:, None]) + insert * weight[:, None]


def fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    """Cut or zero-pad (frames, channels) audio to ``frames``."""
    if len(audio) >= frames:
        return audio[:frames]
    return np.pad(audio, ((0, frames - len(audio)), (0, 0)))


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """(frames, channels) float audio from ``rate`` to ``target`` Hz with SoX's soxr (``rate -v``)."""
    if rate == target:
        return audio
    with tempfile.TemporaryDirectory(prefix="mf_evasion_") as work:
        src, dst = Path(work) / "in.wav", Path(work) / "out.wav"
        sf.write(str(src), audio.astype(np.float32), rate, subtype="FLOAT")
        codecs.run(["sox", str(src), "-e", "floating-point", "-b", "32", str(dst), "rate", "-v", str(target)])
        out, _ = sf.read(str(dst), dtype="float64", always_2d=True)
    return out


def _read(path: Path) -> tuple[np.ndarray, int]:
    if not path.exists():
        raise FileNotFoundError(f"source {str(path)!r} is missing (an earlier phase failed?)")
    audio, rate = sf.read(str(path), dtype="float64", always_2d=True)
    return audio, rate


# --------------------------------------------------------------------------------------------------------
# makers
# --------------------------------------------------------------------------------------------------------


def make_render(item: Item, out: Path, tmp: Path, cfg, seed: int) -> None:
    """Phase 5: a long genuine render, 16-bit at the piece's rate."""
    p = item.piece
    audio = render.render_piece(
        p.piece,
        arrangement=render.ARRANGEMENTS[p.arrangement],
        sample_rate=p.sample_rate,
        duration_s=item.params["duration_s"],
        seed=p.seed,
    )
    write_pcm(tmp, audio, p.sample_rate, bits=16, rng=item_rng(item, seed))


def make_neural(item: Item, out: Path, tmp: Path, seed: int, encode, cache: dict) -> None:
    """Phase 6 (main process): the decoder output of a long render's tail, or a stem mix.

    ``encode(audio, rate)`` runs the item's decoder and returns ``(audio, native_rate)``; ``cache`` keeps a
    stem's decoder output and accompaniment for the other mix levels.
    """
    p = item.piece
    if item.kind == "ev_generated":
        audio, rate = _read(out / item.params["long"])
        y, native = encode(audio[int(item.params["start_s"] * rate) :], rate)
        write_pcm(tmp, render.normalise(y, peak_dbfs=AI_PEAK_DBFS), native, bits=16, rng=item_rng(item, seed))
        return
    if item.kind != "ev_stem":
        raise ValueError(f"unknown neural evasion kind {item.kind!r}")
    key = (p.piece, item.params["architecture"], item.params["weights"])
    if key not in cache:
        cache.clear()
        voices = {
            v: render.render_piece(
                p.piece,
                arrangement=render.ARRANGEMENTS[p.arrangement],
                sample_rate=p.sample_rate,
                duration_s=item.params["duration_s"],
                seed=p.seed,
                voices=v,
            )
            for v in ("top", "others")
        }
        y, native = encode(voices["top"], p.sample_rate)
        cache[key] = (fit_length(resample(y, native, p.sample_rate), len(voices["others"])), voices["others"])
    generated, others = cache[key]
    mix = others + generated * match_gain(generated, others, item.params["mix_db"])
    write_pcm(
        tmp,
        render.normalise(mix, peak_dbfs=render.TARGET_PEAK_DBFS),
        p.sample_rate,
        bits=16,
        rng=item_rng(item, seed),
    )


def make_derived(item: Item, out: Path, tmp: Path, cfg, seed: int) -> None:
    """Phase 7: a splice of the long render, or a post-processed whole generated track."""
    if item.kind == "ev_splice":
        _make_splice(item, out, tmp, seed)
    elif item.kind == "ev_post":
        _make_post(item, out, tmp, seed)
    else:
        raise ValueError(f"unknown derived evasion kind {item.kind!r}")


def _make_splice(item: Item, out: Path, tmp: Path, seed: int) -> None:
    p, prm = item.piece, item.params
    base, rate = _read(out / prm["long"])
    if prm["insert"] is None:  # another genuine take: another arrangement, another tempo
        insert = render.render_piece(
            p.piece,
            arrangement=render.ARRANGEMENTS[prm["other"]],
            sample_rate=rate,
            duration_s=prm["duration_s"],
            seed=p.seed + 1,
        ).astype(np.float64)
        insert = fit_length(insert, len(base))
    else:  # decoder output of the tail from intro_s on, back at the render's rate
        generated, native = _read(out / prm["insert"])
        generated = resample(generated, native, rate)
        offset = int(prm["intro_s"] * rate)
        insert = np.zeros_like(base)
        insert[offset:] = fit_length(generated, len(base) - offset)
    start, end = int(prm["start_s"] * rate), min(len(base), int(prm["end_s"] * rate))
    insert = insert * match_gain(insert[start:end], base[start:end])
    y = splice(base, insert, start, end, int(prm["fade_ms"] / 1000 * rate))
    write_pcm(
        tmp, render.normalise(y, peak_dbfs=render.TARGET_PEAK_DBFS), rate, bits=16, rng=item_rng(item, seed)
    )


def _make_post(item: Item, out: Path, tmp: Path, seed: int) -> None:
    src = out / item.params["source"]
    audio, rate = _read(src)
    post = item.params["post"]
    if post in SPEED_POSTPROCESS:
        codecs.sox_speed(src, tmp, factor=SPEED_POSTPROCESS[post], sample_rate=rate)
    elif post in VOCODER_POSTPROCESS:
        with tempfile.TemporaryDirectory(prefix="mf_evasion_") as work:
            shifted = Path(work) / "shifted.wav"
            codecs.run(
                codecs.pitch_shift_command(src, shifted, VOCODER_POSTPROCESS[post], item.params["tool"])
            )
            y, _ = _read(shifted)
        write_pcm(tmp, y, rate, bits=16, rng=item_rng(item, seed))
    elif post in CODEC_POSTPROCESS:
        codecs.transcode(src, tmp, (CODEC_POSTPROCESS[post],), sample_rate=rate)
    elif post in NOISE_POSTPROCESS:
        rng = item_rng(item, seed)
        level = 20 * np.log10(rms(audio)) - NOISE_POSTPROCESS[post]
        write_pcm(tmp, audio + noise(audio.shape, rms_dbfs=level, rng=rng), rate, bits=16, rng=rng)
    else:
        raise ValueError(f"unknown postprocess {post!r}")
