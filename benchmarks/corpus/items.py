"""What one corpus file is, and the helpers every layer of the builder shares.

The records of the plan (:class:`Piece`, :class:`Item`), the manifest metadata of a row (:func:`row_meta`),
the seeded hash that drives every choice, rotation over pieces, and writing float audio as dithered PCM.
``build.py`` (the base layer and the orchestration) and ``evasion.py`` (the evasion layer) both use them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf


@dataclass(frozen=True)
class Piece:
    """A music21 piece and how it is rendered.

    Attributes
    ----------
    piece : str
        music21 corpus path.
    slug : str
        File-name-safe form of ``piece``.
    split : str
        ``dev`` or ``eval``.
    position : int
        Index in the dev/eval-interleaved order (drives arrangement, rate and variant rotation).
    arrangement : str
        Key of :data:`render.ARRANGEMENTS`.
    sample_rate : int
        Rate of the genuine render (44100 or 48000).
    seed : int
        Render seed (tempo, velocities).
    """

    piece: str
    slug: str
    split: str
    position: int
    arrangement: str
    sample_rate: int
    seed: int


@dataclass(frozen=True)
class Item:
    """One output file: how to make it and its manifest metadata.

    ``kind`` selects the maker; ``params`` are its arguments; ``meta`` the manifest columns known from the
    plan (rate, bit depth, channels and duration are read from the written file).
    """

    path: str
    kind: str
    piece: Piece
    phase: int
    params: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


def hash_key(seed: int, text: str) -> str:
    """Hex SHA-256 of ``seed:text``: the seeded key behind every selection, split and noise seed."""
    return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()


def rotate(candidates: list[Piece], index: int, coverage: int) -> list[Piece]:
    """Pick ``coverage`` consecutive candidates starting at ``index * coverage`` (wrapping).

    Consecutive positions alternate dev/eval, so an even ``coverage`` balances the splits.
    """
    if not candidates:
        return []
    k = min(coverage, len(candidates))
    start = index * coverage
    return [candidates[(start + t) % len(candidates)] for t in range(k)]


def labels(*, lossy: int = 0, upsampled: int = 0, bitpadded: int = 0, ai: int = 0) -> dict:
    """Manifest label columns."""
    return {"label_lossy": lossy, "label_upsampled": upsampled, "label_bitpadded": bitpadded, "label_ai": ai}


def row_meta(
    piece: Piece,
    cls: str,
    family: str,
    *,
    codec: str = "none",
    setting: str = "",
    architecture: str = "",
    weights: str = "",
    expected_delta_hz=None,
    postprocess: str = "none",
    **label_kw,
) -> dict:
    """The manifest columns of a row that the plan knows (the rest are read from the written file)."""
    return {
        "split": piece.split,
        "class": cls,
        "family": family,
        "codec": codec,
        "setting": setting,
        "architecture": architecture,
        "weights": weights,
        "expected_delta_hz": "" if expected_delta_hz is None else f"{expected_delta_hz:.4f}",
        "postprocess": postprocess,
        "source_piece": piece.piece,
        **labels(**label_kw),
    }


def khz(rate: int) -> str:
    """``44100`` -> ``"44.1k"`` (file names)."""
    return f"{rate / 1000:g}k"


def quantise(audio: np.ndarray, *, bits: int, rng: np.random.Generator, dither: bool = True) -> np.ndarray:
    """Round float audio in [-1, 1) to ``bits``-bit integers (TPDF dither of +-1 LSB when ``dither``).

    Returns int32 with the value left-aligned in 32 bits' top ``bits`` (soundfile writes the top bits of
    int32 data to PCM_16/PCM_24), so 16-bit content can be stored as 24-bit with zero low bits.
    """
    scale = 2 ** (bits - 1)
    x = np.asarray(audio, dtype=np.float64) * scale
    if dither:
        x = x + rng.uniform(-0.5, 0.5, x.shape) + rng.uniform(-0.5, 0.5, x.shape)
    q = np.clip(np.round(x), -scale, scale - 1).astype(np.int64)
    return (q << (32 - bits)).astype(np.int32)


def write_pcm(
    path: Path,
    audio: np.ndarray,
    sample_rate: int,
    *,
    bits: int,
    rng: np.random.Generator,
    dither: bool = True,
) -> None:
    """Write float audio to FLAC/WAV at ``bits`` (16 or 24) with TPDF dither."""
    data = quantise(audio, bits=bits, rng=rng, dither=dither)
    sf.write(str(path), data, sample_rate, subtype=f"PCM_{bits}")


def noise(shape: tuple[int, ...], *, rms_dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise at ``rms_dbfs`` dBFS RMS."""
    return rng.standard_normal(shape) * 10 ** (rms_dbfs / 20)


def gain(audio: np.ndarray, db: float) -> np.ndarray:
    """Scale by ``db`` decibels."""
    return audio * 10 ** (db / 20)


def item_rng(item: Item, seed: int) -> np.random.Generator:
    """The generator of one output file (dither, noise), seeded by the build seed and the file's path."""
    return np.random.default_rng(int(hash_key(seed, "item:" + item.path)[:12], 16))
