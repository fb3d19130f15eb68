"""The BM25 index over chunks (bm25s), persisted beside the other stores and swapped atomically.

Layout: ``<home>/bm25/CURRENT`` names the live index folder (``g<generation>-<random>/``). A
writer (holding the writer lock) builds a new index once per ingest run into a fresh folder of
its own, then replaces ``CURRENT`` with one `os.replace`: a reader loads either the old index
or the new one, never a half-written one, and keeps serving the old one until the swap. The
folder before the current one is kept (a reader may be loading it); older ones are deleted.

The index records the store generation it was built from. When the store moved on (a crash
between the SQLite commit and the swap), the next writer, or a reader that finds the writer
lock free, rebuilds it. Filters are applied with bm25s' `weight_mask` over per-chunk source /
date arrays.

Example:
    >>> idx = BM25Index.build(store, settings.bm25_path)          # writers, under the lock
    >>> idx = BM25Index.load_current(settings.bm25_path)         # readers
    >>> idx.search("drones Kyiv", k=5)
    [('a1b2:0', 7.3), ...]
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from .faults import fault_point
from .store import ArticleStore

log = logging.getLogger(__name__)
POINTER = "CURRENT"
_LEGACY = ("rows.json", "published_ts.npy", "index")  # the pre-pointer layout: files right in bm25/
_STEMMER: Any = None


def _stemmer() -> Any:
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER


def tokenize(texts: list[str], return_ids: bool = True) -> Any:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=return_ids)


def _read_pointer(root: Path) -> str | None:
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if name and "/" not in name and name not in (".", "..") else None


class BM25Index:
    """Chunk-level BM25 with source/date masks. Writers `build`; readers `load_current`."""

    def __init__(self, retriever: Any, chunk_ids: list[str], sources: np.ndarray, published_ts: np.ndarray,
                 generation: int, folder: str = "") -> None:
        self.retriever = retriever
        self.chunk_ids = chunk_ids
        self.sources = sources
        self.published_ts = published_ts
        self.generation = generation
        self.folder = folder
        self._lock = threading.Lock()

    @classmethod
    def empty(cls) -> BM25Index:
        """An index with no chunks (before the first build)."""
        return cls(None, [], np.array([], dtype=object), np.array([], dtype=np.int64), -1)

    # -- writers --------------------------------------------------------------------------------
    @classmethod
    def build(cls, store: ArticleStore, root: Path) -> BM25Index:
        """Index every chunk of `store` into a new folder under `root` and make it current.

        Call only while holding the writer lock (`ingest.locking.WriterLock`)."""
        import bm25s

        gen, rows = store.chunk_snapshot()
        ids = [r[0] for r in rows]
        sources = np.array([r[2] for r in rows], dtype=object)
        pts = np.array([r[3] if r[3] is not None else -1 for r in rows], dtype=np.int64)
        retriever = None
        if rows:
            retriever = bm25s.BM25()
            retriever.index(tokenize([r[1] for r in rows]), show_progress=False)
        root.mkdir(parents=True, exist_ok=True)
        name = f"g{gen:08d}-{uuid.uuid4().hex[:12]}"
        tmp = root / f"{name}.tmp"
        tmp.mkdir()
        if retriever is not None:
            retriever.save(str(tmp / "index"))
        np.save(tmp / "published_ts.npy", pts)
        (tmp / "rows.json").write_text(json.dumps({"generation": gen, "ids": ids, "sources": sources.tolist()}))
        tmp.rename(root / name)  # a folder without ".tmp" is complete
        previous = _read_pointer(root)
        fault_point("bm25_swap")
        ptr = root / f"{POINTER}.{name}.tmp"
        ptr.write_text(name, encoding="utf-8")
        os.replace(ptr, root / POINTER)
        cls._collect(root, keep={name, previous})
        log.info("built BM25 index over %d chunks (generation %d)", len(ids), gen)
        return cls(retriever, ids, sources, pts, gen, name)

    @staticmethod
    def _collect(root: Path, keep: set[str | None]) -> None:
        """Delete index folders other than `keep` (and the pre-pointer layout's files)."""
        for p in root.iterdir():
            if p.name == POINTER or p.name in keep:
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            elif p.name in _LEGACY or p.name.startswith(f"{POINTER}."):
                p.unlink(missing_ok=True)
        shutil.rmtree(root.with_name(root.name + ".tmp"), ignore_errors=True)  # the old fixed temp folder

    # -- readers --------------------------------------------------------------------------------
    @classmethod
    def load_current(cls, root: Path, cached: BM25Index | None = None) -> BM25Index | None:
        """The index `CURRENT` names (`cached` itself when it is that one); None when there is none."""
        for _ in range(3):  # the folder can vanish between reading the pointer and loading it
            name = _read_pointer(root)
            if name is None:
                return None
            if cached is not None and cached.folder == name:
                return cached
            try:
                return cls._load(root / name, name)
            except (OSError, ValueError, KeyError) as e:
                log.info("BM25 index %s not loadable (%s); re-reading %s", name, e, POINTER)
        return cached

    @classmethod
    def _load(cls, folder: Path, name: str) -> BM25Index:
        import bm25s

        rows = json.loads((folder / "rows.json").read_text())
        retriever = bm25s.BM25.load(str(folder / "index")) if rows["ids"] else None
        return cls(retriever, rows["ids"], np.array(rows["sources"], dtype=object),
                   np.load(folder / "published_ts.npy"), int(rows["generation"]), name)

    # -- queries --------------------------------------------------------------------------------
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
        return [(self.chunk_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
