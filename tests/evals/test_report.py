"""The report: results.json keeps the documented shape, report.md has the table and failures,
and the plots are real PNG files."""

from __future__ import annotations

import json
from pathlib import Path

from evals.loaders import EvalItem
from evals.report import render_markdown, summary_table, write_report
from evals.runner import make_row
from evals.scoring import Prediction, score_item, summarize

ART = "Kyiv Mayor Vitali Klitschko said 14 people were hospitalized."
PNG = b"\x89PNG\r\n\x1a\n"


def text_of(aid: str) -> str | None:
    return ART if aid == "a" else None


def results() -> dict:
    item = EvalItem(id="m", question="Who is the mayor of Kyiv?", answers=["Vitali Klitschko"], evidence=[ART])
    un = EvalItem(id="u", question="What is the population of Kyiv?", answerable=False)
    cite = {"n": 1, "article_id": "a", "start": 0, "end": len(ART), "quote": ART}
    preds = {
        "citewire": [Prediction("Vitali Klitschko [1].", False, [cite], [cite], {"retrieval_s": 0.1, "first_token_s": 0.4, "total_s": 1.2}),
                     Prediction("The articles do not say.", True, [], [cite], {"retrieval_s": 0.1, "total_s": 0.3})],
        "baseline": [Prediction("The mayor is Klitschko.", False, [], [cite], {"retrieval_s": 0.2, "first_token_s": 0.9, "total_s": 2.5}),
                     Prediction("About three million people [1].", False, [cite], [cite], {"retrieval_s": 0.2, "total_s": 2.0})],
    }
    rows = [make_row(e, it, p, score_item(it, p, text_of, 8)) for e, ps in preds.items() for it, p in zip([item, un], ps)]
    summary = {e: summarize([r for r in rows if r["engine"] == e]) for e in preds}
    return {"suite": "toy", "settings": {"llm": {"backend": "llamacpp"}}, "summary": summary, "rows": rows,
            "meta": {"command": "citewire eval toy", "seed": 0, "k": 8, "elapsed_s": 1.0}}


def test_summary_table_has_deltas() -> None:
    table = summary_table(results()["summary"])
    lines = table.splitlines()
    assert lines[0] == "| metric | citewire | baseline | Δ citewire − baseline |"
    acc = next(line for line in lines if line.startswith("| answer_accuracy |"))
    assert "1.000" in acc and "0.000" in acc and "+1.000 ▲" in acc
    lat = next(line for line in lines if line.startswith("| latency_p50_s |"))
    assert "▲" in lat  # faster is better: a negative delta is an improvement


def test_summary_table_single_engine() -> None:
    r = results()
    table = summary_table({"citewire": r["summary"]["citewire"]})
    assert "Δ" not in table and "| span_validity | 1.000 |" in table


def test_markdown_lists_failures_with_evidence() -> None:
    md = render_markdown(results())
    assert md.startswith("# citewire eval: toy")
    assert "## Worst failures: baseline" in md
    assert "answered an unanswerable question" in md
    assert "wrong or missing answer" in md and "> gold evidence: Kyiv Mayor" in md
    citewire_part = md.split("## Worst failures: citewire")[1].split("## Worst failures: baseline")[0]
    assert "none" in citewire_part  # citewire got both right


def test_write_report(tmp_path: Path) -> None:
    paths = write_report(results(), tmp_path / "out")
    data = json.loads(paths["results"].read_text(encoding="utf-8"))
    assert set(data) >= {"suite", "settings", "summary", "rows"}
    assert set(data["summary"]) == {"citewire", "baseline"}
    for name in ("answer_accuracy", "citation_precision", "citation_recall", "span_validity", "abstention_f1",
                 "retrieval_hit_at_k", "latency_p50_s"):
        assert name in data["summary"]["citewire"]
    row = data["rows"][0]
    assert set(row) >= {"question", "gold", "answer", "abstained", "citations", "scores", "timings", "engine"}
    for name in ("metrics", "latency", "outcomes"):
        png = paths[name]
        assert png.suffix == ".png" and png.read_bytes()[:8] == PNG and png.stat().st_size > 5000
        assert f"]({name}.png)" in paths["report"].read_text(encoding="utf-8")
