"""The ingest pipeline: files or records -> cleaned articles -> sentences -> chunks -> stores.

Incremental, crash-safe and safe beside readers in other processes:

- one writer at a time: ingest, removal, recovery and BM25 builds hold the store's writer lock
  (`ingest.locking`), across threads and processes; opening an `Ingestor` writes nothing;
- ids are stable (explicit id, else url, else content hash) and each article carries a content
  hash: unchanged articles are skipped, changed ones replaced (old chunks deleted everywhere);
  a record may replace only an article from the same origin file unless `replace=True`;
- writes go in batches: ids are marked *pending* in SQLite, their old vectors are deleted and new
  ones upserted in Chroma, then one SQLite transaction commits articles, sentences and chunks and
  clears the marks. The next writer first undoes whatever is still pending (`recover`), so after
  Ctrl-C or kill -9 the three stores agree and a re-run completes the work; readers treat pending
  articles as absent meanwhile;
- the encoder works on batch k in one worker thread while the main thread writes batch k-1 and
  prepares batch k+1 (torch releases the GIL in its kernels), so the pipeline runs at encoder
  speed; a batch is written only after its own vectors are back, so a failure loses no
  committed batch;
- the BM25 index is built once per run, after the last batch, and swapped in atomically.

Example:
    >>> report = Ingestor(Settings(home="/tmp/cw")).ingest([Path("articles/")], prune=True)
    >>> print(report.summary())
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from citewire.settings import Settings

from .bm25 import BM25Index
from .embed import Embedder, model_name
from .errors import EmbedderMismatchError, ReadError
from .faults import fault_point
from .locking import WriterLock
from .prepare import Prepared, Preparer
from .readers import FieldMap, discover, read_path
from .report import SKIP_REASONS, IngestReport
from .store import ArticleStore
from .types import RawArticle
from .vectors import ChunkVectors

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]

__all__ = ["IngestReport", "Ingestor", "Progress", "bundled_corpus"]


def bundled_corpus() -> Path:
    """The demo corpus shipped in the package (one bundled news report, `citewire ingest` with no paths)."""
    return Path(str(resources.files("citewire") / "data" / "corpus"))


class Ingestor:
    """Writes articles into the three stores (SQLite, Chroma, BM25), keeping them consistent.

    Use one per process and store (`Engine` makes one); its write methods wait for the writer lock
    (`lock_timeout` seconds, None = as long as it takes) and raise `StoreBusyError` past it.

    Example:
        >>> ing = Ingestor(Settings(home="/tmp/cw"))
        >>> ing.ingest([Path("news.jsonl")], fields=FieldMap.parse("text=body")).summary()
        >>> ing.remove(["0123abcd"])
    """

    def __init__(self, settings: Settings, store: ArticleStore | None = None, vectors: ChunkVectors | None = None,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings
        settings.ensure_home()
        self.lock = WriterLock(settings.home)
        self.store = store or ArticleStore(settings.db_path)
        self.check_embedder(embedder.name if embedder else model_name(settings))
        self.embedder = embedder or Embedder.load(settings)
        self.vectors = vectors or ChunkVectors(settings, generation=lambda: self.store.generation)
        self.max_tokens = min(settings.chunk.max_tokens, self.embedder.max_tokens)

    # -- consistency ------------------------------------------------------------------------------
    def check_embedder(self, name: str) -> None:
        """Refuse a store whose vectors another embedding model built (`EmbedderMismatchError`)."""
        built = self.store.embed_model
        if built and built != name:
            raise EmbedderMismatchError(
                f"the store at {self.settings.home} was built with the embedding model {built!r}, but "
                f"{name!r} is configured: set CITEWIRE_EMBED_MODEL={built} (or embed_model in "
                "citewire.toml) to use this store, or choose a new CITEWIRE_HOME and ingest again there")

    def recover(self) -> list[str]:
        """Undo interrupted writes (articles still marked pending) in every store, if no writer runs.

        Returns the ids undone; when another process holds the writer lock its pending articles
        are its work in progress, so nothing is touched and [] is returned."""
        with self.lock.try_hold() as got:
            if not got:
                log.info("a writer is active: recovery left to it")
                return []
            return self._recover()

    def _recover(self) -> list[str]:
        pending = self.store.pending()
        if pending:
            log.warning("recovering %d interrupted article(s): %s", len(pending), ", ".join(pending[:5]))
            self.vectors.delete_articles(pending)
            self.store.delete_articles(pending)
            self.vectors.mark_current(self.store.generation)
        return pending

    def bm25(self, current: BM25Index | None = None) -> BM25Index:
        """The newest BM25 index (`current` itself when nothing newer was swapped in).

        Rebuilt only when it is behind the store and no writer is active: while one is, readers
        keep serving what they have until its swap."""
        idx = BM25Index.load_current(self.settings.bm25_path, current)
        if idx is not None and idx.generation == self.store.generation:
            return idx
        with self.lock.try_hold() as got:
            if got:
                return self._build_bm25_if_stale()
        return idx or current or BM25Index.empty()

    def _build_bm25_if_stale(self) -> BM25Index:
        idx = BM25Index.load_current(self.settings.bm25_path)
        if idx is not None and idx.generation == self.store.generation:
            return idx
        return BM25Index.build(self.store, self.settings.bm25_path)

    # -- entry points -----------------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path] | None = None, prune: bool = False, fields: FieldMap | None = None,
               replace: bool = False, progress: Progress | None = None, show_progress: bool = False,
               lock_timeout: float | None = None) -> IngestReport:
        """Ingest files and folders (none given: the bundled corpus).

        `replace=True` lets a record replace an article of the same id from another origin file."""
        paths = [Path(p) for p in (paths or [])] or [bundled_corpus()]
        report = IngestReport()
        files = [f for f in discover(paths) if f.exists()]
        for p in paths:
            if not p.exists():
                report.failed.append((str(p), "no such file or directory"))
        seen_files = {str(f.resolve()) for f in files}
        max_bytes = self.settings.max_file_mb * 2**20

        def records() -> Iterator[RawArticle]:
            bar = tqdm(files, desc="files", unit="file", disable=not show_progress)
            for i, f in enumerate(bar):
                if progress:
                    progress(i, len(files), f.name)
                resolved = str(f.resolve())
                for item in read_path(f, max_bytes=max_bytes, fields=fields):
                    if isinstance(item, ReadError):
                        self._report_error(report, item)
                    else:
                        rest = item.origin[len(str(f)):] if item.origin.startswith(str(f)) else ""
                        item.origin = resolved + rest  # keeps the :line or #index part
                        yield item
            if progress:
                progress(len(files), len(files), "done")

        with self.lock.hold(lock_timeout):
            report.recovered = self._recover()
            self._ingest_records(records(), report, replace, show_progress=show_progress, article_bar=False)
            if prune:
                self._prune(seen_files, paths, report)
            self._build_bm25_if_stale()  # once per run
        return report

    def ingest_records(self, records: Iterable[RawArticle], progress: Progress | None = None,
                       show_progress: bool = False, total: int | None = None, replace: bool = False,
                       lock_timeout: float | None = None) -> IngestReport:
        """Ingest in-memory articles (e.g. an eval suite's corpus)."""
        report = IngestReport()

        def tracked() -> Iterator[RawArticle]:
            for i, r in enumerate(records):
                if progress:
                    progress(i, total or 0, r.title or r.origin)
                yield r

        with self.lock.hold(lock_timeout):
            report.recovered = self._recover()
            self._ingest_records(tracked(), report, replace, show_progress=show_progress, total=total)
            self._build_bm25_if_stale()  # once per run
        return report

    def remove(self, article_ids: list[str], lock_timeout: float | None = None) -> list[str]:
        """Delete articles from every store; returns the ids that existed."""
        with self.lock.hold(lock_timeout):
            self._recover()
            existing = self._remove(article_ids)
            if existing:
                self._build_bm25_if_stale()
        return existing

    # -- internals (writer lock held) -------------------------------------------------------------
    def _remove(self, article_ids: list[str]) -> list[str]:
        existing = [a for a in article_ids if self.store.get(a, with_sentences=False) is not None]
        if existing:
            self.store.mark_pending(existing)
            self.vectors.delete_articles(existing)
            self.store.delete_articles(existing)
            self.vectors.mark_current(self.store.generation)
        return existing

    @staticmethod
    def _report_error(report: IngestReport, err: ReadError) -> None:
        target = report.skipped if err.reason.startswith(SKIP_REASONS) else report.failed
        target.append((err.origin, err.reason))
        log.warning("skipped %s", err)

    def preparer(self, replace: bool = False) -> Preparer:
        """The per-run record preparer (clean, split, chunk) for this store and these settings."""
        return Preparer(self.embedder, self.max_tokens, self.settings.chunk.overlap_sentences,
                        known=self.store.known(), by_origin=self.store.ids_by_origin(), replace=replace)

    def _ingest_records(self, records: Iterable[RawArticle], report: IngestReport, replace: bool,
                        show_progress: bool, total: int | None = None, article_bar: bool = True) -> None:
        """Prepare, embed and write in batches; batch k is embedded on a worker thread while the next
        one is read, cleaned, split and chunked here (torch releases the GIL inside its kernels), and
        written only after batch k-1, so the stores see batches in order, one at a time."""
        prep = self.preparer(replace)
        batch: list[Prepared] = []
        batch_chunks = 0
        target = max(self.settings.embed_batch_size * 16, 16)  # chunks per commit (1,024 by default)
        bar = tqdm(desc="embedding", unit="chunk", disable=not show_progress, position=1, leave=False)
        inflight: tuple[list[Prepared], Future[np.ndarray]] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewire-embed") as pool:
            for raw in tqdm(records, desc="articles", unit="art", total=total,
                            disable=not (show_progress and article_bar)):
                try:
                    out = prep.prepare(raw)
                except Exception as e:  # one article's surprise is that article's failure, not the run's
                    log.warning("could not prepare %s", raw.origin, exc_info=True)
                    report.failed.append((raw.origin, f"could not process this article ({type(e).__name__}: {e})"))
                    continue
                if out.unchanged:
                    report.unchanged.append(out.unchanged)
                elif out.skip:
                    report.skipped.append((raw.origin, out.skip))
                elif out.prepared is not None:
                    batch.append(out.prepared)
                    batch_chunks += len(out.prepared.chunks)
                    if batch_chunks >= target:
                        inflight = self._hand_over(pool, inflight, batch, report, bar)
                        batch, batch_chunks = [], 0
            if batch:
                inflight = self._hand_over(pool, inflight, batch, report, bar)
            if inflight is not None:
                self._flush(inflight[0], inflight[1].result(), report, bar)
        bar.close()

    def _hand_over(self, pool: ThreadPoolExecutor, inflight: tuple[list[Prepared], Future[np.ndarray]] | None,
                   batch: list[Prepared], report: IngestReport,
                   bar: Any) -> tuple[list[Prepared], Future[np.ndarray]]:
        """Queue `batch` for embedding, then write the batch in flight (waiting for its vectors): the
        encoder goes straight on to `batch` while this thread writes."""
        chunks = [c for p in batch for c in p.chunks]
        fut = pool.submit(self.embedder.encode_tokens, [c.text for c in chunks], [c.token_ids for c in chunks],
                          batch_size=self.settings.embed_batch_size)
        if inflight is not None:
            self._flush(inflight[0], inflight[1].result(), report, bar)
        return batch, fut

    def _flush(self, batch: list[Prepared], embeddings: np.ndarray, report: IngestReport, bar: Any) -> None:
        ids = [p.article.id for p in batch]
        chunks = [c for p in batch for c in p.chunks]
        by_id = {p.article.id: p.article for p in batch}
        metas: list[dict[str, Any]] = []
        for c in chunks:
            a = by_id[c.article_id]
            metas.append({"article_id": a.id, "idx": c.idx, "start": c.start, "end": c.end, "title": a.title[:500],
                          "source": a.source, "url": a.url, "published": a.published,
                          "published_ts": a.published_ts or 0})
        replaced = [p.replaces for p in batch if p.replaces]
        self.store.mark_pending(ids + replaced)  # intent first: a crash after this is undone by the next writer
        fault_point("pending")
        self.vectors.delete_articles([p.article.id for p in batch if p.is_update] + replaced)
        part = max(self.settings.embed_batch_size * 8, 1)
        for i in range(0, len(chunks), part):
            if i:
                fault_point("vectors")
            self.vectors.upsert([c.id for c in chunks[i:i + part]], embeddings[i:i + part], metas[i:i + part])
        fault_point("commit")
        self.store.commit_articles([(p.article, p.origin_file, p.chunks) for p in batch], delete_ids=replaced,
                                   embed_model=self.embedder.name)
        self.vectors.mark_current(self.store.generation)
        for p in batch:
            (report.updated if p.is_update else report.added).append(p.article.id)
        report.chunks += len(chunks)
        bar.update(len(chunks))

    def _prune(self, seen_files: set[str], roots: list[Path], report: IngestReport) -> None:
        """Remove articles whose source file (under the given roots) no longer exists."""
        root_strs = [str(r.resolve()) for r in roots]
        gone: list[str] = []
        for f, aids in self.store.origin_files().items():
            under = any(f == r or f.startswith(r.rstrip("/") + "/") for r in root_strs)
            if under and f not in seen_files and not Path(f).exists():
                gone.extend(aids)
        if gone:
            report.removed.extend(self._remove(gone))
