"""Library tab: list ingested articles, upload and ingest files, remove an article.

Uploads are copied from Gradio's temporary cache into ``settings.uploads_path`` before the engine
ingests them, each into a folder named after a short hash of its bytes:
``uploads/<content hash>/<readable name>``. So two people uploading different ``report.txt`` files
get two articles (neither replaces the other), the same bytes uploaded twice land on the same path
(re-ingest reports them unchanged), and the file keeps its readable name (the ingest reader takes a
title from it when the text has no headline). Names keep Unicode letters and digits; directories,
separators, control and format characters are dropped. Only the suffixes the ingest readers
support are accepted, up to ``ui.max_upload_mb`` each.

Example:
    >>> lib = LibraryController(engine, settings)
    >>> status, table, choices = lib.ingest_uploads(["/tmp/gradio/abc/new-article.txt"])
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from citewire.errors import CitewireError
from ingest.readers import supported_suffixes

from .chat import error_message
from .render import esc

log = logging.getLogger(__name__)

TABLE_HEADERS = ["Title", "Source", "Published", "Chunks", "ID"]
MAX_STEM_BYTES = 120  # UTF-8 bytes of the name's stem (file systems allow 255 per name)
HASH_CHARS = 12  # hex digits of the content hash naming the upload's folder


def allowed_suffixes() -> tuple[str, ...]:
    """The upload allow-list: the suffixes the ingest readers support (their reader table),
    longest first, so ``.jsonl.gz`` is matched before ``.gz``.

    Example:
        >>> allowed_suffixes()[:2]
        ('.ndjson.gz', '.jsonl.gz')
    """
    return tuple(sorted({s.lower() for s in supported_suffixes()}, key=lambda s: (-len(s), s)))


ALLOWED_EXTENSIONS = allowed_suffixes()


def picker_types(suffixes: Sequence[str] = ALLOWED_EXTENSIONS) -> list[str]:
    """``gr.File(file_types=...)``: the allowed suffixes plus the last part of compound ones
    (a browser's file picker matches ``.gz``, not ``.jsonl.gz``; staging then checks the full one).

    Example:
        >>> picker_types((".jsonl.gz", ".txt"))
        ['.gz', '.jsonl.gz', '.txt']
    """
    return sorted(set(suffixes) | {"." + s.rsplit(".", 1)[-1] for s in suffixes})


def split_suffix(name: str, suffixes: Sequence[str] = ALLOWED_EXTENSIONS) -> tuple[str, str]:
    """(stem, suffix) where suffix is the longest allowed one the name ends with (lowercased),
    else the name's last ``.ext`` (which the caller rejects).

    Example:
        >>> split_suffix("Data.JSONL.gz", (".jsonl.gz", ".gz", ".txt"))
        ('Data', '.jsonl.gz')
    """
    low = name.lower()
    for suf in suffixes:
        if low.endswith(suf) and len(name) > len(suf):
            return name[: -len(suf)], suf
    stem, dot, ext = name.rpartition(".")
    return (stem, "." + ext.lower()) if dot and stem else (name, "")


def _keep(ch: str) -> bool:
    """Letters, digits and combining marks of any script (so Devanagari or Thai names survive),
    plus ``.``, ``-`` and ``_``."""
    return ch in "._-" or unicodedata.category(ch)[0] in "LMN"


def _clip_utf8(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", errors="ignore")


def sanitize_filename(name: str) -> str:
    """A safe, readable base name for an uploaded file: no directories, Unicode letters and
    digits kept, anything else (spaces, punctuation, separators, control and bidi characters)
    turned into ``_``; the suffix lowercased; the stem at most 120 UTF-8 bytes.

    Example:
        >>> sanitize_filename("../../etc/Прогноз погоды.TXT")
        'Прогноз_погоды.txt'
    """
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem, suffix = split_suffix(base)
    stem = "".join(ch if _keep(ch) else "_" for ch in stem)
    stem = re.sub(r"_+", "_", stem).strip("._-")
    stem = _clip_utf8(stem, MAX_STEM_BYTES).rstrip("._-") or "upload"
    suffix = re.sub(r"[^a-z0-9.]+", "", suffix.lower())[:16].rstrip(".")
    return f"{stem}{suffix}" if suffix.strip(".") else stem


def content_hash(path: Path) -> str:
    """Short hex SHA-256 of a file's bytes (names the folder an upload is staged in).

    Example:
        >>> content_hash(Path("report.txt"))
        '3f2a9c0d1e2b'
    """
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:HASH_CHARS]


def stage_uploads(
    files: Iterable[str | Path], uploads_dir: Path, max_bytes: int
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Copy uploaded temp files to ``uploads_dir/<content hash>/<safe name>``; returns (staged
    paths, rejected (name, why)).

    A file with a disallowed suffix, over `max_bytes`, or unreadable is rejected. Different
    contents never share a path (no upload replaces another's article); identical bytes under
    the same name map to the same path and are not copied again. The copy is written to a
    temporary file and renamed, so a concurrent upload of the same file never sees half of it.

    Example:
        >>> stage_uploads(["/tmp/x/notes.txt"], settings.uploads_path, 50 * 2**20)
        ([PosixPath('.../uploads/3f2a9c0d1e2b/notes.txt')], [])
    """
    uploads_dir.mkdir(parents=True, exist_ok=True)
    root = uploads_dir.resolve()
    staged: list[Path] = []
    rejected: list[tuple[str, str]] = []
    for f in files:
        src = Path(f)
        safe = sanitize_filename(src.name)
        if not safe.lower().endswith(ALLOWED_EXTENSIONS):
            rejected.append((safe, f"unsupported file type (allowed: {', '.join(sorted(ALLOWED_EXTENSIONS))})"))
            continue
        try:
            size = src.stat().st_size
            if size > max_bytes:
                rejected.append((safe, f"too large ({size / 2**20:.1f} MB > {max_bytes / 2**20:.0f} MB)"))
                continue
            folder = root / content_hash(src)
            dest = folder / safe
            if dest.parent.parent != root:  # defence in depth: sanitize_filename never yields a separator
                rejected.append((safe, "invalid file name"))
                continue
            if not (dest.is_file() and dest.stat().st_size == size):
                folder.mkdir(exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".staging-")
                try:
                    with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
                        shutil.copyfileobj(inp, out)
                    os.replace(tmp, dest)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
        except OSError as e:
            rejected.append((safe, f"unreadable upload: {e.strerror or e}"))
            continue
        log.info("staged upload %s -> %s (%d bytes)", src.name, dest, size)
        staged.append(dest)
    return staged, rejected


def _describe(items: Sequence[tuple[str, str]]) -> str:
    return "".join(f"\n- `{sanitize_filename(Path(str(name)).name)}`: {esc(reason)}" for name, reason in items)


class LibraryController:
    """Gradio handlers for the Library tab.

    Example:
        >>> lib = LibraryController(engine, settings)
        >>> lib.table()[0]
        ['Russian drones and missiles batter Kyiv ...', 'Associated Press', '', 7, '3f2a...']
    """

    def __init__(self, engine: Any, settings: Any) -> None:
        self.engine = engine
        self.settings = settings

    def table(self) -> list[list[Any]]:
        """Rows (title, source, published, chunks, id) of every ingested article.

        Example:
            >>> [row[0] for row in lib.table()]
        """
        try:
            infos = self.engine.articles()
        except CitewireError as e:
            log.warning("could not list articles: %s", e)
            return []
        rows = [[a.title or "(untitled)", a.source, a.published, a.n_chunks, a.id] for a in infos]
        return sorted(rows, key=lambda r: (str(r[2]), str(r[0])), reverse=True)

    def choices(self) -> list[tuple[str, str]]:
        """(label, article id) pairs for the 'remove' dropdown.

        Example:
            >>> lib.choices()[0][1]       # an article id
        """
        return [(f"{r[0]} — {r[1] or 'unknown source'} ({r[4]})", str(r[4])) for r in self.table()]

    def refresh(self) -> tuple[Any, Any]:
        """Fresh table and remove-dropdown choices.

        Example:
            >>> table_update, dropdown_update = lib.refresh()
        """
        return gr.update(value=self.table()), gr.update(choices=self.choices(), value=None)

    def ingest_uploads(self, files: Sequence[str] | None,
                       progress: Callable[..., Any] | None = None) -> tuple[str, Any, Any]:
        """Stage the uploaded files and ingest them, reporting progress; returns (status
        markdown, table update, remove-dropdown update).

        Example:
            >>> status, _, _ = lib.ingest_uploads(["/tmp/gradio/x/article.txt"])
            >>> status.splitlines()[0]
            '**Ingested:** added 1, updated 0, ...'
        """
        files = [f for f in (files or []) if f]
        if not files:
            gr.Warning("Choose one or more files to upload first.")
            return "Nothing to ingest: choose files first.", *self.refresh()
        max_bytes = int(self.settings.ui.max_upload_mb) * 2**20
        staged, rejected = stage_uploads(files, self.settings.uploads_path, max_bytes)
        lines: list[str] = []
        if staged:
            if progress is not None:
                progress(0.0, desc=f"Ingesting {len(staged)} file(s)")

            def report_progress(done: int, total: int, name: str) -> None:
                if progress is not None and total:
                    progress((done, total), desc=f"Ingesting {name}", unit="files")

            try:
                report = self.engine.ingest(staged, progress=report_progress)
            except Exception as e:
                if isinstance(e, CitewireError):
                    log.warning("ingest of uploads failed: %s", e)
                else:
                    log.exception("ingest of uploads failed")
                msg = error_message(e, self.settings)
                gr.Warning(f"Ingest failed: {msg}")
                return f"**Ingest failed:** {esc(msg)}", *self.refresh()
            lines.append(f"**Ingested:** {report.summary()}")
            problems = list(report.skipped) + list(report.failed)
            if problems:
                lines.append("**Not ingested:**" + _describe(problems))
                gr.Warning(f"{len(problems)} file(s) could not be ingested; see the Library tab.")
        if rejected:
            lines.append("**Rejected uploads:**" + _describe(rejected))
            gr.Warning(f"{len(rejected)} upload(s) rejected: " + "; ".join(f"{n}: {r}" for n, r in rejected))
        return "\n\n".join(lines), *self.refresh()

    def remove(self, article_id: str | None) -> tuple[str, Any, Any]:
        """Remove one article from every store; returns (status, table update, dropdown update).

        Example:
            >>> lib.remove("3f2a9c0d1e2b4a5c")[0]
            'Removed article `3f2a9c0d1e2b4a5c`.'
        """
        if not article_id:
            gr.Warning("Choose an article to remove.")
            return "Choose an article to remove first.", *self.refresh()
        try:
            removed = self.engine.remove_article(article_id)
        except CitewireError as e:
            log.warning("remove %s failed: %s", article_id, e)
            gr.Warning(f"Could not remove the article: {e}")
            return f"Could not remove `{article_id}`: {e}", *self.refresh()
        msg = f"Removed article `{article_id}`." if removed else f"No article `{article_id}` (already removed?)."
        if not removed:
            gr.Warning(msg)
        return msg, *self.refresh()
