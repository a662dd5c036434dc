"""The :class:`Wall` record a spectral edge is reported as, apart from the NumPy code that measures it
(:mod:`.wall`): reading stored results back (a rescan, ``store export``) needs no NumPy."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..results import EvidenceRecord


@dataclass(frozen=True)
class Wall(EvidenceRecord):
    """A spectral edge.

    Attributes
    ----------
    freq_hz : float
        Edge frequency: where the smoothed level first falls below the midpoint of ``below_db`` and
        ``above_db`` going up from the stretch below, Hz.
    drop_db : float
        ``below_db - above_db``, dB.
    steepness_db_per_khz : float
        Drop from 10 % to 90 % of ``drop_db`` divided by the width it takes, dB/kHz.
    below_db, above_db : float
        Mean level of the stretches below and above the edge, dB (same scale as the input).
    floor_db : float
        Median level from the edge + :data:`~musicforensics.spectral.wall.GUARD_HZ` to the top of the axis, dB.
    floor_flatness_db : float
        Standard deviation of the (unsmoothed) level over the floor region, dB; digital silence is ~0.
    """

    freq_hz: float
    drop_db: float
    steepness_db_per_khz: float
    below_db: float
    above_db: float
    floor_db: float
    floor_flatness_db: float

    def to_dict(self) -> dict:
        return {k: round(float(v), 3) for k, v in asdict(self).items()}

    def rounded(self, ndigits: int = 3) -> "Wall":
        """The same wall with every value rounded as its JSON shows it (what the decisions read)."""
        return Wall(**{k: round(float(v), ndigits) for k, v in asdict(self).items()})
