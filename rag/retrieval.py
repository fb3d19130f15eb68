"""Hybrid retrieval: dense (Chroma) + BM25 (bm25s), fused with reciprocal ranks.

Both sides are llama-index `BaseRetriever`s returning `TextNode`s whose `start_char_idx` /
`end_char_idx` are offsets into the stored article text, and they are fused by llama-index's
`QueryFusionRetriever` in reciprocal-rank mode, so a llama-index user can reuse either side.
An optional cross-encoder (``retrieval.reranker``) reorders the fused list.

Example:
    >>> hybrid = HybridRetriever(store, vectors, bm25, embedder, settings)
    >>> for nws in hybrid.retrieve("How many drones?", Filters()):
    ...     print(nws.node.metadata["article_id"], nws.node.start_char_idx, nws.score)
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from citewire.settings import Settings
from ingest.bm25 import BM25Index
from ingest.store import ArticleStore
from ingest.types import Article
from ingest.vectors import ChunkVectors

from .filters import Filters

log = logging.getLogger(__name__)


class ArticleCache:
    """Articles by id, cached until the store's generation changes.

    `get` returns the article with its sentence spans (what evidence selection needs); `text` returns
    it without them, which is all a retrieval candidate needs: of the ~50 candidates of a question
    only the top few reach evidence selection, and loading every candidate's sentences cost more
    than the vector search itself on a 64k-chunk store.
    """

    def __init__(self, store: ArticleStore, size: int = 512) -> None:
        self.store = store
        self._gen = -1
        self._pending: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._get = functools.lru_cache(maxsize=size)(self._load)
        self._text = functools.lru_cache(maxsize=size * 4)(self._load_text)

    def _load(self, article_id: str) -> Article | None:
        return self.store.get(article_id)

    def _load_text(self, article_id: str) -> Article | None:
        return self.store.get(article_id, with_sentences=False)

    def refresh(self) -> None:
        """Drop cached articles if the store changed since the last call, and note the articles a
        writer has in flight (pending): they count as absent until committed (one read)."""
        with self._lock:
            gen, self._pending = self.store.state()
            if gen != self._gen:
                self._get.cache_clear()
                self._text.cache_clear()
                self._gen = gen

    def get(self, article_id: str) -> Article | None:
        return None if article_id in self._pending else self._get(article_id)

    def text(self, article_id: str) -> Article | None:
        """The article without its sentence spans (cheaper; enough to build a chunk's node)."""
        return None if article_id in self._pending else self._text(article_id)


def make_node(art: Article, chunk_id: str, start: int, end: int) -> TextNode:
    """The TextNode for a chunk: identical from either retriever, so fusion can merge them."""
    return TextNode(
        id_=chunk_id, text=art.text[start:end], start_char_idx=start, end_char_idx=end,
        metadata={"article_id": art.id, "title": art.title, "source": art.source, "url": art.url,
                  "published": art.published},
        excluded_embed_metadata_keys=["article_id", "url", "published"],
        excluded_llm_metadata_keys=["article_id", "url"],
    )


class DenseChunkRetriever(BaseRetriever):
    """Nearest chunks by embedding in Chroma (cosine), honouring `Filters`."""

    def __init__(self, vectors: ChunkVectors, articles: ArticleCache, encode: Callable[[str], Any],
                 filters: Filters, k: int) -> None:
        super().__init__()
        self.vectors, self.articles, self.encode, self.filters, self.k = vectors, articles, encode, filters, k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        out = []
        for cid, sim, meta in self.vectors.query(self.encode(query_bundle.query_str), self.k, self.filters.chroma_where()):
            art = self.articles.text(meta["article_id"])
            if art is None:  # vector without a committed article (mid-ingest): not citable
                continue
            out.append(NodeWithScore(node=make_node(art, cid, int(meta["start"]), int(meta["end"])), score=sim))
        return out


class BM25ChunkRetriever(BaseRetriever):
    """Best chunks by BM25 (bm25s), honouring `Filters` through a weight mask."""

    def __init__(self, bm25: BM25Index, store: ArticleStore, articles: ArticleCache, filters: Filters, k: int) -> None:
        super().__init__()
        self.bm25, self.store, self.articles, self.filters, self.k = bm25, store, articles, filters, k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        f = self.filters
        hits = self.bm25.search(query_bundle.query_str, self.k, self.bm25.mask(f.sources, f.since_ts, f.until_ts))
        rows = self.store.chunk_rows([cid for cid, _ in hits])
        out = []
        for cid, score in hits:
            if cid not in rows:
                continue
            aid, s, e = rows[cid]
            art = self.articles.text(aid)
            if art is not None:
                out.append(NodeWithScore(node=make_node(art, cid, s, e), score=score))
        return out


class _Fixed(BaseRetriever):
    """A retriever that returns results computed beforehand (to fuse lists we also inspect)."""

    def __init__(self, nodes: list[NodeWithScore]) -> None:
        super().__init__()
        self.nodes = nodes

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return list(self.nodes)


@dataclass
class Retrieval:
    """The fused chunks of one question, and what each retriever found on its own (global lists),
    so the answer policy can tell whether dense and BM25 agree."""

    nodes: list[NodeWithScore]
    dense_ids: list[str] = field(default_factory=list)
    bm25_ids: list[str] = field(default_factory=list)

    def agreement(self, k: int) -> float:
        """Share of the top-`k` fused chunks that both retrievers found in their top `k`."""
        if not self.nodes:
            return 0.0
        both = set(self.dense_ids[:k]) & set(self.bm25_ids[:k])
        top = [n.node.node_id for n in self.nodes[:k]]
        return sum(1 for cid in top if cid in both) / len(top)

    def found_by_both(self, chunk_id: str, k: int) -> bool:
        return chunk_id in self.dense_ids[:k] and chunk_id in self.bm25_ids[:k]


class HybridRetriever:
    """Dense + BM25 with reciprocal-rank fusion. Thread-safe; build once per process.

    `windows` (date ranges near the question's date) add dense and BM25 lists restricted to them to
    the fusion: articles published near the date rank higher without the others being excluded.
    """

    def __init__(self, store: ArticleStore, vectors: ChunkVectors, bm25: Callable[[], BM25Index],
                 encode: Callable[[str], Any], settings: Settings) -> None:
        self.store, self.vectors, self.bm25, self.encode, self.settings = store, vectors, bm25, encode, settings
        self.articles = ArticleCache(store)
        self._reranker = None
        if settings.retrieval.reranker:
            from llama_index.core.postprocessor import SentenceTransformerRerank

            self._reranker = SentenceTransformerRerank(model=settings.retrieval.reranker, top_n=settings.retrieval.top_k)

    def retrievers(self, filters: Filters, k: int, encode: Callable[[str], Any] | None = None) -> list[BaseRetriever]:
        return [DenseChunkRetriever(self.vectors, self.articles, encode or self.encode, filters, k),
                BM25ChunkRetriever(self.bm25(), self.store, self.articles, filters, k)]

    def retrieve(self, question: str, filters: Filters | None = None, top_k: int | None = None) -> list[NodeWithScore]:
        return self.retrieve_detailed(question, filters, top_k).nodes

    def retrieve_detailed(self, question: str, filters: Filters | None = None, top_k: int | None = None,
                          windows: list[Filters] | None = None) -> Retrieval:
        filters = filters or Filters()
        top_k = top_k or self.settings.retrieval.top_k
        k = max(self.settings.retrieval.candidates, top_k)
        self.articles.refresh()
        bundle = QueryBundle(question)
        vec = self.encode(question)  # once, for every dense list

        def encode(_: str) -> Any:
            return vec

        lists = [r.retrieve(bundle) for r in self.retrievers(filters, k, encode)]
        for w in windows or []:
            lists += [r.retrieve(bundle) for r in self.retrievers(w, k, encode)]
        fusion = QueryFusionRetriever(
            [_Fixed(x) for x in lists], llm=MockLLM(), mode=FUSION_MODES.RECIPROCAL_RANK,
            similarity_top_k=top_k, num_queries=1, use_async=False,
        )
        nodes = fusion.retrieve(bundle)
        if self._reranker is not None and nodes:
            nodes = self._reranker.postprocess_nodes(nodes, query_bundle=bundle)
        return Retrieval(nodes[:top_k], [n.node.node_id for n in lists[0]], [n.node.node_id for n in lists[1]])
