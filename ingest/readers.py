"""Readers: turn files into `RawArticle`s.

Use `read_path` for one file; `discover` walks folders. Each reader raises `ReadError` with a
specific reason (binary, empty, bad encoding, too large, malformed line); the pipeline reports it
and moves on. JSON readers yield one article per object and report bad lines individually.

Example:
    >>> for item in read_path(Path("news.jsonl")):
    ...     if isinstance(item, ReadError): print(item)
    ...     else: print(item.title)
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .types import RawArticle, normalize_date

log = logging.getLogger(__name__)

TEXT_EXT = {".txt", ".md", ".markdown"}
HTML_EXT = {".html", ".htm"}
JSON_EXT = {".json", ".jsonl", ".ndjson"}
SUPPORTED = TEXT_EXT | HTML_EXT | JSON_EXT | {".pdf", ".gz"}


class ReadError(Exception):
    """A file (or one record of it) that could not be read; `str()` names file and reason."""

    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(f"{origin}: {reason}")
        self.origin = origin
        self.reason = reason


@dataclass
class FieldMap:
    """Which JSON keys hold which article field (first present key wins).

    The defaults load RealTimeQA (`publish_date`, `authors`) and most news dumps as they are.
    """

    text: list[str] = field(default_factory=lambda: ["text", "content", "body", "article"])
    title: list[str] = field(default_factory=lambda: ["title", "headline"])
    url: list[str] = field(default_factory=lambda: ["url", "link"])
    published: list[str] = field(default_factory=lambda: ["published", "publish_date", "date", "published_at"])
    source: list[str] = field(default_factory=lambda: ["source", "site", "publisher"])
    authors: list[str] = field(default_factory=lambda: ["authors", "author", "byline"])
    id: list[str] = field(default_factory=lambda: ["id"])

    @classmethod
    def parse(cls, spec: str | None) -> FieldMap:
        """Parse ``"text=body,published=pubDate"`` into a FieldMap (given keys take priority)."""
        fm = cls()
        if not spec:
            return fm
        for part in spec.split(","):
            if "=" not in part:
                raise ValueError(f"bad field mapping {part!r}: expected FIELD=KEY")
            name, key = (x.strip() for x in part.split("=", 1))
            if not hasattr(fm, name):
                raise ValueError(f"unknown field {name!r}: valid are {', '.join(fm.__dataclass_fields__)}")
            getattr(fm, name).insert(0, key)
        return fm


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under `paths` (recursively, sorted), skipping hidden files."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts):
                    yield f
        else:
            yield p


def read_path(path: Path, max_bytes: int = 20 * 2**20, fields: FieldMap | None = None) -> Iterator[RawArticle | ReadError]:
    """Yield the articles in `path`, or `ReadError`s for what could not be read."""
    origin = str(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        yield ReadError(origin, f"cannot read file ({e.strerror or e})")
        return
    if size == 0:
        yield ReadError(origin, "empty file")
        return
    if size > max_bytes:
        yield ReadError(origin, f"file too large ({size / 2**20:.1f} MB > {max_bytes / 2**20:.0f} MB limit)")
        return
    name = path.name.lower()
    suffix = path.suffix.lower()
    try:
        if name.endswith((".jsonl.gz", ".json.gz", ".ndjson.gz")):
            with gzip.open(path, "rb") as fh:
                yield from _read_json_bytes(fh.read(), origin, fields or FieldMap(), lines=True)
        elif suffix in JSON_EXT:
            yield from _read_json_bytes(path.read_bytes(), origin, fields or FieldMap(), lines=suffix != ".json")
        elif suffix in TEXT_EXT:
            yield _read_text(_decode(path.read_bytes(), origin), origin)
        elif suffix in HTML_EXT:
            yield _read_html(_decode(path.read_bytes(), origin), origin)
        elif suffix == ".pdf":
            yield _read_pdf(path, origin)
        else:
            yield ReadError(origin, f"unsupported file type {suffix or '(none)'!r} (supported: {', '.join(sorted(SUPPORTED))})")
    except ReadError as e:
        yield e
    except (OSError, gzip.BadGzipFile, EOFError) as e:
        yield ReadError(origin, f"cannot read file ({e})")


def _decode(data: bytes, origin: str) -> str:
    if b"\x00" in data[:8192]:
        raise ReadError(origin, "binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ReadError(origin, f"not valid UTF-8 text (byte {e.start})") from None


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _read_text(text: str, origin: str) -> RawArticle:
    """`.txt`/`.md`: YAML-ish front matter (key: value) or the first line as title."""
    meta: dict[str, str] = {}
    m = _FRONT.match(text)
    if m:
        for line in m.group(1).splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                meta[k.strip().lower()] = v.strip().strip("\"'")
        text = text[m.end():]
    title = meta.get("title", "")
    if not title:
        lines = text.lstrip().splitlines()
        first = lines[0].strip() if lines else ""
        # A short first line without final punctuation is a headline; otherwise the text has none.
        if first and len(first) <= 200 and not first.endswith((".", "!", "?", "”", '"')) and len(lines) > 1:
            title = first.lstrip("# ").strip()
            text = text.lstrip()[len(lines[0]):]
        else:
            title = Path(origin).stem.replace("_", " ").replace("-", " ")
    if not text.strip():
        raise ReadError(origin, "no article text")
    authors = tuple(a.strip() for a in meta.get("authors", meta.get("author", "")).split(",") if a.strip())
    return RawArticle(
        text=text, title=title, url=meta.get("url", ""), published=normalize_date(meta.get("published") or meta.get("date")),
        source=meta.get("source", ""), authors=authors, origin=origin,
    )


def _read_html(html: str, origin: str) -> RawArticle:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False)
    if doc is None:
        raise ReadError(origin, "no article text found in HTML")
    d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = d.get("text") or ""
    if not text.strip():
        raise ReadError(origin, "no article text found in HTML")
    authors = tuple(a.strip() for a in (d.get("author") or "").split(";") if a.strip())
    return RawArticle(
        text=text, title=d.get("title") or Path(origin).stem, url=d.get("url") or "",
        published=normalize_date(d.get("date")), source=d.get("sitename") or d.get("hostname") or "",
        authors=authors, origin=origin,
    )


def _read_pdf(path: Path, origin: str) -> RawArticle:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        meta = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError) as e:
        raise ReadError(origin, f"unreadable PDF ({e})") from None
    if not text.strip():
        raise ReadError(origin, "PDF has no extractable text")
    title = str(meta.get("/Title") or path.stem)
    return RawArticle(text=text, title=title, origin=origin, authors=tuple(filter(None, [str(meta.get("/Author") or "")])))


def _first(obj: dict[str, Any], keys: list[str]) -> Any:
    for k in keys:
        if k in obj and obj[k] not in (None, ""):
            return obj[k]
    return None


def record_to_article(obj: Any, origin: str, fields: FieldMap | None = None) -> RawArticle:
    """One JSON object -> RawArticle, or ReadError naming what is missing."""
    fields = fields or FieldMap()
    if not isinstance(obj, dict):
        raise ReadError(origin, f"expected a JSON object, got {type(obj).__name__}")
    text = _first(obj, fields.text)
    if not isinstance(text, str) or not text.strip():
        raise ReadError(origin, f"no text field (looked for {', '.join(fields.text)})")
    authors = _first(obj, fields.authors) or ()
    if isinstance(authors, str):
        authors = [a.strip() for a in authors.split(",")]
    rid = _first(obj, fields.id)
    return RawArticle(
        text=text, title=str(_first(obj, fields.title) or ""), url=str(_first(obj, fields.url) or ""),
        published=normalize_date(_first(obj, fields.published)), source=str(_first(obj, fields.source) or ""),
        authors=tuple(str(a) for a in authors if a), origin=origin, id=str(rid) if rid is not None else None,
    )


def _read_json_bytes(data: bytes, origin: str, fields: FieldMap, lines: bool) -> Iterator[RawArticle | ReadError]:
    text = _decode(data, origin)
    if not lines:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise ReadError(origin, f"malformed JSON ({e.msg} at line {e.lineno})") from None
        items = obj if isinstance(obj, list) else [obj]
        for i, item in enumerate(items):
            try:
                yield record_to_article(item, f"{origin}#{i}", fields)
            except ReadError as e:
                yield e
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{origin}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield ReadError(where, f"malformed JSON line ({e.msg})")
            continue
        try:
            yield record_to_article(obj, where, fields)
        except ReadError as e:
            yield e
