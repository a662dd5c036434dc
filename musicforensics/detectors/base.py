"""The one interface every detector implements, and the per-track context it reads.

A detector is a class with ``name``, ``version``, ``kinds`` (the finding kinds it reports), ``order`` (run
order; cheaper first) and ``analyze(ctx) -> DetectorResult``. A module in :mod:`musicforensics.detectors`
that defines ``DETECTOR = SomeDetector`` is picked up by :func:`musicforensics.detectors.available`;
adding a detector means adding a module, nothing else.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..audio import AudioInfo
from ..config import AnalysisConfig
from ..dsp.spectrum import SampleStats, SpectralSummary
from ..results import DetectorResult


@dataclass
class TrackContext:
    """What a detector may read about one track.

    Attributes
    ----------
    path : Path or None
        The file (None for in-memory signals).
    info : AudioInfo
        Container facts.
    config : AnalysisConfig
    spectrum : SpectralSummary
        Long-term spectrum and band energies of the analysed span.
    stats : SampleStats
        Sample statistics of the analysed span.
    """

    path: Path | None
    info: AudioInfo
    config: AnalysisConfig
    spectrum: SpectralSummary
    stats: SampleStats
    _excerpt: Callable[[float, float | None], np.ndarray] = field(repr=False, default=None)
    _blocks: Callable[..., Iterator[np.ndarray]] = field(repr=False, default=None)
    shared: dict = field(default_factory=dict)

    @property
    def analysed_seconds(self) -> float:
        """Seconds of audio the summary covers (whole file, or config.max_seconds)."""
        total = self.info.duration_s
        return total if self.config.max_seconds is None else min(total, self.config.max_seconds)

    def excerpt(self, start_s: float = 0.0, duration_s: float | None = None) -> np.ndarray:
        """Samples (frames, channels) float32 of a stretch of the track, read-only (memory: the stretch only; the
        kept middle excerpt is served without a copy). float32 is exact for PCM up to 24 bits."""
        return self._excerpt(start_s, duration_s)

    def blocks(self, *, block_frames: int, overlap: int = 0, max_frames: int | None = None) -> Iterator[np.ndarray]:
        """Stream the track again as (frames, channels) float64 blocks overlapping by ``overlap``."""
        return self._blocks(block_frames=block_frames, overlap=overlap, max_frames=max_frames)


class Detector(abc.ABC):
    """Base class of the detectors."""

    name: str = ""
    #: Bumped whenever the detector's results change: result stores key on it, so old results are not reused.
    version: str = "0"
    kinds: tuple[str, ...] = ()
    order: int = 100
    #: True when :meth:`analyze` reads raw samples through ``ctx.excerpt``: the spectral pass then keeps the
    #: middle excerpt in memory for it (a copy that costs ~1.5 ms and ~11 MB per 30 s of stereo audio, so a run
    #: without such a detector, e.g. ``musicforensics peaks``, skips it).
    reads_samples: bool = False

    @abc.abstractmethod
    def analyze(self, ctx: TrackContext) -> DetectorResult:
        """Judge one track; must not raise on degenerate audio (return inconclusive findings instead)."""

    def identity(self) -> str:
        """What makes this detector's results what they are: its version, plus a digest of every model file it
        reads (subclasses add theirs). Result stores key on it, so a new model never reuses old verdicts."""
        return str(self.version)

    def warm_up(self) -> None:
        """Compile numba kernels (or load them from cache) before worker processes start."""

    def result(self, **kwargs) -> DetectorResult:
        """A :class:`DetectorResult` pre-filled with this detector's name and version."""
        return DetectorResult(detector=self.name, version=self.version, **kwargs)
