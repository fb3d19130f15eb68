"""Ingest throughput vs the raw encoder on the same chunk texts, measured in one run.

    .venv/bin/python benchmarks/ingest.py [--n 300] [--data ../shared/data/realtimeqa-2024/articles.jsonl.gz]

Prints the pipeline's chunks/s (read + clean + split + chunk + embed + Chroma + SQLite + BM25)
and `SentenceTransformer.encode` chunks/s on exactly the chunk texts it produced, and their ratio
(goal >= 0.9: the encoder is this machine's limit).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from citewire.settings import Settings, offline_env  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "realtimeqa-2024" / "articles.jsonl.gz"))
    args = ap.parse_args()
    offline_env()
    from ingest import Ingestor
    from ingest.readers import record_to_article

    with gzip.open(args.data, "rt") as fh:
        rows = [json.loads(line) for line in itertools.islice(fh, args.n)]
    records = [record_to_article(r, f"bench:{i}") for i, r in enumerate(rows)]
    with tempfile.TemporaryDirectory() as home:
        ing = Ingestor(Settings(home=home))
        ing.model.encode(["warm up"] * 8)
        t = time.perf_counter()
        rep = ing.ingest_records(records, show_progress=True, total=len(records))
        pipe_s = time.perf_counter() - t
        texts = [t for _, t, *_ in ing.store.iter_chunks()]
        t = time.perf_counter()
        ing.model.encode(texts, batch_size=ing.settings.embed_batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)
        enc_s = time.perf_counter() - t
    n = len(texts)
    print(f"articles: {len(rep.added)}  chunks: {n}")
    print(f"pipeline: {pipe_s:.1f}s  {n / pipe_s:.1f} chunks/s")
    print(f"encoder : {enc_s:.1f}s  {n / enc_s:.1f} chunks/s")
    print(f"ratio pipeline/encoder: {enc_s / pipe_s:.3f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
