"""Chunk vectors in Chroma: embedded (PersistentClient at the data home) or a Chroma server.

We talk to chromadb directly rather than through llama-index's ChromaVectorStore for ingest and
dense retrieval: we need batch upserts with our own ids, delete-by-article for replacement and
crash recovery, and cheap metadata filters, without ChromaVectorStore serialising a full node
JSON into every record. (The llama-index baseline in `evals/` does use ChromaVectorStore.)
We never let Chroma embed anything: its default embedding function downloads an ONNX model.

Collection schema: id = ``<article_id>:<chunk idx>``; metadata = ``article_id, idx, start, end,
title, source, url, published (ISO), published_ts (epoch int, 0 when unknown)``; no documents
(chunk text lives in SQLite).

Example:
    >>> vecs = ChunkVectors(Settings(home="/tmp/cw"))
    >>> vecs.query([0.0] * 384, n=5, where={"source": "Associated Press"})
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from citewire.settings import Settings

log = logging.getLogger(__name__)


class ChromaUnavailableError(RuntimeError):
    """The configured Chroma server could not be reached."""


def make_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        if not u.hostname:
            raise ValueError(f"CITEWIRE_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}")
        try:
            return chromadb.HttpClient(host=u.hostname, port=u.port or 8000, ssl=u.scheme == "https", settings=cs)
        except Exception as e:  # chromadb raises a bare Exception/ValueError when the server is down
            raise ChromaUnavailableError(f"cannot reach Chroma server at {settings.chroma_url}: {e}") from e
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=cs)


class ChunkVectors:
    """The Chroma collection of chunk embeddings (cosine space)."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)
        self.collection = self.client.get_or_create_collection(
            name=settings.collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def count(self) -> int:
        return int(self.collection.count())

    def upsert(self, ids: list[str], embeddings: Any, metadatas: list[dict[str, Any]]) -> None:
        step = 2000  # stay under Chroma's max batch size
        for i in range(0, len(ids), step):
            self.collection.upsert(ids=ids[i:i + step], embeddings=embeddings[i:i + step], metadatas=metadatas[i:i + step])

    def delete_articles(self, article_ids: list[str]) -> None:
        if not article_ids:
            return
        self.collection.delete(where={"article_id": {"$in": list(article_ids)}})

    def article_ids(self) -> set[str]:
        got = self.collection.get(include=["metadatas"])
        return {m["article_id"] for m in got["metadatas"] or []}

    def ids_for(self, article_id: str) -> list[str]:
        return list(self.collection.get(where={"article_id": article_id}, include=[])["ids"])

    def query(self, embedding: Any, n: int, where: dict[str, Any] | None = None) -> list[tuple[str, float, dict[str, Any]]]:
        """(chunk id, cosine similarity, metadata), best first."""
        # no count() first: it cost as much as the search itself, and Chroma returns fewer than n
        # (or none, on an empty collection) by itself
        res = self.collection.query(
            query_embeddings=[list(map(float, embedding))], n_results=n, where=where or None,
            include=["distances", "metadatas"],
        )
        return [(cid, 1.0 - float(d), m) for cid, d, m in zip(res["ids"][0], res["distances"][0], res["metadatas"][0])]
