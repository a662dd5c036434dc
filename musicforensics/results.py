"""Result data: what detectors return and what every renderer consumes.

The JSON form of :class:`TrackReport` is the public contract (docs/output-schema.md and
``musicforensics/schema/track.schema.json``); bump :data:`SCHEMA_VERSION` on any change to it.

Each finding kind's evidence is a frozen dataclass declared where its detector lives (``lossy.evidence``,
``hires.evidence``, ``ai.evidence``), built on :class:`EvidenceRecord`: its ``to_dict`` is the JSON and its
``from_dict`` reads the JSON back, so stores, plots, reports and ``evaluate`` all read typed fields.
Evidence of a kind no detector declares is kept as :class:`MappingEvidence`.

>>> f = Finding("lossy", True, 0.93, MappingEvidence({"wall_hz": 16000.0}), reason="wall at 16 kHz")
>>> Finding.from_dict("lossy", f.to_dict()).evidence.get("wall_hz")
16000.0
"""

from __future__ import annotations

import functools
import json
import math
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, Protocol

from ._version import __version__

#: Version of the JSON records (1.1: evidence gained named model inputs, ``model_input`` and
#: ``family_input`` beside the old ``x`` and ``family_x``; the AI detector is named ``ai``, was ``deconv``).
SCHEMA_VERSION = "2.0"

STATUS_OK = "ok"
STATUS_INCONCLUSIVE = "inconclusive"
STATUS_ERROR = "error"


def _clean(value: Any) -> Any:
    """Make evidence JSON-safe: numpy scalars/arrays to Python, NaN/Inf to None, tuples to lists."""
    np = sys.modules.get("numpy")  # a process that never loaded NumPy holds no NumPy value (a rescan)
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


class Evidence(Protocol):
    """What every evidence record offers: its JSON form."""

    def to_dict(self) -> dict: ...


@dataclass(frozen=True)
class MappingEvidence:
    """Evidence as plain data: what a report read back from JSON carries for a kind without a declared type
    (and the detector-level records of the JSON)."""

    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.data)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict") and is_dataclass(value):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@functools.lru_cache(maxsize=None)
def _shape(tp: Any) -> tuple[str, Any]:
    """How :func:`_reviver` reads a value annotated ``tp``: ("optional", the type inside), ("record", the record
    class), ("tuple", the item type), ("dict", the value type) or ("plain", None); worked out once per annotation,
    not once per value read (a rescan reads thousands)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return ("optional", inner[0]) if len(inner) == 1 else ("plain", None)
    if isinstance(tp, type) and issubclass(tp, EvidenceRecord):
        return "record", tp
    if origin is tuple:
        return "tuple", args[0] if args else Any
    if origin is dict:
        return "dict", args[1] if len(args) == 2 else Any
    return "plain", None


@functools.cache
def _reviver(tp: Any):
    """A function that reads plain JSON data as the annotated type ``tp`` (nested records, tuples, dicts), or None
    where the data is used as it is; built once per annotation, not once per value read (a rescan reads
    thousands). None stays None at every level."""
    kind, inner = _shape(tp)
    if kind == "optional":
        return _reviver(inner)
    if kind == "record":
        return lambda v: None if v is None else inner.from_dict(v)
    if kind == "tuple":
        item = _reviver(inner)
        if item is None:
            return lambda v: tuple(v) if isinstance(v, (list, tuple)) else v
        return lambda v: tuple(item(x) for x in v) if isinstance(v, (list, tuple)) else v
    if kind == "dict":
        item = _reviver(inner)
        if item is None:
            return lambda v: dict(v) if isinstance(v, dict) else v
        return lambda v: {k: item(x) for k, x in v.items()} if isinstance(v, dict) else v
    return None


class EvidenceRecord:
    """Base of the frozen evidence dataclasses: :meth:`to_dict` writes the fields in declaration order (nested
    records as objects, tuples as lists), leaving out a field whose metadata has ``omit_if_none`` while it is
    None; :meth:`from_dict` reads that form back using the field annotations."""

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_if_none"):
                continue
            out[f.name] = _plain(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        kwargs = {}
        for name, hint, required, revive in _field_plan(cls):
            if name in data:
                value = data[name]
                kwargs[name] = value if revive is None or value is None else revive(value)
            elif required:
                # a field the record lacks (partial or older records): an empty sequence, else None
                kwargs[name] = () if typing.get_origin(hint) is tuple else None
        return cls(**kwargs)


@functools.lru_cache(maxsize=None)
def _field_plan(cls: type) -> tuple[tuple[str, Any, bool, Any], ...]:
    """(name, annotated type, has no default, its reviver or None) of each field of an evidence record: resolving
    the annotations once per class, not once per record read (a rescan reads thousands)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name], f.default is MISSING and f.default_factory is MISSING, _reviver(hints[f.name]))
                 for f in fields(cls))


def optional(**kw) -> Any:
    """A dataclass field that defaults to None and is left out of the JSON while it is None."""
    return field(default=None, metadata={"omit_if_none": True}, **kw)


#: Evidence classes per finding kind, for reading JSON back (filled by :mod:`musicforensics.pipeline.registry`).
EvidenceTypes = Mapping[str, type]


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
    evidence : Evidence
        Measured values a person can check (Hz, dB, scores): the kind's evidence dataclass.
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
    evidence: Evidence = field(default_factory=MappingEvidence)
    inconclusive: bool = False
    reason: str | None = None
    detector: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.evidence, Mapping):  # plain data given by hand: kept as such
            self.evidence = MappingEvidence(dict(self.evidence))

    @classmethod
    def undecided(cls, kind: str, reason: str, *, detector: str = "", evidence: Evidence | None = None) -> "Finding":
        """An INCONCLUSIVE finding: not detected, no probability, with the reason."""
        return cls(kind, False, None, evidence or MappingEvidence(), True, reason, detector)

    def to_dict(self) -> dict:
        return {
            "detected": bool(self.detected),
            "probability": None if self.probability is None else round(float(self.probability), 6),
            "status": "inconclusive" if self.inconclusive else "decided",
            "reason": self.reason,
            "detector": self.detector,
            "evidence": _clean(self.evidence.to_dict()),
        }

    @classmethod
    def from_dict(cls, kind: str, data: dict, evidence_types: EvidenceTypes | None = None) -> "Finding":
        raw = data.get("evidence") or {}
        typed = (evidence_types or {}).get(kind)
        evidence = MappingEvidence(raw)
        if typed is not None and raw:
            try:
                evidence = typed.from_dict(raw)
            except (TypeError, ValueError, KeyError, AttributeError):
                evidence = MappingEvidence(raw)  # written by another version: kept as plain data
        return cls(
            kind=kind, detected=bool(data.get("detected")), probability=data.get("probability"),
            evidence=evidence, inconclusive=data.get("status") == "inconclusive",
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
    evidence: Evidence = field(default_factory=MappingEvidence)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.evidence, Mapping):
            self.evidence = MappingEvidence(dict(self.evidence))

    def to_dict(self) -> dict:
        return {
            "name": self.detector, "version": self.version, "status": self.status, "reason": self.reason,
            "seconds": round(self.seconds, 4), "evidence": _clean(self.evidence.to_dict()),
        }


#: TrackReport fields a change of which leaves its ``source_json`` valid (written over, or never serialised).
_NOT_SERIALISED = frozenset({"path", "source_json", "spectrum", "pass_seconds"})


@dataclass
class TrackReport:
    """The result for one file: facts, verdicts and the detectors that produced them.

    ``spectrum`` and ``pass_seconds`` live in memory only (never serialised): the long-term spectrum that
    :func:`~musicforensics.pipeline.analysis.analyze_file` keeps for plots and training, and the seconds of its
    spectral pass (decoding included) for benchmarks. ``source_json``: the JSON text and object a report was read
    from (:meth:`from_json`, a stored result); :meth:`to_dict` and the JSON Lines writer reuse them instead of
    serialising the report again, as long as only ``path`` changes (setting any other field drops them; a report
    read back is not modified in place).
    """

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
    spectrum: Any = field(default=None, repr=False, compare=False)
    pass_seconds: float = field(default=0.0, repr=False, compare=False)
    source_json: tuple[str, dict] | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _NOT_SERIALISED and self.__dict__.get("source_json") is not None:
            object.__setattr__(self, "source_json", None)
        object.__setattr__(self, name, value)

    @property
    def findings(self) -> list[str]:
        """Kinds detected (decided and positive), sorted."""
        return sorted(k for k, f in self.verdicts.items() if f.detected and not f.inconclusive)

    def to_dict(self) -> dict:
        if self.source_json is not None:
            return {**self.source_json[1], "path": self.path}
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
    def from_dict(cls, data: dict, evidence_types: EvidenceTypes | None = None) -> "TrackReport":
        """Rebuild a report from its JSON form; with ``evidence_types`` (kind -> evidence class, see
        :func:`musicforensics.pipeline.registry.evidence_types`) the evidence comes back typed."""
        dets = [
            DetectorResult(detector=d.get("name", ""), version=d.get("version", ""), status=d.get("status", "ok"),
                           reason=d.get("reason"), evidence=MappingEvidence(d.get("evidence") or {}),
                           seconds=d.get("seconds") or 0.0)
            for d in data.get("detectors", [])
        ]
        return cls(
            path=data["path"], status=data["status"], error=data.get("error"), reasons=list(data.get("reasons") or []),
            audio=data.get("audio"), facts=data.get("facts") or {},
            verdicts={k: Finding.from_dict(k, v, evidence_types) for k, v in (data.get("verdicts") or {}).items()},
            detectors=dets, seconds=data.get("seconds") or 0.0,
            config_key=(data.get("analyzer") or {}).get("config_key", ""),
            analyzer_version=(data.get("analyzer") or {}).get("version", ""),
        )

    @classmethod
    def from_json(cls, text: str, evidence_types: EvidenceTypes | None = None) -> TrackReport:
        """:meth:`from_dict` of the JSON ``text``, keeping the text and object as ``source_json``."""
        data = json.loads(text)
        report = cls.from_dict(data, evidence_types)
        report.source_json = (text, data)
        return report

    def without_memory(self) -> "TrackReport":
        """The report without its in-memory parts (what travels between processes)."""
        self.spectrum = None
        return self
