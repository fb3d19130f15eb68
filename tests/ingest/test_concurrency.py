"""Two real processes on one embedded store: the writer lock, recovery, and readers following writes."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from citewire.settings import LLMSettings, Settings
from ingest import Ingestor, StoreBusyError

pytestmark = pytest.mark.slow

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from ingest.locking import WriterLock
    with WriterLock(Path(sys.argv[1])).hold():
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")

WRITE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from citewire.settings import Settings
    from ingest import Ingestor
    ing = Ingestor(Settings(home=sys.argv[1]))
    if sys.argv[2] == "ingest":
        print(ing.ingest([Path(sys.argv[3])]).summary())
    else:
        print(ing.remove([sys.argv[3]]))
""")


def _env():
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(sys.path)}


def _story(folder, name, title, body):
    p = folder / name
    p.write_text(f"{title}\n{body}\n")
    return p


def test_recovery_and_writes_wait_for_another_processes_writer_lock(tmp_path, consistent):
    home = tmp_path / "home"
    ing = Ingestor(Settings(home=home))
    ing.ingest([])
    aid = ing.store.list()[0].id
    ing.store.mark_pending([aid])  # as if another process were writing it right now
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(home), "30"], env=_env(), stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert ing.recover() == []  # the writer is alive: its pending rows are its work in progress
        assert ing.store.pending() == [aid] and aid in ing.vectors.article_ids()
        t = time.perf_counter()
        with pytest.raises(StoreBusyError, match="another citewire process is writing"):
            ing.ingest([], lock_timeout=1)
        assert time.perf_counter() - t < 10
    finally:
        holder.kill()
        holder.wait()
    assert ing.recover() == [aid]  # the holder is gone: now it is an interrupted write
    ing.ingest([])
    consistent(ing)


def test_a_reader_process_follows_another_processes_writes(tmp_path):
    """The reader's embedded Chroma (HNSW in its memory) must see vectors written and deleted by a
    writer process after it opened the store, and its BM25 and article cache must follow too."""
    from rag import Engine

    home = tmp_path / "home"
    src = tmp_path / "src"
    src.mkdir()
    a = _story(src, "a.txt", "Harbour report", "The harbour of Tallinn counted forty container ships on Monday.")
    b = _story(src, "b.txt", "Glacier report", "The Vatnajokull glacier lost three metres of ice in one summer.")

    def run(*args: object) -> None:
        subprocess.run([sys.executable, "-c", WRITE, str(home), *map(str, args)], env=_env(), capture_output=True,
                       text=True, timeout=300, check=True)

    run("ingest", a)
    reader = Engine.open(settings=Settings(home=home, llm=LLMSettings(backend="none")))
    q = "How much ice did the Vatnajokull glacier lose?"
    assert all("Vatnajokull" not in p.quote for p in reader.retrieve(q))
    run("ingest", b)
    dense = reader.ingestor.vectors.query(reader._encode_one(q), 3)
    assert dense and dense[0][2]["title"] == "Glacier report"  # the new vector is searchable here
    assert next(p.title for p in reader.retrieve(q)) == "Glacier report"
    assert reader.bm25().search("Vatnajokull", 3)  # the writer's BM25 swap was picked up
    b_id = next(x.id for x in reader.articles() if x.title == "Glacier report")
    run("remove", b_id)
    assert all(m["article_id"] != b_id for _, _, m in reader.ingestor.vectors.query(reader._encode_one(q), 5))
    assert all(p.article_id != b_id for p in reader.retrieve(q))
    assert reader.stats()["pending"] == 0
