"""The one base class of every error a user can act on, shared by `ingest/`, `rag/`, `ui/` and the CLI.

Every expected failure (a bad file, an unreachable server, an empty store, a bad question) is a
`CitewireError` subclass whose message says what went wrong and what to do; the CLI prints it as
one line and the UI shows it as it is. Anything else is a bug and keeps its traceback.

Example:
    >>> from citewire.errors import CitewireError
    >>> try:
    ...     raise CitewireError("no articles ingested yet: run `citewire ingest` first")
    ... except CitewireError as e:
    ...     print(e)
    no articles ingested yet: run `citewire ingest` first
"""

from __future__ import annotations


class CitewireError(Exception):
    """Base class: anything a user can act on (the CLI prints it as one line, the UI as a message)."""
