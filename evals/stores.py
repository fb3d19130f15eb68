"""Eval stores: one citewire home per (corpus, ingest settings), built once and reused.

A suite's corpus is ingested into ``<settings.home>/eval-stores/<key>/`` where the key hashes the
corpus content and every setting that changes what ingest writes (chunking, embedder). Re-running
an eval after a query-side change (prompts, retrieval, LLM) therefore re-uses the embedded store;
``--rebuild`` forces a fresh one. A store only counts as built once ``eval-store.json`` is written,
so an interrupted build is redone from scratch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citewire.settings import Settings
from evals.loaders import Corpus

log = logging.getLogger(__name__)
STORE_FORMAT = 1
MARKER = "eval-store.json"


@dataclass
class EvalStore:
    """A built store: the settings that open it and what it holds."""

    settings: Settings
    path: Path | None  # None: the user's current store
    key: str = ""
    reused: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def ingest_signature(settings: Settings) -> dict[str, Any]:
    """The settings that change what ingest writes."""
    return {
        "format": STORE_FORMAT,
        "chunk": settings.chunk.model_dump(mode="json"),
        "embed_model": settings.embed_model,
        "collection": settings.collection,
    }


def store_key(corpus: Corpus, settings: Settings) -> str:
    blob = json.dumps({"corpus": corpus.fingerprint, "ingest": ingest_signature(settings)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def store_settings(settings: Settings, path: Path) -> Settings:
    """`settings` with its home moved to `path` (and an embedded Chroma there)."""
    return settings.model_copy(update={"home": path, "chroma_url": None})


def prepare_store(corpus: Corpus, settings: Settings, rebuild: bool = False, show_progress: bool = True) -> EvalStore:
    """Return a store holding `corpus`, building it unless a complete one exists."""
    if corpus.kind == "current":
        return EvalStore(settings=settings, path=None, info={"corpus": corpus.description})
    key = store_key(corpus, settings)
    path = settings.home / "eval-stores" / key
    marker = path / MARKER
    ss = store_settings(settings, path)
    if marker.is_file() and not rebuild:
        info = json.loads(marker.read_text(encoding="utf-8"))
        log.info("re-using eval store %s (%s)", path, info.get("report", ""))
        return EvalStore(settings=ss, path=path, key=key, reused=True, info=info)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    t0 = time.perf_counter()
    from rag import Engine

    engine = Engine.open(settings=ss)
    try:
        if corpus.kind == "demo":
            report = engine.ingest([])
        elif corpus.kind == "paths":
            report = engine.ingest(list(corpus.paths))
        else:
            assert corpus.make_records is not None
            records = corpus.make_records()
            report = _ingest_records(engine, records, show_progress)
    finally:
        _close(engine)
    ids = sorted(set(report.added) | set(report.updated) | set(report.unchanged))
    if not ids:
        shutil.rmtree(path, ignore_errors=True)
        raise RuntimeError(f"eval store: nothing could be ingested from {corpus.description}: {report.summary()}")
    info = {
        "key": key,
        "corpus": corpus.description,
        "fingerprint": corpus.fingerprint,
        "ingest": ingest_signature(settings),
        "report": report.summary(),
        "chunks": report.chunks,
        "n_articles": len(ids),
        "article_ids": ids,
        "build_s": round(time.perf_counter() - t0, 1),
    }
    marker.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return EvalStore(settings=ss, path=path, key=key, reused=False, info=info)


def _ingest_records(engine: Any, records: list[Any], show_progress: bool) -> Any:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(records), desc="ingest", unit="article", disable=not show_progress)

    def progress(i: int, total: int, name: str) -> None:
        bar.n = i
        bar.refresh()

    try:
        return engine.ingest_records(records, progress=progress)
    finally:
        bar.n = len(records)
        bar.close()


def _close(engine: Any) -> None:
    close = getattr(engine, "close", None)
    if callable(close):
        close()


class ArticleTexts:
    """Stored article texts by id (cached), read from an eval store's SQLite table.

    Use it to score spans against the exact text every offset points into (both engines' citations
    are checked against it).

    Example:
        >>> texts = ArticleTexts(store)
        >>> texts("clapnq-123")[:40]
    """

    def __init__(self, store: EvalStore) -> None:
        from ingest import ArticleStore

        self._db = ArticleStore(store.settings.db_path)
        self.get = functools.lru_cache(maxsize=4096)(self._get)

    def _get(self, article_id: str) -> str | None:
        art = self._db.get(article_id, with_sentences=False)
        return art.text if art is not None else None

    def __call__(self, article_id: str) -> str | None:
        return self.get(article_id)

    def ids_and_hashes(self) -> dict[str, str]:
        return dict(self._db.hashes())

    def article(self, article_id: str) -> Any:
        return self._db.get(article_id, with_sentences=False)

    def close(self) -> None:
        self._db.close()
