"""The query engine: one object behind `citewire ask`, the chat UI, the eval suites and Python.

Flow of `stream()` (and so of `ask()` / `chat()`): condense follow-ups -> resolve relative dates
-> hybrid retrieval -> sentence evidence -> abstain early when evidence is weak -> LLM draft from
numbered evidence (streamed) -> verification -> verified answer or extractive fallback ->
citations copied from offsets.

Example:
    >>> from rag import Engine
    >>> engine = Engine.open()
    >>> ans = engine.ask("How many drones and missiles did Russia launch?")
    >>> c = ans.citations[0]
    >>> c.quote == engine.article(c.article_id).text[c.start:c.end]
    True
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from citewire.settings import Settings, offline_env
from ingest import ArticleInfo, FieldMap, Ingestor, IngestReport, RawArticle
from ingest.bm25 import BM25Index
from ingest.types import Article

from . import compose
from .answering import PHRASE_TYPES, Candidates, build_candidates, evidence_features, phrase_candidates
from .condense import condense_llm, condense_rules, reference_date, resolve_relative_dates
from .errors import BadQuestionError, CitewireError, EmptyStoreError, LLMUnavailableError
from .evidence import EvidenceSelector, EvidenceSet
from .extract import Candidate, PhraseExtractor
from .filters import Filters
from .generate import NOT_FOUND, Generator
from .grounding import parse_short_answer
from .likelihood import score_phrases
from .llm import build_llm, llama_lock, model_name, model_profile
from .policy import AnswerPolicy, Decision, PolicyFeatures, Risk, evidence_params, load_params
from .question import Question
from .retrieval import HybridRetriever
from .types import Answer, AnswerEvent, Passage, StatusEvent, StreamEvent, TokenEvent
from .verify import Verification, Verifier

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 2000
History = list[tuple[str, str]]


@dataclass(frozen=True)
class Explanation:
    """One question's answer with what led to it: both candidates, the features, the decision."""

    answer: Answer
    candidates: Candidates | None
    decision: Decision | None
    question: Question | None = None
    evidence: EvidenceSet | None = None
    base: PolicyFeatures | None = None  # the features known before the LLM ran
    draft: str = ""
    verification: Verification | None = None
    phrase_logliks: dict[str, float] | None = None  # the LLM's likelihood of the top phrases (rag/likelihood.py)
    reply_logliks: dict[str, float] | None = None  # ... of its own short answer and of NOT FOUND (same scoring)


class Engine:
    """Answers questions from the ingested articles with verified, character-exact citations.

    Use `Engine.open()` once per process (models load once) and share it between threads.
    """

    def __init__(self, settings: Settings) -> None:
        offline_env()
        self.settings = settings
        self.ingestor = Ingestor(settings)
        self.store = self.ingestor.store
        self.embedder = self.ingestor.embedder
        self._bm25: BM25Index | None = None
        self._bm25_lock = threading.Lock()
        self.retriever = HybridRetriever(self.store, self.ingestor.vectors, self.bm25, self._encode_one, settings)
        self.verifier = Verifier()
        self._llm: Any = None
        self._llm_lock = threading.Lock()
        self._profile: str | None = None
        params = load_params(settings.retrieval.policy_path)
        self.policy = AnswerPolicy(params, settings.retrieval.risk, self.profile, model_name(settings.llm))
        self.selector = EvidenceSelector(self._encode_many, **evidence_params(params, self.policy.params))
        self.extractor = PhraseExtractor.from_params(self.policy.params, self._encode_many)  # the same fitted section

    @property
    def profile(self) -> Any:
        """"small" or "capable": how the configured LLM is prompted (`rag.llm.model_profile`)."""
        if self._profile is None:
            try:
                self._profile = model_profile(self.settings.llm)
            except LLMUnavailableError as e:
                log.warning("cannot read the model's profile (%s); prompting it as a small model", e)
                self._profile = "small"
        return self._profile

    @classmethod
    def open(cls, home: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> Engine:
        """Open the store at `home` (or the configured data home)."""
        if settings is None:
            settings = Settings(home=Path(home), **overrides) if home else Settings(**overrides)
        elif home is not None:
            settings = settings.model_copy(update={"home": Path(home)})
        return cls(settings)

    # -- models and indexes -----------------------------------------------------------------------
    def _encode_one(self, text: str) -> np.ndarray:
        return self.embedder.encode_one(text)

    def _encode_many(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts, batch_size=64)

    def bm25(self) -> BM25Index:
        """The BM25 index of the last ingest run; a newer one is picked up after a writer's swap."""
        with self._bm25_lock:
            if self._bm25 is None or self._bm25.generation != self.store.generation:
                self._bm25 = self.ingestor.bm25(self._bm25)
            return self._bm25

    @property
    def llm(self) -> Any:
        with self._llm_lock:
            if self._llm is None and self.settings.llm.backend != "none":
                self._llm = build_llm(self.settings.llm)
            return self._llm

    # -- library ------------------------------------------------------------------------------------
    def article(self, article_id: str) -> Article:
        self.retriever.articles.refresh()
        art = self.retriever.articles.get(article_id)
        if art is None:
            raise CitewireError(f"no article with id {article_id!r}")
        return art

    def articles(self) -> list[ArticleInfo]:
        return self.store.list()

    def sources(self) -> list[str]:
        return self.store.sources()

    def stats(self) -> dict[str, Any]:
        bm25 = self.bm25()
        return {**self.store.counts(), "vectors": self.ingestor.vectors.count(), "bm25_chunks": len(bm25),
                "generation": self.store.generation, "bm25_generation": bm25.generation,
                "embed_model": self.store.embed_model or self.embedder.name, "home": str(self.settings.home),
                "chroma": self.settings.chroma_url or str(self.settings.chroma_path)}

    def ingest(self, paths: Iterable[Path | str] = (), prune: bool = False, fields: FieldMap | None = None,
               replace: bool = False, progress: Callable[[int, int, str], None] | None = None,
               show_progress: bool = False, lock_timeout: float | None = None) -> IngestReport:
        """Ingest files/folders (empty: the bundled demo corpus). Waits for another writer (up to
        `lock_timeout` s, None = as long as it takes); `replace=True` lets a record replace an
        article of the same id from another file."""
        return self.ingestor.ingest([Path(p) for p in paths], prune=prune, fields=fields, replace=replace,
                                    progress=progress, show_progress=show_progress, lock_timeout=lock_timeout)

    def ingest_records(self, records: Iterable[RawArticle], progress: Callable[[int, int, str], None] | None = None,
                       show_progress: bool = False, total: int | None = None, replace: bool = False,
                       lock_timeout: float | None = None) -> IngestReport:
        """Ingest in-memory articles (e.g. an eval suite's corpus)."""
        return self.ingestor.ingest_records(records, progress=progress, show_progress=show_progress, total=total,
                                            replace=replace, lock_timeout=lock_timeout)

    def remove_article(self, article_id: str, lock_timeout: float | None = None) -> bool:
        """Remove one article from every store (waits for another writer like `ingest`)."""
        return bool(self.ingestor.remove([article_id], lock_timeout=lock_timeout))

    # -- querying -----------------------------------------------------------------------------------
    def retrieve(self, question: str, filters: Filters | dict[str, Any] | None = None,
                 top_k: int | None = None) -> list[Passage]:
        """The fused retrieved chunks as passages, best first (no generation)."""
        return [self._passage(n) for n in self.retriever.retrieve(question, Filters.coerce(filters), top_k)]

    @staticmethod
    def _passage(nws: Any) -> Passage:
        md, node = nws.node.metadata, nws.node
        return Passage(article_id=md["article_id"], title=md["title"], source=md["source"], url=md["url"],
                       published=md["published"], start=node.start_char_idx or 0, end=node.end_char_idx or 0,
                       quote=node.get_content(), score=round(float(nws.score or 0.0), 5))

    def ask(self, question: str, filters: Filters | dict[str, Any] | None = None, top_k: int | None = None,
            history: History | None = None, as_of: date | None = None, risk: Risk | str | None = None) -> Answer:
        """Answer one question (with optional chat history for follow-ups).

        `as_of` is the date the question is asked on: "yesterday", "this week" or "Wednesday"
        resolve against it, and retrieval prefers articles published near it (default: today,
        or the newest article's date for an archive). `risk` (cautious | balanced | eager) moves
        this question along the answer policy's curve; None keeps `retrieval.risk`."""
        answer = None
        for ev in self.stream(question, history=history, filters=filters, top_k=top_k, as_of=as_of, risk=risk):
            if isinstance(ev, AnswerEvent):
                answer = ev.answer
        assert answer is not None
        return answer

    def chat(self, history: History, question: str, filters: Filters | dict[str, Any] | None = None,
             top_k: int | None = None, as_of: date | None = None, risk: Risk | str | None = None) -> Answer:
        """Answer a follow-up in the context of `history` [(question, answer), ...]."""
        return self.ask(question, filters=filters, top_k=top_k, history=history, as_of=as_of, risk=risk)

    def condense(self, history: History | None, question: str) -> str:
        """The standalone form of a follow-up (unchanged without history)."""
        if not history:
            return question
        mode = self.settings.llm.condense
        if mode == "llm" or (mode == "auto" and self.profile == "capable"):
            try:
                with llama_lock(self.settings.llm):
                    return condense_llm(self.llm, history, question)[:MAX_QUESTION_CHARS]
            except LLMUnavailableError as e:
                log.warning("LLM condensation failed (%s); using the rule-based fallback", e)
        return condense_rules([(q[:300], a) for q, a in history], question)

    def explain(self, question: str, filters: Filters | dict[str, Any] | None = None, top_k: int | None = None,
                history: History | None = None, as_of: date | None = None,
                risk: Risk | str | None = None) -> Explanation:
        """Everything behind one answer: both candidates, the policy's features and its decision.

        When to use: calibrating the answer policy (`evals/calibrate.py`) and debugging a refusal."""
        out: list[Explanation] = []
        for _ in self._run(question, history, filters, top_k, as_of, out, risk):
            pass
        return out[0]

    def stream(self, question: str, history: History | None = None, filters: Filters | dict[str, Any] | None = None,
               top_k: int | None = None, as_of: date | None = None,
               risk: Risk | str | None = None) -> Iterator[StreamEvent]:
        """Yield StatusEvents and TokenEvents while working, then one AnswerEvent."""
        yield from self._run(question, history, filters, top_k, as_of, None, risk)

    def _run(self, question: str, history: History | None, filters: Filters | dict[str, Any] | None,
             top_k: int | None, as_of: date | None, explain: list[Explanation] | None,
             risk: Risk | str | None = None) -> Iterator[StreamEvent]:
        t0 = time.perf_counter()
        policy = self.policy if risk is None else self.policy.at(risk)  # a bad level: ValueError naming the valid ones
        question = (question or "").strip()
        if not question:
            raise BadQuestionError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise BadQuestionError(f"the question is too long ({len(question)} > {MAX_QUESTION_CHARS} characters)")
        flt = Filters.coerce(filters)
        if self.store.is_empty():
            raise EmptyStoreError(self.settings.home)
        rs = self.settings.retrieval
        k = top_k or rs.top_k
        timings: dict[str, float] = {}
        standalone = self.condense(history, question)
        timings["condense_s"] = time.perf_counter() - t0

        yield StatusEvent("retrieving")
        t = time.perf_counter()
        retrieval = self.retriever.retrieve_detailed(standalone, flt, k, self._windows(standalone, flt, as_of))
        nodes = retrieval.nodes
        timings["retrieval_s"] = time.perf_counter() - t
        t = time.perf_counter()
        q = Question.parse(standalone)
        followup = standalone != question
        focus = Question.parse(question) if followup else None
        ev = self.selector.select(q, self._encode_one(standalone), nodes, self.retriever.articles.get, k=rs.evidence_k,
                                  focus=focus, focus_vec=self._encode_one(question) if followup else None)
        timings["evidence_s"] = time.perf_counter() - t
        base = evidence_features(focus or q, ev, retrieval, k)

        logliks: dict[str, float] | None = None
        replies: dict[str, float] | None = None
        ranked: list[Candidate] | None = None  # the extractor's candidates for the draft, when already computed

        def done(text: str, action: str, cites: list[Any], mode: str, features: PolicyFeatures, note: str = "",
                 cands: Candidates | None = None, decision: Decision | None = None, draft: str = "",
                 verification: Verification | None = None) -> AnswerEvent:
            timings["total_s"] = time.perf_counter() - t0
            timings.setdefault("first_token_s", timings["total_s"])
            abstained = action == "refuse"
            ans = Answer(question=question, text=text, abstained=abstained, citations=[] if abstained else cites,
                         related=[compose.passage(e) for e in ev.items] if abstained else [],
                         timings={key: round(v, 4) for key, v in timings.items()}, standalone_question=standalone,
                         mode=mode, note=note, retrieved=[self._passage(n) for n in nodes],  # type: ignore[arg-type]
                         features={**features.to_dict(), "threshold": policy.threshold,
                                   **({"p_answer": decision.p_answer, "p_extract": decision.p_extract} if decision else {})})
            if explain is not None:
                explain.append(Explanation(ans, cands, decision, focus or q, ev, base, draft, verification, logliks,
                                           replies))
            return AnswerEvent(ans)

        if not ev.items:
            yield done(compose.abstention_text(ev), "refuse", [], "abstained", base)
            return
        if explain is None and not self.extractor.lm_weight:
            # the extract candidate needs no LLM: with it, could any draft reach the threshold? (Not with the
            # likelihood re-ranking: there the extracted phrase itself is chosen after the draft.)
            pre = build_candidates(focus or q, ev, base, "", Verification(), self.extractor).features
            if not policy.could_answer(pre):
                yield done(compose.abstention_text(ev), "refuse", [], "abstained", pre)
                return

        draft, llm_note = "", ""
        try:
            llm = self.llm
        except LLMUnavailableError as e:
            llm, llm_note = None, f"LLM unavailable ({e}); extractive answer"
        if llm is not None:
            yield StatusEvent("generating")
            t = time.perf_counter()
            gen = Generator(llm, self.profile, self.settings.llm.context_window, self.settings.llm.max_tokens)
            try:
                with llama_lock(self.settings.llm):
                    for delta in gen.stream(standalone, ev.items):
                        if not draft:
                            timings["first_token_s"] = time.perf_counter() - t0
                        draft += delta
                        yield TokenEvent(delta)
                    t_score = time.perf_counter()
                    logliks, replies, ranked = self._score_phrases(llm, gen, policy, standalone, focus or q, ev,
                                                                   draft)
                    if logliks is not None:
                        timings["phrase_scoring_s"] = time.perf_counter() - t_score
            except LLMUnavailableError as e:
                log.warning("generation failed, answering extractively: %s", e)
                draft, llm_note = "", f"LLM unavailable ({e}); extractive answer"
            timings["generation_s"] = time.perf_counter() - t
        yield StatusEvent("verifying")
        verification = self.verifier.verify(draft, ev.items, standalone)
        cands = build_candidates(focus or q, ev, base, draft, verification, self.extractor, logliks,
                                 None if llm_note else ranked, replies)  # a failed draft was reset: rank again
        decision = policy.decide(cands.features, cands.answer is not None and not llm_note, cands.extract is not None)
        chosen = cands.answer if decision.action == "answer" else cands.extract
        if decision.action == "refuse" or chosen is None:
            yield done(compose.abstention_text(ev), "refuse", [], "abstained", cands.features, llm_note, cands, decision,
                       draft, verification)
            return
        yield done(chosen.text, decision.action, chosen.citations, chosen.mode, cands.features, llm_note, cands, decision,
                   draft, verification)

    def _score_phrases(self, llm: Any, gen: Generator, policy: AnswerPolicy, standalone: str, q: Question, ev: Any,
                       draft: str) -> tuple[dict[str, float] | None, dict[str, float] | None, list[Candidate] | None]:
        """The LLM's likelihood of replies to the draft prompt (`rag/likelihood.py`): the extractor's top
        candidate phrases, for the re-ranking (returned with the candidates it ranked, handed on to
        `build_candidates` so they are not computed twice), and apart the draft's own short phrase and NOT
        FOUND, for the policy's `*_lm_p` features.

        Scored when the fitted section uses either, or with `llm.phrase_scoring = "always"`; (None, None, None)
        when not scoring, likelihoods None for a server backend. Runs under `llama_lock`, right after the draft,
        while the prompt is in the cache."""
        mode = self.settings.llm.phrase_scoring
        policy_wants = policy.uses_likelihood
        if mode == "off" or (mode == "auto" and not (self.extractor.lm_weight or policy_wants)) \
                or q.qtype not in PHRASE_TYPES:
            return None, None, None
        k = self.extractor.lm_k if mode == "auto" else self.settings.llm.phrase_scoring_k
        ranked = phrase_candidates(self.extractor, q, ev, draft)
        phrases = list(dict.fromkeys(c.text for c in ranked[:k]))
        replies: list[str] = []
        if mode == "always" or policy_wants:  # only a policy that weighs them pays for these
            own, _, not_found = parse_short_answer(draft)
            replies = list(dict.fromkeys([NOT_FOUND, *([own] if own and not not_found else [])]))
        if not phrases and not replies:
            return None, None, ranked
        try:
            scores = score_phrases(llm, gen.messages(standalone, ev.items),
                                   phrases + [r for r in replies if r not in phrases])
        except (RuntimeError, ValueError) as e:  # a llama.cpp decode failure: rank by the features alone
            log.warning("phrase scoring failed, ranking by the extractor's features: %s", e)
            return None, None, ranked
        if scores is None:
            return None, None, ranked
        return {p: scores[p] for p in phrases} or None, {p: scores[p] for p in replies} or None, ranked

    def _windows(self, question: str, flt: Filters, as_of: date | None) -> list[Filters]:
        """Date windows whose articles rank higher: a relative date in the question ("this week",
        "on Wednesday") resolved against `as_of`, and the `recency_days` before `as_of`."""
        if flt.since or flt.until:
            return []
        ref = as_of or reference_date(self.store.latest_published())
        out = []
        window = resolve_relative_dates(question, ref)
        if window:
            out.append(Filters(flt.source, window[0], window[1]))
        days = self.settings.retrieval.recency_days
        if as_of is not None and days:
            out.append(Filters(flt.source, as_of - timedelta(days=days), as_of + timedelta(days=1)))
        return out

    def close(self) -> None:
        self.store.close()
