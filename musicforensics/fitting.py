"""The one implementation of logistic regression the project fits its models with (binary and multinomial),
by L-BFGS on the exact log-loss with an L2 penalty on the weights (never on the intercepts).

NumPy and SciPy only; used by ``musicforensics train`` (the AI model) and ``benchmarks/calibrate_lossy.py``
(the lossy decision and codec-family models).

>>> import numpy as np
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
>>> w, b = fit_logistic(X, y, l2=0.1)
>>> bool(w[0] > 0 and -b / w[0] > 1.0 and -b / w[0] < 2.0)
True
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .errors import ParameterError


def sigmoid(x):
    """Logistic function, overflow-free: 1 / (1 + exp(-x)) = (1 + tanh(x / 2)) / 2."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-sample weights giving each class of 0/1 labels the same total weight (n / 2 each)."""
    y = np.asarray(y, dtype=np.float64)
    pos = y.sum()
    neg = y.size - pos
    return np.where(y > 0, 0.5 * y.size / pos, 0.5 * y.size / neg)


def fit_logistic(X: np.ndarray, y: np.ndarray, *, l2: float, sample_weight: np.ndarray | str | None = "balanced",
                 offset: np.ndarray | None = None, maxiter: int = 2000,
                 fit_intercept: bool = True) -> tuple[np.ndarray, float]:
    """L2-regularised binary logistic regression.

    Minimises ``sum_i w_i log(1 + exp(-s_i (X_i . b + c + o_i))) + l2/2 |b|^2`` with s = 2y - 1, per-sample
    weights w (``"balanced"``: each class weighs the same in total; None: all 1) and a fixed offset o (None: 0).
    The intercept c is not penalised; ``fit_intercept=False`` holds it at 0.

    Parameters
    ----------
    X : np.ndarray, shape (n, d)
    y : np.ndarray, shape (n,), values 0/1

    Returns
    -------
    weights : np.ndarray, shape (d,)
    intercept : float
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ParameterError(f"X shape {X.shape!r} and y shape {y.shape!r} do not match")
    if len(set(y.tolist())) != 2:
        raise ParameterError("training data needs both classes (labels 0 and 1)")
    if isinstance(sample_weight, str):
        w = balanced_weights(y)
    else:
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    o = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=np.float64)
    s = 2.0 * y - 1.0
    d = X.shape[1]

    def loss(theta):
        b, c = theta[:d], theta[d]
        m = s * (X @ b + c + o)
        g = -w * s * sigmoid(-m)
        grad = np.empty(d + 1)
        grad[:d] = X.T @ g + l2 * b
        grad[d] = g.sum() if fit_intercept else 0.0
        return float((w * np.logaddexp(0.0, -m)).sum() + 0.5 * l2 * b @ b), grad

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": maxiter})
    return res.x[:d].copy(), float(res.x[d])


def fit_multinomial(X: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float,
                    maxiter: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """L2-regularised multinomial (softmax) logistic regression.

    Minimises ``-sum_i log softmax(W X_i + c)[y_i] + l2/2 |W|^2`` (intercepts c not penalised).

    Parameters
    ----------
    X : np.ndarray, shape (n, d)
    y : np.ndarray of int, shape (n,), values 0..n_classes-1

    Returns
    -------
    weights : np.ndarray, shape (n_classes, d)
    intercepts : np.ndarray, shape (n_classes,)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, d = X.shape
    if y.shape != (n,) or y.min() < 0 or y.max() >= n_classes:
        raise ParameterError(f"labels must be 0..{n_classes - 1} for each of the {n} rows")
    onehot = np.eye(n_classes)[y]

    def loss(theta):
        W = theta[: n_classes * d].reshape(n_classes, d)
        c = theta[n_classes * d:]
        z = X @ W.T + c
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        diff = p - onehot
        grad = np.concatenate([(diff.T @ X + l2 * W).ravel(), diff.sum(axis=0)])
        return float(-(onehot * logp).sum() + 0.5 * l2 * (W * W).sum()), grad

    res = minimize(loss, np.zeros(n_classes * (d + 1)), jac=True, method="L-BFGS-B", options={"maxiter": maxiter})
    return res.x[: n_classes * d].reshape(n_classes, d).copy(), res.x[n_classes * d:].copy()
