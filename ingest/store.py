"""The article store: SQLite, explicit versioned schema, the source of truth for texts and spans.

Tables (schema version 1):

- ``meta(key, value)``: ``schema_version``, ``generation`` (bumped on every commit; the BM25
  index records the generation it was built from, readers refresh their caches when it moves),
  ``embed_model`` (the embedder that built the vectors, written with the first commit).
- ``articles(id, title, source, url, published, published_ts, authors, origin, origin_file,
  content_hash, text, ingested_at)``: the cleaned text every offset points into.
- ``sentences(article_id, idx, start, end)``: citation units.
- ``chunks(id, article_id, idx, start, end)``: what is embedded (Chroma) and BM25-indexed.
- ``pending(article_id, started_at)``: intent log. An article id is written here (and committed)
  before its vectors go to Chroma and removed in the same transaction that commits its rows.
  Readers treat pending articles as absent; the next writer (holding the writer lock) deletes a
  leftover id from every store, so a killed ingest leaves no orphan and no half article.

Example:
    >>> store = ArticleStore(Path("/tmp/cw/articles.sqlite3"))
    >>> store.get("0123abcd").text[:40]
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import SchemaError
from .types import Article, ArticleInfo, Chunk, Span

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, url TEXT NOT NULL,
    published TEXT NOT NULL, published_ts INTEGER, authors TEXT NOT NULL, origin TEXT NOT NULL,
    origin_file TEXT NOT NULL, content_hash TEXT NOT NULL, text TEXT NOT NULL, ingested_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_origin ON articles(origin_file);
CREATE TABLE IF NOT EXISTS sentences (
    article_id TEXT NOT NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    PRIMARY KEY (article_id, idx)
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL, idx INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS pending (article_id TEXT PRIMARY KEY, started_at REAL NOT NULL);
"""


class ArticleStore:
    """Thread-safe access to the SQLite article store (WAL mode; one connection, one lock).

    Opening an existing store only reads it: readers never write, so any number of them can
    open it beside the one writer (see `ingest.locking`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=60)
        version = self._schema_version()
        if version is None:
            self._db.execute("PRAGMA journal_mode=WAL")
            with self.tx():
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            version = self._schema_version()
        if version != str(SCHEMA_VERSION):
            raise SchemaError(
                f"{self.path} has schema version {version}, this citewire reads version {SCHEMA_VERSION}; "
                "re-ingest into a new CITEWIRE_HOME"
            )
        self._db.execute("PRAGMA synchronous=NORMAL")

    def _schema_version(self) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:  # no meta table yet: a new store
            return None
        return str(row[0]) if row else None

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    @property
    def embed_model(self) -> str | None:
        """The embedder that built the store's vectors (None: no vectors written yet)."""
        return self.get_meta("embed_model")

    def state(self) -> tuple[int, frozenset[str]]:
        """(generation, ids marked pending) read together: what a reader checks once per question."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                gen = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
                pending = frozenset(r[0] for r in self._db.execute("SELECT article_id FROM pending"))
            finally:
                self._db.execute("COMMIT")
        return int(gen[0]) if gen else 0, pending

    # -- reads ----------------------------------------------------------------------------------
    def hashes(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT id, content_hash FROM articles").fetchall())

    def known(self) -> dict[str, tuple[str, str]]:
        """article id -> (content hash, origin file) of every stored article."""
        with self._lock:
            return {r[0]: (r[1], r[2]) for r in self._db.execute("SELECT id, content_hash, origin_file FROM articles")}

    def get(self, article_id: str, with_sentences: bool = True) -> Article | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, text, title, url, published, source, authors, origin, content_hash "
                "FROM articles WHERE id=?",
                (article_id,),
            ).fetchone()
            if row is None:
                return None
            sents = (
                [Span(s, e) for s, e in self._db.execute(
                    'SELECT start, "end" FROM sentences WHERE article_id=? ORDER BY idx', (article_id,))]
                if with_sentences else []
            )
        return Article(
            id=row[0], text=row[1], title=row[2], url=row[3], published=row[4], source=row[5],
            authors=tuple(json.loads(row[6])), origin=row[7], content_hash=row[8], sentences=sents,
        )

    def sources(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT source FROM articles WHERE source != '' ORDER BY source")
            return [r[0] for r in rows]

    def origin_files(self) -> dict[str, list[str]]:
        with self._lock:
            out: dict[str, list[str]] = {}
            for aid, f in self._db.execute("SELECT id, origin_file FROM articles"):
                out.setdefault(f, []).append(aid)
            return out

    def ids_by_origin(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT origin, id FROM articles"))

    def iter_chunks(self) -> Iterator[tuple[str, str, str, int | None, str]]:
        """(chunk_id, chunk_text, source, published_ts, article_id) for every chunk, in a stable order."""
        yield from self.chunk_snapshot()[1]

    def chunk_snapshot(self) -> tuple[int, list[tuple[str, str, str, int | None, str]]]:
        """(generation, every chunk as in `iter_chunks`) from one consistent read (for BM25)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                gen = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
                rows = self._db.execute(
                    'SELECT c.id, substr(a.text, c.start + 1, c."end" - c.start), a.source, a.published_ts, a.id '
                    "FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.article_id, c.idx"
                ).fetchall()
            finally:
                self._db.execute("COMMIT")
        return int(gen[0]) if gen else 0, rows

    def chunk_rows(self, chunk_ids: list[str]) -> dict[str, tuple[str, int, int]]:
        """chunk id -> (article_id, start, end) for the ids that exist."""
        out: dict[str, tuple[str, int, int]] = {}
        with self._lock:
            for i in range(0, len(chunk_ids), 500):
                part = chunk_ids[i:i + 500]
                q = ",".join("?" * len(part))
                sql = f'SELECT id, article_id, start, "end" FROM chunks WHERE id IN ({q})'
                for cid, aid, s, e in self._db.execute(sql, part):
                    out[cid] = (aid, s, e)
        return out

    def latest_published(self) -> str:
        with self._lock:
            row = self._db.execute("SELECT max(published) FROM articles WHERE published != ''").fetchone()
        return row[0] or ""

    def is_empty(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {t: int(self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                    for t in ("articles", "sentences", "chunks", "pending")}

    def pending(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT article_id FROM pending")]

    # -- writes ---------------------------------------------------------------------------------
    def mark_pending(self, article_ids: list[str]) -> None:
        now = time.time()
        with self.tx() as db:
            db.executemany("INSERT OR REPLACE INTO pending VALUES (?, ?)", [(a, now) for a in article_ids])

    def _delete_rows(self, db: sqlite3.Connection, article_id: str) -> None:
        for table, col in (("articles", "id"), ("sentences", "article_id"), ("chunks", "article_id")):
            db.execute(f"DELETE FROM {table} WHERE {col}=?", (article_id,))

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")

    def commit_articles(self, items: list[tuple[Article, str, list[Chunk]]], delete_ids: Sequence[str] = (),
                        embed_model: str | None = None) -> None:
        """Replace each (article, origin_file, chunks) atomically, delete `delete_ids` (older
        versions), clear the pending marks and record `embed_model` (the embedder of the vectors)."""
        now = time.time()
        with self.tx() as db:
            if embed_model:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('embed_model', ?)", (embed_model,))
            for aid in delete_ids:
                self._delete_rows(db, aid)
                db.execute("DELETE FROM pending WHERE article_id=?", (aid,))
            for art, origin_file, chunks in items:
                self._delete_rows(db, art.id)
                db.execute(
                    "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (art.id, art.title, art.source, art.url, art.published, art.published_ts,
                     json.dumps(list(art.authors)), art.origin, origin_file, art.content_hash, art.text, now),
                )
                db.executemany("INSERT INTO sentences VALUES (?,?,?,?)",
                               [(art.id, i, s.start, s.end) for i, s in enumerate(art.sentences)])
                db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?)",
                               [(c.id, c.article_id, c.idx, c.start, c.end) for c in chunks])
                db.execute("DELETE FROM pending WHERE article_id=?", (art.id,))
            self._bump(db)

    def delete_articles(self, article_ids: list[str]) -> None:
        with self.tx() as db:
            for aid in article_ids:
                self._delete_rows(db, aid)
                db.execute("DELETE FROM pending WHERE article_id=?", (aid,))
            self._bump(db)

    # last in the class: a method named `list` shadows the builtin in the annotations after it
    def list(self) -> list[ArticleInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT a.id, a.title, a.source, a.published, a.url, a.origin, length(a.text), "
                "(SELECT count(*) FROM chunks c WHERE c.article_id=a.id) FROM articles a "
                "ORDER BY a.published DESC, a.title"
            ).fetchall()
        return [ArticleInfo(*r) for r in rows]
