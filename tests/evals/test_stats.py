"""The calibration's statistics (`evals/stats.py`): the decision rule, the CRAG objective, the bounded fit."""

from __future__ import annotations

import numpy as np

from evals.stats import PENALTIES, _logistic, _logistic_nonneg, crag, threshold_for


def test_risk_thresholds_are_where_answering_starts_to_pay() -> None:
    assert [threshold_for(PENALTIES[r]) for r in ("cautious", "balanced", "eager")] == [0.6667, 0.5, 0.3333]
    for pen in PENALTIES.values():
        t = threshold_for(pen)
        gain = [p - pen * (1 - p) for p in (t - 0.01, t, t + 0.01)]  # expected CRAG points at P(right) = p
        assert abs(gain[1]) < 1e-3 and gain[2] > 0 > gain[0]


def test_crag_counts_shown_candidates_only_and_takes_the_more_likely_one() -> None:
    pa, pe = np.array([0.9, 0.2, 0.6, 0.1]), np.array([0.1, 0.7, 0.4, 0.2])
    ya, ye = np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0])
    # at 0.5: q1 answer right (+1), q2 extract wrong (-1), q3 answer wrong (-1), q4 refused (0)
    assert crag(pa, pe, ya, ye, 0.5, 1.0) == (1 - 1 - 1 + 0) / 4
    assert crag(pa, pe, ya, ye, 0.5, 0.5) == (1 - 0.5 - 0.5) / 4
    assert crag(pa, pe, ya, ye, 0.95, 1.0) == 0.0


def test_the_evidence_fit_keeps_monotone_weights_at_or_above_zero() -> None:
    # column 1 duplicates column 0 with noise: unconstrained, the fit splits them into + and -
    rng = np.random.default_rng(0)
    a = rng.normal(size=2000)
    x = np.column_stack([a, a + 0.3 * rng.normal(size=2000), rng.normal(size=2000)])
    y = (2 * a - 1.5 * x[:, 1] + 0.5 * x[:, 2] + rng.logistic(size=2000) > 0).astype(float)
    free, _ = _logistic(x, y)
    bounded, b = _logistic_nonneg(x, y, [1])
    assert free[1] < -0.5  # the unconstrained fit does give the column a negative weight
    assert bounded[1] >= 0.0 and bounded[0] > 0 and bounded[2] > 0
    p = 1 / (1 + np.exp(-(x @ np.array(bounded) + b)))
    assert ((p > 0.5) == (y > 0)).mean() > 0.6  # still a working classifier
