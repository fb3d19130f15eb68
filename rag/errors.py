"""Errors the query engine raises. Each message says what went wrong and what to do."""

from __future__ import annotations

from citewire.errors import CitewireError

__all__ = ["BadQuestionError", "CitewireError", "EmptyStoreError", "LLMUnavailableError"]


class EmptyStoreError(CitewireError):
    """No articles are ingested yet."""

    def __init__(self, home: object = "") -> None:
        super().__init__(f"no articles ingested yet in {home}: run `citewire ingest [PATH...]` first")


class LLMUnavailableError(CitewireError):
    """The configured LLM backend could not be loaded or reached."""


class BadQuestionError(CitewireError):
    """The question is empty or unusable."""
