"""The catalogue of neural decoders and the comb spacings they leave.

A decoder at rate r whose transposed convolutions have strides k1..kL leaves a comb of peaks spaced
``Delta = r / (k1 ... kL)`` Hz (docs/references.md, Afchar et al. 2025). This module lists the generator rates
and stride products the comb search considers, the published decoders (rates and strides from their
configurations), and turns a measured spacing back into (rate, stride product, decoder) explanations.

>>> [m["decoders"] for m in explain_spacing(50.0, 32000)][:1]
[['EnCodec 32 kHz (MusicGen)']]
>>> family_of(explain_spacing(86.1328, 44100))
'DAC'
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Decoder sample rates a generator may run at, Hz (docs/references.md, decoder table, plus common rates).
GENERATOR_RATES = (44100, 48000, 32000, 24000, 22050, 16000)
#: Smallest comb spacing searched, Hz (below it the teeth crowd within a few bins of each other).
DELTA_MIN_HZ = 15.0
#: Upper end of the architecture-plausible spacings, Hz. With random or briefly trained weights the coarser
#: levels of the comb (r / (k_L k_(L-1) ...), e.g. 689 Hz for DAC 44.1 kHz) are often the only teeth that
#: stand out, so they are candidates too; the reported spacing is then refined down to the finest
#: significant divisor (see :func:`musicforensics.ai.comb.comb_search`).
PLAUSIBLE_MAX_HZ = 1500.0
#: Known decoders: (name, family, rate Hz, strides) from the architectures' published configs; where only the
#: comb of published outputs is known, the "strides" are the one measured stride product.
KNOWN_DECODERS = (
    ("DAC 44.1 kHz", "DAC", 44100, (8, 8, 4, 2)),
    ("DAC 24 kHz", "DAC", 24000, (8, 5, 4, 2)),
    ("EnCodec 24 kHz", "EnCodec", 24000, (8, 5, 4, 2)),
    ("EnCodec 48 kHz", "EnCodec", 48000, (8, 5, 4, 2)),
    ("EnCodec 32 kHz (MusicGen)", "EnCodec", 32000, (8, 5, 4, 4)),
    ("SNAC 24 kHz", "SNAC", 24000, (8, 8, 4, 2)),
    ("SNAC 32 kHz", "SNAC", 32000, (8, 8, 3, 2)),
    ("SNAC 44 kHz", "SNAC", 44100, (8, 8, 3, 2)),
    ("Stable Audio Open VAE (also DiffRhythm's decoder)", "Stable Audio (oobleck VAE)", 44100, (8, 8, 4, 4, 2)),
    ("HiFi-GAN V1 22.05 kHz", "HiFi-GAN", 22050, (8, 8, 2, 2)),
    ("BigVGAN-v2 44 kHz", "BigVGAN", 44100, (8, 4, 2, 2, 2, 2)),
    # stride products measured on published outputs (the strides themselves are not published):
    ("LAC (measured on Deezer's published reconstructions)", "LAC", 44100, (768,)),
    ("Musika (measured on Deezer's published reconstructions)", "Musika", 44100, (2048,)),
    ("Suno (measured by others)", "Suno", None, None),
)
#: Suno's measured fundamental, Hz (measured by others: 49.8 Hz with a strong tooth at 399.9 Hz; docs/references.md).
SUNO_DELTA_HZ = 49.8
#: Largest stride product considered when explaining a spacing by (rate, product).
MAX_STRIDE_PRODUCT = 4096


#: Stride products considered: 2^a 3^b 5^c with b <= MAX_THREES and c <= MAX_FIVES. Published decoders use
#: strides 2, 3, 4, 5, 6, 8, 10 with at most one factor 3 and one factor 5 (docs/references.md); two of each
#: leave room for unknown designs. Denser sets (7-smooth products) put plausible spacings near choral
#: fundamentals: on the full corpus's genuine renders, 48000/980 = 48.98 Hz (G1) and 48000/2025 = 23.70 Hz
#: gave the only two false positives.
MAX_THREES = 2
MAX_FIVES = 2


def _smooth_numbers(limit: int) -> np.ndarray:
    """Stride products 2..limit of the form 2^a 3^b 5^c (b <= MAX_THREES, c <= MAX_FIVES)."""
    out = []
    for a in range(13):
        for b in range(MAX_THREES + 1):
            for c in range(MAX_FIVES + 1):
                v = 2 ** a * 3 ** b * 5 ** c
                if 2 <= v <= limit:
                    out.append(v)
    return np.array(sorted(set(out)))


#: Every stride product considered (see :func:`_smooth_numbers`).
STRIDE_PRODUCTS = _smooth_numbers(MAX_STRIDE_PRODUCT)
#: Spacings of the published decoders at their native rates, Hz.
KNOWN_DELTAS = tuple(sorted({r / float(np.prod(st)) for _n, _f, r, st in KNOWN_DECODERS if st} | {SUNO_DELTA_HZ}))


def plausible_deltas(*, dmin: float = DELTA_MIN_HZ, dmax: float = PLAUSIBLE_MAX_HZ) -> np.ndarray:
    """Spacings r / P (Hz) for every generator rate r and stride product P (see :func:`_smooth_numbers`) in
    range, plus Suno's."""
    return _plausible_deltas(float(dmin), float(dmax)).copy()


@lru_cache(maxsize=8)
def _plausible_deltas(dmin: float, dmax: float) -> np.ndarray:
    vals = {round(r / p, 6) for r in GENERATOR_RATES for p in STRIDE_PRODUCTS if dmin <= r / p <= dmax}
    vals.add(SUNO_DELTA_HZ)
    return np.array(sorted(vals))


def explain_spacing(delta: float, sample_rate: int, *, tol_hz: float = 0.5) -> list[dict]:
    """Generator rates r and stride products P with |r/P - delta| <= tol_hz, and matching known decoders.

    Returns a list of {"rate_hz", "stride_product", "delta_hz", "decoders"} sorted by closeness.
    """
    out = []
    for r in GENERATOR_RATES:
        p = int(round(r / delta))
        if p < 2 or p > MAX_STRIDE_PRODUCT or p not in set(STRIDE_PRODUCTS.tolist()):
            continue
        d = r / p
        if abs(d - delta) <= tol_hz:
            names = [name for name, _fam, rate, strides in KNOWN_DECODERS
                     if rate == r and strides is not None and int(np.prod(strides)) == p]
            out.append({"rate_hz": r, "stride_product": p, "delta_hz": d, "decoders": names,
                        "rate_ok": r <= sample_rate * 1.0001 or True})
    if abs(delta - SUNO_DELTA_HZ) <= tol_hz:
        out.append({"rate_hz": None, "stride_product": None, "delta_hz": SUNO_DELTA_HZ,
                    "decoders": ["Suno (measured by others)"], "rate_ok": True})
    out.sort(key=lambda e: (not e["decoders"], abs(e["delta_hz"] - delta)))
    for e in out:
        e.pop("rate_ok")
    return out


def family_of(matches: list[dict]) -> str | None:
    """The architecture family of the first match that names a known decoder, else None."""
    fams = {name: fam for name, fam, _r, _s in KNOWN_DECODERS}
    for m in matches:
        if m["decoders"]:
            return fams[m["decoders"][0]]
    return None


