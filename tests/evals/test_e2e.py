"""Tiny end-to-end runs of every suite through `evals.cli.run` with the real engine (no mocks).

Most runs use llm.backend="none" (citewire then answers extractively: fast); one run uses the
bundled LLM and the LlamaIndex baseline side by side.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from citewire.settings import LLMSettings, Settings
from evals.cli import add_arguments, run

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
CLAPNQ = SHARED / "clapnq" / "dev-a.jsonl"
RTQA = SHARED / "realtimeqa-2024"
SMALL_WEEK = "20241018"  # the smallest week of RealTimeQA 2024 (131 articles)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data home per module, so eval stores are built once and reused by later tests."""
    return tmp_path_factory.mktemp("evals-home")


def settings(home: Path, backend: str = "none") -> Settings:
    return Settings(home=home, llm=LLMSettings(backend=backend, max_tokens=64))  # type: ignore[arg-type]


def run_eval(home: Path, out: Path, *argv: str, backend: str = "none") -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([*argv, "--out", str(out), "--no-progress"])
    assert run(args, settings(home, backend)) == 0
    assert not (out / "rows.partial.jsonl").exists()  # only kept when a run is interrupted
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def check_invariants(res: dict[str, Any], home: Path) -> None:
    """Every citation of every row is a character-exact span of its stored article."""
    from rag import Engine

    store = Path(res["meta"]["store"])
    engine = Engine.open(settings=settings(home).model_copy(update={"home": store}))
    try:
        for row in res["rows"]:
            for c in row["citations"]:
                assert engine.article(c["article_id"]).text[c["start"]:c["end"]] == c["quote"]
    finally:
        engine.close()
    for engine_name, summary in res["summary"].items():
        if summary["span_validity"] is not None:
            assert summary["span_validity"] == 1.0, engine_name


def test_seed_extractive_and_store_reuse(home: Path, tmp_path: Path) -> None:
    res = run_eval(home, tmp_path / "a", "seed", "--extractive")
    s = res["summary"]["citewire"]
    assert s["n_questions"] == 37 and s["n_unanswerable"] == 10 and s["n_errors"] == 0
    assert s["span_validity"] == 1.0
    assert s["retrieval_hit_at_k"] >= 0.8  # one short article: the evidence is nearly always retrieved
    assert s["answer_accuracy"] is not None and s["abstention_f1"] is not None
    assert s["latency_p50_s"] > 0
    check_invariants(res, home)
    for name in ("report.md", "metrics.png", "latency.png", "outcomes.png"):
        assert (tmp_path / "a" / name).stat().st_size > 0
    assert not res["meta"]["store_reused"]

    # the gold evidence of every answerable seed question is found in the stored (cleaned) article
    rows = [r for r in res["rows"] if r["gold"]["answerable"] and r["retrieved"]]
    from rag import Engine

    engine = Engine.open(settings=settings(home).model_copy(update={"home": Path(res["meta"]["store"])}))
    try:
        (info,) = engine.articles()
        text = engine.article(info.id).text
    finally:
        engine.close()
    for r in rows:
        assert all(q in text for q in r["gold"]["evidence"]), r["id"]

    again = run_eval(home, tmp_path / "b", "seed", "--extractive", "--limit", "5", "--seed", "7")
    assert again["meta"]["store_reused"] and again["meta"]["store"] == res["meta"]["store"]
    assert again["summary"]["citewire"]["n_questions"] == 5
    ids = [r["id"] for r in again["rows"]]
    assert ids == [r["id"] for r in run_eval(home, tmp_path / "c", "seed", "--extractive", "--limit", "5", "--seed", "7")["rows"]]


def test_jsonl_over_a_corpus_and_over_the_current_store(home: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbor.txt").write_text(
        "Harbor Town opened a new ferry terminal on Monday.\n\nThe terminal cost 42 million euros and was designed "
        "by the architect Mara Ilic.\n\nOfficials expect 9,000 passengers a day.", encoding="utf-8")
    (docs / "rail.txt").write_text(
        "The northern rail line reopened after floods.\n\nRepairs took eleven weeks, the operator said.", encoding="utf-8")
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"id": "cost", "question": "How much did the ferry terminal cost?", "answers": ["42 million euros"],
         "evidence": ["The terminal cost 42 million euros and was designed by the architect Mara Ilic."], "answerable": True},
        {"id": "repairs", "question": "How long did the rail repairs take?", "answers": ["eleven weeks"],
         "evidence": ["Repairs took eleven weeks, the operator said."], "answerable": True},
        {"id": "mayor", "question": "Who is the mayor of Harbor Town?", "answers": [], "evidence": [], "answerable": False},
    ]) + "\n", encoding="utf-8")
    res = run_eval(home, tmp_path / "o1", "jsonl", "--data", str(data), "--corpus", str(docs), "--extractive")
    s = res["summary"]["citewire"]
    assert res["suite"] == "mine" and s["n_questions"] == 3
    assert s["retrieval_hit_at_k"] == 1.0 and s["span_validity"] == 1.0
    for r in res["rows"]:  # citation metrics exactly for answered answerable questions
        sc = r["scores"]
        if r["gold"]["answerable"] and not r["abstained"]:
            assert 0 <= sc["citation_precision"] <= 1 and 0 <= sc["citation_recall"] <= 1
        else:
            assert sc["citation_precision"] is None and sc["citation_recall"] is None
    check_invariants(res, home)

    # the same file over the user's current store (here: the demo corpus ingested at home)
    from rag import Engine

    own = tmp_path / "own-home"
    engine = Engine.open(settings=settings(own))
    try:
        engine.ingest([])
    finally:
        engine.close()
    res2 = run_eval(own, tmp_path / "o2", "jsonl", "--data", str(data), "--extractive")
    assert res2["meta"]["store"] == "current store"
    assert res2["summary"]["citewire"]["retrieval_hit_at_k"] == 0.0  # the Kyiv article holds none of it


@pytest.mark.skipif(not CLAPNQ.is_file(), reason=f"CLAPNQ data not found at {CLAPNQ}")
def test_clapnq_extractive(home: Path, tmp_path: Path) -> None:
    res = run_eval(home, tmp_path / "o", "clapnq", "--data", str(CLAPNQ), "--limit", "8", "--seed", "1", "--max-articles", "40",
                   "--extractive")
    s = res["summary"]["citewire"]
    assert s["n_questions"] == 8 and 0 < s["n_unanswerable"] < 8
    assert s["span_validity"] in (1.0, None)
    assert s["retrieval_hit_at_k"] is not None and s["retrieval_hit_at_k"] > 0  # sentence-level gold is found
    assert res["meta"]["store_info"]["n_articles"] == 40  # the 8 gold passages and 32 distractors
    check_invariants(res, home)


@pytest.mark.skipif(not (RTQA / "questions.jsonl").is_file(), reason=f"RealTimeQA data not found at {RTQA}")
def test_realtimeqa_extractive(home: Path, tmp_path: Path) -> None:
    res = run_eval(home, tmp_path / "o", "realtimeqa", "--data", str(RTQA), "--weeks", SMALL_WEEK, "--limit", "6",
                   "--max-articles", "30", "--extractive")
    s = res["summary"]["citewire"]
    assert s["n_questions"] == 6 and s["n_errors"] == 0
    assert res["meta"]["params"]["weeks"] == [SMALL_WEEK]
    assert res["meta"]["store_info"]["n_articles"] == 30
    assert all(r["gold"]["answers"] for r in res["rows"])
    check_invariants(res, home)
    mc = run_eval(home, tmp_path / "mc", "realtimeqa", "--data", str(RTQA), "--weeks", SMALL_WEEK, "--limit", "6",
                  "--max-articles", "30", "--multiple-choice", "--extractive")
    assert mc["meta"]["store_reused"]
    assert all("(one of: " in r["question"] for r in mc["rows"])


def test_seed_compare_with_bundled_llm(home: Path, tmp_path: Path) -> None:
    """citewire with the bundled SmolLM2 next to the stock LlamaIndex baseline, same questions."""
    res = run_eval(home, tmp_path / "o", "seed", "--compare", "--limit", "4", "--seed", "2", backend="llamacpp")
    assert set(res["summary"]) == {"citewire", "baseline"}
    for name, s in res["summary"].items():
        assert s["n_questions"] == 4 and s["n_errors"] == 0, name
        assert s["latency_p50_s"] > 0 and s["retrieval_hit_at_k"] is not None
    cw = [r for r in res["rows"] if r["engine"] == "citewire"]
    bl = [r for r in res["rows"] if r["engine"] == "baseline"]
    assert [r["id"] for r in cw] == [r["id"] for r in bl]  # the same questions, in the same order
    assert all(r["retrieved"] for r in bl)  # baseline nodes were mapped back to article spans
    assert all(r["mode"] in {"generated", "extractive", "abstained"} for r in cw)
    assert all("generation_s" in r["timings"] for r in cw if not r["abstained"])  # the LLM really ran
    check_invariants(res, home)
    md = (tmp_path / "o" / "report.md").read_text(encoding="utf-8")
    assert "Δ citewire − baseline" in md
    # the baseline index is persisted in the eval store and re-used
    store = Path(res["meta"]["store"])
    assert len(list(store.glob("baseline-*/baseline.json"))) == 1
