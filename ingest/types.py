"""Data types that flow through ingest: file -> RawArticle -> Article (+ sentences, chunks)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


@dataclass
class RawArticle:
    """An article as a reader produced it, before cleaning.

    Example:
        >>> RawArticle(text="Kyiv was attacked...", title="Kyiv attack", source="AP")
    """

    text: str
    title: str = ""
    url: str = ""
    published: str = ""  # ISO date (YYYY-MM-DD) or datetime; "" when unknown
    source: str = ""
    authors: tuple[str, ...] = ()
    origin: str = ""  # file path (or path#line) the article came from
    id: str | None = None  # explicit id; else derived from url, else content hash


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) into an article's stored text."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned piece of an article; `text == article.text[start:end]`.

    `token_ids` are its word pieces as chunking counted them (None: the embedder tokenises `text`)."""

    id: str
    article_id: str
    idx: int
    start: int
    end: int
    text: str
    token_ids: tuple[int, ...] | None = field(default=None, compare=False, repr=False)


@dataclass
class Article:
    """A cleaned, stored article. Offsets of sentences, chunks and citations point into `text`."""

    id: str
    text: str
    title: str = ""
    url: str = ""
    published: str = ""
    source: str = ""
    authors: tuple[str, ...] = ()
    origin: str = ""
    content_hash: str = ""
    sentences: list[Span] = field(default_factory=list)

    @property
    def published_ts(self) -> int | None:
        return iso_to_epoch(self.published)

    def to_dict(self, with_text: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "authors": list(self.authors),
            "origin": self.origin,
            "content_hash": self.content_hash,
        }
        if with_text:
            d["text"] = self.text
            d["sentences"] = [[s.start, s.end] for s in self.sentences]
        return d


@dataclass(frozen=True)
class ArticleInfo:
    """A row of the article listing (no text)."""

    id: str
    title: str
    source: str
    published: str
    url: str
    origin: str
    n_chars: int
    n_chunks: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_id_for(raw: RawArticle, cleaned_text: str) -> str:
    """Stable id: explicit id, else sha1(url)[:16], else sha1(text)[:16]."""
    if raw.id:
        return str(raw.id)
    basis = raw.url.strip() or cleaned_text
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def normalize_date(value: Any) -> str:
    """Best-effort ISO date (YYYY-MM-DD) from common news formats; "" when unknown.

    Numbers are Unix timestamps; one no calendar can hold (1e20, NaN) raises ValueError."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value!r} is not a valid Unix timestamp") from None
    if not isinstance(value, str):
        raise ValueError(f"expected a date string or a Unix timestamp, got {type(value).__name__}")
    s = value.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%d", "%d %B %Y", "%B %d, %Y"):
        try:
            return datetime.strptime(s, fmt).date().isoformat()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    if len(s) >= 10:
        head = s[:10].replace("/", "-")
        try:
            return date.fromisoformat(head).isoformat()
        except ValueError:
            return ""
    return ""


def iso_to_epoch(iso: str) -> int | None:
    if not iso:
        return None
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return None
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
