"""Chunk vectors in Chroma: embedded (PersistentClient at the data home) or a Chroma server.

We talk to chromadb directly rather than through llama-index's ChromaVectorStore for ingest and
dense retrieval: we need batch upserts with our own ids, delete-by-article for replacement and
crash recovery, and cheap metadata filters, without ChromaVectorStore serialising a full node
JSON into every record. (The llama-index baseline in `evals/` does use ChromaVectorStore.)
We never let Chroma embed anything: its default embedding function downloads an ONNX model.

Embedded Chroma keeps its HNSW index in the memory of each process that opened it, and does not
see what another process writes afterwards (verified: a reader kept returning deleted ids and
missing new ones). Given the store's generation (`generation=`), an embedded collection reopens
itself when the generation moved since it last looked, so a reader follows a writer process. A
Chroma server has no such state: every process sees every write at once.

Collection schema: id = ``<article_id>:<chunk idx>``; metadata = ``article_id, idx, start, end,
title, source, url, published (ISO), published_ts (epoch int, 0 when unknown)``; no documents
(chunk text lives in SQLite).

Example:
    >>> vecs = ChunkVectors(Settings(home="/tmp/cw"), generation=lambda: store.generation)
    >>> vecs.query([0.0] * 384, n=5, where={"source": "Associated Press"})
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from citewire.settings import Settings

from .errors import ChromaUnavailableError

log = logging.getLogger(__name__)


def make_client(settings: Settings) -> Any:
    """A chromadb client: `HttpClient` for `settings.chroma_url`, else embedded at the data home."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        if not u.hostname:
            raise ChromaUnavailableError(
                f"CITEWIRE_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}")
        try:
            return chromadb.HttpClient(host=u.hostname, port=u.port or 8000, ssl=u.scheme == "https", settings=cs)
        except Exception as e:  # chromadb raises a bare ValueError (or httpx's errors) when the server is down
            raise ChromaUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({e}): start it (`chroma run`) "
                "or unset CITEWIRE_CHROMA_URL to use the embedded store") from e
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=cs)


def _drop_embedded_system(path: str) -> None:
    """Forget chromadb's cached in-process system for `path`, so the next client loads the
    persisted state afresh. (chromadb shares one system per path and process; its public
    `clear_system_cache` would drop every path's.)"""
    from chromadb.api.shared_system_client import SharedSystemClient

    with SharedSystemClient._refcount_lock:
        SharedSystemClient._identifier_to_system.pop(path, None)
        SharedSystemClient._identifier_to_refcount.pop(path, None)


class ChunkVectors:
    """The Chroma collection of chunk embeddings (cosine space).

    Pass `generation` (the article store's) in a process that may read while another writes: an
    embedded collection then reopens when it moved. Server errors become `ChromaUnavailableError`."""

    def __init__(self, settings: Settings, client: Any = None, generation: Callable[[], int] | None = None) -> None:
        self.settings = settings
        self._generation = generation
        self._lock = threading.Lock()
        self._server = bool(settings.chroma_url)
        self.client = client or make_client(settings)
        self.collection = self._open()
        self._seen = generation() if generation is not None else -1

    def _open(self) -> Any:
        with self._guard("open the collection"):
            return self.client.get_or_create_collection(
                name=self.settings.collection, metadata={"hnsw:space": "cosine"}, embedding_function=None)

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        if not self._server:
            yield
            return
        import httpx

        try:
            yield
        except (httpx.HTTPError, ConnectionError) as e:
            raise ChromaUnavailableError(
                f"lost the Chroma server at {self.settings.chroma_url} while trying to {doing} ({e}); "
                "the stores stay consistent: restart the server and run the command again") from e

    # -- following other processes --------------------------------------------------------------
    def mark_current(self, generation: int) -> None:
        """Record that this process's collection already holds `generation` (it wrote it)."""
        self._seen = generation

    def sync(self) -> None:
        """Reopen an embedded collection if the store's generation moved since we last looked."""
        if self._server or self._generation is None:
            return
        gen = self._generation()
        if gen == self._seen:
            return
        with self._lock:
            if gen == self._seen:
                return
            log.info("store generation %d -> %d: reopening the embedded Chroma collection", self._seen, gen)
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            path = str(self.settings.chroma_path)
            _drop_embedded_system(path)
            self.client = chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False,
                                                                                      allow_reset=False))
            self.collection = self._open()
            self._seen = gen

    # -- reads and writes -----------------------------------------------------------------------
    def count(self) -> int:
        with self._guard("count vectors"):
            return int(self.collection.count())

    def max_batch(self) -> int:
        """The most records one Chroma call accepts."""
        try:
            return int(self.client.get_max_batch_size())
        except (AttributeError, TypeError, ValueError):
            return 5000

    def upsert(self, ids: list[str], embeddings: Any, metadatas: list[dict[str, Any]]) -> None:
        """Write vectors, in parts Chroma accepts."""
        step = max(1, self.max_batch())
        for i in range(0, len(ids), step):
            with self._guard("write vectors"):
                self.collection.upsert(ids=ids[i:i + step], embeddings=embeddings[i:i + step],
                                       metadatas=metadatas[i:i + step])

    def delete_articles(self, article_ids: list[str]) -> None:
        if not article_ids:
            return
        with self._guard("delete vectors"):
            self.collection.delete(where={"article_id": {"$in": list(article_ids)}})

    def article_ids(self) -> set[str]:
        with self._guard("list vectors"):
            got = self.collection.get(include=["metadatas"])
        return {m["article_id"] for m in got["metadatas"] or []}

    def chunk_ids(self) -> list[str]:
        """Every vector id (for consistency checks)."""
        with self._guard("list vectors"):
            return list(self.collection.get(include=[])["ids"])

    def query(self, embedding: Any, n: int,
              where: dict[str, Any] | None = None) -> list[tuple[str, float, dict[str, Any]]]:
        """(chunk id, cosine similarity, metadata), best first."""
        self.sync()
        # no count() first: it cost as much as the search itself, and Chroma returns fewer than n
        # (or none, on an empty collection) by itself
        with self._guard("search vectors"):
            res = self.collection.query(
                query_embeddings=[list(map(float, embedding))], n_results=n, where=where or None,
                include=["distances", "metadatas"],
            )
        rows = zip(res["ids"][0], res["distances"][0], res["metadatas"][0], strict=True)
        return [(cid, 1.0 - float(d), m) for cid, d, m in rows]
