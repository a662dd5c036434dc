"""musicforensics.metrics against hand-computed cases, brute force, and sklearn when it happens to be installed."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from musicforensics.pipeline import metrics
from musicforensics.errors import ParameterError

# Two positives (0.8, 0.4) and two negatives (0.6, 0.2): of the 4 (pos, neg) pairs, 3 are ordered right.
Y = [1, 0, 1, 0]
S = [0.8, 0.6, 0.4, 0.2]


def brute_auc(y, s):
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    pos, neg = s[y], s[~y]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def test_auc_hand_cases():
    assert metrics.roc_auc(Y, S) == pytest.approx(0.75)
    assert metrics.roc_auc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert metrics.roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert metrics.roc_auc([1, 0, 1, 0], [0.5] * 4) == 0.5
    # one positive tied with one of two negatives: (1/2 + 1) / 2
    assert metrics.roc_auc([1, 0, 0], [0.5, 0.5, 0.1]) == pytest.approx(0.75)
    assert math.isnan(metrics.roc_auc([1, 1], [0.2, 0.3]))


def test_roc_curve_hand_case():
    c = metrics.roc_curve(Y, S)
    np.testing.assert_allclose(c.fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(c.tpr, [0, 0.5, 0.5, 1, 1])
    assert c.thresholds[0] == np.inf
    np.testing.assert_allclose(c.thresholds[1:], [0.8, 0.6, 0.4, 0.2])


def test_roc_curve_merges_ties():
    c = metrics.roc_curve([1, 0, 1, 0], [0.7, 0.7, 0.3, 0.3])
    np.testing.assert_allclose(c.fpr, [0, 0.5, 1])
    np.testing.assert_allclose(c.tpr, [0, 0.5, 1])


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_pairwise_and_trapezoid(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    y[:2] = [0, 1]
    s = np.round(rng.normal(y * 0.7, 1.0), 1)  # rounding makes many ties
    auc = metrics.roc_auc(y, s)
    assert auc == pytest.approx(brute_auc(y, s), abs=1e-12)
    c = metrics.roc_curve(y, s)
    assert np.trapezoid(c.tpr, c.fpr) == pytest.approx(auc, abs=1e-12)
    assert np.all(np.diff(c.fpr) >= 0) and np.all(np.diff(c.tpr) >= 0)
    assert (c.fpr[-1], c.tpr[-1]) == (1.0, 1.0)


def test_roc_needs_both_classes():
    with pytest.raises(ParameterError, match="both classes"):
        metrics.roc_curve([1, 1], [0.1, 0.2])


def test_bad_inputs_are_parameter_errors():
    with pytest.raises(ParameterError, match="0/1"):
        metrics.roc_auc([2, 0], [0.1, 0.2])
    with pytest.raises(ParameterError, match="equal length"):
        metrics.roc_auc([1, 0], [0.1])
    with pytest.raises(ParameterError, match="finite"):
        metrics.roc_auc([1, 0], [np.nan, 0.2])
    with pytest.raises(ParameterError, match=r"\[0, 1\]"):
        metrics.brier_score([1, 0], [1.5, 0.0])


def test_threshold_for_fpr():
    op = metrics.threshold_for_fpr(Y, S, 0.0)
    assert (op.threshold, op.fpr, op.tpr) == (0.8, 0.0, 0.5)
    op = metrics.threshold_for_fpr(Y, S, 0.5)
    assert (op.threshold, op.fpr, op.tpr) == (0.4, 0.5, 1.0)
    op = metrics.threshold_for_fpr(Y, S, 0.49)  # achievable rates are multiples of 1/2
    assert (op.threshold, op.fpr) == (0.8, 0.0)
    # nothing can be called positive without a false positive: threshold +inf
    op = metrics.threshold_for_fpr([0, 1], [0.9, 0.1], 0.0)
    assert op.threshold == np.inf and op.tpr == 0.0
    with pytest.raises(ParameterError):
        metrics.threshold_for_fpr(Y, S, 1.5)


def test_threshold_achieved_fpr_never_exceeds_target(rng):
    y = rng.integers(0, 2, 500)
    s = rng.normal(y, 1.0)
    for target in (0.0, 0.01, 0.05, 0.2):
        op = metrics.threshold_for_fpr(y, s, target)
        neg = y == 0
        achieved = float(np.mean(s[neg] >= op.threshold))
        assert achieved == pytest.approx(op.fpr) and achieved <= target
        # one step lower would break the target (the threshold is the lowest admissible one)
        lower = np.max(s[s < op.threshold]) if np.any(s < op.threshold) else None
        if lower is not None:
            assert float(np.mean(s[neg] >= lower)) > target


def test_brier():
    assert metrics.brier_score([1, 0], [1.0, 0.0]) == 0.0
    assert metrics.brier_score([1, 0], [0.5, 0.5]) == 0.25
    assert metrics.brier_score([1, 0, 1], [0.0, 1.0, 1.0]) == pytest.approx(2 / 3)
    assert math.isnan(metrics.brier_score([], []))


def test_reliability_bins():
    # bin [0.2, 0.3): p = 0.25 four times, one positive; bin [0.9, 1.0]: p = 1.0 twice, both positive
    y = [1, 0, 0, 0, 1, 1]
    p = [0.25, 0.25, 0.25, 0.25, 1.0, 1.0]
    r = metrics.reliability_bins(y, p, n_bins=10)
    assert r.counts.tolist() == [0, 0, 4, 0, 0, 0, 0, 0, 0, 2]
    assert r.mean_predicted[2] == pytest.approx(0.25) and r.observed[2] == pytest.approx(0.25)
    assert r.mean_predicted[9] == 1.0 and r.observed[9] == 1.0
    assert np.isnan(r.observed[0])
    assert r.ece == pytest.approx(0.0)
    # everything at 0.9 but only half positive: ECE = 0.4
    r = metrics.reliability_bins([1, 0], [0.9, 0.9], n_bins=5)
    assert r.ece == pytest.approx(0.4)
    assert r.counts.sum() == 2


def test_wilson_known_values():
    lo, hi = metrics.wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    z2 = 1.959963984540054 ** 2
    lo, hi = metrics.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(z2 / (10 + z2))  # closed form at k = 0
    lo, hi = metrics.wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(10 / (10 + z2))
    assert all(math.isnan(v) for v in metrics.wilson_interval(0, 0))
    lo99, hi99 = metrics.wilson_interval(5, 10, confidence=0.99)
    assert lo99 < 0.2366 and hi99 > 0.7634
    with pytest.raises(ParameterError):
        metrics.wilson_interval(11, 10)


def test_wilson_covers_truth_at_nominal_rate(rng):
    # coverage of the 95 % interval for p = 0.1, n = 60 over many draws is near 95 % (Wilson is close to
    # nominal here; a bug in z or the centre shifts it far away)
    p, n = 0.1, 60
    ks = rng.binomial(n, p, 4000)
    covered = np.mean([lo <= p <= hi for lo, hi in (metrics.wilson_interval(int(k), n) for k in ks)])
    assert 0.92 <= covered <= 0.98


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="sklearn not installed (optional cross-check)")
def test_against_sklearn(rng):
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc_curve

    y = rng.integers(0, 2, 400)
    s = np.round(rng.uniform(0, 1, 400) * 0.5 + y * 0.3, 2)
    assert metrics.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert metrics.brier_score(y, s) == pytest.approx(brier_score_loss(y, s))
    fpr, tpr, _ = sk_roc_curve(y, s, drop_intermediate=False)
    c = metrics.roc_curve(y, s)
    np.testing.assert_allclose(c.fpr, fpr)
    np.testing.assert_allclose(c.tpr, tpr)
