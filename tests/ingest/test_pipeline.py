"""Ingest into real stores (SQLite, embedded Chroma, bm25s) with the real embedder."""

import json

import pytest

from citewire.settings import Settings
from ingest import Ingestor, bundled_corpus
from ingest.store import ArticleStore


@pytest.fixture
def ing(tmp_path):
    return Ingestor(Settings(home=tmp_path / "home"))


def write(folder, name, text):
    p = folder / name
    p.write_text(text)
    return p


ARTICLE = "Title {n}\nThe city council of Springfield{n} approved a budget of {n} million dollars on Monday. " \
          "Officials said the money goes to schools. Critics said it was too little."


def test_bundled_corpus(ing, consistent):
    rep = ing.ingest([])
    assert len(rep.added) == 1 and not rep.failed
    [info] = ing.store.list()
    art = ing.store.get(info.id)
    assert art.source == "Associated Press" and "550 drones" in art.text
    assert "Be First to Comment" not in art.text
    assert all(art.text[s.start:s.end].strip() == art.text[s.start:s.end] for s in art.sentences)
    consistent(ing)
    assert bundled_corpus().is_dir()


def test_reingest_changes_nothing_and_changed_file_is_replaced(ing, tmp_path, consistent):
    src = tmp_path / "src"
    src.mkdir()
    for n in range(3):
        write(src, f"a{n}.txt", ARTICLE.format(n=n))
    assert len(ing.ingest([src]).added) == 3
    before = consistent(ing)
    gen = ing.store.generation
    rep = ing.ingest([src])
    assert (len(rep.unchanged), rep.added, rep.updated) == (3, [], [])
    assert ing.store.generation == gen and consistent(ing) == before

    long = ARTICLE.format(n=1) + " " + " ".join(f"Extra sentence {i} about the new budget." for i in range(80))
    write(src, "a1.txt", long)
    rep = ing.ingest([src])
    assert len(rep.updated) == 1 and len(rep.unchanged) == 2
    n_articles, n_chunks, _ = consistent(ing)
    assert n_articles == 3 and n_chunks > before[1]
    # shrink it again: no stale chunks may remain anywhere
    write(src, "a1.txt", ARTICLE.format(n=1) + " Short now.")
    ing.ingest([src])
    assert consistent(ing)[1] <= before[1] + 1


def test_prune_removes_articles_of_deleted_files(ing, tmp_path, consistent):
    src = tmp_path / "src"
    src.mkdir()
    for n in range(2):
        write(src, f"a{n}.txt", ARTICLE.format(n=n))
    ing.ingest([src])
    (src / "a0.txt").unlink()
    rep = ing.ingest([src], prune=True)
    assert len(rep.removed) == 1
    assert consistent(ing)[0] == 1


def test_bad_files_are_reported_and_the_rest_is_ingested(ing, tmp_path, consistent):
    src = tmp_path / "src"
    src.mkdir()
    write(src, "good.txt", ARTICLE.format(n=7))
    (src / "empty.txt").write_text("")
    (src / "binary.txt").write_bytes(b"\x00\xff\x00\xfe" * 100)
    (src / "latin1.txt").write_bytes("Caf\xe9 news".encode("latin-1"))
    (src / "lines.jsonl").write_text(json.dumps({"text": "A fine article about trams.", "title": "Trams"}) + "\n{broken\n")
    with open(src / "huge.txt", "wb") as fh:
        fh.truncate(50 * 2**20)
    rep = ing.ingest([src])
    assert len(rep.added) == 2
    reasons = {o.rsplit("/", 1)[-1]: r for o, r in rep.skipped + rep.failed}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "malformed JSON" in reasons["lines.jsonl:2"]
    assert "too large" in reasons["huge.txt"]
    assert rep.ok
    consistent(ing)


def test_nothing_ingestable_is_not_ok(ing, tmp_path):
    p = tmp_path / "empty.txt"
    p.write_text("")
    rep = ing.ingest([p])
    assert not rep.ok and rep.skipped


def test_interrupted_write_is_recovered(tmp_path, consistent):
    """Simulate a crash after vectors were written but before SQLite committed."""
    s = Settings(home=tmp_path / "home")
    ing = Ingestor(s)
    src = tmp_path / "src"
    src.mkdir()
    write(src, "a.txt", ARTICLE.format(n=1))
    ing.ingest([src])
    aid = ing.store.list()[0].id
    ing.store.mark_pending([aid, "ghost"])
    ing.vectors.upsert(["ghost:0"], [[0.1] * 384], [{"article_id": "ghost", "idx": 0, "start": 0, "end": 1, "title": "",
                                                     "source": "", "url": "", "published": "", "published_ts": 0}])
    ing.store.close()
    ing2 = Ingestor(s)  # opening is reading: it deletes nothing
    assert ing2.store.counts()["pending"] == 2 and "ghost" in ing2.vectors.article_ids()
    assert sorted(ing2.recover()) == sorted([aid, "ghost"])  # the lock is free: undo
    assert ing2.store.counts()["pending"] == 0 and "ghost" not in ing2.vectors.article_ids()
    rep = ing2.ingest([src])
    assert len(rep.added) == 1  # the interrupted article is written whole again
    consistent(ing2)


def test_next_ingest_recovers_first(tmp_path, consistent):
    s = Settings(home=tmp_path / "home")
    ing = Ingestor(s)
    src = tmp_path / "src"
    src.mkdir()
    write(src, "a.txt", ARTICLE.format(n=1))
    ing.ingest([src])
    aid = ing.store.list()[0].id
    ing.store.mark_pending([aid])
    rep = ing.ingest([src])
    assert rep.recovered == [aid] and rep.added == [aid]
    consistent(ing)


def test_schema_version_mismatch_is_a_clear_error(tmp_path):
    from ingest.store import SchemaError

    st = ArticleStore(tmp_path / "db.sqlite3")
    st.set_meta("schema_version", "999")
    st.close()
    with pytest.raises(SchemaError, match="schema version 999"):
        ArticleStore(tmp_path / "db.sqlite3")


def _many_articles(src, n=30):
    src.mkdir()
    for i in range(n):
        write(src, f"a{i}.txt", f"Report {i}\n" + " ".join(
            f"Port{i} counted {i * 7 + j} ships and {j} ferries on day {j}." for j in range(60)))


def test_overlapped_batches_store_each_chunk_with_its_own_vector(tmp_path, embedder, consistent):
    """Batch k is embedded on a worker thread while batch k+1 is prepared: every stored vector must
    still be the embedding of its own chunk's text."""
    import numpy as np

    ing = Ingestor(Settings(home=tmp_path / "home", embed_batch_size=2))  # 32 chunks per batch
    _many_articles(tmp_path / "src")
    ing.ingest([tmp_path / "src"])
    assert ing.store.generation >= 3  # several batches, so several hand-overs
    rows = {cid: text for cid, text, *_ in ing.store.iter_chunks()}
    got = ing.vectors.collection.get(include=["embeddings"])
    stored = dict(zip(got["ids"], np.asarray(got["embeddings"]), strict=True))
    ids = sorted(rows)
    fresh = embedder.encode([rows[c] for c in ids])
    cos = np.sum(np.stack([stored[c] for c in ids]) * fresh, axis=1)
    assert cos.min() > 0.99  # same text, same vector (bfloat16 or float32 alike)
    consistent(ing)


def test_embedding_failure_mid_run_loses_no_committed_batch(tmp_path, monkeypatch, consistent):
    """An encoder error in the worker thread surfaces in the caller; batches written before it stay, the
    stores agree, and a re-run completes the rest."""
    ing = Ingestor(Settings(home=tmp_path / "home", embed_batch_size=2))
    _many_articles(tmp_path / "src")
    real = ing.embedder.encode_tokens
    calls = {"n": 0}

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("encoder ran out of memory")
        return real(*a, **kw)

    monkeypatch.setattr(ing.embedder, "encode_tokens", flaky)
    with pytest.raises(RuntimeError, match="out of memory"):
        ing.ingest([tmp_path / "src"])
    done = ing.store.counts()["articles"]
    assert 0 < done < 30  # the first batch(es) landed, the failed one did not
    assert ing.store.counts()["pending"] == 0
    monkeypatch.setattr(ing.embedder, "encode_tokens", real)
    rep = ing.ingest([tmp_path / "src"])
    assert len(rep.added) == 30 - done and len(rep.unchanged) == done
    assert consistent(ing)[0] == 30
