"""citewire ingest: read, clean, split, chunk and embed articles into the stores.

Example:
    >>> from ingest import Ingestor
    >>> from citewire.settings import Settings
    >>> Ingestor(Settings()).ingest([]).summary()   # [] = the bundled demo corpus
"""

from .embed import Embedder
from .errors import (
           ChromaUnavailableError,
           EmbedderMismatchError,
           ReadError,
           SchemaError,
           StoreBusyError,
)
from .pipeline import Ingestor, IngestReport, bundled_corpus
from .readers import FieldMap, supported_suffixes
from .store import ArticleStore
from .types import Article, ArticleInfo, Chunk, RawArticle, Span

__all__ = ["Article", "ArticleInfo", "ArticleStore", "ChromaUnavailableError", "Chunk", "Embedder",
           "EmbedderMismatchError", "FieldMap", "IngestReport", "Ingestor", "RawArticle", "ReadError", "SchemaError",
           "Span", "StoreBusyError", "bundled_corpus", "supported_suffixes"]
