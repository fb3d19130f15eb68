"""The LLM-likelihood re-ranking of answer phrases (`rag/likelihood.py`, `rag.extract.rerank`), with the
bundled model and the seed engine."""

from __future__ import annotations

import json

import pytest

from rag.extract import Candidate, rerank

STATEMENT = "At least 14 people were hospitalized, according to Kyiv Mayor Vitali Klitschko."


def _cand(text: str, score: float) -> Candidate:
    return Candidate(text, "name", 1, 0, len(text), {"type_match": 1.0}, score)


def test_rerank_reorders_only_the_top_k_by_the_weighted_likelihood() -> None:
    cands = [_cand("A", 3.0), _cand("B", 2.5), _cand("C", 2.0), _cand("D", 1.0)]
    logliks = {"A": -4.0, "B": -0.1, "C": -0.2}
    out = rerank(cands, logliks, weight=1.0, k=3)
    assert [c.text for c in out] == ["B", "C", "A", "D"]  # 2.4, 1.8, -1.0; D (below k) keeps its place after
    assert out[0].score == pytest.approx(2.4) and out[0].features["lm_loglik"] == -0.1
    assert out[-1] is cands[-1]
    # a small weight leaves the features' order; no weight or no scores changes nothing
    assert [c.text for c in rerank(cands, logliks, weight=0.05, k=3)][:3] == ["A", "B", "C"]
    assert rerank(cands, logliks, weight=0.0, k=3) is cands
    assert rerank(cands, None, weight=1.0, k=3) is cands


def test_an_unscored_phrase_in_the_top_k_gets_the_lowest_score_of_the_question() -> None:
    cands = [_cand("A", 2.0), _cand("B", 1.9), _cand("C", 1.8)]
    out = rerank(cands, {"A": -3.0, "C": -0.5}, weight=1.0, k=3)
    assert [c.text for c in out] == ["C", "A", "B"]
    assert out[2].features["lm_loglik"] == -3.0


@pytest.fixture(scope="module")
def bundled_llm():
    from citewire.settings import LLMSettings
    from rag.llm import build_llm

    return build_llm(LLMSettings())


def _messages(question: str) -> list:
    from llama_index.core.llms import ChatMessage, MessageRole

    return [ChatMessage(role=MessageRole.SYSTEM, content="Answer with a short phrase copied from the evidence."),
            ChatMessage(role=MessageRole.USER, content=f"Evidence:\n[1] {STATEMENT}\n\nQuestion: {question}\nAnswer:")]


@pytest.mark.slow
def test_the_bundled_model_scores_the_copied_answer_above_an_absent_phrase(bundled_llm) -> None:
    from rag.likelihood import score_phrases

    scores = score_phrases(bundled_llm, _messages("Who is the mayor of Kyiv?"), ["Vitali Klitschko", "Solomianskyi district"])
    assert scores is not None and set(scores) == {"Vitali Klitschko", "Solomianskyi district"}
    assert scores["Solomianskyi district"] < scores["Vitali Klitschko"] < 0


@pytest.mark.slow
def test_scores_match_a_full_logits_reference_and_leave_generation_unchanged(bundled_llm) -> None:
    """The batch-only logits give the numbers a `logits_all` model gives, and the model still drafts the
    same reply afterwards (its decode state is left consistent)."""
    from llama_cpp import Llama
    from scipy.special import log_softmax

    from citewire.settings import LLMSettings
    from rag.likelihood import score_phrases
    from rag.llm import bundled_gguf, llama_lock

    msgs = _messages("Who is the mayor of Kyiv?")
    with llama_lock(LLMSettings()):
        before = "".join(c.delta for c in bundled_llm.stream_chat(msgs))
        scores = score_phrases(bundled_llm, msgs, ["Vitali Klitschko", "14 people"])
        after = "".join(c.delta for c in bundled_llm.stream_chat(msgs))
    assert after == before
    ref = Llama(model_path=str(bundled_gguf()), n_ctx=512, n_threads=1, logits_all=True, verbose=False)
    prompt = ref.tokenize(bundled_llm.messages_to_prompt(msgs).encode(), special=True)
    for phrase in ("Vitali Klitschko", "14 people"):
        ids = ref.tokenize(phrase.encode(), add_bos=False, special=False)
        ref.reset()
        ref.eval(prompt + ids)
        rows = log_softmax(ref.scores[len(prompt) - 1: len(prompt) - 1 + len(ids)].astype("float64"), axis=1)
        expected = float(rows[range(len(ids)), ids].mean())
        assert scores[phrase] == pytest.approx(expected, abs=0.05)


def test_a_server_backend_has_no_likelihood() -> None:
    from citewire.settings import LLMSettings
    from rag.likelihood import score_phrases
    from rag.llm import build_llm

    server = build_llm(LLMSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="m"))  # never called
    assert score_phrases(server, _messages("Who?"), ["A"]) is None


@pytest.mark.slow
def test_the_engine_records_phrase_likelihoods_only_when_asked(seed_engine) -> None:
    from rag import Engine

    s = seed_engine.settings
    always = Engine.open(settings=s.model_copy(update={"llm": s.llm.model_copy(
        update={"phrase_scoring": "always", "phrase_scoring_k": 4})}))
    x = always.explain("Who is the mayor of Kyiv?")
    assert x.phrase_logliks is not None and 1 <= len(x.phrase_logliks) <= 4
    assert "phrase_scoring_s" in x.answer.timings
    top = [c.text for c in always.extractor.candidates(x.question, x.evidence.pool or x.evidence.items, x.draft,
                                                        x.evidence.contexts)[:4]]
    assert set(x.phrase_logliks) == set(top)  # the extractor's top phrases, each scored once
    # apart from them: replying NOT FOUND (and the draft's own phrase), the policy's likelihood features
    import math

    from rag.generate import NOT_FOUND
    from rag.grounding import parse_short_answer

    assert x.reply_logliks is not None and NOT_FOUND in x.reply_logliks
    own, _, not_found = parse_short_answer(x.draft)
    assert (own in x.reply_logliks) == bool(own and not not_found)
    f = x.candidates.features
    assert f.not_found_lm_p == pytest.approx(math.exp(x.reply_logliks[NOT_FOUND])) and 0 < f.not_found_lm_p < 1
    assert f.extract_lm_p == pytest.approx(math.exp(x.phrase_logliks[top[0]]))  # no re-ranking: top[0] is shown
    assert f.answer_lm_p == (pytest.approx(math.exp(x.reply_logliks[own])) if f.phrase_grounded else 0.0)
    # the packaged section for the bundled model is not fitted with the re-ranking: auto scores nothing
    assert seed_engine.extractor.lm_weight == 0.0
    plain = seed_engine.explain("Who is the mayor of Kyiv?")
    assert plain.phrase_logliks is None and plain.reply_logliks is None
    assert plain.candidates.features.not_found_lm_p == plain.candidates.features.extract_lm_p == 0.0


@pytest.mark.slow
def test_a_policy_that_weighs_likelihoods_has_them_scored_without_the_reranking(seed_engine, tmp_path) -> None:
    from rag import Engine
    from rag.policy import FEATURE_NAMES, load_params

    params = json.loads(json.dumps(load_params(seed_engine.settings.retrieval.policy_path)))
    for section in params["profiles"].values():
        section["extract"]["coef"][FEATURE_NAMES.index("not_found_lm_p")] = -1.0
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(params), encoding="utf-8")
    s = seed_engine.settings
    eng = Engine.open(settings=s.model_copy(update={"retrieval": s.retrieval.model_copy(update={"policy_path": str(path)})}))
    assert eng.extractor.lm_weight == 0.0 and eng.policy.uses_likelihood
    x = eng.explain("Who is the mayor of Kyiv?")
    assert x.reply_logliks is not None and x.phrase_logliks is not None
    assert 0 < x.candidates.features.not_found_lm_p < 1
    assert x.decision.p_extract == pytest.approx(eng.policy.probabilities(x.candidates.features)[1])


@pytest.mark.slow
def test_a_section_fitted_with_the_reranking_scores_at_run_time_and_reorders(seed_engine, tmp_path) -> None:
    from rag import Engine
    from rag.policy import load_params

    params = json.loads(json.dumps(load_params(seed_engine.settings.retrieval.policy_path)))
    for section in params["profiles"].values():
        section["extractor"]["lm"] = {"weight": 50.0, "k": 3}  # the likelihood decides among the top 3
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(params), encoding="utf-8")
    s = seed_engine.settings
    eng = Engine.open(settings=s.model_copy(update={"retrieval": s.retrieval.model_copy(update={"policy_path": str(path)})}))
    assert (eng.extractor.lm_weight, eng.extractor.lm_k) == (50.0, 3)
    x = eng.explain("Who is the mayor of Kyiv?")
    assert x.phrase_logliks is not None and len(x.phrase_logliks) <= 3
    ranked = eng.extractor.rerank(eng.extractor.candidates(x.question, x.evidence.pool or x.evidence.items, x.draft,
                                                           x.evidence.contexts), x.phrase_logliks)
    best = max(x.phrase_logliks, key=x.phrase_logliks.get)
    assert ranked[0].text == best  # at this weight the most likely phrase leads
    assert x.candidates.features.extract_score == pytest.approx(ranked[0].score)
    # the extracted phrase is chosen after the draft, so no question is refused before the LLM has run
    a = eng.ask("What is the population of the Solomianskyi district?")
    assert "generation_s" in a.timings
