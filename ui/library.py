"""Library tab: list ingested articles, upload and ingest files, remove an article.

Uploads are copied from Gradio's temporary cache into ``settings.uploads_path`` under sanitised
names (no directories, no path traversal, allowed extensions only, size-limited) before the engine
ingests them.

Example:
    >>> lib = LibraryController(engine, settings)
    >>> status, table, choices = lib.ingest_uploads(["/tmp/gradio/abc/new-article.txt"])
"""

from __future__ import annotations

import logging
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import CitewireError

from .render import esc

log = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".pdf")
TABLE_HEADERS = ["Title", "Source", "Published", "Chunks", "ID"]
MAX_NAME_CHARS = 100


def sanitize_filename(name: str) -> str:
    """A safe base name for an uploaded file: no directories, only ``[A-Za-z0-9._-]``.

    Example:
        >>> sanitize_filename("../../etc/pass wd.TXT")
        'pass_wd.txt'
    """
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:MAX_NAME_CHARS] or "upload"
    ext = re.sub(r"[^a-z0-9]+", "", ext.lower())[:10]
    return f"{stem}.{ext}" if ext else stem


def stage_uploads(
    files: Iterable[str | Path], uploads_dir: Path, max_bytes: int
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Copy uploaded temp files into `uploads_dir`; returns (staged paths, rejected (name, why)).

    A file with a disallowed extension, over `max_bytes`, or unreadable is rejected. A file with
    the same sanitised name replaces the earlier upload (re-ingest then reports it as updated).

    Example:
        >>> stage_uploads(["/tmp/x/notes.txt"], settings.uploads_path, 50 * 2**20)
        ([PosixPath('.../uploads/notes.txt')], [])
    """
    uploads_dir.mkdir(parents=True, exist_ok=True)
    root = uploads_dir.resolve()
    staged: list[Path] = []
    rejected: list[tuple[str, str]] = []
    for f in files:
        src = Path(f)
        safe = sanitize_filename(src.name)
        if not safe.lower().endswith(ALLOWED_EXTENSIONS):
            rejected.append((safe, f"unsupported file type (allowed: {', '.join(ALLOWED_EXTENSIONS)})"))
            continue
        try:
            size = src.stat().st_size
        except OSError as e:
            rejected.append((safe, f"unreadable upload: {e.strerror or e}"))
            continue
        if size > max_bytes:
            rejected.append((safe, f"too large ({size / 2**20:.1f} MB > {max_bytes / 2**20:.0f} MB)"))
            continue
        dest = (root / safe).resolve()
        if dest.parent != root:  # defence in depth: sanitize_filename never yields a separator
            rejected.append((safe, "invalid file name"))
            continue
        shutil.copyfile(src, dest)
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
            except Exception as e:  # noqa: BLE001 - a bad upload must not take the page down
                log.exception("ingest of uploads failed")
                gr.Warning(f"Ingest failed: {e}")
                return f"**Ingest failed:** {e}", *self.refresh()
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
