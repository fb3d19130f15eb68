"""Query latency over a large store, each figure beside a bare baseline measured in the same run.

    .venv/bin/python benchmarks/query.py [--articles 4600] [--questions 100] [--answers 20] [--home DIR]
                                         [--build-only] [--no-ui] [--export-chunks F | --vectors DIR]

Builds (or reuses, with --home) a store of RealTimeQA 2024 articles (the first 4,600 give about 64k chunks;
all 8,819 about 116k), then prints:

- retrieval p50/p95 (`Engine.retrieve`: question embedding, Chroma, BM25, fusion, candidates) against a bare
  Chroma query with a precomputed embedding (the floor retrieval can't beat); target p50 <= 50 ms;
- answer p50/p95 (`Engine.stream` with the bundled SmolLM2, first token and total) against a bare LLM call
  (the same model completing the question with no retrieval); target p50 <= 2 s;
- the RSS of a `citewire ui` process serving that store after a few questions, against a bare Python
  process that has imported the same libraries; target <= 2 GB.

Embedding 64k chunks takes long on 2 cores; --export-chunks / --vectors let the chunk vectors be computed on
a bigger machine (see vectors.py). Queries are always embedded here.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.append(str(Path(__file__).resolve().parent))  # benchmarks/vectors.py, after the packages

from citewire.settings import Settings, offline_env  # noqa: E402  (after the sys.path append)

DATA = REPO.parent / "shared" / "data" / "realtimeqa-2024"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ui_rss(home: Path, questions: list[str]) -> tuple[float, float]:
    """(RSS MB of a `citewire ui` serving `home` after answering `questions`, RSS MB of a bare process
    that imported the same libraries)."""
    from gradio_client import Client

    env = {**os.environ, "CITEWIRE_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "citewire", "ui", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"`citewire ui` did not start (exit code {proc.poll()})") from None
                time.sleep(1)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for q in questions:
            client.predict(q, api_name="/ask")
        ui = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    bare = subprocess.run([sys.executable, "-c", "import os, gradio, torch, chromadb, llama_cpp, sentence_transformers; "
                           "print(open(f'/proc/{os.getpid()}/status').read())"],
                          env=env, capture_output=True, text=True, check=True).stdout
    base = next(int(x.split()[1]) / 1024 for x in bare.splitlines() if x.startswith("VmRSS:"))
    return ui, base


def answer_latency(eng: Any, qs: list[str]) -> None:
    """Answer p50/p95 and first-token p50 with `Engine.stream`, against a bare LLM call on the same questions."""
    from rag import AnswerEvent, TokenEvent

    ttft, total, bare_llm = [], [], []
    for q in qs:
        t = time.perf_counter()
        first = None
        for ev in eng.stream(q):
            if isinstance(ev, TokenEvent) and first is None:
                first = time.perf_counter() - t
            if isinstance(ev, AnswerEvent):
                total.append(time.perf_counter() - t)
                if first is not None:  # abstentions stream no tokens
                    ttft.append(first)
    llm = eng.llm
    if llm is not None:
        for q in qs:
            t = time.perf_counter()
            llm.complete(q)
            bare_llm.append(time.perf_counter() - t)
    a50 = statistics.median(total)
    print(f"answer     p50 {a50:.2f} s  p95 {pct(total, 95):.2f} s  (target p50 <= 2 s)")
    if bare_llm:
        print(f"  bare LLM call p50 {statistics.median(bare_llm):.2f} s (same model, the question alone): "
              f"answer/bare ratio {a50 / statistics.median(bare_llm):.2f}")
    if ttft:
        print(f"  first token p50 {statistics.median(ttft):.2f} s  ({len(ttft)} of {len(total)} answers streamed tokens)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=4600)
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--answers", type=int, default=20)
    ap.add_argument("--home", default=str(Path.home() / ".cache" / "citewire-bench-query"))
    ap.add_argument("--export-chunks", metavar="FILE", help="write the store's chunk texts (.jsonl.xz) for embedding elsewhere, and stop")
    ap.add_argument("--vectors", metavar="DIR", help="build the store with vectors precomputed by benchmarks/embed_chunks.py")
    ap.add_argument("--build-only", action="store_true", help="build the store and stop (time it later on an idle machine)")
    ap.add_argument("--no-ui", action="store_true", help="skip the UI memory measurement")
    args = ap.parse_args()
    offline_env()
    from vectors import PrecomputedEmbedder, export_chunks, load_vectors

    from ingest.readers import record_to_article
    from rag import Engine

    def records() -> Iterator[Any]:
        with gzip.open(DATA / "articles.jsonl.gz", "rt") as fh:
            for i, line in enumerate(itertools.islice(fh, args.articles)):
                yield record_to_article(json.loads(line), f"rtqa:{i}")

    eng = Engine.open(settings=Settings(home=args.home))
    if args.export_chunks:
        n = export_chunks(eng.ingestor, records(), Path(args.export_chunks))
        print(f"{n} chunk texts written to {args.export_chunks}")
        return
    if eng.store.counts()["articles"] < args.articles:
        t = time.perf_counter()
        if args.vectors:
            enc = PrecomputedEmbedder(eng.ingestor.embedder, load_vectors(Path(args.vectors)))
            eng.ingestor.embedder = enc
        eng.ingest_records(records(), show_progress=True, total=args.articles)
        print(f"store built in {time.perf_counter() - t:.0f} s")
        if args.vectors:
            print(f"precomputed vectors used for {enc.hits} chunks, {enc.misses} embedded here")
    st = eng.stats()
    print(f"store: {st['articles']} articles, {st['chunks']} chunks")
    if args.build_only:
        return
    all_qs = [json.loads(line)["question"] for line in (DATA / "questions.jsonl").open()]
    qs, warm = all_qs[: args.questions], all_qs[args.questions: args.questions + 20]
    for q in warm:  # other questions: warms the encoder's and Chroma's caches without seeing the measured ones
        eng.retrieve(q)
    lat = []
    for q in qs:
        t = time.perf_counter()
        eng.retrieve(q)
        lat.append(time.perf_counter() - t)
    embed_s, base = [], []
    for q in qs:  # the same questions again: the question's embedding, then a bare Chroma query with it
        t = time.perf_counter()
        v = eng._encode_one(q)
        embed_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        eng.ingestor.vectors.query(v, eng.settings.retrieval.candidates)
        base.append(time.perf_counter() - t)
    p50, b50 = statistics.median(lat), statistics.median(base)
    print(f"retrieval  p50 {p50 * 1000:.1f} ms  p95 {pct(lat, 95) * 1000:.1f} ms  (target p50 <= 50 ms)")
    print(f"  bare Chroma query p50 {b50 * 1000:.1f} ms: retrieval/bare ratio {p50 / b50:.2f}; "
          f"of retrieval, question embedding p50 {statistics.median(embed_s) * 1000:.1f} ms")

    if args.answers:
        answer_latency(eng, qs[: args.answers])
    if not args.no_ui:
        eng.close()
        ui, bare = ui_rss(Path(args.home), qs[:5])
        print(f"UI process RSS {ui:.0f} MB with this store loaded, after 5 questions (target <= 2048 MB); "
              f"a bare process with the same imports: {bare:.0f} MB (ratio {ui / bare:.2f})")


if __name__ == "__main__":
    main()
