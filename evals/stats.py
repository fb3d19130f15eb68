"""The statistics of calibration: weighted L2 logistic regressions, their strength, out-of-fold
probabilities, the CRAG objective and the decision-rule thresholds.

When to use: inside `evals.calibrate` (which fits the packaged policy); import from here to fit or score a
policy on other rows. Nothing here knows about questions, engines or suites beyond their weights.

Example:
    >>> coef, b = _logistic(x, y, c=choose_c(x, y, w), w=w)
    >>> crag(pa, pe, ya, ye, threshold_for(PENALTIES["balanced"]), 1.0)
"""

from __future__ import annotations

import numpy as np

PENALTIES = {"cautious": 2.0, "balanced": 1.0, "eager": 0.5}


def threshold_for(penalty: float) -> float:
    """The probability above which answering pays when a right answer scores +1 and a wrong one
    -`penalty` (a refusal 0): p - penalty * (1 - p) > 0.

    When to use: with calibrated probabilities (a logistic model fitted on the calibration split) this
    is the Bayes decision rule, and it needs no fitting. Measured (nested 5-fold cross-validation on the
    calibration split, Qwen2.5-Coder-1.5B drafts, 4 repeats): CRAG +0.020 at 1/2 against -0.002 for a
    threshold grid-searched on the inner folds' out-of-fold probabilities (the curve is flat and noisy)."""
    return round(penalty / (1.0 + penalty), 4)


def _standardised(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x standardised, column means, column scales): constant columns keep scale 1."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return (x - scaler.mean_) / scale, scaler.mean_, scale


def _raw(beta: np.ndarray, b: float, mean: np.ndarray, scale: np.ndarray) -> tuple[list[float], float]:
    """Coefficients fitted on `_standardised` features, back in raw feature space."""
    return [float(v) for v in beta / scale], float(b - np.sum(beta * mean / scale))


def _logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0, w: np.ndarray | None = None) -> tuple[list[float], float]:
    """A standardised L2 logistic regression (optionally sample-weighted), returned in raw feature space."""
    from sklearn.linear_model import LogisticRegression

    z, mean, scale = _standardised(x)
    lr = LogisticRegression(C=c, max_iter=2000).fit(z, y, sample_weight=w)
    return _raw(lr.coef_[0], float(lr.intercept_[0]), mean, scale)


def _logistic_nonneg(x: np.ndarray, y: np.ndarray, nonneg: list[int], c: float = 1.0) -> tuple[list[float], float]:
    """`_logistic` (standardised, L2) with the weights of columns `nonneg` bounded at 0 (L-BFGS-B)."""
    from scipy.optimize import minimize

    z, mean, scale = _standardised(x)
    d = z.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, b = theta[:d], theta[d]
        s = z @ beta + b
        g = 1 / (1 + np.exp(-s)) - y
        return (float(np.sum(np.logaddexp(0, s) - y * s) + 0.5 / c * beta @ beta),
                np.concatenate([z.T @ g + beta / c, [g.sum()]]))

    bounds = [(0.0, None) if i in nonneg else (None, None) for i in range(d)] + [(None, None)]
    beta_b = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
    return _raw(beta_b[:d], float(beta_b[d]), mean, scale)


def _prob(x: np.ndarray, coef: list[float], b: float) -> np.ndarray:
    """The logistic model's probabilities for the rows of `x` (coefficients from `_logistic`)."""
    return np.asarray(1 / (1 + np.exp(-(x @ np.array(coef) + b))))


C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def choose_c(x: np.ndarray, y: np.ndarray, w: np.ndarray, folds: int = 5) -> float:
    """The L2 strength (`C`) of `_logistic` with the lowest cross-validated, weighted log-loss.

    When to use: before thresholding probabilities with a decision rule (`threshold_for`), which needs
    them calibrated; with a few hundred questions and ~30 features the default C = 1 over-fits."""
    from sklearn.model_selection import StratifiedKFold

    if min(int(y.sum()), int((1 - y).sum())) < folds:
        return 1.0
    losses = []
    for c in C_GRID:
        loss = 0.0
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
            coef, b = _logistic(x[tr], y[tr], c=c, w=w[tr])
            p = np.clip(_prob(x[te], coef, b), 1e-6, 1 - 1e-6)
            loss -= float(np.sum(w[te] * (y[te] * np.log(p) + (1 - y[te]) * np.log(1 - p))))
        losses.append(loss)
    return C_GRID[int(np.argmin(losses))]


def suite_weights(suites: list[str]) -> np.ndarray:
    """Sample weights that give every calibration suite the same total weight (mean 1).

    The suites have very different base rates (a news quiz over a year of articles vs. one passage per
    question); equal weights keep the policy from being tuned to one corpus."""
    names, counts = np.unique(np.array(suites), return_counts=True)
    per = {n: len(suites) / (len(names) * c) for n, c in zip(names, counts)}
    return np.array([per[s] for s in suites])


def _oof(x: np.ndarray, y: np.ndarray, mask: np.ndarray, w: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities (0 where `mask` is false); `seed` draws the folds."""
    from sklearn.model_selection import StratifiedKFold

    p = np.zeros(len(y))
    idx = np.flatnonzero(mask)
    if len(idx) < folds * 2 or len(set(y[idx])) < 2:
        return p
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x[idx], y[idx]):
        xt, yt, wt = x[idx][tr], y[idx][tr], w[idx][tr]
        coef, b = _logistic(xt, yt, c=choose_c(xt, yt, wt), w=wt)  # C chosen inside the fold: nested
        p[idx[te]] = _prob(x[idx][te], coef, b)
    return p


def crag(pa: np.ndarray, pe: np.ndarray, ya: np.ndarray, ye: np.ndarray, t: float, penalty: float,
         w: np.ndarray | None = None) -> float:
    """Weighted mean CRAG over the calibration questions with evidence at threshold `t` (`w`: suite weights)."""
    choose_a = pa >= pe
    p = np.where(choose_a, pa, pe)
    right = np.where(choose_a, ya, ye)
    shown = p >= t
    points = np.where(shown, np.where(right > 0, 1.0, -penalty), 0.0)
    return float(np.average(points, weights=w))


def _nested_crag(x: np.ndarray, ya: np.ndarray, ha: np.ndarray, ye: np.ndarray, w: np.ndarray, seed: int = 0) -> float:
    """CRAG at `balanced` on nested out-of-fold probabilities of both models (C chosen inside each fold)."""
    pa, pe = _oof(x, ya, ha > 0, w, seed=seed), _oof(x, ye, np.ones(len(ye), bool), w, seed=seed)
    return crag(pa, pe, ya, ye, threshold_for(PENALTIES["balanced"]), PENALTIES["balanced"], w)
