"""The errors ingest raises: each says what went wrong and what to do, and all derive from
`citewire.errors.CitewireError`, so the CLI prints them as one line and the UI shows them as they are.

Use `ReadError` for one unreadable file or record (the pipeline reports it and goes on); the
others stop the operation they occur in and leave the stores consistent.

Example:
    >>> from ingest.errors import ReadError
    >>> str(ReadError("news.jsonl:7", "malformed JSON line (Expecting value)"))
    'news.jsonl:7: malformed JSON line (Expecting value)'
"""

from __future__ import annotations

from citewire.errors import CitewireError

__all__ = ["ChromaUnavailableError", "CitewireError", "EmbedderLoadError", "EmbedderMismatchError", "ReadError",
           "SchemaError", "StoreBusyError"]


class ReadError(CitewireError):
    """A file (or one record of it) that could not be read; `str()` names file (and line) and reason."""

    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(f"{origin}: {reason}")
        self.origin = origin
        self.reason = reason


class SchemaError(CitewireError):
    """The store on disk was written by an incompatible version of citewire."""


class ChromaUnavailableError(CitewireError):
    """The configured Chroma server could not be reached (or went away mid-operation)."""


class StoreBusyError(CitewireError):
    """Another process (or thread) holds the store's writer lock longer than we could wait."""


class EmbedderLoadError(CitewireError):
    """The configured embedding model could not be loaded (missing, or not reachable offline)."""


class EmbedderMismatchError(CitewireError):
    """The store's vectors were built by another embedding model than the configured one."""
