"""The fitted numbers of the AI verdict, in one small JSON file (``musicforensics/models/default_ai.json``).

``{"format": "musicforensics-ai-model", "format_version": 2, "decision": {...}, "fakeprint": {...} | null,
"provenance": {...}}``

* ``decision``: the rule that turns the coherent comb tests into the verdict. A comb *fires* at z >= ``z_fire``;
  a fired comb is explained by periodic music when its lattice contrast is below ``contrast_min`` or, where the
  blocks of the track show the comb on their own (incoherent z >= ``consistency_min_z``), its template
  consistency is below ``consistency_min`` (:mod:`.lattice`, :mod:`.segments`). A comb whose teeth carry more
  than ``drone_share_note`` of the 200 Hz-4 kHz power is reported with a steady tone among its alternatives. The evidence for a decoder is
  ``z*``, the largest z among the combs not explained by music, and the probability is

      P(ai) = sigmoid(slope * (log(1 + z*) - log(1 + z_fire))),

  so ``z* = z_fire`` is P = 0.5, the detection threshold. ``slope`` is fitted by maximum likelihood on labelled
  files (``musicforensics train``); the gates are physical and set from measurements (docs/ai-detection.md).
* ``fakeprint``: an L2-regularised logistic regression on the 4087-value fakeprint of Afchar et al. (ISMIR
  2025, Sec. 5), reported as supporting evidence only: it reads fixed frequency bins, is trained on little
  data and does not decide.
* ``provenance``: what it was fitted on, how, and the fit's figures.

NumPy/SciPy only (no scikit-learn at run time).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import model_files
from ..errors import ParameterError
from ..fitting import fit_logistic, sigmoid
from ..io.files import write_new
from ..model_files import ModelError

MODEL_FORMAT = "musicforensics-ai-model"
MODEL_FORMAT_VERSION = 2
#: The shipped model (``musicforensics/models/``).
DEFAULT_MODEL = "default_ai.json"
#: Default L2 strength on the standardised fakeprint (4087 features, ~10^2 training files: strong shrinkage).
DEFAULT_L2 = 100.0
#: Comb z values are capped here before the fit and the probability (beyond it the comb is certain).
Z_CAP = 1000.0


@dataclass(frozen=True)
class DecisionRule:
    """The gates and the calibration of the verdict (see the module docstring)."""

    z_fire: float = 8.0
    contrast_min: float = 3.0
    consistency_min: float = 0.3
    consistency_min_z: float = 5.0
    drone_share_note: float = 0.2
    #: image concentration (:mod:`.images`) from which a comb is explained as MPEG filterbank images of a tone
    #: (measured: neural-decoder teeth 0.22 at most over whole files, 0.34 over 5.5 s clips; MP2 images 0.58-1.0)
    image_concentration_max: float = 0.5
    slope: float = 4.0

    def probability(self, z_star: float) -> float:
        """P(ai) for the largest comb z not explained by music."""
        z = min(max(float(z_star), 0.0), Z_CAP)
        return float(sigmoid(self.slope * (np.log1p(z) - np.log1p(self.z_fire))))

    @property
    def threshold(self) -> float:
        return 0.5


@dataclass(frozen=True)
class FakeprintModel:
    """Standardisation and weights of the fakeprint logistic regression."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logit(self, values: np.ndarray) -> float:
        v = np.asarray(values, dtype=np.float64)
        if v.shape != self.weights.shape:
            raise ModelError(f"fakeprint has {v.size} values, the model expects {self.weights.size}")
        return float(((v - self.mean) / self.scale) @ self.weights + self.bias)


@dataclass
class AIModel:
    """A loaded model."""

    rule: DecisionRule
    fakeprint: FakeprintModel | None = None
    provenance: dict = field(default_factory=dict)
    source: str = ""
    #: Short SHA-256 of the model file's text (what result stores key on: another model, another verdict).
    digest: str = ""

    @property
    def threshold(self) -> float:
        return self.rule.threshold

    def fakeprint_logit(self, values: np.ndarray) -> float | None:
        """Logit of the fakeprint regression for one fakeprint (None when the model has no fakeprint part)."""
        return None if self.fakeprint is None else self.fakeprint.logit(values)

    def to_dict(self) -> dict:
        fp = None
        if self.fakeprint is not None:
            fp = {"n_values": int(self.fakeprint.weights.size), "mean": _rounded(self.fakeprint.mean),
                  "scale": _rounded(self.fakeprint.scale), "weights": _rounded(self.fakeprint.weights),
                  "bias": float(self.fakeprint.bias)}
        return {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
                "decision": {k: float(v) for k, v in asdict(self.rule).items()}, "fakeprint": fp,
                "provenance": self.provenance}

    def save(self, path: str | os.PathLike, *, force: bool = False) -> None:
        """Write the JSON file (atomic; refuses to overwrite unless ``force``)."""
        write_new(path, json.dumps(self.to_dict(), separators=(",", ":")) + "\n", force=force)


def _rounded(a: np.ndarray) -> list:
    return [float(f"{v:.6g}") for v in np.asarray(a, dtype=np.float64).tolist()]


def model_from_dict(data: dict, *, source: str = "", digest: str = "") -> AIModel:
    """Validate and build an :class:`AIModel` from its JSON form."""
    try:
        rule = DecisionRule(**{k: float(v) for k, v in data["decision"].items()})
        fp = data.get("fakeprint")
        fakeprint = None if not fp else FakeprintModel(
            mean=np.array(fp["mean"], float), scale=np.array(fp["scale"], float),
            weights=np.array(fp["weights"], float), bias=float(fp["bias"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{source!r}: malformed model ({type(exc).__name__}: {exc})") from None
    if fakeprint is not None and not (fakeprint.mean.shape == fakeprint.scale.shape == fakeprint.weights.shape):
        raise ModelError(f"{source!r}: fakeprint mean/scale/weights lengths differ")
    if not (rule.slope > 0 and rule.z_fire > 0):
        raise ModelError(f"{source!r}: decision slope and z_fire must be positive")
    return AIModel(rule=rule, fakeprint=fakeprint, provenance=data.get("provenance") or {}, source=source,
                   digest=digest)


def load_model(path: str | os.PathLike | None = None) -> AIModel:
    """Load a model file; ``None`` loads the shipped default (``musicforensics/models/default_ai.json``)."""
    doc, digest = model_files.load(DEFAULT_MODEL if path is None else path, expected_format=MODEL_FORMAT,
                                   versions=(MODEL_FORMAT_VERSION,))
    source = f"musicforensics/models/{DEFAULT_MODEL}" if path is None else str(path)
    return model_from_dict(doc, source=source, digest=digest)


def fit_slope(z_star: np.ndarray, labels: np.ndarray, rule: DecisionRule) -> float:
    """Maximum-likelihood slope of P(ai) = sigmoid(slope * (log(1 + z*) - log(1 + z_fire))), classes weighed
    equally (the boundary stays at z_fire)."""
    z = np.minimum(np.maximum(np.asarray(z_star, dtype=np.float64), 0.0), Z_CAP)
    x = (np.log1p(z) - np.log1p(rule.z_fire))[:, None]
    (w,), _zero = fit_logistic(x, labels, l2=1e-3, fit_intercept=False)
    return float(max(w, 1e-3))


def fit_fakeprint(features: np.ndarray, labels: np.ndarray, *, l2: float = DEFAULT_L2) -> FakeprintModel:
    """The fakeprint logistic regression on standardised features."""
    X = np.asarray(features, dtype=np.float64)
    mean = X.mean(axis=0)
    scale = np.maximum(X.std(axis=0), 1e-3)
    weights, bias = fit_logistic((X - mean) / scale, labels, l2=l2)
    return FakeprintModel(mean=mean, scale=scale, weights=weights, bias=float(bias))


def train(z_star: np.ndarray, labels: np.ndarray, *, fakeprints: np.ndarray | None = None, l2: float = DEFAULT_L2,
          rule: DecisionRule | None = None, provenance: dict | None = None) -> AIModel:
    """Fit the decision slope (and the fakeprint regression when ``fakeprints`` are given) on labelled files.

    ``z_star``: per file, the largest comb z not explained by music (``AIEvidence.comb_z`` of the verdict);
    ``labels``: 1 = AI, 0 = not.
    """
    y = np.asarray(labels, dtype=np.float64)
    z = np.asarray(z_star, dtype=np.float64)
    if z.shape != y.shape:
        raise ParameterError(f"z {z.shape!r} and labels {y.shape!r} disagree")
    if len(set(y.tolist())) != 2:
        raise ParameterError("training data needs both classes (labels 0 and 1)")
    base = rule or DecisionRule()
    fitted = DecisionRule(**{**asdict(base), "slope": fit_slope(z, y, base)})
    fakeprint = None if fakeprints is None else fit_fakeprint(fakeprints, y, l2=l2)
    model = AIModel(rule=fitted, fakeprint=fakeprint, provenance=dict(provenance or {}))
    p = np.array([fitted.probability(v) for v in z])
    model.provenance.setdefault("training", {}).update({
        "n": int(y.size), "n_ai": int(y.sum()), "l2": l2,
        "train_detection_rate": float((p[y == 1] >= 0.5).mean()),
        "train_false_positive_rate": float((p[y == 0] >= 0.5).mean()),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    })
    return model
