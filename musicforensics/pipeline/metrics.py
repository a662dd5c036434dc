"""Scores for binary detectors: ROC curve and AUC, operating thresholds, calibration, confidence intervals.

NumPy only (plus the standard library), so ``musicforensics evaluate`` needs nothing else. Conventions:
``labels`` are 0/1 (1 = the finding kind is present), ``scores`` are any real numbers where larger means
"more likely present" (the verdict probabilities), and a file is called positive at threshold ``t`` when
``score >= t``.

References
----------
- Fawcett, T. (2006). An introduction to ROC analysis. Pattern Recognition Letters 27(8), 861-874
  (ROC points from sorted scores, ties handled by moving diagonally).
- Hanley & McNeil (1982). The meaning and use of the area under a ROC curve. Radiology 143(1), 29-36
  (AUC = P(score of a random positive > score of a random negative), ties counting 1/2; equivalent to the
  Mann-Whitney U statistic divided by n_pos * n_neg).
- Brier, G. W. (1950). Verification of forecasts expressed in terms of probability. Monthly Weather Review
  78(1), 1-3.
- Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22(158),
  209-212 (score interval for a binomial proportion).
- Naeini, Cooper & Hauskrecht (2015). Obtaining well calibrated probabilities using Bayesian binning. AAAI
  (expected calibration error over equal-width bins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..errors import ParameterError

__all__ = [
    "OperatingPoint",
    "ReliabilityBins",
    "RocCurve",
    "brier_score",
    "reliability_bins",
    "roc_auc",
    "roc_curve",
    "threshold_for_fpr",
    "wilson_interval",
]


def _validate(labels, scores, *, name: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or y.shape != s.shape:
        raise ParameterError(f"labels and {name} must be 1-D of equal length, got shapes {y.shape!r} and {s.shape!r}")
    if y.size and not np.isin(y, (0, 1, True, False)).all():
        raise ParameterError(f"labels must be 0/1, got values {sorted(set(np.unique(y).tolist()))[:5]!r}")
    if not np.isfinite(s).all():
        raise ParameterError(f"{name} must be finite, got {int((~np.isfinite(s)).sum())} non-finite value(s)")
    return y.astype(bool), s


@dataclass(frozen=True)
class RocCurve:
    """Points of a ROC curve, one per distinct threshold (plus the origin).

    Attributes
    ----------
    fpr, tpr : ndarray, shape (m,)
        False- and true-positive rates, non-decreasing, starting at (0, 0) and ending at (1, 1).
    thresholds : ndarray, shape (m,)
        ``thresholds[i]`` gives the point (fpr[i], tpr[i]) when files with ``score >= thresholds[i]`` are
        called positive; ``thresholds[0] = +inf`` (nothing called positive).
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def roc_curve(labels, scores) -> RocCurve:
    """ROC curve of ``scores`` against 0/1 ``labels`` (Fawcett 2006, algorithm 1, ties merged).

    Raises :class:`ParameterError` when either class is empty (the curve is undefined).
    """
    y, s = _validate(labels, scores)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ParameterError(f"ROC needs both classes, got {n_pos} positive(s) and {n_neg} negative(s)")
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of each run of equal scores: one ROC point per distinct threshold
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / n_pos]
    fpr = np.r_[0.0, fp / n_neg]
    thresholds = np.r_[np.inf, s_sorted[last]]
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=thresholds)


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve: P(score of a random positive > that of a random negative), ties 1/2.

    Computed from average ranks (Mann-Whitney U / (n_pos * n_neg)), exact with ties (Hanley & McNeil 1982).
    Returns NaN when either class is empty.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, s = _validate(labels, scores)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    # average rank (1-based) of each run of ties
    starts = np.r_[0, np.nonzero(np.diff(s_sorted))[0] + 1]
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0  # mean of (start+1 .. end)
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold and what it does on the data it was chosen on.

    Attributes
    ----------
    threshold : float
        Call positive when ``score >= threshold`` (``inf``: nothing is called positive).
    fpr, tpr : float
        False- and true-positive rates at that threshold.
    target_fpr : float
        The false-positive rate that was asked for.
    """

    threshold: float
    fpr: float
    tpr: float
    target_fpr: float


def threshold_for_fpr(labels, scores, target_fpr: float) -> OperatingPoint:
    """The lowest threshold whose false-positive rate does not exceed ``target_fpr`` (highest TPR under it).

    With few negatives the achievable rates are multiples of 1/n_neg; the returned ``fpr`` is the achieved
    one, never above the target.
    """
    if not 0.0 <= target_fpr <= 1.0:
        raise ParameterError(f"target_fpr={target_fpr!r}: must be within [0, 1]")
    curve = roc_curve(labels, scores)
    ok = np.nonzero(curve.fpr <= target_fpr + 1e-12)[0]
    i = int(ok[-1])  # fpr is non-decreasing: the last admissible point has the highest tpr
    return OperatingPoint(threshold=float(curve.thresholds[i]), fpr=float(curve.fpr[i]), tpr=float(curve.tpr[i]),
                          target_fpr=float(target_fpr))


@dataclass(frozen=True)
class ReliabilityBins:
    """A reliability (calibration) diagram over equal-width probability bins.

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,)
        Bin edges on [0, 1]; the last bin includes 1.
    counts : ndarray of int, shape (n_bins,)
        Files per bin.
    mean_predicted : ndarray, shape (n_bins,)
        Mean predicted probability per bin (NaN for an empty bin).
    observed : ndarray, shape (n_bins,)
        Fraction of positives per bin (NaN for an empty bin).
    ece : float
        Expected calibration error: sum over bins of (count / total) * |observed - mean_predicted|.
    """

    edges: np.ndarray
    counts: np.ndarray
    mean_predicted: np.ndarray
    observed: np.ndarray
    ece: float


def _check_probs(p: np.ndarray) -> None:
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ParameterError(f"probabilities must lie in [0, 1], got range [{p.min()!r}, {p.max()!r}]")


def reliability_bins(labels, probs, *, n_bins: int = 10) -> ReliabilityBins:
    """Bin predicted probabilities into ``n_bins`` equal-width bins and compare with observed frequencies."""
    if n_bins < 1:
        raise ParameterError(f"n_bins={n_bins!r}: must be >= 1")
    y, p = _validate(labels, probs, name="probs")
    _check_probs(p)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(counts > 0, sum_p / np.maximum(counts, 1), np.nan)
        obs = np.where(counts > 0, sum_y / np.maximum(counts, 1), np.nan)
    total = counts.sum()
    ece = float(np.nansum(counts * np.abs(obs - mean_p)) / total) if total else float("nan")
    return ReliabilityBins(edges=edges, counts=counts, mean_predicted=mean_p, observed=obs, ece=ece)


def brier_score(labels, probs) -> float:
    """Mean squared difference between predicted probability and outcome (Brier 1950); NaN when empty."""
    y, p = _validate(labels, probs, name="probs")
    _check_probs(p)
    if p.size == 0:
        return float("nan")
    return float(np.mean((p - y.astype(np.float64)) ** 2))


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n`` (Wilson 1927).

    Returns ``(nan, nan)`` for ``n == 0``. Unlike the normal approximation it stays inside [0, 1] and is
    informative at 0/n and n/n (e.g. 0/100 gives an upper bound of about 3.7 % at 95 %).

    >>> [round(v, 3) for v in wilson_interval(0, 100)]
    [0.0, 0.037]
    """
    if n < 0 or successes < 0 or successes > n:
        raise ParameterError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"confidence={confidence!r}: must be within (0, 1)")
    if n == 0:
        return (float("nan"), float("nan"))
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)
