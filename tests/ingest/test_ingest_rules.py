"""Ingest rules on real stores: origins, metadata, the embedder record, BM25 once per run."""

import json
import logging

import pytest

from citewire.errors import CitewireError
from citewire.settings import Settings
from ingest import EmbedderMismatchError, Ingestor, bundled_corpus
from ingest.bm25 import POINTER


@pytest.fixture
def ing(tmp_path):
    return Ingestor(Settings(home=tmp_path / "home"))


def test_a_record_cannot_silently_replace_an_article_from_another_file(ing, tmp_path, consistent):
    ing.ingest([])
    [bundled] = ing.store.list()
    original = ing.store.get(bundled.id).text
    hijack = tmp_path / "hijack.jsonl"
    hijack.write_text(json.dumps({"id": bundled.id, "title": "Fake", "text": "Nothing happened in Kyiv."}) + "\n"
                      + json.dumps({"url": bundled.url or "http://example.org/x", "text": "Other text."}) + "\n")
    rep = ing.ingest([hijack])
    assert not rep.updated
    reasons = dict(rep.skipped)
    assert f"article {bundled.id} was ingested from" in reasons[f"{hijack.resolve()}:1"]
    assert "--replace" in reasons[f"{hijack.resolve()}:1"]
    assert ing.store.get(bundled.id).text == original
    # asked for explicitly, it is replaced
    rep = ing.ingest([hijack], replace=True)
    assert rep.updated == [bundled.id]
    assert ing.store.get(bundled.id).text == "Nothing happened in Kyiv."
    consistent(ing)


def test_the_same_file_may_update_its_own_records(ing, tmp_path):
    f = tmp_path / "feed.jsonl"
    f.write_text(json.dumps({"id": "r1", "title": "One", "text": "First version of the story."}) + "\n")
    assert ing.ingest([f]).added == ["r1"]
    f.write_text(json.dumps({"id": "r1", "title": "One", "text": "Second version of the story."}) + "\n")
    assert ing.ingest([f]).updated == ["r1"]


def test_all_metadata_whitespace_is_collapsed(ing, tmp_path):
    f = tmp_path / "meta.jsonl"
    f.write_text(json.dumps({"id": "m1", "title": "Big\n\nnews\t today\u2028", "source": "AP\r\n\r\n![x](http://e/i.png)",
                             "url": " http://e/a\n", "authors": ["Jane\nRoe", " "], "text": "Body text here."}) + "\n")
    ing.ingest([f])
    art = ing.store.get("m1")
    assert (art.title, art.source, art.url, art.authors) == ("Big news today", "AP ![x](http://e/i.png)", "http://e/a",
                                                              ("Jane Roe",))


def test_store_records_its_embedder_and_refuses_another(tmp_path):
    home = tmp_path / "home"
    ing = Ingestor(Settings(home=home))
    ing.ingest([])
    assert ing.store.embed_model == "bundled:all-MiniLM-L6-v2"
    ing.store.close()
    with pytest.raises(EmbedderMismatchError) as e:
        Ingestor(Settings(home=home, embed_model="BAAI/bge-small-en-v1.5"))
    msg = str(e.value)
    assert isinstance(e.value, CitewireError)
    assert "bundled:all-MiniLM-L6-v2" in msg and "BAAI/bge-small-en-v1.5" in msg and "CITEWIRE_HOME" in msg


def test_bad_records_are_isolated_and_reported_with_their_line(ing, tmp_path, consistent):
    f = tmp_path / "mixed.jsonl"
    rows = [{"id": "g1", "title": "Good one", "text": "The harbour counted ten ships."},
            {"id": "b1", "title": "Bad authors", "authors": 5, "text": "Some text."},
            {"id": "b2", "title": "Bad date", "published": 1e20, "text": "Some text."},
            {"id": "g2", "title": "Good two", "text": "The council met on Tuesday."}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    rep = ing.ingest([f])
    assert sorted(rep.added) == ["g1", "g2"]
    failed = dict(rep.failed)
    assert "'authors' must be a string or a list of strings, got int" in failed[f"{f.resolve()}:2"]
    assert "'published'" in failed[f"{f.resolve()}:3"] and "1e+20" in failed[f"{f.resolve()}:3"]
    consistent(ing)


def test_bm25_is_built_once_per_run_and_swapped_atomically(tmp_path, caplog, consistent):
    home = tmp_path / "home"
    ing = Ingestor(Settings(home=home, embed_batch_size=4))  # batches of 64 chunks: several commits
    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"a{i}.txt").write_text(f"Report {i}\n" + " ".join(
            f"Port{i} counted {i * 7 + j} ships and {j} ferries on day {j}." for j in range(60)))
    with caplog.at_level(logging.INFO, logger="ingest.bm25"):
        ing.ingest([src])
    assert ing.store.generation >= 2  # several batches committed ...
    assert sum("built BM25 index" in r.message for r in caplog.records) == 1  # ... one BM25 build
    root = home / "bm25"
    first = (root / POINTER).read_text()
    assert (root / first / "rows.json").is_file()
    ing.remove([ing.store.list()[0].id])
    second = (root / POINTER).read_text()
    assert second != first and {p.name for p in root.iterdir()} == {POINTER, first, second}
    assert not (home / "bm25.tmp").exists()
    consistent(ing)


def test_bundled_corpus_is_still_there():
    assert any(bundled_corpus().iterdir())
