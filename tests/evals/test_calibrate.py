"""The calibration fits on real explanations: the extractor, the likelihood weight and features
(the full fit runs in `python -m evals.calibrate`, not in the tests)."""

from __future__ import annotations

import numpy as np


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
