"""The calibration's decision rule (the fit itself runs in `python -m evals.calibrate`, not in the tests)."""

from __future__ import annotations

import numpy as np

from evals.calibrate import PENALTIES, _logistic, _logistic_nonneg, crag, threshold_for


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


def test_the_extractor_is_fitted_on_the_candidates_the_engine_ranks(extractive_engine) -> None:
    """No train/serve skew: the calibration featurises candidates with `phrase_candidates`, and on a real
    explanation that reproduces the engine's own best candidate (from the evidence pool, with the retrieved
    chunks as context: `chunk_recurs` is 0 without them)."""
    from rag.answering import phrase_candidates

    x = extractive_engine.explain("How many people were hospitalized in Kyiv?")
    assert x.evidence is not None and x.candidates is not None
    cands = phrase_candidates(extractive_engine.extractor, x.question, x.evidence, x.draft)
    f = x.answer.features
    assert cands and f["extract_score"] == cands[0].score
    assert f["extract_recurs"] == cands[0].features["chunk_recurs"] > 0
    assert len(x.evidence.pool) > len(x.evidence.items)  # the pool is wider than what the LLM was shown
    items_only = extractive_engine.extractor.candidates(x.question, x.evidence.items, x.draft)
    assert [c.features["chunk_recurs"] for c in items_only] == [0.0] * len(items_only)


def test_the_likelihood_weight_is_fitted_only_when_it_ranks_the_gold_first_out_of_fold(extractive_engine) -> None:
    """`fit_lm_weight` on real candidates of one explanation, the gold answer being the extractor's second
    phrase: likelihoods that favour the gold turn the re-ranking on, likelihoods that favour the first
    phrase (already first) leave it off, and drafts without likelihoods fit nothing."""
    from dataclasses import replace

    from evals.calibrate import Collected, fit_lm_weight
    from evals.loaders import EvalItem
    from rag.answering import phrase_candidates

    x = extractive_engine.explain("How many people were hospitalized in Kyiv?")
    cands = phrase_candidates(extractive_engine.extractor, x.question, x.evidence, x.draft)
    first, gold = cands[0].text, next(c.text for c in cands[1:8] if c.text.lower() not in cands[0].text.lower())
    item = EvalItem(id="q", question=x.question.text, answers=[gold])

    def rows(logliks: dict[str, float] | None) -> list[Collected]:
        return [Collected("seed", item, replace(x, phrase_logliks=logliks), {}) for _ in range(12)]

    on = fit_lm_weight(rows({gold: -0.1, first: -3.0}), extractive_engine.extractor)
    assert on is not None and on["chosen"] == "fitted" and on["weight"] > 0
    assert (on["gold_first_extractor"], on["gold_first_chosen"], on["gold_first_2fold"]) == (0, 12, 12)
    off = fit_lm_weight(rows({first: -0.1, gold: -3.0}), extractive_engine.extractor)
    assert off is not None and off["chosen"] == "off" and off["weight"] == 0.0
    assert fit_lm_weight(rows(None), extractive_engine.extractor) is None


def test_likelihood_features_are_kept_only_when_they_raise_the_nested_out_of_fold_crag() -> None:
    from evals.calibrate import _choose_lm_features, _without_lm
    from rag.policy import FEATURE_NAMES

    rng = np.random.default_rng(1)
    n = 400
    x = np.zeros((n, len(FEATURE_NAMES)))
    x[:, FEATURE_NAMES.index("coverage")] = rng.uniform(size=n)  # a weak signal without the LLM
    right = rng.uniform(size=n) < 0.2 + 0.3 * x[:, FEATURE_NAMES.index("coverage")]
    ya, ye, ha, w = right.astype(float), np.zeros(n), np.ones(n), np.ones(n)
    assert _choose_lm_features(x, ya, ha, ye, w) is None  # nothing scored: nothing to choose

    informative = x.copy()  # the model's confidence in its own phrase tracks whether it is right
    informative[:, FEATURE_NAMES.index("answer_lm_p")] = np.clip(0.3 + 0.5 * right + 0.1 * rng.normal(size=n), 0, 1)
    on = _choose_lm_features(informative, ya, ha, ye, w)
    assert on is not None and on["chosen"] == "on" and on["nested_oof_crag_with"] > on["nested_oof_crag_without"]

    noise = x.copy()  # a likelihood that knows nothing: with it the out-of-fold CRAG is no better
    noise[:, FEATURE_NAMES.index("not_found_lm_p")] = rng.uniform(size=n)
    off = _choose_lm_features(noise, ya, ha, ye, w)
    assert off is not None and off["chosen"] == "off"
    assert not _without_lm(informative)[:, FEATURE_NAMES.index("answer_lm_p")].any()
