"""Suite loaders: the seed suite's gold is right, jsonl parsing is strict, the public suites load."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from evals.loaders import (
    EvalItem,
    cap_articles,
    demo_corpus_files,
    format_choices,
    load_jsonl,
    load_seed,
    parse_rows,
    parse_weeks,
    sample,
    seed_path,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def article_body() -> str:
    """The bundled article's body (the markdown file minus its front matter)."""
    (md,) = demo_corpus_files()
    text = md.read_text(encoding="utf-8")
    m = re.match(r"^---\n.*?\n---\n", text, flags=re.S)
    return text[m.end():] if m else text


def test_seed_suite_shape() -> None:
    rows = [json.loads(line) for line in seed_path().read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 25
    assert sum(1 for r in rows if not r["answerable"]) >= 8
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "question", "answers", "evidence", "answerable"}
    kinds = Counter(r["question"].split()[0].lower() for r in rows)
    for word in ("how", "who", "what", "when", "which"):
        assert kinds[word] >= 1, f"no {word!r} question"
    assert any(r["question"].lower().startswith(("in which", "where")) for r in rows)  # a where-question


def test_seed_gold_is_literally_in_the_article() -> None:
    body = article_body()
    for item in load_seed().items:
        if item.answerable:
            assert item.answers and item.evidence, item.id
            for a in item.answers:
                assert a in body, (item.id, a)
                assert any(a in e for e in item.evidence), (item.id, a)  # the evidence holds the answer
            for e in item.evidence:
                assert e in body, (item.id, e)
        else:
            assert not item.answers and not item.evidence, item.id


def test_seed_unanswerables_are_not_in_the_article() -> None:
    body = article_body().lower()
    for item in load_seed().items:
        if not item.answerable:
            assert "population" not in body and "secretary general" not in body and "odesa" not in body
            assert item.question.endswith("?")


def test_seed_corpus_fingerprint_is_stable() -> None:
    a, b = load_seed(), load_seed(limit=5, seed=3)
    assert a.corpus.kind == "demo" and a.corpus.fingerprint == b.corpus.fingerprint
    assert len(b.items) == 5


def test_sample_is_deterministic_and_ordered() -> None:
    items = [EvalItem(id=str(i), question=f"q{i}") for i in range(50)]
    s1, s2, s3 = sample(items, 10, 1), sample(items, 10, 1), sample(items, 10, 2)
    assert [i.id for i in s1] == [i.id for i in s2]
    assert [i.id for i in s1] != [i.id for i in s3]
    assert [int(i.id) for i in s1] == sorted(int(i.id) for i in s1)
    assert sample(items, None, 0) == items and sample(items, 99, 0) == items


def test_parse_rows_defaults_and_errors() -> None:
    items = parse_rows([
        '{"question": "Who?", "answers": "Klitschko"}',
        "",
        '{"id": "u", "question": "Population?"}',
        '{"id": "x", "question": "Where?", "evidence": ["in Kyiv"], "article_id": "a1"}',
    ])
    assert [i.id for i in items] == ["1", "u", "x"]
    assert items[0].answers == ["Klitschko"] and items[0].answerable
    assert not items[1].answerable  # no gold at all: unanswerable unless said otherwise
    assert items[2].answerable and items[2].article_id == "a1"
    for bad, msg in [
        ("not json", "not JSON"),
        ('{"answers": ["x"]}', "needs a non-empty 'question'"),
        ('{"question": "q", "answers": [1]}', "lists of strings"),
        ('{"question": "q", "answerable": "yes"}', "true or false"),
        ('{"id": 1, "question": "q"}\n{"id": 1, "question": "r"}', "duplicate id"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_rows(bad.splitlines(), "f.jsonl")


def test_load_jsonl_current_store_and_corpus(tmp_path: Path) -> None:
    data = tmp_path / "s.jsonl"
    data.write_text('{"question": "Who is the mayor?", "answers": ["Klitschko"]}\n', encoding="utf-8")
    assert load_jsonl(data).corpus.kind == "current"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Klitschko is the mayor.", encoding="utf-8")
    s1 = load_jsonl(data, corpus=[tmp_path / "docs"])
    assert s1.corpus.kind == "paths" and s1.corpus.fingerprint
    (tmp_path / "docs" / "a.txt").write_text("Klitschko is still the mayor.", encoding="utf-8")
    assert load_jsonl(data, corpus=[tmp_path / "docs"]).corpus.fingerprint != s1.corpus.fingerprint
    with pytest.raises(FileNotFoundError):
        load_jsonl(data, corpus=[tmp_path / "missing"])
    with pytest.raises(FileNotFoundError):
        load_jsonl(tmp_path / "missing.jsonl")


def test_parse_weeks() -> None:
    weeks = [f"2024010{i}" for i in range(1, 8)]
    assert parse_weeks(None, weeks, 0) == weeks
    assert parse_weeks("3", weeks, 0) == parse_weeks("3", weeks, 0) and len(parse_weeks("3", weeks, 0)) == 3
    assert parse_weeks("2024-01-02, 20240105", weeks, 0) == ["20240102", "20240105"]
    with pytest.raises(ValueError, match="unknown week"):
        parse_weeks("20991231", weeks, 0)


def test_cap_articles() -> None:
    ids = [f"a{i}" for i in range(10)]
    assert cap_articles(ids, [], None, 0) == ids
    capped = cap_articles(ids, ["a7", "zz", "a2", "a7"], 4, 0)
    assert len(capped) == 4 and {"a7", "a2"} <= set(capped)
    assert capped == [a for a in ids if a in capped]  # original order
    assert capped == cap_articles(ids, ["a7", "zz", "a2", "a7"], 4, 0)
    assert cap_articles(ids, ids[::-1], 2, 0) == ["a8", "a9"]  # priority wins over sampling


def test_format_choices() -> None:
    assert format_choices("Who won?", ["A", "B"]) == "Who won? (one of: A; B)"


@pytest.mark.skipif(not (SHARED / "clapnq" / "dev-a.jsonl").is_file(), reason=f"CLAPNQ data not found at {SHARED}/clapnq")
def test_load_clapnq() -> None:
    from evals.loaders import load_clapnq

    suite = load_clapnq(SHARED / "clapnq" / "dev-a.jsonl")
    assert len(suite.items) == 300
    ans = [i for i in suite.items if i.answerable]
    assert len(ans) == 150
    records = {r.id: r for r in suite.corpus.make_records()}  # type: ignore[misc]
    assert len(records) == 300
    for item in ans:
        passage = records[item.meta["gold_article"]].text
        assert item.evidence and all(s in passage for s in item.evidence)
    assert all(not i.evidence for i in suite.items if not i.answerable)
    small = load_clapnq(SHARED / "clapnq", limit=20, seed=1)
    assert len(small.items) == 20 and small.corpus.fingerprint == suite.corpus.fingerprint  # one store for all
    capped = load_clapnq(SHARED / "clapnq", limit=5, seed=1, max_articles=9)
    ids = {r.id for r in capped.corpus.make_records()}  # type: ignore[misc]
    assert len(ids) == 9 and {it.meta["gold_article"] for it in capped.items} <= ids


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "realtimeqa-2024" / "questions.jsonl").is_file(),
                    reason=f"RealTimeQA data not found at {SHARED}/realtimeqa-2024")
def test_load_realtimeqa() -> None:
    from evals.loaders import load_realtimeqa

    suite = load_realtimeqa(SHARED / "realtimeqa-2024", weeks="20240105,20240112", limit=30, seed=0)
    assert suite.params["weeks"] == ["20240105", "20240112"]
    assert len(suite.items) == 30
    records = suite.corpus.make_records()  # type: ignore[misc]
    assert records and all(r.id and re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", r.published) for r in records)
    assert sum(1 for r in records if r.published) > len(records) / 2
    corpus = " ".join(r.text.lower() for r in records)
    for item in suite.items:
        assert item.answers
        if item.answerable:  # labelled answerable only when the gold occurs in the store's articles
            assert any(a.lower().split()[0] in corpus for a in item.answers)
    assert 0 < sum(i.answerable for i in suite.items) < 30
    mc = load_realtimeqa(SHARED / "realtimeqa-2024", weeks="20240105", multiple_choice=True)
    assert all(i.multiple_choice and "(one of: " in i.question for i in mc.items)
    again = load_realtimeqa(SHARED / "realtimeqa-2024", weeks="20240105,20240112", limit=10, seed=5)
    assert again.corpus.fingerprint == suite.corpus.fingerprint  # the store depends on the weeks only
    capped = load_realtimeqa(SHARED / "realtimeqa-2024", weeks="20240105", limit=5, seed=1, max_articles=12)
    recs = capped.corpus.make_records()  # type: ignore[misc]
    assert len(recs) == 12
    own = {a for it in capped.items for a in it.meta["article_ids"]}
    assert own & {r.id for r in recs}  # the questions' own articles are kept first
