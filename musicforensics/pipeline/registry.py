"""The detectors the pipeline runs, known by their light :class:`~musicforensics.detector.DetectorSpec` (so
keying result stores needs no numba), loaded only to analyse.

>>> [s.name for s in select_specs(())]
['bitdepth', 'hires', 'lossy', 'ai']
>>> [s.name for s in select_specs(("deconv",))]  # a former name still selects its detector
['ai']
>>> kinds()
('ai', 'bitpadded', 'lossy', 'upsampled')
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from ..ai import SPEC as AI
from ..config import AnalysisConfig
from ..detector import Detector, DetectorSpec
from ..errors import ParameterError
from ..hires import BITDEPTH, UPSAMPLED
from ..lossy import SPEC as LOSSY

#: Every detector, in run order (cheaper first).
SPECS: tuple[DetectorSpec, ...] = tuple(sorted((BITDEPTH, UPSAMPLED, LOSSY, AI), key=lambda s: (s.order, s.name)))
#: Modules declaring the evidence dataclass of each finding kind (imported only to read JSON back).
EVIDENCE_MODULES = {
    "lossy": ("musicforensics.lossy.evidence", "LossyEvidence"),
    "upsampled": ("musicforensics.hires.evidence", "UpsampledEvidence"),
    "bitpadded": ("musicforensics.hires.evidence", "BitpaddedEvidence"),
    "ai": ("musicforensics.ai.evidence", "AIEvidence"),
}


def select_specs(names: tuple[str, ...] | list[str] = ()) -> tuple[DetectorSpec, ...]:
    """The specs of the detectors named (all when empty; former names accepted); an unknown name raises
    :class:`ParameterError`."""
    if not names:
        return SPECS
    by_name = {alias: s for s in SPECS for alias in (s.name, *s.aliases)}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ParameterError(f"unknown detector(s) {unknown!r}; available: {sorted(s.name for s in SPECS)!r}")
    wanted = {by_name[n].name for n in names}
    return tuple(s for s in SPECS if s.name in wanted)


def select(config: AnalysisConfig) -> tuple[Detector, ...]:
    """Instances of the detectors ``config.detectors`` names (all when empty), bound to ``config``."""
    return _instances(config)


@lru_cache(maxsize=16)
def _instances(config: AnalysisConfig) -> tuple[Detector, ...]:
    return tuple(spec.load()(config) for spec in select_specs(config.detectors))


def kinds() -> tuple[str, ...]:
    """Every finding kind some detector reports, sorted."""
    return tuple(sorted({k for s in SPECS for k in s.kinds}))


@lru_cache(maxsize=1)
def evidence_types() -> dict[str, type]:
    """Finding kind -> its evidence dataclass, for :meth:`musicforensics.results.TrackReport.from_dict`."""
    return {kind: getattr(importlib.import_module(module), name) for kind, (module, name) in EVIDENCE_MODULES.items()}
