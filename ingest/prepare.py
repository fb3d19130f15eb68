"""One record -> a prepared article (cleaned text and metadata, id, sentences, chunks), or the
reason it is not ingested (unchanged, a duplicate, another origin's article, nothing left).

`Preparer` holds what decides it for one run: the stored articles' hashes and origin files, the
ids seen so far, and whether the user asked to replace articles from other origins.

Example:
    >>> prep = Preparer(embedder, max_tokens=200, overlap=1, known=store.known(), by_origin=store.ids_by_origin())
    >>> outcome = prep.prepare(raw)
    >>> outcome.prepared.chunks if outcome.prepared else outcome.skip
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .chunking import WordPieces, chunk_article
from .clean import clean_meta, clean_text
from .sentences import split_sentences
from .types import Article, Chunk, RawArticle, article_id_for, content_hash


@dataclass
class Prepared:
    """An article ready to write: its rows, its chunks, and what it replaces."""

    article: Article
    origin_file: str
    chunks: list[Chunk]
    is_update: bool
    replaces: str | None = None  # an older version of the same file, stored under another id


@dataclass
class Outcome:
    """Exactly one of: `prepared`, `unchanged` (an id), `skip` (a reason)."""

    prepared: Prepared | None = None
    unchanged: str | None = None
    skip: str | None = None


def origin_file(origin: str) -> str:
    """The file part of an origin: ``a.json#3`` -> ``a.json``, ``a.jsonl:7`` -> ``a.jsonl``."""
    f = origin.split("#", 1)[0]
    if ":" in Path(f).name:
        f = f.rsplit(":", 1)[0]
    return f


@dataclass
class Preparer:
    """Decides and prepares each record of one ingest run (see the module docstring)."""

    pieces: WordPieces
    max_tokens: int
    overlap: int
    known: dict[str, tuple[str, str]]  # id -> (content hash, origin file)
    by_origin: dict[str, str]  # whole-file origin -> id
    replace: bool = False
    seen: set[str] = field(default_factory=set)

    def prepare(self, raw: RawArticle) -> Outcome:
        text = clean_text(raw.text)
        if not text:
            return Outcome(skip="no text left after cleaning")
        aid = article_id_for(raw, text)
        title = clean_meta(raw.title) or clean_meta(text.split("\n", 1)[0][:120])
        source, url = clean_meta(raw.source), clean_meta(raw.url)
        authors = tuple(a for a in (clean_meta(x) for x in raw.authors) if a)
        h = content_hash("\x1f".join([title, source, url, raw.published, text]))
        if aid in self.seen:
            return Outcome(skip=f"duplicate of article {aid} in this run")
        self.seen.add(aid)
        of = origin_file(raw.origin)
        stored = self.known.get(aid)
        if stored is not None and stored[0] == h:
            return Outcome(unchanged=aid)
        if stored is not None and stored[1] != of and not self.replace:
            return Outcome(skip=f"article {aid} was ingested from {stored[1] or 'another source'}: "
                                "not replaced by this record (use --replace, or replace=True, to replace it)")
        # A whole-file article whose content (and so its hash id) changed replaces the old version.
        old = self.by_origin.get(raw.origin) if raw.origin and "#" not in raw.origin else None
        replaces = old if old and old != aid and old not in self.seen else None
        sents = split_sentences(text)
        chunks = chunk_article(aid, text, sents, self.pieces, max_tokens=self.max_tokens, overlap=self.overlap)
        art = Article(id=aid, text=text, title=title, url=url, published=raw.published, source=source,
                      authors=authors, origin=raw.origin, content_hash=h, sentences=sents)
        return Outcome(prepared=Prepared(art, of, chunks, is_update=stored is not None or replaces is not None,
                                         replaces=replaces))
