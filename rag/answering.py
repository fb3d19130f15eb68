"""From evidence and draft to the two candidate answers and the policy's features.

`build_candidates` turns one question's evidence, LLM draft and verification into:

- the ``answer`` candidate: the draft's short answer phrase grounded in the evidence (``Lisbon
  [1]``), else its verified sentences; absent when neither survives;
- the ``extract`` candidate: the best extracted phrase (``Red No. 3 [1]``), or, for why/what-said
  questions and when no phrase fits, the best evidence quoted;

and the `PolicyFeatures` the answer policy decides on. Nothing is shown from here: the engine asks
the policy which candidate (if any) to show.

Example:
    >>> cands = build_candidates(q, ev, retrieval, draft, verifier.verify(draft, ev.items, q.text), extractor)
    >>> cands.features.phrase_grounded, cands.answer.text if cands.answer else None
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from . import compose
from .evidence import EvidenceSet
from .extract import Candidate, PhraseExtractor
from .generate import NOT_FOUND
from .grounding import ground, parse_short_answer
from .policy import PolicyFeatures
from .question import Question
from .retrieval import Retrieval
from .types import Citation
from .verify import Verification

MAX_PHRASE_WORDS = 12
PHRASE_TYPES = ("number", "person", "date", "place", "entity")


@dataclass(frozen=True)
class Composed:
    """A candidate answer as it would be shown: text with [n] markers, and its citations."""

    text: str
    citations: list[Citation]
    mode: str  # "generated" or "extractive"


@dataclass(frozen=True)
class Candidates:
    answer: Composed | None
    extract: Composed | None
    features: PolicyFeatures


def evidence_features(q: Question, ev: EvidenceSet, retrieval: Retrieval | None, k: int) -> PolicyFeatures:
    """The features known before any LLM call (evidence and retrieval only)."""
    top_in_both = 0.0
    if retrieval is not None and ev.items:
        e = ev.items[0]
        for nws in retrieval.nodes:
            node = nws.node
            if (node.metadata.get("article_id") == e.article.id and (node.start_char_idx or 0) < e.end  # type: ignore[attr-defined]
                    and (node.end_char_idx or 0) > e.start):  # type: ignore[attr-defined]
                top_in_both = float(retrieval.found_by_both(node.node_id, k))
                break
    return PolicyFeatures(
        best_score=ev.best_score, best_semantic=ev.best_semantic, best_lexical=ev.best_lexical, coverage=ev.coverage,
        asked_names_missing=float(min(len(ev.asked_names_missing), 3)),
        framing_names_missing=float(min(len(ev.framing_names_missing), 3)),
        n_support=float(min(ev.n_support, 5)), type_cue=float(ev.type_cue),
        rank_agreement=retrieval.agreement(k) if retrieval is not None else 0.0, top_in_both=top_in_both,
        qtype=q.qtype,
    )


def phrase_candidates(extractor: PhraseExtractor, q: Question, ev: EvidenceSet, draft: str) -> list[Candidate]:
    """The extractor's candidates for one question, best first, as the engine ranks them: over the whole
    evidence pool (not only the items shown to the LLM), with the retrieved chunks as redundancy context.

    When to use: wherever candidates are featurised, the engine and the extractor's calibration alike, so
    the weights are fitted on exactly the features they are applied to."""
    return extractor.candidates(q, ev.pool or ev.items, draft, ev.contexts)


def build_candidates(q: Question, ev: EvidenceSet, base: PolicyFeatures, draft: str, verification: Verification,
                     extractor: PhraseExtractor, logliks: dict[str, float] | None = None,
                     ranked: list[Candidate] | None = None, replies: dict[str, float] | None = None) -> Candidates:
    """Both candidate answers of one question and the full features (`base` plus the LLM's part).

    `logliks`: the LLM's likelihood of the top phrases as its reply (`rag.likelihood`), which re-ranks them
    when the extractor's section was fitted with it. `ranked`: `phrase_candidates` for this very draft when
    the caller already has them (the engine does, after scoring the phrases). `replies`: the LLM's likelihood
    of its own short phrase and of NOT FOUND as its reply (the `*_lm_p` features)."""
    answer: Composed | None = None
    phrase, marks, not_found = parse_short_answer(draft)
    grounded = None
    if phrase and not not_found and len(phrase.split()) <= MAX_PHRASE_WORDS:
        grounded = ground(phrase, ev.items, prefer=marks)
    if grounded is not None:
        text, cites = compose.compose_phrase(grounded.text, grounded.n, ev)
        answer = Composed(text, cites, "generated")
    elif verification.claims:
        text, cites = compose.compose_verified(verification, ev)
        if cites:
            answer = Composed(text, cites, "generated")

    # a phrase answers what asks for a thing (how many, who, when, where, which/what NOUN); for why,
    # what-said and open questions the answer is the evidence itself, quoted
    if q.qtype in PHRASE_TYPES:
        cands = extractor.rerank(ranked if ranked is not None else phrase_candidates(extractor, q, ev, draft), logliks)
    else:
        cands = []
    if cands:
        best = cands[0]
        text, cites = compose.compose_phrase(best.text, best.n, ev)
        extract = Composed(text, cites, "extractive")
    else:
        text, cites = compose.compose_quote(ev)
        extract = Composed(text, cites, "extractive")

    verified_best = any(1 in c.evidence for c in verification.claims)
    scored = {**(logliks or {}), **(replies or {})}
    floor = min(logliks.values()) if logliks else None  # as `rerank`: an unscored candidate gets the lowest score
    features = replace(
        base,
        llm_not_found=float(verification.says_not_found or (not_found and bool(draft.strip()))),
        verified=float(verified_best),
        phrase_grounded=float(grounded is not None),
        answers_type=float(answer is not None and compose.answers_type(q, answer.text)),
        extract_score=cands[0].score if cands else 0.0,
        extract_margin=(cands[0].score - cands[1].score) if len(cands) > 1 else (cands[0].score if cands else 0.0),
        extract_in_draft=cands[0].features.get("in_draft", 0.0) if cands else 0.0,
        extract_recurs=cands[0].features.get("chunk_recurs", 0.0) if cands else 0.0,
        extract_head_sim=cands[0].features.get("head_sim", 0.0) if cands else 0.0,
        extract_item_rank=cands[0].features.get("item_rank", 0.0) if cands else 0.0,
        extract_lm_p=_prob(scored.get(cands[0].text, floor)) if cands else 0.0,
        answer_lm_p=_prob(scored.get(phrase)) if grounded is not None and phrase else 0.0,
        not_found_lm_p=_prob(scored.get(NOT_FOUND)),
    )
    return Candidates(answer, extract, features)


def _prob(loglik: float | None) -> float:
    """exp(mean token log-probability): the geometric-mean token probability, in [0, 1]; 0 when not scored."""
    return math.exp(min(loglik, 0.0)) if loglik is not None else 0.0
