"""Embed an exported chunk file with sentence-transformers on the best device there is.

    python3 benchmarks/embed_chunks.py CHUNKS.jsonl.xz MODEL_DIR OUT_DIR [--part-rows 20000]

Standalone on purpose (numpy + sentence-transformers only), so it runs on a GPU box without
citewire installed. Writes ``keys.json`` and float16 ``vectors-NN.npy`` parts; see vectors.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import time
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("chunks")
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--part-rows", type=int, default=20000)
    args = ap.parse_args()
    with lzma.open(args.chunks, "rt", encoding="utf-8") as fh:
        texts = [json.loads(line) for line in fh]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(args.model, device=device)
    t = time.perf_counter()
    vecs = model.encode(texts, batch_size=256, normalize_embeddings=True, convert_to_numpy=True)
    print(f"{len(texts)} chunks embedded on {device} in {time.perf_counter() - t:.1f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "keys.json").write_text(json.dumps([hashlib.sha1(x.encode("utf-8")).hexdigest() for x in texts]))
    for i in range(0, len(texts), args.part_rows):
        np.save(out / f"vectors-{i // args.part_rows:02d}.npy", vecs[i : i + args.part_rows].astype(np.float16))


if __name__ == "__main__":
    main()
