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
from datetime import date
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from citewire.settings import Settings, offline_env
from ingest import ArticleInfo, FieldMap, IngestReport, Ingestor, RawArticle
from ingest.bm25 import BM25Index
from ingest.types import Article

from . import compose
from .condense import condense_llm, condense_rules, reference_date, resolve_relative_dates
from .errors import BadQuestionError, CitewireError, EmptyStoreError, LLMUnavailableError
from .evidence import EvidenceSelector, EvidenceSet
from .filters import Filters
from .generate import Generator
from .llm import build_llm
from .retrieval import HybridRetriever
from .types import Answer, AnswerEvent, Passage, StatusEvent, StreamEvent, TokenEvent
from .verify import Verifier

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 2000
History = list[tuple[str, str]]


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
        self.selector = EvidenceSelector(self._encode_many, lambda a: a.sentences)
        self.verifier = Verifier()
        self._llm: Any = None
        self._llm_lock = threading.Lock()
        # llama.cpp contexts are not thread-safe: concurrent decodes abort the process.
        self._gen_lock = threading.Lock() if settings.llm.backend == "llamacpp" else None

    @classmethod
    def open(cls, home: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> Engine:
        """Open the store at `home` (or the configured data home)."""
        if settings is None:
            settings = Settings(**({"home": home} if home else {}), **overrides)
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
            history: History | None = None, as_of: date | None = None) -> Answer:
        """Answer one question (with optional chat history for follow-ups).

        `as_of` is the date the question is asked on: "yesterday", "this week" or "Wednesday"
        resolve against it, and retrieval prefers articles published near it (default: today,
        or the newest article's date for an archive)."""
        answer = None
        for ev in self.stream(question, history=history, filters=filters, top_k=top_k, as_of=as_of):
            if isinstance(ev, AnswerEvent):
                answer = ev.answer
        assert answer is not None
        return answer

    def chat(self, history: History, question: str, filters: Filters | dict[str, Any] | None = None,
             top_k: int | None = None, as_of: date | None = None) -> Answer:
        """Answer a follow-up in the context of `history` [(question, answer), ...]."""
        return self.ask(question, filters=filters, top_k=top_k, history=history, as_of=as_of)

    def condense(self, history: History | None, question: str) -> str:
        if not history:
            return question
        mode = self.settings.llm.condense
        if mode == "llm" or (mode == "auto" and self.settings.llm.backend == "openai"):
            try:
                if self._gen_lock is not None:
                    with self._gen_lock:
                        return condense_llm(self.llm, history, question)[:MAX_QUESTION_CHARS]
                return condense_llm(self.llm, history, question)[:MAX_QUESTION_CHARS]
            except LLMUnavailableError as e:
                log.warning("LLM condensation failed (%s); using the rule-based fallback", e)
        return condense_rules([(q[:300], a) for q, a in history], question)

    def stream(self, question: str, history: History | None = None, filters: Filters | dict[str, Any] | None = None,
               top_k: int | None = None, as_of: date | None = None) -> Iterator[StreamEvent]:
        """Yield StatusEvents and TokenEvents while working, then one AnswerEvent."""
        t0 = time.perf_counter()
        question = (question or "").strip()
        if not question:
            raise BadQuestionError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise BadQuestionError(f"the question is too long ({len(question)} > {MAX_QUESTION_CHARS} characters)")
        flt = Filters.coerce(filters)
        if self.store.is_empty():
            raise EmptyStoreError(self.settings.home)
        timings: dict[str, float] = {}
        standalone = self.condense(history, question)
        timings["condense_s"] = time.perf_counter() - t0
        window = resolve_relative_dates(standalone, as_of or reference_date(self.store.latest_published()))

        yield StatusEvent("retrieving")
        t = time.perf_counter()
        nodes = []
        if window and not (flt.since or flt.until):
            nodes = self.retriever.retrieve(standalone, Filters(flt.source, window[0], window[1]), top_k)
        if not nodes:  # no relative date, or nothing dated in that window
            nodes = self.retriever.retrieve(standalone, flt, top_k)
        timings["retrieval_s"] = time.perf_counter() - t
        t = time.perf_counter()
        followup = standalone != question
        ev = self.selector.select(standalone, self._encode_one(standalone), nodes, self.retriever.articles.get,
                                  k=self.settings.retrieval.evidence_k, focus=question if followup else None,
                                  focus_vec=self._encode_one(question) if followup else None)
        timings["evidence_s"] = time.perf_counter() - t

        def done(text: str, abstained: bool, cites: list[Any], mode: str, note: str = "") -> AnswerEvent:
            timings["total_s"] = time.perf_counter() - t0
            timings.setdefault("first_token_s", timings["total_s"])
            related = [compose.passage(e) for e in ev.items] if abstained else []
            return AnswerEvent(Answer(question=question, text=text, abstained=abstained, citations=[] if abstained else cites,
                                      related=related, timings={k: round(v, 4) for k, v in timings.items()},
                                      standalone_question=standalone, mode=mode,  # type: ignore[arg-type]
                                      note=note, retrieved=[self._passage(n) for n in nodes]))

        if self._should_abstain(ev):
            yield done(compose.abstention_text(ev), True, [], "abstained")
            return

        draft = ""
        llm_note = ""
        try:
            llm = self.llm
        except LLMUnavailableError as e:
            llm, llm_note = None, f"LLM unavailable ({e}); extractive answer"
        if llm is not None:
            yield StatusEvent("generating")
            t = time.perf_counter()
            if self._gen_lock is not None:
                self._gen_lock.acquire()
            try:
                for delta in Generator(llm).stream(standalone, ev.items):
                    if not draft:
                        timings["first_token_s"] = time.perf_counter() - t0
                    draft += delta
                    yield TokenEvent(delta)
            except LLMUnavailableError as e:
                log.warning("generation failed, answering extractively: %s", e)
                draft, llm_note = "", f"LLM unavailable ({e}); extractive answer"
            finally:
                if self._gen_lock is not None:
                    self._gen_lock.release()
            timings["generation_s"] = time.perf_counter() - t
        yield StatusEvent("verifying")
        verification = self.verifier.verify(draft, ev.items, standalone)
        if verification.says_not_found and not verification.claims and ev.best_score < self._threshold + 0.08:
            yield done(compose.abstention_text(ev), True, [], "abstained")
            return
        text, cites = compose.compose_verified(verification, ev)
        # A small model's verified sentence can still miss the point: keep it only when it cites the
        # best evidence and contains what the question asks for (a number for "how many", ...).
        cites_best = any(1 in c.evidence for c in verification.claims)
        if verification.claims and cites and cites_best and compose.answers_question(question, text):
            yield done(text, False, cites, "generated")
            return
        text, cites = compose.compose_extractive(standalone, ev)
        yield done(text, False, cites, "extractive", note=llm_note)

    @property
    def _threshold(self) -> float:
        return self.settings.retrieval.abstain_threshold

    def _should_abstain(self, ev: EvidenceSet) -> bool:
        return (not ev.items or bool(ev.missing_terms) or ev.best_score < self._threshold
                or ev.coverage < self.settings.retrieval.min_coverage)

    def close(self) -> None:
        self.store.close()
