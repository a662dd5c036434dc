"""Padded bit depth: a 24/32-bit or float file whose samples only use 16 bits (or fewer).

Exact test. Every stored sample x is mapped to the integer grid of the container, q = x * 2^(B-1)
(B = 24 for float files, whose 24-bit grid is checked); the bitwise OR of all q has as many trailing zero
bits as every sample shares. ``effective_bits = B - trailing_zeros``. A genuine recording with noise fills
the low bits: the chance that N independent non-silent samples all have their low k bits at zero is
2^(-kN), so a padded verdict on more than a few hundred samples is certain up to floating-point precision.
"""

from __future__ import annotations

import math
import time

from ..detector import Detector, TrackContext
from ..results import Finding
from . import BITDEPTH
from .evidence import BitpaddedEvidence

#: Stored depths at or above this count as "hi-res" containers worth testing.
MIN_STORED_BITS = 20
#: Content using at most this many bits in a hi-res container is padded.
PADDED_MAX_BITS = 16


def padded_probability(stored_bits: int, effective_bits: int, samples: int) -> float:
    """P(padded | all samples share ``stored_bits - effective_bits`` zero low bits), from the 2^(-kN) chance
    that genuine content does so; 0 when nothing is missing.

    >>> padded_probability(24, 16, 1)
    0.99609375
    """
    missing = stored_bits - effective_bits
    if missing <= 0 or samples <= 0:
        return 0.0
    return 1.0 - math.pow(2.0, -min(missing * samples, 1074))


class BitDepthDetector(Detector):
    spec = BITDEPTH

    def analyze(self, ctx: TrackContext):
        t0 = time.perf_counter()
        info, stats = ctx.info, ctx.stats
        stored = info.bit_depth
        evidence = BitpaddedEvidence(stored_bits=stored, grid_bits=stats.grid_bits,
                                     effective_bits=stats.effective_bits, is_float=info.is_float,
                                     off_grid_samples=stats.off_grid_samples)
        if info.lossy_codec:
            finding = Finding("bitpadded", False, 0.0, evidence, reason=f"lossy container ({info.lossy_codec}): no stored bit depth", detector=self.name)
        elif stored is None or stored < MIN_STORED_BITS:
            finding = Finding("bitpadded", False, 0.0, evidence, reason=f"stored at {stored} bits: nothing to pad", detector=self.name)
        elif info.is_float and stats.off_grid_samples > 0:
            finding = Finding("bitpadded", False, 0.0, evidence,
                              reason=f"{stats.off_grid_samples} samples off the 24-bit grid: genuine float data", detector=self.name)
        elif stats.effective_bits is None:
            finding = Finding.undecided("bitpadded", "no non-zero samples to test", detector=self.name, evidence=evidence)
        else:
            eff = stats.effective_bits
            grid = stats.grid_bits
            detected = eff <= PADDED_MAX_BITS
            prob = padded_probability(grid, eff, stats.samples) if detected else 0.0
            reason = (f"every sample has its low {grid - eff} bits at zero: {eff}-bit content in a {stored}-bit file"
                      if detected else f"{eff} of {grid} bits in use")
            finding = Finding("bitpadded", detected, prob, evidence, reason=reason, detector=self.name)
        return self.result(findings=[finding], evidence=evidence, seconds=time.perf_counter() - t0)

