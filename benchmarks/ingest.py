"""Ingest throughput vs the bare encoder on the same chunk texts, measured in one run.

    .venv/bin/python benchmarks/ingest.py [--n 1000] [--data ../shared/data/realtimeqa-2024/articles.jsonl.gz]
                                          [--profile FILE.prof] [--home DIR] [--skip-encoder]
    py-spy record -r 10 -f raw -o prof.txt -- .venv/bin/python benchmarks/ingest.py --n 1000 --skip-encoder
    .venv/bin/python benchmarks/ingest.py --steps-from prof.txt
    .venv/bin/python benchmarks/ingest.py --project --n 8819 [--rate 27.3]

Ingests the first `--n` RealTimeQA 2024 articles into a fresh store (read from the .jsonl.gz through the
product's reader, then clean, split, chunk, embed, Chroma, SQLite, BM25: everything `citewire ingest` does),
then embeds exactly the chunk texts it stored with a bare `SentenceTransformer.encode` (batch 64, its own
length sorting) in float32 and, when the pipeline computes in bfloat16 (`embed_precision`), at that precision
too, and prints the rates, their ratios (goal >= 0.9: the encoder is this machine's limit), and
the truncation share (chunks longer than the encoder's window; goal 0%). `--profile` writes a cProfile of
the pipeline and prints where its time went, by step; `--steps-from` does the same from a py-spy sampling
profile (no profiler overhead inside the pipeline: the figures in docs/architecture.md come from it).
`--project` only reads, cleans, splits and chunks the `--n` articles (no store, no embedding: minutes for all
8,819), prints their chunk and word-piece counts and truncation share, times the bare encoder on a random
sample of 1,000 of those chunks, and projects the full build time from the total word pieces at the sampled
encoder rate (and at `--rate` pipeline chunks/s, e.g. the one a `--n 1000` run printed).
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import itertools
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from citewire.settings import Settings, offline_env  # noqa: E402  (after the sys.path insert)

# (label, file suffix, function) of the pipeline's steps, for the cProfile summary
STEPS = [
    ("read + parse JSON", "ingest/readers.py", "_jsonl_file"),
    ("clean text", "ingest/clean.py", "clean_text"),
    ("split sentences (Punkt)", "ingest/sentences.py", "split_sentences"),
    ("chunk (incl. tokenise once)", "ingest/chunking.py", "chunk_article"),
    ("embed (model forward)", "ingest/embed.py", "encode_tokens"),
    ("Chroma upsert", "ingest/vectors.py", "upsert"),
    ("Chroma delete (updates)", "ingest/vectors.py", "delete_articles"),
    ("SQLite commit", "ingest/store.py", "commit_articles"),
    ("SQLite pending marks", "ingest/store.py", "mark_pending"),
    ("BM25 build (once)", "ingest/bm25.py", "build"),
]
# (label, markers) for a py-spy raw profile: a sample counts for the first label one of whose markers is in
# its stack. Markers name the old pipeline's functions too, so a profile of either version reads the same.
SAMPLE_STEPS = [
    ("BM25 index builds", ("BM25Index.build (",)),
    ("embedding (model forward)", ("encode_tokens (", "SentenceTransformer.encode (", "sentence_transformer/model.py")),
    ("Chroma writes", ("chromadb/",)),
    ("SQLite writes", ("ingest/store.py",)),
    ("chunking + word-piece counts", ("chunk_article (",)),
    ("sentence splitting (Punkt)", ("split_sentences (",)),
    ("cleaning", ("clean_text (",)),
    ("reading + JSON parsing", ("ingest/readers.py", "json/decoder.py")),
]


def profile_summary(prof: cProfile.Profile) -> list[tuple[str, float]]:
    """(step, cumulative seconds) for each of STEPS."""
    stats = pstats.Stats(prof)
    table = stats.stats  # type: ignore[attr-defined]
    return [(label, sum(v[3] for (f, _, name), v in table.items() if f.endswith(fname) and name == func))
            for label, fname, func in STEPS]


def sample_summary(raw: Path, root: str = "ingest/pipeline.py") -> list[tuple[str, float]]:
    """Share of the samples under `root` (the ingest call) per step, from `py-spy record -f raw` output."""
    counts: dict[str, int] = {}
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if root not in stack or not n.isdigit():
            continue
        label = next((lbl for lbl, marks in SAMPLE_STEPS if any(m in stack for m in marks)), "everything else")
        counts[label] = counts.get(label, 0) + int(n)
        total += int(n)
    order = [lbl for lbl, _ in SAMPLE_STEPS] + ["everything else"]
    return [(lbl, counts.get(lbl, 0) / max(total, 1)) for lbl in order]


def project(data: Path, n: int, rate: float | None) -> None:
    """Chunk `n` articles as ingest would and project the build time from the encoder's sampled rate."""
    import random

    from tqdm import tqdm

    from ingest import Ingestor
    from ingest.readers import read_path
    from ingest.types import RawArticle

    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-project-"))
    try:
        ing = Ingestor(Settings(home=tmp, max_file_mb=4096))  # an empty store: its preparer is ingest's own
        emb, prep = ing.embedder, ing.preparer()
        texts: list[str] = []
        counts: list[int] = []
        arts = 0
        t = time.perf_counter()
        items = (it for it in read_path(data, max_bytes=4096 * 2**20) if isinstance(it, RawArticle))
        for raw in tqdm(itertools.islice(items, n), total=n, desc="chunking", unit="art"):
            out = prep.prepare(raw)
            if out.prepared is not None:
                arts += 1
                for c in out.prepared.chunks:
                    texts.append(c.text)
                    # chunking already counted each chunk's word pieces (None: an embedder that does not compose)
                    counts.append(len(c.token_ids) if c.token_ids is not None else emb.count_tokens([c.text])[0])
        chunk_s = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total, over = sum(counts), sum(c > emb.max_tokens for c in counts)
    print(f"{arts} articles -> {len(texts)} chunks ({len(texts) / max(arts, 1):.1f} per article), "
          f"{total:,} word pieces; read+clean+split+chunk {chunk_s:.0f} s")
    print(f"truncated: {over} of {len(texts)} chunks ({100 * over / max(len(texts), 1):.2f}%), "
          f"longest {max(counts, default=0)} word pieces")
    pick = random.Random(0).sample(range(len(texts)), min(1000, len(texts)))
    sample = [texts[i] for i in pick]
    emb.encode(sample[:16])
    t = time.perf_counter()
    emb.encode(sample, batch_size=64)
    enc_s = time.perf_counter() - t
    wp_rate = sum(counts[i] for i in pick) / enc_s
    print(f"bare encode ({emb.precision}) on a 1,000-chunk sample: {len(sample) / enc_s:.1f} chunks/s, "
          f"{wp_rate:,.0f} word pieces/s")
    print(f"projected bare-encoder time for all chunks: {total / wp_rate / 60:.0f} min (goal: the store in <= 45 min)")
    if rate:
        print(f"projected pipeline time at {rate} chunks/s: {len(texts) / rate / 60:.0f} min")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="articles (all 8,819: --n 8819)")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "realtimeqa-2024" / "articles.jsonl.gz"))
    ap.add_argument("--profile", metavar="FILE", help="cProfile the pipeline into FILE and print the step breakdown")
    ap.add_argument("--home", help="store folder (default: a temporary one, deleted afterwards)")
    ap.add_argument("--skip-encoder", action="store_true", help="time the pipeline only")
    ap.add_argument("--steps-from", metavar="RAW", help="summarise a `py-spy record -f raw` profile by step and stop")
    ap.add_argument("--project", action="store_true", help="chunk only, and project the full build time")
    ap.add_argument("--rate", type=float, help="with --project: a measured pipeline rate (chunks/s) to project with")
    args = ap.parse_args()
    if args.project:
        offline_env()
        project(Path(args.data), args.n, args.rate)
        return
    if args.steps_from:
        for label, share in sample_summary(Path(args.steps_from)):
            print(f"  {label:30} {100 * share:5.1f}%")
        return
    offline_env()
    from ingest import Ingestor
    from ingest.embed import Embedder

    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-ingest-"))
    src = tmp / "articles.jsonl.gz"
    with gzip.open(args.data, "rt") as fin, gzip.open(src, "wt", compresslevel=1) as fout:
        for line in itertools.islice(fin, args.n):
            fout.write(line)
    home = Path(args.home) if args.home else tmp / "home"
    settings = Settings(home=home, max_file_mb=4096)
    try:
        ing = Ingestor(settings)
        emb = ing.embedder
        emb.encode(["warm up the encoder"] * 8)
        prof = cProfile.Profile() if args.profile else None
        t, c = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        rep = ing.ingest([src], show_progress=True)
        if prof:
            prof.disable()
        pipe_s, pipe_cpu = time.perf_counter() - t, time.process_time() - c
        texts = [text for _, text, *_ in ing.store.iter_chunks()]
        n = len(texts)
        print(f"articles: {len(rep.added)} added, {len(rep.failed) + len(rep.skipped)} not ingested; chunks: {n}")
        print(f"pipeline            : {pipe_s:8.1f} s wall {pipe_cpu:8.1f} s CPU  {n / pipe_s:6.1f} chunks/s  "
              f"(read+clean+split+chunk+embed+Chroma+SQLite+BM25; embedder in {emb.precision})")
        counts = emb.count_tokens(texts)
        over = sum(c > emb.max_tokens for c in counts)
        print(f"truncated: {over} of {n} chunks ({100 * over / max(n, 1):.2f}%) exceed the encoder's "
              f"{emb.max_tokens} word pieces (longest chunk {max(counts, default=0)})")
        if not args.skip_encoder:
            # the bare encoders on the same texts: stock SentenceTransformer.encode (float32), and, when the
            # pipeline computes in bfloat16, the same call under the pipeline's autocast
            bare = [("float32", Embedder.load(settings.model_copy(update={"embed_precision": "float32"})))]
            if emb.precision != "float32":
                bare.append((emb.precision, emb))
            for label, enc in bare:
                t, c = time.perf_counter(), time.process_time()
                enc.encode(texts, batch_size=64)  # SentenceTransformer.encode, normalised
                enc_s, enc_cpu = time.perf_counter() - t, time.process_time() - c
                print(f"bare encode {label:8}: {enc_s:8.1f} s wall {enc_cpu:8.1f} s CPU  {n / enc_s:6.1f} chunks/s  "
                      "(SentenceTransformer.encode, same texts)")
                print(f"ratio pipeline/bare {label}: {enc_s / pipe_s:.3f} by wall time, {enc_cpu / pipe_cpu:.3f} by CPU "
                      "time (goal >= 0.9; on a shared machine the CPU ratio is the steadier one)")
        if prof:
            prof.dump_stats(args.profile)
            print(f"profile written to {args.profile}; time by step (cumulative, steps can nest):")
            for label, cum in profile_summary(prof):
                print(f"  {label:30} {cum:8.1f} s  {100 * cum / pipe_s:5.1f}%")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
