"""Evidence at sentence level: score the retrieved chunks' sentences against the question.

Scores combine semantic similarity (the embedder), weighted lexical coverage of the question's
content words (names and numbers count double) and answer-type cues (a number for "how many", a
name for "who", a date for "when"). The best sentences become numbered evidence [1]..[k]; a
sentence opening with a pronoun takes its previous sentence along so it stands on its own.

Example:
    >>> sel = EvidenceSelector(encode_many)
    >>> ev = sel.select("How many drones?", nodes, articles, k=4)
    >>> ev.items[0].quote, ev.best_score
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.schema import NodeWithScore

from ingest.types import Article, Span

from . import textutil as tu

_PRONOUN_START = re.compile(r"^[“\"']?(He|She|They|It|This|That|These|Those|His|Her|Their|Its)\b")


@dataclass(frozen=True)
class Evidence:
    """One numbered evidence item: a span of one article (one or two sentences)."""

    n: int
    article: Article
    start: int
    end: int
    score: float
    semantic: float
    lexical: float

    @property
    def quote(self) -> str:
        return self.article.text[self.start:self.end]


@dataclass
class EvidenceSet:
    items: list[Evidence] = field(default_factory=list)
    best_score: float = 0.0
    missing_terms: list[str] = field(default_factory=list)  # question names absent from every candidate
    candidates: int = 0
    coverage: float = 0.0  # best share of the question's words matched by one evidence item

    def by_n(self, n: int) -> Evidence | None:
        return next((e for e in self.items if e.n == n), None)


class _EmbeddingCache:
    def __init__(self, size: int = 20000) -> None:
        self._d: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_many(self, keys: list[tuple[str, int, int]]) -> dict[tuple[str, int, int], np.ndarray]:
        with self._lock:
            return {k: self._d[k] for k in keys if k in self._d}

    def put_many(self, items: dict[tuple[str, int, int], np.ndarray]) -> None:
        with self._lock:
            self._d.update(items)
            while len(self._d) > self._size:
                self._d.popitem(last=False)


class EvidenceSelector:
    """Turns retrieved chunks into scored, numbered sentence evidence."""

    def __init__(self, encode_many: Callable[[list[str]], np.ndarray], sentences: Callable[[Article], list[Span]]) -> None:
        self.encode_many = encode_many
        self.sentences = sentences
        self._cache = _EmbeddingCache()

    def _embed(self, keys: list[tuple[str, int, int]], texts: list[str]) -> np.ndarray:
        have = self._cache.get_many(keys)
        todo = [i for i, k in enumerate(keys) if k not in have]
        if todo:
            vecs = self.encode_many([texts[i] for i in todo])
            new = {keys[i]: vecs[j] for j, i in enumerate(todo)}
            self._cache.put_many(new)
            have.update(new)
        return np.stack([have[k] for k in keys]) if keys else np.zeros((0, 1))

    def select(self, question: str, q_vec: np.ndarray, nodes: list[NodeWithScore], articles: Callable[[str], Article | None],
               k: int = 4, focus: str | None = None, focus_vec: np.ndarray | None = None) -> EvidenceSet:
        """Score the sentences of `nodes` against `question`.

        For a condensed follow-up, `focus` is the user's own words: they weigh more than the
        subject carried over from earlier turns (which mainly serves retrieval)."""
        # 1. candidate sentences: those overlapping the retrieved chunks, in rank order
        cands: list[tuple[Article, int, Span, int]] = []  # (article, sentence idx, span, chunk rank)
        seen: set[tuple[str, int]] = set()
        for rank, nws in enumerate(nodes):
            art = articles(nws.node.metadata["article_id"])
            if art is None:
                continue
            cs, ce = nws.node.start_char_idx or 0, nws.node.end_char_idx or 0
            for i, sp in enumerate(art.sentences):
                if sp.end > cs and sp.start < ce and (art.id, i) not in seen:
                    seen.add((art.id, i))
                    cands.append((art, i, sp, rank))
        if not cands:
            return EvidenceSet()
        texts = [a.text[sp.start:sp.end] for a, _, sp, _ in cands]
        vecs = self._embed([(a.id, sp.start, sp.end) for a, _, sp, _ in cands], texts)
        sem = vecs @ q_vec
        if focus_vec is not None:
            sem = 0.5 * sem + 0.5 * (vecs @ focus_vec)

        # 2. lexical coverage, with names and numbers weighted double
        qtype = tu.question_type(focus or question)
        q_names = tu.names(question[1:]) | {w for w in tu.names(question) if question.lower().find(w) > 0}
        q_nums = tu.numbers(question)
        weights: dict[str, float] = {}
        own = set(tu.content_words(focus)) if focus else None
        for w in tu.content_words(question):
            weights[w] = 2.0 if (w in q_nums or any(w == tu.stem(n) for n in q_names)) else 1.0
            if own is not None and w not in own:
                weights[w] *= 0.25
        total_w = sum(weights.values()) or 1.0
        all_words = set()
        scored: list[tuple[float, float, float, int]] = []
        for j, text in enumerate(texts):
            words = set(tu.content_words(text))
            all_words |= words
            lex = sum(wt for w, wt in weights.items() if w in words) / total_w
            cue = self._cue(qtype, text, q_nums, q_names)
            score = 0.6 * float(sem[j]) + 0.4 * lex + cue + 0.03 / (1 + cands[j][3])
            scored.append((score, float(sem[j]), lex, j))
        missing = [n for n in sorted(q_names) if not any(w.startswith(tu.stem(n)[:5]) for w in all_words)]

        # 3. the top-k distinct sentences become evidence, best first
        scored.sort(key=lambda t: -t[0])
        best = scored[0][0]
        items: list[Evidence] = []
        used: set[tuple[str, int]] = set()
        for score, s, lex, j in scored:
            if len(items) >= k or score < best - 0.2:
                break
            art, i, sp, _ = cands[j]
            if (art.id, i) in used:
                continue
            start = sp.start
            if i > 0 and _PRONOUN_START.match(texts[j]) and (art.id, i - 1) not in used:
                start = art.sentences[i - 1].start
                used.add((art.id, i - 1))
            used.add((art.id, i))
            items.append(Evidence(n=len(items) + 1, article=art, start=start, end=sp.end, score=score, semantic=s, lexical=lex))
        coverage = max((self.coverage(focus or question, self._window(e)) for e in items[:2]), default=0.0)
        return EvidenceSet(items=items, best_score=best, missing_terms=missing, candidates=len(cands), coverage=coverage)

    @staticmethod
    def _window(e: Evidence, width: int = 1) -> str:
        """The evidence span widened by `width` sentences on each side (for answerability)."""
        sents = e.article.sentences
        first = next((i for i, sp in enumerate(sents) if sp.end > e.start), 0)
        last = max((i for i, sp in enumerate(sents) if sp.start < e.end), default=first)
        lo, hi = sents[max(0, first - width)], sents[min(len(sents) - 1, last + width)]
        return e.article.text[lo.start:hi.end]

    def _word_vecs(self, words: list[str]) -> np.ndarray:
        keys = [("#w", hash(w), 0) for w in words]
        return self._embed(keys, words)  # type: ignore[arg-type]

    def coverage(self, question: str, passage: str, soft: float = 0.5) -> float:
        """Weighted share of the question's content words that `passage` matches, exactly (same
        stem) or closely (word embeddings >= `soft`: struck~strike, fell~fall). Framing words
        ("how long", "what kind") don't count; names count double.

        When to use: answerability. A passage that leaves a content word of the question
        unmatched (died, retaliation, population) rarely answers it, however similar it is."""
        q_words = [w for w in tu.WORD.findall(question) if w.lower() not in tu.STOP and w.lower() not in tu.FRAMING]
        if not q_words:
            return 1.0
        p_words = [w for w in tu.WORD.findall(passage) if w.lower() not in tu.STOP]
        p_stems = set(tu.content_words(passage))
        total = got = 0.0
        unmatched: list[tuple[str, float]] = []
        for i, w in enumerate(q_words):
            wt = 2.0 if (w[0].isupper() and i > 0) or w[0].isdigit() else 1.0
            total += wt
            stems = tu.content_words(w)
            if stems and stems[0] in p_stems:
                got += wt
            else:
                unmatched.append((w.lower(), wt))
        if unmatched and p_words:
            uw = [w for w, _ in unmatched]
            sims = self._word_vecs(uw) @ self._word_vecs([w.lower() for w in p_words]).T
            got += sum(wt for (_, wt), row in zip(unmatched, sims) if float(row.max()) >= soft)
        return got / total

    @staticmethod
    def _cue(qtype: tu.QType, text: str, q_nums: set[str], q_names: set[str]) -> float:
        if qtype == "number":
            return 0.08 if tu.numbers(text) - q_nums else -0.08
        if qtype == "person":
            return 0.05 if tu.names(text[1:]) - q_names else -0.05
        if qtype == "date":
            return 0.05 if tu.has_date(text) else -0.05
        if qtype == "place":
            return 0.03 if tu.names(text[1:]) - q_names else -0.03
        return 0.0
