"""Precomputed chunk vectors for the big benchmark store.

Embedding the 64,078 chunks of the benchmark store (4,600 RealTimeQA articles) takes ~2 h on 2 CPU cores. These
helpers let the same vectors be computed elsewhere (a GPU box, a bigger machine) and fed back:

    .venv/bin/python benchmarks/query.py --export-chunks /tmp/chunks.jsonl.xz       # here: read, clean, chunk
    python3 benchmarks/embed_chunks.py /tmp/chunks.jsonl.xz MODEL_DIR OUT_DIR       # there: embed
    .venv/bin/python benchmarks/query.py --vectors OUT_DIR                          # here: build + time

Chunking is deterministic, so each chunk text maps to its vector by a hash of the text; a chunk with
no precomputed vector is embedded here by the real model. Only the store build uses them: every
query is embedded here, by the bundled model, as in production.
"""

from __future__ import annotations

import hashlib
import json
import lzma
from pathlib import Path
from typing import Any

import numpy as np


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def load_vectors(folder: Path) -> dict[str, np.ndarray]:
    """``keys.json`` (chunk-text hashes, in row order) + ``vectors-NN.npy`` parts (float16 rows)."""
    keys = json.loads((folder / "keys.json").read_text())
    parts = sorted(folder.glob("vectors-*.npy"))
    mat = np.concatenate([np.load(p) for p in parts]).astype(np.float32)
    if len(mat) != len(keys):
        raise ValueError(f"{folder}: {len(keys)} keys but {len(mat)} vector rows")
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)  # re-normalise after the float16 round trip
    return dict(zip(keys, mat))


class PrecomputedEmbedder:
    """Wraps an `ingest.embed.Embedder`: chunks with a precomputed vector get it, others are encoded.

    Everything but `encode_tokens` (word pieces, names, limits) comes from the real embedder."""

    def __init__(self, embedder: Any, vectors: dict[str, np.ndarray]) -> None:
        self.embedder, self.vectors = embedder, vectors
        self.hits = self.misses = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.embedder, name)

    def encode_tokens(self, texts: list[str], ids: list[Any], batch_size: int = 64) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self.vectors]
        if missing:
            got = self.embedder.encode_tokens([texts[i] for i in missing], [ids[i] for i in missing], batch_size)
            for i, v in zip(missing, got):
                self.vectors[keys[i]] = np.asarray(v, dtype=np.float32)
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        return np.stack([self.vectors[k] for k in keys])


def export_chunks(ingestor: Any, records: Any, out: Path, show_progress: bool = True) -> int:
    """Write every chunk text the ingestor would embed for `records` (xz-compressed JSON lines)."""
    from tqdm import tqdm

    from ingest.prepare import Preparer

    prep = Preparer(ingestor.embedder, ingestor.max_tokens, ingestor.settings.chunk.overlap_sentences,
                    known={}, by_origin={})
    n = 0
    with lzma.open(out, "wt", encoding="utf-8") as fh:
        for raw in tqdm(records, desc="chunking", unit="art", disable=not show_progress):
            outcome = prep.prepare(raw)
            for c in outcome.prepared.chunks if outcome.prepared else []:
                fh.write(json.dumps(c.text) + "\n")
                n += 1
    return n
