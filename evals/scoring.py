"""Score one engine's prediction against an item's gold, and summarise a run.

Gold evidence is given as quotes; it is located in the articles the engine retrieved or cited (by
text, so suites need not know article ids), then every retrieved passage and citation is matched to
the gold units it covers. The metric definitions live in `evals.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evals import metrics as M
from evals.loaders import EvalItem


@dataclass
class Prediction:
    """What an engine said, in the harness's engine-neutral form.

    `citations` and `retrieved` are dicts with at least ``article_id``, ``start``, ``end`` and
    ``quote`` (offsets into the stored article text); `timings` uses the keys ``retrieval_s``,
    ``first_token_s`` and ``total_s``.
    """

    answer: str
    abstained: bool
    citations: list[dict[str, Any]] = field(default_factory=list)
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    mode: str = ""
    features: dict[str, float | str] = field(default_factory=dict)  # the answer policy's inputs, for calibration

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TextOf = Callable[[str], "str | None"]


def gold_units(item: EvalItem, article_ids: Sequence[str], text_of: TextOf) -> list[list[M.Span]]:
    """Locate each gold evidence quote in the given articles (restricted to `item.article_id`)."""
    ids = sorted(set(article_ids))
    if item.article_id:
        ids = [a for a in ids if a == item.article_id]
    texts = {a: text_of(a) or "" for a in ids}
    return [[(a, s, e) for a in ids for s, e in M.locate(texts[a], q)] for q in item.evidence]


def score_item(item: EvalItem, pred: Prediction, text_of: TextOf, k: int) -> dict[str, Any]:
    """Per-question scores. Keys are None where a metric does not apply to this question."""
    seen = [c["article_id"] for c in pred.citations] + [p["article_id"] for p in pred.retrieved]
    units = gold_units(item, seen, text_of)
    total = M.n_units(units, item.answers) if item.answerable else 0

    def cover(x: dict[str, Any]) -> set[int]:
        return M.units_covered((x["article_id"], x["start"], x["end"]), x.get("quote", ""), units, item.answers)

    s: dict[str, Any] = {"answerable": item.answerable, "abstained": pred.abstained, "error": pred.error is not None}
    answered = not pred.abstained and not pred.error

    # answer: scored on the answer's own words (quotes of the evidence don't count), where there is a
    # short gold string; long-form gold (CLAPNQ) is scored by token F1 and by its cited evidence
    short_gold = item.answerable and bool(item.answers) and item.answer_style == "short"
    if short_gold:
        if not answered:
            correct = correct_any = False
            f1: float | None = 0.0
        elif item.multiple_choice:
            correct = M.choice_correct(M.own_words(pred.answer), item.answers, item.choices)
            correct_any = M.choice_correct(pred.answer, item.answers, item.choices)
            f1 = M.token_f1(M.own_words(pred.answer), item.answers)
        else:
            correct = M.contains_answer(M.own_words(pred.answer), item.answers)
            correct_any = M.contains_answer(pred.answer, item.answers)
            f1 = M.token_f1(M.own_words(pred.answer), item.answers)
        s["answer_correct"], s["answer_correct_any_text"], s["answer_f1"] = float(correct), float(correct_any), f1
    else:
        s["answer_correct"] = s["answer_correct_any_text"] = None
        s["answer_f1"] = (0.0 if not answered else M.token_f1(M.own_words(pred.answer), item.answers)) \
            if item.answerable and item.answers else None

    # retrieval, chunk level and article level (so chunk size flatters no engine)
    if item.answerable:
        r = M.retrieval_scores([cover(p) for p in pred.retrieved], total, k)
        articles = list(dict.fromkeys(p["article_id"] for p in pred.retrieved))
        s["retrieval_article_hit_at_k"] = (
            None if total == 0 else float(any(_article_has_gold(a, units, item, text_of) for a in articles[:k])))
    else:
        r = M.retrieval_scores([], 0, k)
        s["retrieval_article_hit_at_k"] = None
    s["retrieval_hit_at_k"], s["retrieval_recall_at_k"], s["retrieval_rr"] = r["hit_at_k"], r["recall_at_k"], r["rr"]

    # span validity: every citation, answerable or not
    valid = [M.span_valid(c.get("quote", ""), text_of(c["article_id"]), c["start"], c["end"]) for c in pred.citations]
    s["n_citations"] = len(pred.citations)
    s["n_invalid_spans"] = sum(1 for v in valid if not v)
    s["cited_chars"] = sum(max(0, c["end"] - c["start"]) for c in pred.citations)

    # citation quality: precision over answered answerable questions, recall over all answerable ones
    cited_ok = False
    if item.answerable and answered:
        covers = [cover(c) for c in pred.citations]
        support = [bool(cv) or M.contains_answer(c.get("quote", ""), item.answers) for cv, c in zip(covers, pred.citations)]
        cited_ok = any(support)
        cs = M.citation_scores(covers, support, total)
        s["citation_precision"], s["citation_recall"] = cs["precision"], cs["recall"]
        flat_gold = [g for u in units for g in u]
        cited = [(c["article_id"], c["start"], c["end"]) for c in pred.citations]
        s["citation_char_precision"] = M.char_precision(cited, flat_gold) if flat_gold else None
    else:
        s["citation_precision"] = s["citation_recall"] = s["citation_char_precision"] = None
    s["citation_recall_all"] = (s["citation_recall"] or 0.0) if item.answerable and total > 0 else None

    # answered right AND cited: the one number that neither abstaining nor guessing can flatter
    right = bool(s["answer_correct"]) if short_gold else cited_ok
    s["answered_cited"] = float(answered and right and cited_ok) if item.answerable else None
    s["crag"] = float(M.crag_point(item.answerable, not answered, bool(s["answered_cited"])))
    return s


def _article_has_gold(article_id: str, units: list[list[M.Span]], item: EvalItem, text_of: TextOf) -> bool:
    """Does the article hold gold: a located evidence unit, or (answer-only gold) the answer string?"""
    if units:
        return any(g[0] == article_id for u in units for g in u)
    return M.contains_answer(text_of(article_id) or "", item.answers)


LATENCY_KEYS = {
    "retrieval": "retrieval_s",
    "first_token": "first_token_s",
    "total": "total_s",
}

# Metric name -> (higher is better?). Order = order in tables.
METRICS: dict[str, bool] = {
    "crag_score": True,
    "answered_cited_rate": True,
    "answer_accuracy": True,
    "answer_accuracy_any_text": True,
    "answer_f1": True,
    "answer_accuracy_when_answered": True,
    "retrieval_article_hit_at_k": True,
    "retrieval_hit_at_k": True,
    "retrieval_recall_at_k": True,
    "retrieval_mrr": True,
    "citation_precision": True,
    "citation_recall": True,
    "citation_recall_all": True,
    "citation_char_precision": True,
    "span_validity": True,
    "abstention_precision": True,
    "abstention_recall": True,
    "abstention_f1": True,
    "answer_rate": True,
    "citations_per_answer": True,
    "latency_retrieval_p50_s": False,
    "latency_retrieval_p95_s": False,
    "latency_first_token_p50_s": False,
    "latency_first_token_p95_s": False,
    "latency_p50_s": False,
    "latency_p95_s": False,
    "n_questions": True,
    "n_unanswerable": True,
    "n_errors": False,
}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, float | int | None]:
    """Aggregate the rows of one engine (each with ``scores`` and ``timings``) into METRICS."""
    sc = [r["scores"] for r in rows]
    ans = [s for s in sc if s["answerable"]]
    answered = [s for s in ans if not s["abstained"] and not s["error"]]
    n_cit = sum(s["n_citations"] for s in sc)
    ab = M.abstention_scores([not s["answerable"] for s in sc], [s["abstained"] for s in sc])
    out: dict[str, float | int | None] = {
        "crag_score": M.mean(s["crag"] for s in sc),
        "answered_cited_rate": M.mean(s["answered_cited"] for s in ans),
        "answer_accuracy": M.mean(s["answer_correct"] for s in ans),
        "answer_accuracy_any_text": M.mean(s["answer_correct_any_text"] for s in ans),
        "answer_f1": M.mean(s["answer_f1"] for s in ans),
        "answer_accuracy_when_answered": M.mean(s["answer_correct"] for s in answered),
        "retrieval_article_hit_at_k": M.mean(s["retrieval_article_hit_at_k"] for s in ans),
        "retrieval_hit_at_k": M.mean(s["retrieval_hit_at_k"] for s in ans),
        "retrieval_recall_at_k": M.mean(s["retrieval_recall_at_k"] for s in ans),
        "retrieval_mrr": M.mean(s["retrieval_rr"] for s in ans),
        "citation_precision": M.mean(s["citation_precision"] for s in ans),
        "citation_recall": M.mean(s["citation_recall"] for s in ans),
        "citation_recall_all": M.mean(s["citation_recall_all"] for s in ans),
        "citation_char_precision": M.mean(s["citation_char_precision"] for s in ans),
        "span_validity": (1 - sum(s["n_invalid_spans"] for s in sc) / n_cit) if n_cit else None,
        "abstention_precision": ab["precision"],
        "abstention_recall": ab["recall"],
        "abstention_f1": ab["f1"],
        "answer_rate": ab["answer_rate"],
        "citations_per_answer": M.mean(s["n_citations"] for s in sc if not s["abstained"] and not s["error"]),
    }
    for name, key in LATENCY_KEYS.items():
        vals = [r["timings"].get(key) for r in rows if not r["scores"]["error"]]
        prefix = "latency" if name == "total" else f"latency_{name}"
        out[f"{prefix}_p50_s"] = M.percentile(vals, 50)
        out[f"{prefix}_p95_s"] = M.percentile(vals, 95)
    out["n_questions"] = len(sc)
    out["n_unanswerable"] = sum(1 for s in sc if not s["answerable"])
    out["n_errors"] = sum(1 for s in sc if s["error"])
    return out


def failure_rank(row: dict[str, Any]) -> tuple[int, float] | None:
    """How bad a row is (lower sorts first), or None when it is not a failure.

    Order: invalid spans, errors, wrong answers to answerable questions (lowest F1 first), answers
    to unanswerable questions, correct answers whose citations miss the evidence.
    """
    s = row["scores"]
    if s["n_invalid_spans"]:
        return (0, 0.0)
    if s["error"]:
        return (1, 0.0)
    missed_long = s["answer_correct"] is None and s.get("answered_cited") == 0.0
    if s["answerable"] and (s["abstained"] or s["answer_correct"] == 0.0 or missed_long):
        return (2, s["answer_f1"] or 0.0)
    if not s["answerable"] and not s["abstained"]:
        return (3, 0.0)
    if s["answerable"] and (s["citation_precision"] or 0) < 0.5:
        return (4, s["citation_precision"] or 0.0)
    return None


def failure_kind(row: dict[str, Any]) -> str:
    rank = failure_rank(row)
    return {0: "invalid citation span", 1: "error", 2: "wrong or missing answer", 3: "answered an unanswerable question",
            4: "weak citations"}.get(rank[0] if rank else -1, "ok")
