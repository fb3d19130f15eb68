"""The answer policy: decisions from feature vectors, risk levels, the packaged fitted file."""

from __future__ import annotations

import json

import pytest

from rag.policy import (
    FEATURE_NAMES,
    POLICY_VERSION,
    AnswerPolicy,
    PolicyFeatures,
    evidence_params,
    features_from_dict,
    load_params,
    parse_risk,
)


def _params(answer: dict[str, float], extract: dict[str, float], bias: float = -3.0) -> dict:
    vec = lambda d: [d.get(f, 0.0) for f in FEATURE_NAMES]
    return {"version": POLICY_VERSION, "features": list(FEATURE_NAMES), "profiles": {"small": {
        "answer": {"coef": vec(answer), "intercept": bias}, "extract": {"coef": vec(extract), "intercept": bias},
        "thresholds": {"cautious": 0.8, "balanced": 0.5, "eager": 0.2}, "extractor": {"weights": {}, "bias": 0.0}}}}


TOY = _params({"verified": 2.0, "coverage": 2.0}, {"extract_score": 1.0, "coverage": 2.0})


def test_the_more_likely_candidate_is_shown_when_it_reaches_the_threshold() -> None:
    policy = AnswerPolicy(TOY, "balanced")
    strong = PolicyFeatures(coverage=1.0, verified=1.0, extract_score=0.5)
    d = policy.decide(strong, has_answer=True, has_extract=True)
    assert d.action == "answer" and d.p_answer > d.p_extract >= 0
    assert policy.decide(strong, has_answer=False, has_extract=True).action == "refuse"  # p_extract ~ 0.38
    assert policy.decide(PolicyFeatures(coverage=1.0, extract_score=2.0), True, True).action == "extract"


def test_risk_levels_move_along_the_curve() -> None:
    f = PolicyFeatures(coverage=1.0, extract_score=1.5)  # p_extract ~ 0.62
    actions = {r: AnswerPolicy(TOY, r).decide(f, True, True).action for r in ("cautious", "balanced", "eager")}
    assert actions == {"cautious": "refuse", "balanced": "extract", "eager": "extract"}
    weak = PolicyFeatures(coverage=0.5)  # p ~ 0.12
    assert all(AnswerPolicy(TOY, r).decide(weak, True, True).action == "refuse" for r in ("cautious", "balanced", "eager"))


def test_one_question_can_move_along_the_curve_without_refitting() -> None:
    f = PolicyFeatures(coverage=1.0, extract_score=1.5)  # p_extract ~ 0.62
    cautious = AnswerPolicy(TOY, "cautious")
    assert cautious.decide(f, True, True).action == "refuse"
    eager = cautious.at("Eager")
    assert eager.decide(f, True, True).action == "extract" and eager.threshold == 0.2
    assert eager.models is cautious.models and cautious.threshold == 0.8  # a view, the original unchanged
    assert cautious.at("cautious") is cautious
    with pytest.raises(ValueError, match="cautious, balanced, eager"):
        cautious.at("reckless")


def test_could_answer_skips_hopeless_evidence() -> None:
    policy = AnswerPolicy(TOY, "balanced")
    assert policy.could_answer(PolicyFeatures(coverage=1.0))  # a verified draft could still reach 0.5
    assert not policy.could_answer(PolicyFeatures(coverage=0.0, asked_names_missing=3.0))


def test_bad_risk_and_stale_files_are_clear_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="cautious, balanced, eager"):
        parse_risk("yolo")
    stale = dict(TOY, features=["best_score"])
    from citewire.errors import CitewireError

    with pytest.raises(CitewireError, match="refit"):
        AnswerPolicy(stale)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(dict(TOY, version=POLICY_VERSION + 1)))
    with pytest.raises(CitewireError, match="policy version"):
        load_params(path)


def test_features_round_trip_through_answer_metadata() -> None:
    f = PolicyFeatures(best_score=0.7, coverage=0.9, verified=1.0, qtype="place")
    assert features_from_dict(json.loads(json.dumps(f.to_dict()))) == f
    assert len(f.vector()) == len(FEATURE_NAMES)


def test_the_packaged_policy_is_fitted_and_loads_for_every_risk() -> None:
    params = load_params()
    small = params["profiles"]["small"]
    assert "calibration" in json.dumps(small["fitted_on"]) or small["fitted_on"].get("questions", 0) > 0
    t = small["thresholds"]
    assert t["cautious"] >= t["balanced"] >= t["eager"]
    for risk in ("cautious", "balanced", "eager"):
        AnswerPolicy(params, risk)


def test_a_section_fitted_for_the_model_wins_over_its_profile() -> None:
    sec = lambda t: dict(TOY["profiles"]["small"], thresholds={"cautious": t, "balanced": t, "eager": t})
    params = dict(TOY, profiles={"small": sec(0.5), "capable": sec(0.6)}, models={"qwen2.5-coder-1.5b": sec(0.7)})
    assert AnswerPolicy(params, "balanced", "capable", "qwen2.5-coder-1.5b").threshold == 0.7
    assert AnswerPolicy(params, "balanced", "capable", "qwen2.5-coder-0.5b").threshold == 0.6  # no own section
    assert AnswerPolicy(params, "balanced", "small", None).threshold == 0.5
    assert AnswerPolicy(dict(TOY), "balanced", "capable", "qwen2.5-coder-1.5b").threshold == 0.5  # small fallback


def test_a_section_owns_the_evidence_weights_its_drafts_were_made_with() -> None:
    own = {"weights": {"semantic": 3.0}, "bias": -5.0}
    params = dict(TOY, evidence={"weights": {"semantic": 4.0, "lexical": -3.0}, "bias": -6.0},
                  profiles={"small": dict(TOY["profiles"]["small"], evidence=own), "capable": TOY["profiles"]["small"]})
    small, capable = (AnswerPolicy(params, "balanced", p).params for p in ("small", "capable"))
    assert evidence_params(params, small) == own
    assert evidence_params(params, capable) == {"weights": {"semantic": 4.0, "lexical": -3.0}, "bias": -6.0}
    assert evidence_params(dict(TOY)) == {}  # nothing fitted: the selector's defaults


def test_could_answer_is_an_exact_bound_even_with_negative_draft_coefficients() -> None:
    import itertools
    from dataclasses import replace

    from rag.policy import DRAFT_FEATURES

    # a typed answer *lowers* p here (fitted coefficients can come out so): a check that assumed it raised p
    # (answers_type = 1 in every "hopeful" draft) refused before asking the LLM
    params = _params({"coverage": 3.0, "answers_type": -2.5, "verified": 1.0},
                     {"coverage": 1.0, "llm_not_found": 1.5}, bias=-2.0)
    policy = AnswerPolicy(params, "balanced")
    for coverage in (0.0, 0.5, 0.8, 1.0):
        f = PolicyFeatures(coverage=coverage)
        reachable = any(max(policy.probabilities(replace(f, **dict(zip(DRAFT_FEATURES, combo))))) >= policy.threshold
                        for combo in itertools.product((0.0, 1.0), repeat=len(DRAFT_FEATURES)))
        assert policy.could_answer(f) == reachable
    assert policy.could_answer(PolicyFeatures(coverage=0.5))  # only a verified, untyped draft gets there


def test_a_section_uses_the_llm_likelihoods_only_when_one_of_its_models_weighs_them() -> None:
    from rag.policy import LM_FEATURES

    assert not AnswerPolicy(TOY).uses_likelihood
    for name in LM_FEATURES:
        assert AnswerPolicy(_params({"coverage": 1.0}, {name: -0.5})).uses_likelihood
    # the likelihood features are draft features in [0, 1]: the evidence-only bound covers them
    policy = AnswerPolicy(_params({"coverage": 1.0, "not_found_lm_p": -4.0, "answer_lm_p": 3.0}, {}, bias=-3.0))
    assert policy.could_answer(PolicyFeatures(coverage=1.0))  # reachable only with answer_lm_p = 1
    assert not AnswerPolicy(_params({"coverage": 1.0, "not_found_lm_p": -4.0}, {}, bias=-3.0)).could_answer(
        PolicyFeatures(coverage=1.0))


def test_no_packaged_section_weighs_likelihoods_it_was_not_fitted_with() -> None:
    """Sections fitted before the likelihood features (or for servers) carry 0 for them, so servers and
    other GGUFs never need scores they cannot have."""
    from rag.policy import LM_FEATURES

    params = load_params()
    for name in params["profiles"]:
        assert not AnswerPolicy(params, "balanced", name).uses_likelihood, name
    for name in params.get("models", {}):
        sec = params["models"][name]
        if sec["fitted_on"].get("likelihood_features", {}).get("chosen") != "on":
            assert not AnswerPolicy(params, "balanced", "capable", name).uses_likelihood, name
    assert all(n in FEATURE_NAMES for n in LM_FEATURES)
