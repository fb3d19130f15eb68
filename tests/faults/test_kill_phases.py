"""kill -9 at every ingest phase, chosen deterministically with CITEWIRE_FAULT, then restart.

Each killed run is a real `citewire ingest` process (the four run side by side); the restart is an
`Ingestor` here, going through the same recovery a new CLI run would. Afterwards the three stores
hold every article exactly once: chunks == vectors == BM25 entries, no duplicates, no half articles.
"""

from __future__ import annotations

import subprocess

import pytest
from fault_helpers import citewire, cli_env, committed_articles, write_corpus

from citewire.settings import LLMSettings, Settings
from ingest import Ingestor
from ingest.bm25 import BM25Index

pytestmark = pytest.mark.slow

N = 40
# (phase, n-th time it is reached): one chunk an article, embed batch size 1 -> commits of 16 chunks
# written to Chroma in parts of 8, so each kill lands in the second of three batches
FAULTS = [("pending", 2), ("vectors", 2), ("commit", 2), ("bm25_swap", 1)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("kill-src"), N, sentences=3)


@pytest.fixture(scope="module")
def killed(tmp_path_factory, corpus):
    """phase -> home of a `citewire ingest` that SIGKILLed itself there (all four run at once)."""
    procs = {}
    for phase, nth in FAULTS:
        home = tmp_path_factory.mktemp(f"kill-{phase}")
        env = cli_env(home, CITEWIRE_EMBED_BATCH_SIZE="1", CITEWIRE_FAULT=f"{phase}:{nth}")
        procs[phase] = (home, subprocess.Popen(citewire("ingest", str(corpus), "-q"), env=env,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out = {}
    for phase, (home, proc) in procs.items():
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == -9, f"{phase}: expected SIGKILL, got {proc.returncode}: {err[-2000:]}"
        out[phase] = home
    return out


@pytest.mark.parametrize("phase", [p for p, _ in FAULTS])
def test_killed_at_phase_then_restarted(phase, killed, corpus, consistent):
    home = killed[phase]
    settings = Settings(home=home, embed_batch_size=1, llm=LLMSettings(backend="none"))
    ing = Ingestor(settings)  # opening as a reader: nothing may be deleted yet
    pending = ing.store.pending()
    if phase == "bm25_swap":
        assert pending == [] and committed_articles(home) == N  # every batch committed ...
        assert BM25Index.load_current(settings.bm25_path) is None  # ... but the index was never swapped in
    else:
        assert pending, "the kill should leave the interrupted batch marked pending"
        assert committed_articles(home) == 16  # the first batch is in, the second was cut
    from rag import Engine

    reader = Engine.open(settings=settings)  # a reader beside the wreck sees committed articles only
    assert reader.store.pending() == pending
    for p in reader.retrieve("How many container ships did the harbour authority count?", top_k=20):
        assert p.article_id not in pending and p.quote == reader.article(p.article_id).text[p.start:p.end]
    reader.close()

    rep = ing.ingest([corpus])  # the restart: undo what is pending, then ingest what is missing
    assert sorted(rep.recovered) == sorted(pending)
    assert not rep.failed and not rep.skipped
    assert consistent(ing)[0] == N
    again = ing.ingest([corpus])
    assert (len(again.unchanged), again.added, again.updated) == (N, [], [])
    consistent(ing)
