"""The one interface every detector implements, the per-track context it reads, and the light description
(:class:`DetectorSpec`) the pipeline knows each detector by.

A detector is a :class:`Detector` subclass with a :class:`DetectorSpec` (``name``, ``version``, the finding
``kinds`` it reports, run ``order``, the model files it reads) and ``analyze(ctx) -> DetectorResult``. Specs
are declared in each detector package's ``__init__`` and import nothing heavy, so the pipeline can key result
stores on them (:meth:`DetectorSpec.identity`) without loading numba; the implementation class is imported
only when a file is analysed. Adding a detector: a spec, a class, and one line in
:mod:`musicforensics.pipeline.registry`.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from . import model_files
from .config import AnalysisConfig
from .results import DetectorResult

if TYPE_CHECKING:  # annotations only: importing this module must stay cheap
    import numpy as np

    from .io.info import AudioInfo
    from .spectral.summary import SampleStats, SpectralSummary


@dataclass(frozen=True)
class DetectorSpec:
    """What the pipeline knows of a detector without importing it.

    Attributes
    ----------
    name : str
        Detector name (``--detectors``, the ``detectors`` records of the JSON).
    version : str
        Bumped whenever the detector's results change: result stores key on it.
    kinds : tuple of str
        Finding kinds it reports.
    order : int
        Run order (cheaper first).
    implementation : str
        ``"module:Class"`` of the :class:`Detector` subclass.
    models : tuple of str
        Shipped model files (``musicforensics/models/<name>``) its results depend on.
    model_option : str or None
        Name of the :class:`~musicforensics.config.AnalysisConfig` field that replaces the first model with a
        file of the user's (None: no such option).
    reads_samples : bool
        Whether it reads raw samples (``TrackContext.excerpt``): the spectral pass then keeps the middle
        excerpt in memory for it.
    aliases : tuple of str
        Former names still accepted by ``--detectors``.
    observer : str or None
        ``"module:callable"`` that, given the track's ``AudioInfo`` and the ``AnalysisConfig``, returns a
        callable the spectral pass feeds every new stretch of samples (frames, channels): what a detector
        needs from the samples beyond the long-term spectrum, gathered on the same decode. The detector finds
        it as ``TrackContext.observed[name]``.
    """

    name: str
    version: str
    kinds: tuple[str, ...]
    order: int
    implementation: str
    models: tuple[str, ...] = ()
    model_option: str | None = None
    reads_samples: bool = False
    aliases: tuple[str, ...] = ()
    observer: str | None = None

    def model_sources(self, config: AnalysisConfig) -> tuple[str, ...]:
        """The model files this detector reads under ``config`` (a user's file replaces the first)."""
        chosen = getattr(config, self.model_option) if self.model_option else None
        if chosen and self.models:
            return (str(chosen), *self.models[1:])
        return self.models

    def identity(self, config: AnalysisConfig) -> str:
        """Version plus the digest of every model file read under ``config``, e.g. ``"2+3c9a61f2e0aa"``:
        another model, another identity (result stores never reuse verdicts made with another model)."""
        return "+".join([str(self.version), *(model_files.file_digest(m) for m in self.model_sources(config))])

    def load(self) -> type[Detector]:
        """Import and return the implementation class."""
        return _import(self.implementation)

    def make_observer(self, info: AudioInfo, config: AnalysisConfig) -> Callable[[np.ndarray], None] | None:
        """The observer of one track (None when the detector has none)."""
        return _import(self.observer)(info, config) if self.observer else None


def _import(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


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
    observed : dict
        Each detector's observer (:attr:`DetectorSpec.observer`) after the pass, by detector name.
    """

    path: Path | None
    info: AudioInfo
    config: AnalysisConfig
    spectrum: SpectralSummary
    stats: SampleStats
    observed: dict = field(default_factory=dict)
    _excerpt: Callable[[float, float | None], np.ndarray] = field(repr=False, default=None)
    _blocks: Callable[..., Iterator[np.ndarray]] = field(repr=False, default=None)

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
    """Base class of the detectors; ``spec`` says what the detector is (name, version, kinds, models)."""

    spec: DetectorSpec

    def __init__(self, config: AnalysisConfig | None = None) -> None:
        self.config = config or AnalysisConfig()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.spec.kinds

    @abc.abstractmethod
    def analyze(self, ctx: TrackContext) -> DetectorResult:
        """Judge one track; must not raise on degenerate audio (return inconclusive findings instead)."""

    def warm_up(self) -> None:
        """Compile numba kernels (or load them from cache) before worker processes start."""

    def result(self, **kwargs) -> DetectorResult:
        """A :class:`DetectorResult` pre-filled with this detector's name and version."""
        return DetectorResult(detector=self.name, version=self.version, **kwargs)
