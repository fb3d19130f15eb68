"""Evidence at sentence level: score the retrieved chunks' sentences against the question.

Only *statements* can be evidence: a sentence that is itself a question, or a heading (a line of
its own without closing punctuation: "Watch Joe Biden's farewell address"), is never cited; the
sentences after such a heading inherit its words as context, because they are what it introduces
("Why did the FDA ban Red No. 3?" -> the sentences that say why).

A sentence's score combines semantic similarity (the embedder), lexical coverage of the question's
*asked* terms (names and numbers count double; framing words count little), and an answer-type cue
(a number for "how many", a name for "who", a date for "when") that is not already in the question.
The best sentences become numbered evidence [1]..[k]; an item grows into its neighbours (at most
`max_span` adjacent sentences of one paragraph) when they continue it (a pronoun opening) or score
nearly as well, so one item can hold a 2-3 sentence answer.

Example:
    >>> sel = EvidenceSelector(embedder)
    >>> ev = sel.select(Question.parse("How many drones?"), q_vec, nodes, articles.get, k=4)
    >>> ev.items[0].quote, ev.best_score
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.schema import NodeWithScore, TextNode

from ingest.types import Article, Span

from . import textutil as tu
from .question import Question

_PRONOUN_START = re.compile(r"^[“\"']?(He|She|They|It|This|That|These|Those|His|Her|Their|Its|But|And|However|Also)\b")
_CLOSING = re.compile(r"[.!?…:;”\"'’)\]]$")
_CAUSAL = re.compile(r"\b(?:because|due to|as a result|citing|cited|reasons?|since|led to|caused|so that|in order to)\b",
                     re.I)
_QUOTING = re.compile(r"[“”\"]|\b(?:said|says|told|wrote|added|stated|according to)\b", re.I)
EncodeMany = Callable[[list[str]], np.ndarray]
SENTENCE_FEATURES: tuple[str, ...] = (
    "semantic", "lexical", "asked_in_sentence", "framing", "title", "type_cue", "chunk_rank", "position", "after_heading",
    "length",
)
# Hand-set starting point (0.6 semantic + 0.4 lexical + cue, as a logit); `evals/calibrate.py` refits them.
DEFAULT_SENTENCE_WEIGHTS: dict[str, float] = {"semantic": 2.4, "lexical": 1.6, "type_cue": 4.0, "chunk_rank": 0.12}
DEFAULT_SENTENCE_BIAS = -1.5


@dataclass(frozen=True)
class Evidence:
    """One numbered evidence item: a span of 1..3 adjacent sentences of one article."""

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
    """The numbered evidence of one question, with what the answer policy needs to judge it."""

    items: list[Evidence] = field(default_factory=list)
    # the items followed by the next best statements (numbered on): where answer phrases are looked for
    pool: list[Evidence] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)  # texts of the retrieved chunks (answer redundancy)
    best_score: float = 0.0
    best_semantic: float = 0.0
    best_lexical: float = 0.0
    candidates: int = 0
    coverage: float = 0.0  # share of the asked terms matched by the best item (+-1 sentence)
    asked_names_missing: list[str] = field(default_factory=list)  # asked names in no candidate sentence
    framing_names_missing: list[str] = field(default_factory=list)  # framing names in no candidate article
    n_support: int = 0  # statements scoring within 0.05 of the best
    type_cue: bool = False  # the best item holds what the question type asks for

    def by_n(self, n: int) -> Evidence | None:
        return next((e for e in self.pool or self.items if e.n == n), None)


class _EmbeddingCache:
    """A bounded LRU of sentence vectors keyed by (article id, start, end)."""

    def __init__(self, size: int = 50000) -> None:
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


def is_statement(article: Article, i: int) -> bool:
    """Can sentence `i` be evidence? Not a question, not a heading (a whole line without closing
    punctuation), not a fragment of fewer than four words."""
    sp = article.sentences[i]
    text = article.text[sp.start:sp.end].strip()
    if text.endswith("?") or len(tu.WORD.findall(text)) < 4:
        return False
    whole_line = (sp.start == 0 or article.text[sp.start - 1] == "\n") and (
        sp.end == len(article.text) or article.text[sp.end:sp.end + 1] == "\n")
    return not (whole_line and not _CLOSING.search(text))


@dataclass
class _Cand:
    article: Article
    i: int  # sentence index
    rank: int  # rank of the chunk it came from
    context: str  # the heading/question that introduces it ("" when none)


class EvidenceSelector:
    """Turns retrieved chunks into scored, numbered sentence evidence.

    When to use: between retrieval and generation; its `EvidenceSet` is both the LLM's context and
    the answer policy's main input.
    """

    def __init__(self, encode_many: EncodeMany, weights: dict[str, float] | None = None, bias: float | None = None,
                 max_span: int = 3, pool_size: int = 12) -> None:
        self.encode_many = encode_many
        w = weights or DEFAULT_SENTENCE_WEIGHTS
        self.weights = np.array([float(w.get(f, 0.0)) for f in SENTENCE_FEATURES])
        self.bias = DEFAULT_SENTENCE_BIAS if bias is None else float(bias)
        self.max_span = max_span
        self.pool_size = pool_size
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

    @staticmethod
    def _candidates(nodes: list[NodeWithScore], articles: Callable[[str], Article | None]) -> list[_Cand]:
        """Statements overlapping the retrieved chunks (in rank order), plus the two statements after
        a heading or question that a chunk ends on."""
        out: list[_Cand] = []
        seen: set[tuple[str, int]] = set()
        for rank, nws in enumerate(nodes):
            art = articles(nws.node.metadata["article_id"])
            if art is None:
                continue
            node: TextNode = nws.node  # type: ignore[assignment]  # chunks are TextNodes (ingest writes them)
            cs, ce = node.start_char_idx or 0, node.end_char_idx or 0
            idx = [i for i, sp in enumerate(art.sentences) if sp.end > cs and sp.start < ce]
            if idx:
                idx += [j for j in (idx[-1] + 1, idx[-1] + 2) if j < len(art.sentences)]
            context = ""
            for i in idx:
                if not is_statement(art, i):
                    sp = art.sentences[i]
                    context = art.text[sp.start:sp.end]
                    continue
                if (art.id, i) not in seen:
                    seen.add((art.id, i))
                    out.append(_Cand(art, i, rank, context))
                    context = ""
        return out

    def featurize(self, q: Question, q_vec: np.ndarray, nodes: list[NodeWithScore],
                  articles: Callable[[str], Article | None], focus: Question | None = None,
                  focus_vec: np.ndarray | None = None) -> tuple[list[_Cand], np.ndarray]:
        """The candidate statements of `nodes` and their `SENTENCE_FEATURES` (one row each).

        When to use: `select` scores these rows; calibration fits the weights on them."""
        cands = self._candidates(nodes, articles)
        if not cands:
            return [], np.zeros((0, len(SENTENCE_FEATURES)))
        texts = [c.article.text[c.article.sentences[c.i].start:c.article.sentences[c.i].end] for c in cands]
        vecs = self._embed([(c.article.id, c.article.sentences[c.i].start, c.article.sentences[c.i].end) for c in cands], texts)
        sem = vecs @ q_vec
        if focus_vec is not None:
            sem = 0.5 * sem + 0.5 * (vecs @ focus_vec)
        asking = focus or q
        weights = self._term_weights(asking)
        total_w = sum(weights.values()) or 1.0
        asked = set(asking.asked_terms)
        framing = set(asking.framing_terms)
        rows = []
        for j, (c, text) in enumerate(zip(cands, texts)):
            own = set(tu.content_words(text))
            words = own | set(tu.content_words(c.context))
            title = set(tu.content_words(c.article.title))
            rows.append([
                float(sem[j]),
                sum(wt for w, wt in weights.items() if w in words) / total_w,
                len(asked & own) / len(asked) if asked else 0.0,
                len(framing & (own | title)) / len(framing) if framing else 0.0,
                len((asked | framing) & title) / max(len(asked | framing), 1),
                cue_score(asking, text),
                1.0 / (1 + c.rank),
                1.0 / (1 + c.i),
                float(bool(c.context)),
                min(len(text.split()), 60) / 60,
            ])
        return cands, np.array(rows)

    def select(self, q: Question, q_vec: np.ndarray, nodes: list[NodeWithScore], articles: Callable[[str], Article | None],
               k: int = 4, focus: Question | None = None, focus_vec: np.ndarray | None = None) -> EvidenceSet:
        """Score the statements of `nodes` against `q`; the best `k` become numbered evidence.

        For a condensed follow-up, `focus` is the user's own words: they weigh more than the
        subject carried over from earlier turns (which mainly serves retrieval)."""
        cands, feats = self.featurize(q, q_vec, nodes, articles, focus, focus_vec)
        if not cands:
            return EvidenceSet()
        asking = focus or q
        texts = [c.article.text[c.article.sentences[c.i].start:c.article.sentences[c.i].end] for c in cands]
        z = self.bias + feats @ self.weights
        probs = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        sem_col, lex_col = SENTENCE_FEATURES.index("semantic"), SENTENCE_FEATURES.index("lexical")
        scored = [(float(probs[j]), float(feats[j, sem_col]), float(feats[j, lex_col]), j) for j in range(len(cands))]
        scored.sort(key=lambda t: -t[0])
        best = scored[0]
        items = self._items(cands, scored, k)
        pool = items + self._items(cands, scored, self.pool_size, start=len(items), used=self._used(items),
                                   grow=False)
        by_key = {(c.article.id, c.i): s for s, _, _, j in scored for c in [cands[j]]}
        art_words: dict[str, set[str]] = {}
        for c in cands:
            if c.article.id not in art_words:
                art_words[c.article.id] = {w for w in tu.names(c.article.title + " " + c.article.text)}
        sent_names = set().union(*(tu.names(t) for t in texts))
        return EvidenceSet(
            items=items, pool=pool, contexts=[n.node.get_content() for n in nodes],
            best_score=best[0], best_semantic=best[1], best_lexical=best[2], candidates=len(cands),
            coverage=max((self.coverage(asking, self._window(e)) for e in items[:2]), default=0.0),
            asked_names_missing=sorted(n for n in asking.asked_names if not _name_in(n, sent_names)),
            framing_names_missing=sorted(n for n in asking.framing_names
                                         if not any(_name_in(n, ws) for ws in art_words.values())),
            n_support=sum(1 for s in by_key.values() if s >= best[0] - 0.05),
            type_cue=bool(items) and cue_score(asking, items[0].quote) > 0,
        )

    @staticmethod
    def _used(items: list[Evidence]) -> set[tuple[str, int]]:
        return {(e.article.id, i) for e in items for i, sp in enumerate(e.article.sentences)
                if sp.start >= e.start and sp.end <= e.end}

    def _items(self, cands: list[_Cand], scored: list[tuple[float, float, float, int]], k: int, start: int = 0,
               used: set[tuple[str, int]] | None = None, grow: bool = True) -> list[Evidence]:
        """The top-k distinct statements (numbered from `start` + 1), each grown into neighbours that
        continue it (when `grow`)."""
        score_of = {(cands[j].article.id, cands[j].i): (s, sm, lx) for s, sm, lx, j in scored}
        best = scored[0][0]
        items: list[Evidence] = []
        used = set() if used is None else used
        for score, s, lex, j in scored:
            if len(items) >= k:
                break
            if grow and score < best - 0.25:
                break
            c = cands[j]
            art, i = c.article, c.i
            if (art.id, i) in used:
                continue
            first = last = i
            text_i = art.text[art.sentences[i].start:art.sentences[i].end]
            if grow and i > 0 and _PRONOUN_START.match(text_i) and (art.id, i - 1) not in used and is_statement(art, i - 1) \
                    and _same_paragraph(art, i - 1, i):
                first = i - 1
            while grow and last - first + 1 < self.max_span and last + 1 < len(art.sentences) and (art.id, last + 1) not in used:
                nxt = last + 1
                ns = score_of.get((art.id, nxt))
                nxt_text = art.text[art.sentences[nxt].start:art.sentences[nxt].end]
                continues = ns is not None and ns[0] >= score - 0.05
                if not (_same_paragraph(art, last, nxt) and is_statement(art, nxt)
                        and (continues or _PRONOUN_START.match(nxt_text))):
                    break
                last = nxt
            for t in range(first, last + 1):
                used.add((art.id, t))
            items.append(Evidence(n=start + len(items) + 1, article=art, start=art.sentences[first].start,
                                  end=art.sentences[last].end, score=score, semantic=s, lexical=lex))
        return items

    @staticmethod
    def _term_weights(q: Question) -> dict[str, float]:
        """Asked terms weigh 1 (names and numbers 2); framing terms 0.25."""
        name_stems = {tu.stem(n) for n in q.names}
        weights: dict[str, float] = {}
        for w in q.asked_terms:
            weights[w] = 2.0 if (w in q.numbers or w in name_stems) else 1.0
        for w in q.framing_terms:
            weights.setdefault(w, 0.25)
        return weights

    @staticmethod
    def _window(e: Evidence, width: int = 1) -> str:
        """The evidence span widened by `width` sentences on each side (for answerability)."""
        sents = e.article.sentences
        first = next((i for i, sp in enumerate(sents) if sp.end > e.start), 0)
        last = max((i for i, sp in enumerate(sents) if sp.start < e.end), default=first)
        lo, hi = sents[max(0, first - width)], sents[min(len(sents) - 1, last + width)]
        return e.article.text[lo.start:hi.end]

    def _word_vecs(self, words: list[str]) -> np.ndarray:
        return self._embed([("#w", hash(w), 0) for w in words], words)

    def coverage(self, q: Question, passage: str, soft: float = 0.5) -> float:
        """Weighted share of the question's asked terms that `passage` matches, exactly (same stem)
        or closely (word embeddings >= `soft`: struck~strike, fell~fall); names count double.

        When to use: answerability. A passage that leaves a content word of what is asked unmatched
        (died, retaliation, population) rarely answers it, however similar it is."""
        terms = list(q.asked_terms) or list(q.framing_terms)
        if not terms:
            return 1.0
        p_stems = set(tu.content_words(passage))
        name_stems = {tu.stem(n) for n in q.names}
        total = got = 0.0
        unmatched: list[tuple[str, float]] = []
        for w in terms:
            wt = 2.0 if (w in name_stems or w in q.numbers) else 1.0
            total += wt
            if w in p_stems:
                got += wt
            else:
                unmatched.append((w, wt))
        p_words = [w.lower() for w in tu.WORD.findall(passage) if w.lower() not in tu.STOP]
        if unmatched and p_words:
            sims = self._word_vecs([w for w, _ in unmatched]) @ self._word_vecs(p_words).T
            got += sum(wt for (_, wt), row in zip(unmatched, sims) if float(row.max()) >= soft)
        return got / total


def _same_paragraph(art: Article, a: int, b: int) -> bool:
    return "\n" not in art.text[art.sentences[a].end:art.sentences[b].start]


def _name_in(name: str, words: set[str]) -> bool:
    return any(w.startswith(name[:5]) for w in words)


def cue_score(q: Question, text: str) -> float:
    """A small bonus when `text` holds what the question type asks for and the question lacks
    (a new number for "how many", a new name for "who"/"where"/"which", a date for "when")."""
    if q.qtype == "number":
        return 0.08 if tu.numbers(text) - q.numbers else -0.08
    if q.qtype == "person":
        return 0.05 if tu.names(text[1:]) - q.names else -0.05
    if q.qtype == "date":
        return 0.05 if tu.has_date(text) else -0.05
    if q.qtype in ("place", "entity"):
        return 0.03 if tu.names(text[1:]) - q.names else -0.03
    if q.qtype == "reason":  # "why": a sentence that gives a cause, not the topic line
        return 0.05 if _CAUSAL.search(text) else -0.03
    if q.qtype == "quote":  # "what did X say": a quotation or a reported statement
        return 0.05 if _QUOTING.search(text) else -0.03
    return 0.0


def spans_of(article: Article, start: int, end: int) -> list[Span]:
    """The sentence spans of `article` inside [start, end)."""
    return [sp for sp in article.sentences if sp.start >= start and sp.end <= end]
