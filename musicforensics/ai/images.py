"""Is a comb the aliasing images of a tone through an MPEG layer I-III filterbank?

MPEG audio layers I-III (MP1, MP2 and the first stage of MP3) split the signal into 32 sub-bands of ``fs / 64`` Hz
each, decimated by 32 (ISO/IEC 11172-3, 2.4.3). Quantising the sub-band samples coarsely lets the filterbank's
aliasing through: a strong tone at ``f`` leaves images mirrored about every band edge, at ``k fs / 64 +- f``.
Modulo ``P = fs / 32`` those images occupy at most four positions, ``+-f`` and ``fs / 64 +- f``. When the
candidate spacing Delta divides ``P`` (``P = m Delta``, e.g. 275.6 Hz = 44100 / 160 with m = 5, or 55.1 Hz with
m = 25), a tone at a multiple of Delta lights teeth of the comb ``n Delta`` in those residue classes ``n mod m``
only, and the comb can fire (measured: a double-bass note at 110.25 Hz and a guitar note at 275.6 Hz through
FFmpeg's MP2 encoder at 192 kbit/s, comb z 8.9 and 12.1).

A decoder lights its teeth in every residue class. So with ``e_j`` the teeth's mean level excess (over the band's
median level, the lattice contrast's ``h``) in class ``j = 1 .. m - 1`` (class 0, on the filterbank's own lines,
is left out: both light it), the **image share** ``s`` is the largest share of the total excess that one tone's
image set ``{j, m - j, m/2 - j, m/2 + j}`` (the last two for even m) holds. A decoder's expectation ``s0`` is
the set's size over ``m - 1``; the **image concentration** ``(s - s0) / (1 - s0)`` is 0 for teeth spread evenly
over the classes and 1 when the image set holds all of the excess. Sets that would hold more than half the
classes cannot tell the two apart and are not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .coherent import HIGH_BAND_HZ
from .lattice import FullSpectrum

#: Sub-bands of the MPEG layer I-III filterbank: its images repeat every ``fs / MPEG_SUBBANDS`` Hz.
MPEG_SUBBANDS = 32
#: Fewest teeth per residue class for a class mean.
MIN_TEETH_PER_CLASS = 2
#: The band's median level is read on every BASELINE_STRIDE-th bin (tens of thousands of bins of a 20 s
#: spectrum: the same median to well under the spread of a class mean, at an eighth of the cost).
BASELINE_STRIDE = 8


@dataclass(frozen=True)
class ImageShare:
    """The image share of a comb (``share``), a decoder's expectation of it (``expected``), the tone whose image
    set holds it (``tone_hz``, the smallest frequency of the set) and the number of residue classes (``m``)."""

    share: float
    expected: float
    tone_hz: float
    m: int

    @property
    def concentration(self) -> float:
        """(share - expected) / (1 - expected): 0 for teeth spread evenly, 1 for images only."""
        return (self.share - self.expected) / (1.0 - self.expected)


def image_sets(m: int) -> list[tuple[int, frozenset]]:
    """Per tone class j = 1 .. m // 2, the residue classes (mod m) of its images, left out when they would hold
    more than half of the classes 1 .. m - 1.

    >>> image_sets(5), [j for j, _ in image_sets(10)]
    ([(1, frozenset({1, 4})), (2, frozenset({2, 3}))], [1, 2, 3, 4, 5])
    """
    out = []
    for j in range(1, m // 2 + 1):
        classes = {j % m, (m - j) % m}
        if m % 2 == 0:
            classes |= {(m // 2 - j) % m, (m // 2 + j) % m}
        classes.discard(0)
        if 2 * len(classes) <= m - 1:
            out.append((j, frozenset(classes)))
    return out


def image_share(spec: FullSpectrum, delta_hz: float, top_hz: float, sample_rate: int) -> ImageShare | None:
    """The image share of the comb ``k delta_hz`` between HIGH_BAND_HZ and ``top_hz`` (module docstring); None
    when ``delta_hz`` does not divide ``sample_rate / MPEG_SUBBANDS``, no image set can be told from a decoder's
    teeth, or the band holds too few teeth."""
    period = sample_rate / MPEG_SUBBANDS
    ratio = period / delta_hz
    m = int(round(ratio))
    if m < 2 or abs(ratio - m) > 1e-6 * ratio:
        return None
    sets = image_sets(m)
    if not sets:
        return None
    lo = int(HIGH_BAND_HZ / spec.bin_hz) + 2
    hi = min(int(top_hz / spec.bin_hz), spec.level.shape[0] - 2)
    n = np.arange(max(1, int(np.ceil(HIGH_BAND_HZ / delta_hz))), int(top_hz / delta_hz) + 1)
    bins = np.round(n * delta_hz / spec.bin_hz).astype(np.int64)
    keep = (bins > lo) & (bins < hi)
    n, bins = n[keep], bins[keep]
    if hi - lo < 100 or n.size < MIN_TEETH_PER_CLASS * (m - 1):
        return None
    baseline = float(np.median(spec.level[lo:hi:BASELINE_STRIDE]))
    excess = np.zeros(m)
    classes = n % m
    for j in range(1, m):
        levels = spec.level[bins[classes == j]]
        if levels.size >= MIN_TEETH_PER_CLASS:
            excess[j] = max(float(levels.mean()) - baseline, 0.0)
    total = float(excess.sum())
    if total <= 0.0:
        return None
    j, classes_of = max(sets, key=lambda s: sum(excess[c] for c in s[1]))
    return ImageShare(share=sum(excess[c] for c in classes_of) / total, expected=len(classes_of) / (m - 1),
                      tone_hz=j * delta_hz, m=m)
