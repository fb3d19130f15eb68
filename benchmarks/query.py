"""Query latency: retrieval p50/p95 over a large store, and full answers with the bundled LLM.

    .venv/bin/python benchmarks/query.py [--articles 8819] [--questions 100] [--home DIR] [--build-only]

Builds (or reuses, with --home) a store of RealTimeQA 2024 articles (the first 4,600 give 64,078
chunks; all 8,819 give 116,265), then times `Engine.retrieve` on the dataset's questions and `Engine.stream` (time to
first token, total) on a subset. Targets on 2 cores: retrieval p50 <= 50 ms, answer p50 <= 3 s.
The baseline printed beside them is a bare Chroma query with a precomputed embedding, measured in
the same run: the floor that retrieval can't beat.

Embedding 64k chunks takes ~2 h on 2 cores; --export-chunks / --vectors let the chunk vectors be
computed on a bigger machine (see vectors.py). Queries are always embedded here.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.append(str(Path(__file__).resolve().parent))  # benchmarks/vectors.py, after the packages

from citewire.settings import Settings, offline_env  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    data = REPO.parent / "shared" / "data" / "realtimeqa-2024"
    ap.add_argument("--articles", type=int, default=8819)
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--answers", type=int, default=20)
    ap.add_argument("--home", default=str(Path.home() / ".cache" / "citewire-bench-query"))
    ap.add_argument("--export-chunks", metavar="FILE", help="write the store's chunk texts (.jsonl.xz) for embedding elsewhere, and stop")
    ap.add_argument("--vectors", metavar="DIR", help="build the store with vectors precomputed by benchmarks/embed_chunks.py")
    ap.add_argument("--build-only", action="store_true", help="build the store and stop (time it later on an idle machine)")
    args = ap.parse_args()
    offline_env()
    from ingest.readers import record_to_article
    from rag import AnswerEvent, Engine, TokenEvent

    from vectors import PrecomputedEncoder, export_chunks, load_vectors

    def records():  # noqa: ANN202
        with gzip.open(data / "articles.jsonl.gz", "rt") as fh:
            for i, line in enumerate(itertools.islice(fh, args.articles)):
                yield record_to_article(json.loads(line), f"rtqa:{i}")

    eng = Engine.open(settings=Settings(home=args.home))
    if args.export_chunks:
        n = export_chunks(eng.ingestor, records(), Path(args.export_chunks))
        print(f"{n} chunk texts written to {args.export_chunks}")
        return
    if eng.store.counts()["articles"] < args.articles:
        if args.vectors:
            enc = PrecomputedEncoder(eng.ingestor.model, load_vectors(Path(args.vectors)))
            eng.ingestor.model = enc
        eng.ingest_records(records(), show_progress=True, total=args.articles)
        if args.vectors:
            print(f"precomputed vectors used for {enc.hits} chunks, {enc.misses} embedded here")
    st = eng.stats()
    print(f"store: {st['articles']} articles, {st['chunks']} chunks")
    if args.build_only:
        return
    qs = [json.loads(line)["question"] for line in (data / "questions.jsonl").open()][: args.questions]
    eng.retrieve("warm up")
    embed_s, vecs = [], []
    for q in qs:
        t = time.perf_counter()
        vecs.append(eng._encode_one(q))
        embed_s.append(time.perf_counter() - t)
    base = []
    for v in vecs:
        t = time.perf_counter()
        eng.ingestor.vectors.query(v, 30)
        base.append(time.perf_counter() - t)
    lat = []
    for q in qs:
        t = time.perf_counter()
        eng.retrieve(q)
        lat.append(time.perf_counter() - t)
    p50, b50 = statistics.median(lat), statistics.median(base)
    print(f"retrieval  p50 {p50 * 1000:.1f} ms  p95 {pct(lat, 95) * 1000:.1f} ms  (target p50 <= 50 ms)")
    print(f"bare chroma query p50 {b50 * 1000:.1f} ms; retrieval/bare ratio {p50 / b50:.2f}")
    print(f"  of which query embedding p50 {statistics.median(embed_s) * 1000:.1f} ms")
    ttft, total = [], []
    for q in qs[: args.answers]:
        t = time.perf_counter()
        first = None
        for ev in eng.stream(q):
            if isinstance(ev, TokenEvent) and first is None:
                first = time.perf_counter() - t
            if isinstance(ev, AnswerEvent):
                total.append(time.perf_counter() - t)
                if first is not None:  # abstentions stream no tokens
                    ttft.append(first)
    print(f"answer     p50 {statistics.median(total):.2f} s  p95 {pct(total, 95):.2f} s  (target p50 <= 3 s)")
    if ttft:
        print(f"first token p50 {statistics.median(ttft):.2f} s  ({len(ttft)} of {len(total)} answers streamed tokens)")


if __name__ == "__main__":
    main()
