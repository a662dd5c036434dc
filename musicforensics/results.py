"""Result data: what detectors return and what every renderer consumes.

The JSON form of :class:`TrackReport` is the public contract (documented in docs/output-schema.md and
``musicforensics/schema/track.schema.json``); bump :data:`SCHEMA_VERSION` on any incompatible change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ._version import __version__

SCHEMA_VERSION = "1.0"

STATUS_OK = "ok"
STATUS_INCONCLUSIVE = "inconclusive"
STATUS_ERROR = "error"


def _clean(value: Any) -> Any:
    """Make evidence JSON-safe: numpy scalars/arrays to Python, NaN/Inf to None, tuples to lists."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        np = None
    if np is not None:
        if isinstance(value, np.ndarray):
            return [_clean(v) for v in value.tolist()]
        if isinstance(value, np.generic):
            value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass
class Finding:
    """One verdict of one finding kind (``lossy``, ``upsampled``, ``bitpadded``, ``ai``, ...).

    Attributes
    ----------
    kind : str
        Finding kind.
    detected : bool
        The detector's decision at its calibrated operating point.
    probability : float or None
        Calibrated probability that the kind is present (0..1); None when inconclusive.
    evidence : dict
        Measured values a person can check (Hz, dB, scores), JSON-safe.
    inconclusive : bool
        True when the method cannot decide on this track; ``reason`` says why.
    reason : str or None
        Short human explanation of the decision or of the inconclusiveness.
    detector : str
        Name of the detector that produced it.
    """

    kind: str
    detected: bool
    probability: float | None
    evidence: dict = field(default_factory=dict)
    inconclusive: bool = False
    reason: str | None = None
    detector: str = ""

    @classmethod
    def undecided(cls, kind: str, reason: str, *, detector: str = "", evidence: dict | None = None) -> "Finding":
        """An INCONCLUSIVE finding: not detected, no probability, with the reason."""
        return cls(kind, False, None, evidence or {}, True, reason, detector)

    def to_dict(self) -> dict:
        return {
            "detected": bool(self.detected),
            "probability": None if self.probability is None else round(float(self.probability), 6),
            "status": "inconclusive" if self.inconclusive else "decided",
            "reason": self.reason,
            "detector": self.detector,
            "evidence": _clean(self.evidence),
        }

    @classmethod
    def from_dict(cls, kind: str, data: dict) -> "Finding":
        return cls(
            kind=kind, detected=bool(data.get("detected")), probability=data.get("probability"),
            evidence=data.get("evidence") or {}, inconclusive=data.get("status") == "inconclusive",
            reason=data.get("reason"), detector=data.get("detector", ""),
        )


@dataclass
class DetectorResult:
    """Everything one detector says about one track."""

    detector: str
    version: str
    findings: list[Finding] = field(default_factory=list)
    status: str = STATUS_OK
    reason: str | None = None
    evidence: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "name": self.detector, "version": self.version, "status": self.status, "reason": self.reason,
            "seconds": round(self.seconds, 4), "evidence": _clean(self.evidence),
        }


@dataclass
class TrackReport:
    """The result for one file: facts, verdicts and the detectors that produced them."""

    path: str
    status: str
    error: str | None = None
    reasons: list[str] = field(default_factory=list)
    audio: dict | None = None
    facts: dict = field(default_factory=dict)
    verdicts: dict[str, Finding] = field(default_factory=dict)
    detectors: list[DetectorResult] = field(default_factory=list)
    seconds: float = 0.0
    config_key: str = ""
    analyzer_version: str = __version__

    @property
    def findings(self) -> list[str]:
        """Kinds detected (decided and positive), sorted."""
        return sorted(k for k, f in self.verdicts.items() if f.detected and not f.inconclusive)

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "path": self.path,
            "status": self.status,
            "error": self.error,
            "reasons": list(self.reasons),
            "findings": self.findings,
            "audio": _clean(self.audio),
            "facts": _clean(self.facts),
            "verdicts": {k: self.verdicts[k].to_dict() for k in sorted(self.verdicts)},
            "detectors": [d.to_dict() for d in self.detectors],
            "analyzer": {"version": self.analyzer_version, "config_key": self.config_key},
            "seconds": round(self.seconds, 4),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "TrackReport":
        """Rebuild a report from its JSON form (detector details are kept as evidence-only records)."""
        dets = [
            DetectorResult(detector=d.get("name", ""), version=d.get("version", ""), status=d.get("status", "ok"),
                           reason=d.get("reason"), evidence=d.get("evidence") or {}, seconds=d.get("seconds") or 0.0)
            for d in data.get("detectors", [])
        ]
        return cls(
            path=data["path"], status=data["status"], error=data.get("error"), reasons=list(data.get("reasons") or []),
            audio=data.get("audio"), facts=data.get("facts") or {},
            verdicts={k: Finding.from_dict(k, v) for k, v in (data.get("verdicts") or {}).items()},
            detectors=dets, seconds=data.get("seconds") or 0.0,
            config_key=(data.get("analyzer") or {}).get("config_key", ""),
            analyzer_version=(data.get("analyzer") or {}).get("version", ""),
        )
