"""The calibration's decision rule (the fit itself runs in `python -m evals.calibrate`, not in the tests)."""

from __future__ import annotations

from evals.calibrate import PENALTIES, crag, threshold_for


def test_risk_thresholds_are_where_answering_starts_to_pay() -> None:
    assert [threshold_for(PENALTIES[r]) for r in ("cautious", "balanced", "eager")] == [0.6667, 0.5, 0.3333]
    for pen in PENALTIES.values():
        t = threshold_for(pen)
        gain = [p - pen * (1 - p) for p in (t - 0.01, t, t + 0.01)]  # expected CRAG points at P(right) = p
        assert abs(gain[1]) < 1e-3 and gain[2] > 0 > gain[0]


def test_crag_counts_shown_candidates_only_and_takes_the_more_likely_one() -> None:
    import numpy as np

    pa, pe = np.array([0.9, 0.2, 0.6, 0.1]), np.array([0.1, 0.7, 0.4, 0.2])
    ya, ye = np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0])
    # at 0.5: q1 answer right (+1), q2 extract wrong (-1), q3 answer wrong (-1), q4 refused (0)
    assert crag(pa, pe, ya, ye, 0.5, 1.0) == (1 - 1 - 1 + 0) / 4
    assert crag(pa, pe, ya, ye, 0.5, 0.5) == (1 - 0.5 - 0.5) / 4
    assert crag(pa, pe, ya, ye, 0.95, 1.0) == 0.0
