"""The BM25 index over chunks (bm25s), persisted beside the other stores.

Rebuilt from the article store (the source of truth) whenever the store's `generation` differs
from the one the index was built from, so a crash between the SQLite commit and the index save
is repaired on the next open. Filters are applied with bm25s' `weight_mask` over per-chunk
source / date arrays.

Example:
    >>> idx = BM25Index.load_or_build(store, settings.bm25_path)
    >>> idx.search("drones Kyiv", k=5)
    [('a1b2:0', 7.3), ...]
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path

import numpy as np

from .store import ArticleStore

log = logging.getLogger(__name__)
_STEMMER = None


def _stemmer():  # type: ignore[no-untyped-def]
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER


def tokenize(texts: list[str], return_ids: bool = True):  # type: ignore[no-untyped-def]
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=return_ids)


class BM25Index:
    """Chunk-level BM25 with source/date masks. Use `load_or_build`; it is cheap when current."""

    def __init__(self, retriever, chunk_ids: list[str], sources: np.ndarray, published_ts: np.ndarray, generation: int):  # type: ignore[no-untyped-def]
        self.retriever = retriever
        self.chunk_ids = chunk_ids
        self.sources = sources
        self.published_ts = published_ts
        self.generation = generation
        self._lock = threading.Lock()

    @classmethod
    def build(cls, store: ArticleStore, path: Path) -> BM25Index:
        import bm25s

        gen = store.generation
        rows = list(store.iter_chunks())
        ids = [r[0] for r in rows]
        sources = np.array([r[2] for r in rows], dtype=object)
        pts = np.array([r[3] if r[3] is not None else -1 for r in rows], dtype=np.int64)
        retriever = None
        if rows:
            retriever = bm25s.BM25()
            retriever.index(tokenize([r[1] for r in rows]), show_progress=False)
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if retriever is not None:
            retriever.save(str(tmp / "index"))
        np.save(tmp / "published_ts.npy", pts)
        (tmp / "rows.json").write_text(json.dumps({"generation": gen, "ids": ids, "sources": sources.tolist()}))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)
        log.info("built BM25 index over %d chunks (generation %d)", len(ids), gen)
        return cls(retriever, ids, sources, pts, gen)

    @classmethod
    def load_or_build(cls, store: ArticleStore, path: Path) -> BM25Index:
        import bm25s

        meta = path / "rows.json"
        if meta.is_file():
            try:
                rows = json.loads(meta.read_text())
                if rows["generation"] == store.generation:
                    retriever = bm25s.BM25.load(str(path / "index")) if rows["ids"] else None
                    return cls(retriever, rows["ids"], np.array(rows["sources"], dtype=object),
                               np.load(path / "published_ts.npy"), rows["generation"])
            except (OSError, ValueError, KeyError) as e:
                log.warning("BM25 index at %s unreadable (%s); rebuilding", path, e)
        return cls.build(store, path)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def mask(self, sources: list[str] | None, since_ts: int | None, until_ts: int | None) -> np.ndarray | None:
        if not sources and since_ts is None and until_ts is None:
            return None
        m = np.ones(len(self.chunk_ids), dtype=bool)
        if sources:
            m &= np.isin(self.sources, sources)
        if since_ts is not None:
            m &= self.published_ts >= since_ts
        if until_ts is not None:
            m &= (self.published_ts >= 0) & (self.published_ts <= until_ts)
        return m.astype(np.float32)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `k` chunks with a positive score."""
        if self.retriever is None or not self.chunk_ids:
            return []
        q = tokenize([query], return_ids=False)
        if not q or not q[0]:
            return []
        k = min(k, len(self.chunk_ids))
        with self._lock:
            docs, scores = self.retriever.retrieve(q, k=k, weight_mask=mask, show_progress=False, n_threads=1)
        return [(self.chunk_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
