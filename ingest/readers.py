"""Readers: turn files into `RawArticle`s, one reader per file suffix.

Use `read_path` for one file (it picks the reader from the table `_READERS`; `supported_suffixes()`
lists what it reads, for upload allow-lists and help texts); `discover` walks folders. A reader
yields articles and `ReadError`s: one unreadable file, line or record is reported with its place
(``file``, ``file:line`` or ``file#index``) and the reason, and the rest is read. Whatever goes wrong
inside one record (a wrong type, a date no calendar holds, a broken escape) is that record's
error, never the file's.

JSON Lines files (``.jsonl``, ``.ndjson``, and their ``.gz``) are streamed line by line and their
*decompressed* size is capped at `max_bytes` (a small .gz can expand a thousandfold): what was read
before the cap is kept and the stop is reported.

Example:
    >>> for item in read_path(Path("news.jsonl")):
    ...     if isinstance(item, ReadError): print(item)
    ...     else: print(item.title)
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .errors import ReadError
from .types import RawArticle, normalize_date

log = logging.getLogger(__name__)

__all__ = ["FieldMap", "ReadError", "ReadOptions", "discover", "read_path", "record_to_article", "supported_suffixes"]


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


@dataclass(frozen=True)
class ReadOptions:
    """How to read: the size cap (bytes on disk, and decompressed) and the JSON field names."""

    max_bytes: int = 20 * 2**20
    fields: FieldMap = field(default_factory=FieldMap)


Item = RawArticle | ReadError
Reader = Callable[[Path, str, ReadOptions], Iterator[Item]]


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


def read_path(path: Path, max_bytes: int = 20 * 2**20, fields: FieldMap | None = None) -> Iterator[Item]:
    """Yield the articles in `path`, and `ReadError`s for what could not be read."""
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
        yield ReadError(origin, f"file too large ({size / 2**20:.1f} MB > {_mb(max_bytes)} MB limit)")
        return
    found = reader_for(path)
    if found is None:
        yield ReadError(origin, f"unsupported file type {path.suffix.lower() or '(none)'!r} "
                                f"(supported: {', '.join(supported_suffixes())})")
        return
    try:
        yield from found(path, origin, ReadOptions(max_bytes=max_bytes, fields=fields or FieldMap()))
    except ReadError as e:
        yield e
    except (OSError, EOFError, zlib.error) as e:
        yield ReadError(origin, f"cannot read file ({e})")
    except Exception as e:  # a parser's bug or an input it chokes on: this file's error, not the run's
        log.debug("reader failed on %s", origin, exc_info=True)
        yield ReadError(origin, f"unreadable file ({type(e).__name__}: {e})")


def _mb(n: int) -> str:
    return f"{n / 2**20:g}"


# -- plain files ----------------------------------------------------------------------------------
class _Binary(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


def _read_capped(fh: _Binary, origin: str, max_bytes: int) -> bytes:
    data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ReadError(origin, f"decompressed size exceeds the {_mb(max_bytes)} MB limit")
    return data


def _decode(data: bytes, origin: str) -> str:
    if b"\x00" in data[:8192]:
        raise ReadError(origin, "binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ReadError(origin, f"not valid UTF-8 text (byte {e.start})") from None


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _text_file(path: Path, origin: str, opts: ReadOptions) -> Iterator[Item]:
    yield _parse_text(_decode(path.read_bytes(), origin), origin)


def _parse_text(text: str, origin: str) -> RawArticle:
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
    try:
        published = normalize_date(meta.get("published") or meta.get("date"))
    except ValueError as e:
        raise ReadError(origin, f"front matter 'published': {e}") from None
    return RawArticle(text=text, title=title, url=meta.get("url", ""), published=published,
                      source=meta.get("source", ""), authors=authors, origin=origin)


def _html_file(path: Path, origin: str, opts: ReadOptions) -> Iterator[Item]:
    import trafilatura

    html = _decode(path.read_bytes(), origin)
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False)
    if doc is None:
        raise ReadError(origin, "no article text found in HTML")
    d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = d.get("text") or ""
    if not text.strip():
        raise ReadError(origin, "no article text found in HTML")
    authors = tuple(a.strip() for a in (d.get("author") or "").split(";") if a.strip())
    try:
        published = normalize_date(d.get("date"))
    except ValueError:
        published = ""
    yield RawArticle(text=text, title=d.get("title") or Path(origin).stem, url=d.get("url") or "",
                     published=published, source=d.get("sitename") or d.get("hostname") or "",
                     authors=authors, origin=origin)


def _pdf_file(path: Path, origin: str, opts: ReadOptions) -> Iterator[Item]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        meta: Any = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError) as e:
        raise ReadError(origin, f"unreadable PDF ({e})") from None
    if not text.strip():
        raise ReadError(origin, "PDF has no extractable text")
    title = str(meta.get("/Title") or path.stem)
    author = str(meta.get("/Author") or "")
    yield RawArticle(text=text, title=title, origin=origin, authors=(author,) if author else ())


# -- JSON -----------------------------------------------------------------------------------------
def _first(obj: dict[str, Any], keys: list[str]) -> tuple[str, Any]:
    for k in keys:
        if k in obj and obj[k] not in (None, ""):
            return k, obj[k]
    return "", None


_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins valid pairs, so any left is lone


def _valid_unicode(s: str) -> str:
    """`s` with lone surrogates (from "\\ud800"-style JSON escapes) replaced by U+FFFD: SQLite and
    hashing need encodable text."""
    if s.isascii():
        return s
    return _SURROGATE.sub("\ufffd", s)


def _as_str(value: Any, key: str, origin: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _valid_unicode(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    raise ReadError(origin, f"field {key!r} must be a string, got {type(value).__name__}")


def record_to_article(obj: Any, origin: str, fields: FieldMap | None = None) -> RawArticle:
    """One JSON object -> RawArticle; a `ReadError` naming the field that is missing or malformed."""
    fields = fields or FieldMap()
    if not isinstance(obj, dict):
        raise ReadError(origin, f"expected a JSON object, got {type(obj).__name__}")
    tkey, text = _first(obj, fields.text)
    if text is None:
        raise ReadError(origin, f"no text field (looked for {', '.join(fields.text)})")
    if not isinstance(text, str):
        raise ReadError(origin, f"field {tkey!r} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ReadError(origin, f"field {tkey!r} is blank")
    akey, authors = _first(obj, fields.authors)
    if authors is None:
        authors = []
    elif isinstance(authors, str):
        authors = authors.split(",")
    elif not (isinstance(authors, list) and all(isinstance(a, str) for a in authors)):
        raise ReadError(origin, f"field {akey!r} must be a string or a list of strings, got {_describe(authors)}")
    pkey, published = _first(obj, fields.published)
    try:
        date = normalize_date(published)
    except ValueError as e:
        raise ReadError(origin, f"field {pkey!r}: {e}") from None
    ikey, rid = _first(obj, fields.id)
    return RawArticle(
        text=_valid_unicode(text),
        title=_as_str(_first(obj, fields.title)[1], "title", origin),
        url=_as_str(_first(obj, fields.url)[1], "url", origin),
        published=date,
        source=_as_str(_first(obj, fields.source)[1], "source", origin),
        authors=tuple(_valid_unicode(a.strip()) for a in authors if a.strip()),
        origin=origin,
        id=_as_str(rid, ikey, origin) or None,
    )


def _describe(value: Any) -> str:
    if isinstance(value, list):
        kinds = sorted({type(v).__name__ for v in value if not isinstance(v, str)})
        return f"a list holding {', '.join(kinds)}"
    return type(value).__name__


def _record(obj: Any, where: str, fields: FieldMap) -> Item:
    """One record, isolated: whatever goes wrong in it is its own `ReadError`."""
    try:
        return record_to_article(obj, where, fields)
    except ReadError as e:
        return e
    except Exception as e:  # an input no check foresaw: report it with its place, keep reading
        log.debug("record %s failed", where, exc_info=True)
        return ReadError(where, f"bad record ({type(e).__name__}: {e})")


def _loads(data: str | bytes) -> Any:
    """json.loads with every way it can fail as ValueError (a 5000-digit number, 10^5 nested lists)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as e:
        if "digits" in str(e) and not isinstance(e, json.JSONDecodeError):
            raise ValueError("holds a number too long to read (over 4,300 digits)") from None
        raise


def _json_items(data: bytes, origin: str, fields: FieldMap) -> Iterator[Item]:
    try:
        obj = _loads(_decode(data, origin))
    except json.JSONDecodeError as e:
        raise ReadError(origin, f"malformed JSON ({e.msg} at line {e.lineno})") from None
    except ValueError as e:
        raise ReadError(origin, f"malformed JSON ({e})") from None
    items = obj if isinstance(obj, list) else [obj]
    for i, item in enumerate(items):
        yield _record(item, f"{origin}#{i}", fields)


def _json_file(path: Path, origin: str, opts: ReadOptions) -> Iterator[Item]:
    with path.open("rb") as fh:
        data = _read_capped(fh, origin, opts.max_bytes)
    yield from _json_items(data, origin, opts.fields)


def _json_gz_file(path: Path, origin: str, opts: ReadOptions) -> Iterator[Item]:
    with gzip.open(path, "rb") as fh:
        data = _read_capped(fh, origin, opts.max_bytes)
    yield from _json_items(data, origin, opts.fields)


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile reads bytes like any IO[bytes]
    return path.open("rb")


def _jsonl_file(path: Path, origin: str, opts: ReadOptions) -> Iterator[Item]:
    """JSON Lines, streamed: one line in memory at a time, at most `max_bytes` decompressed."""
    total = lineno = records = 0
    with _open_binary(path) as fh:
        while True:
            try:
                raw = fh.readline(opts.max_bytes - total + 1)
            except (OSError, EOFError, zlib.error) as e:
                yield ReadError(origin, f"cannot read past line {lineno} ({e}); "
                                        f"the {records} record(s) before it were read")
                return
            if not raw:
                return
            total += len(raw)
            lineno += 1
            if total > opts.max_bytes:
                yield ReadError(origin, f"decompressed size exceeds the {_mb(opts.max_bytes)} MB limit "
                                        f"at line {lineno}: "
                                        f"stopped there, the {records} record(s) before it were read "
                                        "(raise max_file_mb to read the whole file)")
                return
            if not raw.strip():
                continue
            where = f"{origin}:{lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                yield ReadError(where, f"not valid UTF-8 (byte {e.start} of the line)")
                continue
            try:
                obj = _loads(line)
            except json.JSONDecodeError as e:
                yield ReadError(where, f"malformed JSON line ({e.msg})")
                continue
            except ValueError as e:
                yield ReadError(where, f"malformed JSON line ({e})")
                continue
            item = _record(obj, where, opts.fields)
            records += not isinstance(item, ReadError)
            yield item


# -- the table ------------------------------------------------------------------------------------
_READERS: dict[str, Reader] = {
    ".txt": _text_file, ".md": _text_file, ".markdown": _text_file,
    ".html": _html_file, ".htm": _html_file,
    ".json": _json_file, ".json.gz": _json_gz_file,
    ".jsonl": _jsonl_file, ".ndjson": _jsonl_file, ".jsonl.gz": _jsonl_file, ".ndjson.gz": _jsonl_file,
    ".pdf": _pdf_file,
}


def supported_suffixes() -> tuple[str, ...]:
    """Every file suffix `read_path` reads, e.g. ``(".htm", ".html", ".json", ".json.gz", ...)``."""
    return tuple(sorted(_READERS))


def reader_for(path: Path) -> Reader | None:
    """The reader for `path`'s suffix (the longest one that matches, so ``.jsonl.gz`` beats ``.gz``)."""
    name = path.name.lower()
    best = max((s for s in _READERS if name.endswith(s) and len(name) > len(s)), key=len, default=None)
    return _READERS[best] if best else None
