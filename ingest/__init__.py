"""citewire ingest: read, clean, split, chunk and embed articles into the stores.

Example:
    >>> from ingest import Ingestor
    >>> from citewire.settings import Settings
    >>> Ingestor(Settings()).ingest([]).summary()   # [] = the bundled demo corpus
"""

from .pipeline import IngestReport, Ingestor, bundled_corpus
from .readers import FieldMap, ReadError
from .store import ArticleStore
from .types import Article, ArticleInfo, Chunk, RawArticle, Span

__all__ = ["Article", "ArticleInfo", "ArticleStore", "Chunk", "FieldMap", "IngestReport", "Ingestor", "RawArticle",
           "ReadError", "Span", "bundled_corpus"]
