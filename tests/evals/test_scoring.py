"""Per-question scoring and the per-engine summary, on hand-made predictions."""

from __future__ import annotations

import pytest

from evals.loaders import EvalItem
from evals.scoring import Prediction, failure_kind, failure_rank, score_item, summarize

ART = "Kyiv Mayor Vitali Klitschko said 14 people were hospitalized.\n\nRussia launched 550 drones and missiles."
TEXTS = {"kyiv": ART}
MAYOR_EV = "Kyiv Mayor Vitali Klitschko said 14 people were hospitalized."


def text_of(aid: str) -> str | None:
    return TEXTS.get(aid)


def cite(start: int, end: int, aid: str = "kyiv", n: int = 1) -> dict:
    return {"n": n, "article_id": aid, "start": start, "end": end, "quote": (TEXTS.get(aid) or "")[start:end]}


def mayor() -> EvalItem:
    return EvalItem(id="m", question="Who is the mayor of Kyiv?", answers=["Vitali Klitschko"], evidence=[MAYOR_EV])


def test_correct_answer_with_exact_citation() -> None:
    ev_end = ART.index("\n")
    pred = Prediction(answer="Vitali Klitschko [1].", abstained=False, citations=[cite(0, ev_end)],
                      retrieved=[cite(ev_end + 2, len(ART)), cite(0, ev_end)], timings={"total_s": 1.0})
    s = score_item(mayor(), pred, text_of, k=8)
    assert s["answer_correct"] == 1.0 and s["answer_f1"] == 1.0
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 1.0 and s["citation_char_precision"] == 1.0
    assert s["retrieval_hit_at_k"] == 1.0 and s["retrieval_rr"] == 0.5
    assert s["n_invalid_spans"] == 0
    s1 = score_item(mayor(), pred, text_of, k=1)
    assert s1["retrieval_hit_at_k"] == 0.0  # the evidence is ranked second


def test_wrong_citation_and_invalid_span() -> None:
    drones = ART.index("Russia")
    bad = {"n": 2, "article_id": "kyiv", "start": drones, "end": drones + 6, "quote": "RUSSIA"}  # differs from the text
    pred = Prediction(answer="Klitschko [1][2]", abstained=False, citations=[cite(drones, len(ART)), bad])
    s = score_item(mayor(), pred, text_of, k=8)
    assert s["answer_correct"] == 0.0  # "Klitschko" alone does not contain "Vitali Klitschko"
    assert 0 < s["answer_f1"] < 1
    assert s["citation_precision"] == 0.0 and s["citation_recall"] == 0.0
    assert s["n_invalid_spans"] == 1 and s["n_citations"] == 2
    assert failure_kind({"scores": s}) == "invalid citation span"


def test_abstained_on_answerable_and_unanswerable() -> None:
    pred = Prediction(answer="The articles do not say.", abstained=True)
    s = score_item(mayor(), pred, text_of, k=8)
    assert s["answer_correct"] == 0.0 and s["answer_f1"] == 0.0
    assert s["citation_precision"] is None  # no citation metrics for abstentions
    assert s["retrieval_hit_at_k"] == 0.0  # nothing retrieved
    un = EvalItem(id="u", question="What is the population of Kyiv?", answerable=False)
    su = score_item(un, pred, text_of, k=8)
    assert su["answer_correct"] is None and su["retrieval_hit_at_k"] is None
    assert failure_rank({"scores": su}) is None  # a right abstention is no failure
    answered = score_item(un, Prediction(answer="About 3 million.", abstained=False), text_of, k=8)
    assert failure_kind({"scores": answered}) == "answered an unanswerable question"


def test_answer_only_gold_uses_containment() -> None:
    item = EvalItem(id="d", question="How many drones?", answers=["550"])  # no evidence quotes
    drones = ART.index("Russia")
    pred = Prediction(answer="550 [1]", abstained=False, citations=[cite(drones, len(ART))], retrieved=[cite(0, 10)])
    s = score_item(item, pred, text_of, k=8)
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 1.0
    assert s["retrieval_hit_at_k"] == 0.0
    assert s["citation_char_precision"] is None  # no evidence spans to measure against


def test_evidence_only_gold_has_no_answer_score() -> None:
    item = EvalItem(id="e", question="Who is the mayor?", evidence=[MAYOR_EV])
    ev_end = ART.index("\n")
    s = score_item(item, Prediction(answer="Klitschko [1]", abstained=False, citations=[cite(0, ev_end)]), text_of, k=8)
    assert s["answer_correct"] is None and s["answer_f1"] is None  # nothing to compare the answer with
    assert s["citation_recall"] == 1.0 and s["citation_precision"] == 1.0


def test_multiple_choice_scoring() -> None:
    item = EvalItem(id="mc", question="Who? (one of: Tsai Ing-wen; Hou Yu-ih)", answers=["Hou Yu-ih"],
                    choices=["Tsai Ing-wen", "Hou Yu-ih"], multiple_choice=True)
    ok = score_item(item, Prediction(answer="Hou Yu-ih.", abstained=False), text_of, k=8)
    hedge = score_item(item, Prediction(answer="Hou Yu-ih or Tsai Ing-wen.", abstained=False), text_of, k=8)
    assert ok["answer_correct"] == 1.0 and hedge["answer_correct"] == 0.0


def test_evidence_restricted_to_article_and_errors() -> None:
    TEXTS["other"] = ART
    try:
        item = mayor()
        item.article_id = "kyiv"
        ev_end = ART.index("\n")
        pred = Prediction(answer="Vitali Klitschko", abstained=False, citations=[cite(0, ev_end, aid="other")])
        s = score_item(item, pred, text_of, k=8)
        assert s["citation_recall"] == 0.0  # same text, but not the gold article
        assert s["citation_precision"] == 1.0  # it still contains the gold answer
    finally:
        del TEXTS["other"]
    err = score_item(mayor(), Prediction(answer="", abstained=False, error="boom"), text_of, k=8)
    assert err["error"] and err["answer_correct"] == 0.0 and err["citation_precision"] is None


def _row(engine: str, scores: dict, timings: dict) -> dict:
    return {"engine": engine, "scores": scores, "timings": timings}


def test_summarize() -> None:
    ev_end = ART.index("\n")
    un = EvalItem(id="u", question="Population?", answerable=False)
    rows = [
        _row("e", score_item(mayor(), Prediction("Vitali Klitschko [1]", False, [cite(0, ev_end)], [cite(0, ev_end)]), text_of, 8),
             {"retrieval_s": 0.1, "total_s": 1.0, "first_token_s": 0.5}),
        _row("e", score_item(mayor(), Prediction("no idea", True), text_of, 8), {"retrieval_s": 0.3, "total_s": 3.0}),
        _row("e", score_item(un, Prediction("I cannot tell", True), text_of, 8), {"retrieval_s": 0.2, "total_s": 2.0}),
    ]
    s = summarize(rows)
    assert s["n_questions"] == 3 and s["n_unanswerable"] == 1 and s["n_errors"] == 0
    assert s["answer_accuracy"] == 0.5 and s["answer_accuracy_when_answered"] == 1.0
    assert s["citation_precision"] == 1.0  # abstentions do not count
    assert s["span_validity"] == 1.0
    assert s["abstention_precision"] == 0.5 and s["abstention_recall"] == 1.0 and s["answer_rate"] == 0.5
    assert s["latency_p50_s"] == 2.0 and s["latency_retrieval_p95_s"] == pytest.approx(0.29)
    assert s["latency_first_token_p50_s"] == 0.5  # only one row reported it
    assert s["citations_per_answer"] == 1.0


def test_summarize_without_citations_or_answerable_rows() -> None:
    un = EvalItem(id="u", question="Population?", answerable=False)
    s = summarize([_row("e", score_item(un, Prediction("", True), text_of, 8), {})])
    assert s["span_validity"] is None and s["answer_accuracy"] is None and s["latency_p50_s"] is None
    assert s["abstention_f1"] == 1.0


def test_own_words_accuracy_ignores_gold_inside_quoted_evidence() -> None:
    ev_end = ART.index("\n")
    quoted = Prediction(answer=f"According to the articles: “{MAYOR_EV}” [1]", abstained=False, citations=[cite(0, ev_end)])
    s = score_item(mayor(), quoted, text_of, k=8)
    assert s["answer_correct"] == 0.0 and s["answer_correct_any_text"] == 1.0
    assert s["answered_cited"] == 0.0 and s["crag"] == -1.0
    said = Prediction(answer="Vitali Klitschko [1].", abstained=False, citations=[cite(0, ev_end)])
    s2 = score_item(mayor(), said, text_of, k=8)
    assert s2["answer_correct"] == 1.0 and s2["answered_cited"] == 1.0 and s2["crag"] == 1.0


def test_right_but_uncited_scores_minus_one_and_refusal_zero() -> None:
    ev_end = ART.index("\n")
    wrong_cite = Prediction(answer="Vitali Klitschko [1].", abstained=False, citations=[cite(ev_end + 2, len(ART))])
    s = score_item(mayor(), wrong_cite, text_of, k=8)
    assert s["answer_correct"] == 1.0 and s["answered_cited"] == 0.0 and s["crag"] == -1.0
    refused = score_item(mayor(), Prediction("The articles don't say.", True), text_of, k=8)
    assert refused["crag"] == 0.0 and refused["answered_cited"] == 0.0 and refused["citation_recall_all"] == 0.0
    un = EvalItem(id="u", question="Population of Odesa?", answerable=False)
    answered_un = score_item(un, Prediction("About 1 million [1].", False, [cite(0, ev_end)]), text_of, k=8)
    assert answered_un["crag"] == -1.0 and answered_un["answered_cited"] is None


def test_long_form_gold_counts_right_when_the_citation_is_gold_evidence() -> None:
    ev_end = ART.index("\n")
    item = EvalItem(id="l", question="What did the mayor say?", answers=["The mayor said fourteen people were hurt."],
                    evidence=[MAYOR_EV], answer_style="long")
    good = score_item(item, Prediction("14 people were hospitalized [1].", False, [cite(0, ev_end)]), text_of, k=8)
    assert good["answer_correct"] is None and good["answered_cited"] == 1.0 and good["crag"] == 1.0
    bad = score_item(item, Prediction("550 drones [1].", False, [cite(ev_end + 2, len(ART))]), text_of, k=8)
    assert bad["answered_cited"] == 0.0 and bad["crag"] == -1.0


def test_article_level_retrieval_hit_ignores_chunk_boundaries() -> None:
    ev_end = ART.index("\n")
    other_chunk = Prediction("x", True, retrieved=[cite(ev_end + 2, len(ART))])
    s = score_item(mayor(), other_chunk, text_of, k=8)
    assert s["retrieval_hit_at_k"] == 0.0 and s["retrieval_article_hit_at_k"] == 1.0


def test_summary_reports_crag_and_answered_cited_rate() -> None:
    ev_end = ART.index("\n")
    un = EvalItem(id="u", question="Population?", answerable=False)
    rows = [
        _row("e", score_item(mayor(), Prediction("Vitali Klitschko [1]", False, [cite(0, ev_end)]), text_of, 8), {}),
        _row("e", score_item(mayor(), Prediction("no idea", True), text_of, 8), {}),
        _row("e", score_item(un, Prediction("It is 5 [1]", False, [cite(0, ev_end)]), text_of, 8), {}),
        _row("e", score_item(un, Prediction("", True), text_of, 8), {}),
    ]
    s = summarize(rows)
    assert s["crag_score"] == 0.0  # (+1 + 0 - 1 + 0) / 4
    assert s["answered_cited_rate"] == 0.5 and s["citation_recall_all"] == 0.5
