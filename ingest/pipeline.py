"""The ingest pipeline: files or records -> cleaned articles -> sentences -> chunks -> stores.

Incremental and crash-safe:

- ids are stable (explicit id, else url, else content hash) and each article carries a content
  hash: unchanged articles are skipped, changed ones replaced (old chunks deleted everywhere);
- writes go in batches: ids are marked *pending* in SQLite, their old vectors are deleted and new
  ones upserted in Chroma, then one SQLite transaction commits articles, sentences and chunks and
  clears the marks. `Ingestor.recover()` (run first, always) deletes the vectors of any id still
  pending, so after Ctrl-C or kill -9 the three stores agree and a re-run completes the work;
- the BM25 index is rebuilt from SQLite whenever its generation is stale.

Example:
    >>> report = Ingestor(Settings(home="/tmp/cw")).ingest([Path("articles/")], prune=True)
    >>> print(report.summary())
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from citewire.settings import Settings

from .bm25 import BM25Index
from .chunking import chunk_article
from .clean import clean_text, clean_title
from .embed import load_embedder, max_tokens, token_counts
from .readers import FieldMap, ReadError, discover, read_path
from .sentences import split_sentences
from .store import ArticleStore
from .types import Article, Chunk, RawArticle, article_id_for, content_hash
from .vectors import ChunkVectors

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
_SKIP_REASONS = ("empty file", "unsupported file type", "file too large")


def bundled_corpus() -> Path:
    """The demo corpus shipped in the package (an AP report on the Kyiv attack)."""
    return Path(str(resources.files("citewire") / "data" / "corpus"))


@dataclass
class IngestReport:
    """What an ingest run did. `ok` is False only when nothing could be ingested."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.added or self.updated or self.unchanged or self.removed) or not (self.skipped or self.failed)

    def summary(self) -> str:
        return (f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
                f"removed {len(self.removed)}, skipped {len(self.skipped)}, failed {len(self.failed)} "
                f"({self.chunks} chunks embedded)")

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
                "skipped": [list(x) for x in self.skipped], "failed": [list(x) for x in self.failed], "chunks": self.chunks}


@dataclass
class _Prepared:
    article: Article
    origin_file: str
    chunks: list[Chunk]
    is_update: bool
    replaces: str | None = None  # an older version of the same file, stored under another id


class Ingestor:
    """Writes articles into the three stores (SQLite, Chroma, BM25), keeping them consistent."""

    def __init__(self, settings: Settings, store: ArticleStore | None = None, vectors: ChunkVectors | None = None) -> None:
        self.settings = settings
        settings.ensure_home()
        self.store = store or ArticleStore(settings.db_path)
        self.vectors = vectors or ChunkVectors(settings)
        self.model = load_embedder(settings)
        self.max_tokens = min(settings.chunk.max_tokens, max_tokens(self.model))
        self.recover()

    # -- consistency ------------------------------------------------------------------------------
    def recover(self) -> None:
        """Undo articles whose write was interrupted (still marked pending) in every store.

        Their rows go too (an interrupted *update* may have lost its old vectors), so the next
        ingest of the same source sees them as new and writes them whole."""
        pending = self.store.pending()
        if pending:
            log.warning("recovering %d interrupted article(s): %s", len(pending), ", ".join(pending[:5]))
            self.vectors.delete_articles(pending)
            self.store.delete_articles(pending)

    def bm25(self) -> BM25Index:
        return BM25Index.load_or_build(self.store, self.settings.bm25_path)

    # -- entry points -----------------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path] | None = None, prune: bool = False, fields: FieldMap | None = None,
               progress: Progress | None = None, show_progress: bool = False) -> IngestReport:
        """Ingest files and folders (none given: the bundled corpus)."""
        paths = [Path(p) for p in (paths or [])] or [bundled_corpus()]
        report = IngestReport()
        files = list(discover(paths))
        for p in paths:
            if not p.exists():
                report.failed.append((str(p), "no such file or directory"))
        files = [f for f in files if f.exists()]
        seen_files = {str(f.resolve()) for f in files}

        def records() -> Iterator[RawArticle]:
            bar = tqdm(files, desc="files", unit="file", disable=not show_progress)
            for i, f in enumerate(bar):
                if progress:
                    progress(i, len(files), f.name)
                for item in read_path(f, max_bytes=self.settings.max_file_mb * 2**20, fields=fields):
                    if isinstance(item, ReadError):
                        self._report_error(report, item)
                    else:
                        item.origin = str(f.resolve()) if item.origin == str(f) else str(f.resolve()) + item.origin[len(str(f)):]
                        yield item
            if progress:
                progress(len(files), len(files), "done")

        self._ingest_records(records(), report, show_progress=show_progress, article_bar=False)
        if prune:
            self._prune(seen_files, paths, report)
        self.bm25()
        return report

    def ingest_records(self, records: Iterable[RawArticle], progress: Progress | None = None,
                       show_progress: bool = False, total: int | None = None) -> IngestReport:
        """Ingest in-memory articles (e.g. an eval suite's corpus)."""
        report = IngestReport()

        def tracked() -> Iterator[RawArticle]:
            for i, r in enumerate(records):
                if progress:
                    progress(i, total or 0, r.title or r.origin)
                yield r

        self._ingest_records(tracked(), report, show_progress=show_progress, total=total)
        self.bm25()
        return report

    def remove(self, article_ids: list[str]) -> list[str]:
        """Delete articles from every store; returns the ids that existed."""
        existing = [a for a in article_ids if self.store.get(a, with_sentences=False) is not None]
        if existing:
            self.store.mark_pending(existing)
            self.vectors.delete_articles(existing)
            self.store.delete_articles(existing)
            self.bm25()
        return existing

    # -- internals --------------------------------------------------------------------------------
    @staticmethod
    def _report_error(report: IngestReport, err: ReadError) -> None:
        target = report.skipped if err.reason.startswith(_SKIP_REASONS) else report.failed
        target.append((err.origin, err.reason))
        log.warning("skipped %s", err)

    def _prepare(self, raw: RawArticle, known: dict[str, str], seen: set[str], report: IngestReport) -> _Prepared | None:
        text = clean_text(raw.text)
        if not text:
            report.skipped.append((raw.origin, "no text left after cleaning"))
            return None
        aid = article_id_for(raw, text)
        title = clean_title(raw.title) or text.split("\n", 1)[0][:120]
        h = content_hash("\x1f".join([title, raw.source, raw.url, raw.published, text]))
        if aid in seen:
            report.skipped.append((raw.origin, f"duplicate of article {aid} in this run"))
            return None
        seen.add(aid)
        if known.get(aid) == h:
            report.unchanged.append(aid)
            return None
        # A whole-file article whose content (and so its hash id) changed replaces the old version.
        old = self._by_origin.get(raw.origin) if raw.origin and "#" not in raw.origin else None
        replaces = old if old and old != aid and old not in seen else None
        sents = split_sentences(text)
        chunks = chunk_article(aid, text, sents, lambda xs: token_counts(self.model, xs),
                               max_tokens=self.max_tokens, overlap=self.settings.chunk.overlap_sentences)
        art = Article(id=aid, text=text, title=title, url=raw.url, published=raw.published, source=raw.source,
                      authors=raw.authors, origin=raw.origin, content_hash=h, sentences=sents)
        origin_file = raw.origin.split("#", 1)[0]
        if ":" in Path(origin_file).name:
            origin_file = origin_file.rsplit(":", 1)[0]
        return _Prepared(art, origin_file, chunks, is_update=aid in known or replaces is not None, replaces=replaces)

    def _ingest_records(self, records: Iterable[RawArticle], report: IngestReport, show_progress: bool,
                        total: int | None = None, article_bar: bool = True) -> None:
        known = self.store.hashes()
        self._by_origin = self.store.ids_by_origin()
        seen: set[str] = set()
        batch: list[_Prepared] = []
        batch_chunks = 0
        target = max(self.settings.embed_batch_size * 4, 64)
        bar = tqdm(desc="embedding", unit="chunk", disable=not show_progress, position=1, leave=False)
        for raw in tqdm(records, desc="articles", unit="art", total=total, disable=not (show_progress and article_bar)):
            prep = self._prepare(raw, known, seen, report)
            if prep is None:
                continue
            batch.append(prep)
            batch_chunks += len(prep.chunks)
            if batch_chunks >= target:
                self._flush(batch, report, bar)
                batch, batch_chunks = [], 0
        if batch:
            self._flush(batch, report, bar)
        bar.close()

    def _flush(self, batch: list[_Prepared], report: IngestReport, bar: Any) -> None:
        ids = [p.article.id for p in batch]
        chunks = [c for p in batch for c in p.chunks]
        embeddings = self.model.encode([c.text for c in chunks], batch_size=self.settings.embed_batch_size,
                                       normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        metas = []
        by_id = {p.article.id: p.article for p in batch}
        for c in chunks:
            a = by_id[c.article_id]
            metas.append({"article_id": a.id, "idx": c.idx, "start": c.start, "end": c.end, "title": a.title[:500],
                          "source": a.source, "url": a.url, "published": a.published, "published_ts": a.published_ts or 0})
        replaced = [p.replaces for p in batch if p.replaces]
        self.store.mark_pending(ids + replaced)  # intent first: a crash after this is cleaned up by recover()
        self.vectors.delete_articles([p.article.id for p in batch if p.is_update] + replaced)
        if chunks:
            self.vectors.upsert([c.id for c in chunks], embeddings, metas)
        self.store.commit_articles([(p.article, p.origin_file, p.chunks) for p in batch], delete_ids=replaced)
        for p in batch:
            (report.updated if p.is_update else report.added).append(p.article.id)
        report.chunks += len(chunks)
        bar.update(len(chunks))

    def _prune(self, seen_files: set[str], roots: list[Path], report: IngestReport) -> None:
        """Remove articles whose source file (under the given roots) no longer exists."""
        root_strs = [str(r.resolve()) for r in roots]
        gone = []
        for f, aids in self.store.origin_files().items():
            under = any(f == r or f.startswith(r.rstrip("/") + "/") for r in root_strs)
            if under and f not in seen_files and not Path(f).exists():
                gone.extend(aids)
        if gone:
            report.removed.extend(self.remove(gone))
