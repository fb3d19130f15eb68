"""Fit the answer policy and the phrase extractor on the calibration split, out of sample.

The calibration split is RealTimeQA 2024's odd ISO weeks and one fixed half of CLAPNQ dev-a (by
id hash); figures are reported on the other split only (`citewire eval ... --split report`).

One command refits and writes the packaged file::

    python -m evals.calibrate --rtqa-weeks 8 --out rag/data/policy.json

Steps: (1) ask every calibration question once through `Engine.explain` (retrieval, evidence, the
LLM's draft: cached in ``--cache`` so refits are free); (2) fit the phrase extractor, a logistic
regression over candidate phrases labelled by whether they contain a gold answer; (3) rebuild both
candidate answers with it and label each by the eval metric (answered right AND cited); (4) fit one
logistic regression per candidate, its L2 strength chosen by cross-validated log-loss (`choose_c`);
(5) set each risk level's threshold where answering starts to pay when a wrong answer costs 1
(balanced), 2 (cautious) or 0.5 (eager): p > cost / (1 + cost), i.e.
1/2, 2/3 and 1/3. (Searching the threshold on out-of-fold probabilities instead over-fits a flat curve:
in nested cross-validation it scored lower than the decision rule; see `threshold_for`.)

Example:
    >>> rows = collect(load_suite("clapnq", split="calib"), Settings())
    >>> section = fit(rows)
    >>> section["thresholds"]["balanced"]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import pickle
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from citewire.settings import Settings, offline_env
from evals import metrics as M
from evals.loaders import EvalItem, Suite, load_suite
from evals.scoring import Prediction, score_item
from evals.stats import (
    PENALTIES,
    _logistic,
    _logistic_nonneg,
    _nested_crag,
    _oof,
    choose_c,
    crag,
    suite_weights,
    threshold_for,
)

log = logging.getLogger(__name__)


@dataclass
class Collected:
    """One calibration question: its gold and everything `Engine.explain` saw."""

    suite: str
    item: EvalItem
    explanation: Any  # rag.engine.Explanation
    texts: dict[str, str]  # article id -> stored text, for scoring spans offline


def collect(suite: Suite, settings: Settings, show_progress: bool = True) -> list[Collected]:
    """Ask every question of `suite` once (LLM included), keeping the full explanation."""
    from tqdm.auto import tqdm

    from evals.stores import prepare_store
    from rag import Engine

    store = prepare_store(suite.corpus, settings, show_progress=show_progress)
    engine = Engine.open(settings=store.settings)
    out: list[Collected] = []
    try:
        for item in tqdm(suite.items, desc=f"calibrate {suite.name}", unit="q", disable=not show_progress):
            x = engine.explain(item.question, as_of=date.fromisoformat(item.as_of) if item.as_of else None)
            ids = {p.article_id for p in x.answer.retrieved}
            if x.evidence is not None:
                ids |= {e.article.id for e in x.evidence.items}
            out.append(Collected(suite.name, item, x, {a: engine.article(a).text for a in ids}))
    finally:
        engine.close()
    return out


@dataclass
class SentenceRows:
    """Stage A: candidate evidence statements of one question, their features and gold labels."""

    suite: str
    features: list[list[float]]
    labels: list[float]


def sentence_label(item: EvalItem, article_text: str, start: int, end: int) -> float:
    """A statement is gold when it contains a short gold answer, or overlaps located gold evidence."""
    if not item.answerable:
        return 0.0
    if item.answer_style == "short" and item.answers:
        return float(M.contains_answer(article_text[start:end], item.answers))
    for quote in item.evidence:
        for s, e in M.locate(article_text, quote):
            if M.significant_overlap(("a", start, end), ("a", s, e)):
                return 1.0
    return 0.0


def collect_sentences(suite: Suite, settings: Settings, show_progress: bool = True) -> list[SentenceRows]:
    """Stage A (no LLM): every candidate statement of every answerable question, featurised."""
    from tqdm.auto import tqdm

    from evals.stores import prepare_store
    from rag import Engine
    from rag.filters import Filters
    from rag.question import Question

    store = prepare_store(suite.corpus, settings, show_progress=show_progress)
    ss = store.settings.model_copy(update={"llm": store.settings.llm.model_copy(update={"backend": "none"})})
    engine = Engine.open(settings=ss)
    out: list[SentenceRows] = []
    try:
        for item in tqdm(suite.items, desc=f"sentences {suite.name}", unit="q", disable=not show_progress):
            if not item.answerable:
                continue
            as_of = date.fromisoformat(item.as_of) if item.as_of else None
            windows = engine._windows(item.question, Filters(), as_of)
            nodes = engine.retriever.retrieve_detailed(item.question, Filters(), None, windows).nodes
            cands, feats = engine.selector.featurize(Question.parse(item.question), engine._encode_one(item.question),
                                                      nodes, engine.retriever.articles.get)
            labels = [sentence_label(item, c.article.text, c.article.sentences[c.i].start, c.article.sentences[c.i].end)
                      for c in cands]
            if any(labels):
                out.append(SentenceRows(suite.name, feats.tolist(), labels))
    finally:
        engine.close()
    return out


# Sentence features whose weight may not be negative: a statement more like the question, holding more of
# what it asks, or of the asked type, is never scored lower. Unconstrained, the fit gave `lexical` -3.1 (the
# calibration labels are noisy: a RealTimeQA gold string also occurs in sentences about something else), and
# "Who is the mayor of Kyiv?" ranked the sentence naming the mayor third on the demo article.
MONOTONE_SENTENCE_FEATURES = ("semantic", "lexical", "asked_in_sentence", "type_cue")


def _fit_sentences(rows: list[SentenceRows]) -> tuple[list[float], float]:
    from rag.evidence import SENTENCE_FEATURES

    x = np.array([f for r in rows for f in r.features])
    y = np.array([v for r in rows for v in r.labels])
    return _logistic_nonneg(x, y, [SENTENCE_FEATURES.index(f) for f in MONOTONE_SENTENCE_FEATURES])


def fit_evidence(rows: list[SentenceRows]) -> dict[str, Any]:
    """Sentence-scoring weights: a logistic regression of "this statement is gold" on its features, the
    weights of `MONOTONE_SENTENCE_FEATURES` bounded at 0."""
    from rag.evidence import DEFAULT_SENTENCE_BIAS, DEFAULT_SENTENCE_WEIGHTS, SENTENCE_FEATURES

    coef, b = _fit_sentences(rows)
    default = np.array([DEFAULT_SENTENCE_WEIGHTS.get(f, 0.0) for f in SENTENCE_FEATURES])
    return {"weights": dict(zip(SENTENCE_FEATURES, coef)), "bias": b, "questions": len(rows),
            "statements": sum(len(r.labels) for r in rows), "positives": int(sum(sum(r.labels) for r in rows)),
            "nonnegative": list(MONOTONE_SENTENCE_FEATURES),
            "gold_top1_default": _top_hits(rows, default, DEFAULT_SENTENCE_BIAS, 1),
            "gold_top4_default": _top_hits(rows, default, DEFAULT_SENTENCE_BIAS, 4),
            "gold_top1_fitted_2fold": _cv_top_hits(rows, 1, _fit_sentences),
            "gold_top4_fitted_2fold": _cv_top_hits(rows, 4, _fit_sentences)}


def _top_hits(rows: list[SentenceRows], w: np.ndarray, b: float, k: int) -> float:
    """Share of questions whose best `k` statements (by w.x + b) include a gold one."""
    hits = 0
    for r in rows:
        order = np.argsort(-(np.array(r.features) @ w + b))[:k]
        hits += any(r.labels[i] > 0 for i in order)
    return round(hits / max(len(rows), 1), 4)


def _cv_top_hits(rows: list[SentenceRows], k: int, fitter: Any = None) -> float:
    """`_top_hits` of weights fitted on the other half of the questions (2-fold, by question)."""
    halves = [rows[0::2], rows[1::2]]
    total = 0.0
    for i in (0, 1):
        train, test = halves[1 - i], halves[i]
        if not train or not test:
            return 0.0
        if fitter is not None:
            coef, b = fitter(train)
        else:
            coef, b = _logistic(np.array([f for r in train for f in r.features]),
                                np.array([v for r in train for v in r.labels]))
        total += _top_hits(test, np.array(coef), b, k) * len(test)
    return round(total / len(rows), 4)


def _prediction(text: str, citations: list[Any], retrieved: list[Any]) -> Prediction:
    return Prediction(answer=text, abstained=False,
                      citations=[{"n": c.n, "article_id": c.article_id, "start": c.start, "end": c.end, "quote": c.quote}
                                 for c in citations],
                      retrieved=[{"article_id": p.article_id, "start": p.start, "end": p.end, "quote": p.quote}
                                 for p in retrieved])


def label(row: Collected, composed: Any) -> float:
    """1.0 when showing `composed` would be answered right AND cited, by the eval's own metric."""
    if composed is None or not row.item.answerable:
        return 0.0
    pred = _prediction(composed.text, composed.citations, row.explanation.answer.retrieved)
    s = score_item(row.item, pred, lambda a: row.texts.get(a), k=len(pred.retrieved) or 8)
    return float(s["answered_cited"] or 0.0)


def phrase_label(phrase: str, answers: list[str]) -> float:
    """A candidate phrase is gold when it contains a gold answer and is at most two words longer."""
    if not M.contains_answer(phrase, answers):
        return 0.0
    n = len(M.tokens(phrase))
    return float(any(M.contains_answer(phrase, [a]) and n <= len(M.tokens(a)) + 2 for a in answers))


def fit_extractor(rows: list[Collected], encode: Any = None) -> dict[str, Any]:
    """Candidate phrases of short-answer questions, labelled by containing a gold answer."""
    from rag.answering import phrase_candidates
    from rag.extract import DEFAULT_WEIGHTS, FEATURES, PhraseExtractor

    base = PhraseExtractor(DEFAULT_WEIGHTS, encode=encode)
    groups: list[tuple[list[list[float]], list[float]]] = []
    for r in rows:
        x = r.explanation
        if x.evidence is None or not x.evidence.items or not r.item.answers or r.item.answer_style != "short":
            continue
        cands = phrase_candidates(base, x.question, x.evidence, x.draft)  # what the engine ranks at run time
        labels = [phrase_label(c.text, r.item.answers) for c in cands]
        if any(labels):  # else no candidate holds the answer: nothing to rank
            groups.append(([[c.features[f] for f in FEATURES] for c in cands], labels))
    if len(groups) < 10:
        log.warning("only %d questions with a gold candidate: keeping the default extractor weights", len(groups))
        return {"weights": DEFAULT_WEIGHTS, "bias": 0.0, "questions": len(groups)}
    as_rows = [SentenceRows("", g[0], g[1]) for g in groups]
    coef = _pairwise(as_rows)
    default = np.array([DEFAULT_WEIGHTS.get(f, 0.0) for f in FEATURES])
    stats = {"questions": len(groups), "candidates": sum(len(g[1]) for g in groups),
             "gold_top1_default": _top_hits(as_rows, default, 0.0, 1),
             "gold_top1_fitted_2fold": _cv_top_hits(as_rows, 1, fitter=lambda rs: (_pairwise(rs), 0.0))}
    if stats["gold_top1_fitted_2fold"] <= stats["gold_top1_default"]:
        # the fit ranks no better out of fold than the hand-set start (e.g. a small LLM's noisy drafts make
        # `in_draft` misleading): keep the defaults, which have no free parameters to overfit
        log.warning("fitted extractor ranks the gold phrase first no more often out of fold (%.3f) than the defaults "
                    "(%.3f): keeping the defaults", stats["gold_top1_fitted_2fold"], stats["gold_top1_default"])
        return {"weights": DEFAULT_WEIGHTS, "bias": 0.0, **stats, "chosen": "default"}
    return {"weights": dict(zip(FEATURES, coef)), "bias": 0.0, **stats, "chosen": "fitted"}


LM_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
LM_COLLECT_K = 24  # phrases scored per question while collecting: the refitted extractor's top 8 are among them


def fit_lm_weight(rows: list[Collected], extractor: Any, k: int | None = None) -> dict[str, Any] | None:
    """The weight of the LLM's phrase likelihood in the re-ranking of the extractor's top `k` candidates
    (`rag.extract.rerank`), chosen by how often the gold phrase comes first; None when the drafts carry no
    likelihoods (a server backend, or a cache collected before them).

    Chosen on all questions, and also checked 2-fold (chosen on one half, counted on the other): when that
    is no better than the extractor alone the re-ranking stays off (weight 0)."""
    from rag.answering import phrase_candidates
    from rag.extract import LM_K, rerank

    k = k or LM_K
    groups: list[tuple[list[Any], dict[str, float], list[str]]] = []
    covered = scored = 0
    for r in rows:
        x = r.explanation
        logliks = getattr(x, "phrase_logliks", None)
        if not logliks or x.evidence is None or not r.item.answers or r.item.answer_style != "short":
            continue
        cands = phrase_candidates(extractor, x.question, x.evidence, x.draft)
        scored += min(k, len(cands))
        covered += sum(1 for c in cands[:k] if c.text in logliks)
        if any(phrase_label(c.text, r.item.answers) for c in cands[:k]):
            groups.append((cands, logliks, r.item.answers))
    if len(groups) < 10:
        return None

    def first(gs: list[tuple[list[Any], dict[str, float], list[str]]], w: float) -> int:
        return sum(int(phrase_label(rerank(c, ll, w, k)[0].text, gold) == 1.0) for c, ll, gold in gs)

    chosen = max(LM_WEIGHTS, key=lambda w: (first(groups, w), -w))
    two_fold = sum(first(groups[1 - h::2], max(LM_WEIGHTS, key=lambda w: (first(groups[h::2], w), -w))) for h in (0, 1))
    alone = first(groups, 0.0)
    stats = {"k": k, "questions_with_gold_in_top_k": len(groups), "gold_first_extractor": alone,
             "gold_first_chosen": first(groups, chosen), "gold_first_2fold": two_fold,
             "scored_share_of_top_k": round(covered / max(scored, 1), 4)}
    if two_fold <= alone:
        log.warning("LLM-likelihood re-ranking is no better out of fold (%d vs %d first): off", two_fold, alone)
        return {"weight": 0.0, **stats, "chosen": "off"}
    return {"weight": chosen, **stats, "chosen": "fitted"}


def _pairwise(rows: list[SentenceRows], c: float = 1.0) -> list[float]:
    """A ranking model (RankSVM-style pairwise logistic regression): gold minus non-gold candidate
    feature differences of the same question (each pair counts once)."""
    from sklearn.linear_model import LogisticRegression

    diffs, ys = [], []
    for r in rows:
        x = np.array(r.features)
        pos = [i for i, v in enumerate(r.labels) if v > 0]
        neg = [i for i, v in enumerate(r.labels) if v <= 0]
        if not pos or not neg:
            continue
        for i in pos:
            d = x[i] - x[neg]
            diffs += [d, -d]
            ys += [np.ones(len(neg)), np.zeros(len(neg))]
    xd, yd = np.vstack(diffs), np.concatenate(ys)
    scale = np.where(xd.std(axis=0) > 0, xd.std(axis=0), 1.0)
    lr = LogisticRegression(C=c, fit_intercept=False, max_iter=3000).fit(xd / scale, yd)
    return [float(v) for v in lr.coef_[0] / scale]


def policy_rows(rows: list[Collected], extractor: Any, lm: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(features, y_answer, has_answer, y_extract, answerable, suite) per question with evidence.

    `lm`: use the LLM likelihoods the rows recorded (the phrase re-ranking and the `*_lm_p` features), as an
    in-process model's section does; without, the rows are featurised as a server backend would see them."""
    from rag.answering import build_candidates

    xs, ya, ha, ye, ans, suites = [], [], [], [], [], []
    for r in rows:
        x = r.explanation
        if x.evidence is None or not x.evidence.items or x.base is None:
            continue  # the engine refuses without evidence, whatever the policy
        c = build_candidates(x.question, x.evidence, x.base, x.draft, x.verification, extractor,
                             getattr(x, "phrase_logliks", None) if lm else None,
                             replies=getattr(x, "reply_logliks", None) if lm else None)
        xs.append(c.features.vector())
        ya.append(label(r, c.answer))
        ha.append(float(c.answer is not None))
        ye.append(label(r, c.extract))
        ans.append(float(r.item.answerable))
        suites.append(r.suite)
    return np.array(xs), np.array(ya), np.array(ha), np.array(ye), np.array(ans), suites


def _without_lm(x: np.ndarray) -> np.ndarray:
    """`x` with the LLM-likelihood policy features (`rag.policy.LM_FEATURES`) set to 0 (not used)."""
    from rag.policy import FEATURE_NAMES, LM_FEATURES

    out = x.copy()
    out[:, [FEATURE_NAMES.index(n) for n in LM_FEATURES]] = 0.0
    return out


LM_FOLD_DRAWS = 5  # fold draws the likelihood-feature choice is made over


def _choose_lm_features(x: np.ndarray, ya: np.ndarray, ha: np.ndarray, ye: np.ndarray, w: np.ndarray
                        ) -> dict[str, Any] | None:
    """Whether the policy should weigh the LLM's reply likelihoods: kept only when the nested out-of-fold
    CRAG at balanced is higher with them than without, on average over `LM_FOLD_DRAWS` draws of the folds
    and in all but at most one draw (one draw alone moves by about 0.01 on 378 questions, as much as the
    features gain). Otherwise off: the engine then need not score replies. None when the rows hold no
    likelihoods."""
    without = _without_lm(x)
    if np.array_equal(without, x):
        return None
    with_ = [_nested_crag(x, ya, ha, ye, w, seed) for seed in range(LM_FOLD_DRAWS)]
    without_ = [_nested_crag(without, ya, ha, ye, w, seed) for seed in range(LM_FOLD_DRAWS)]
    wins = sum(a > b for a, b in zip(with_, without_))
    on = float(np.mean(with_)) > float(np.mean(without_)) and wins >= LM_FOLD_DRAWS - 1
    return {"nested_oof_crag_with": round(float(np.mean(with_)), 4),
            "nested_oof_crag_without": round(float(np.mean(without_)), 4),
            "draws_won": f"{wins} of {LM_FOLD_DRAWS}", "chosen": "on" if on else "off"}


def fit(rows: list[Collected], encode: Any = None, lm: bool = False) -> dict[str, Any]:
    """The fitted policy section (models, thresholds, extractor, provenance) for one LLM profile.

    `encode` is the embedder's batch encode (the extractor's head-noun similarity needs it). `lm`: also fit the
    LLM-likelihood re-ranking (`fit_lm_weight`): only for a section of one in-process model (`--per-model`),
    never a profile's, which OpenAI-compatible servers (no likelihoods) and other GGUFs share."""
    from rag.extract import PhraseExtractor

    ex_params = fit_extractor(rows, encode)
    extractor = PhraseExtractor(ex_params["weights"], ex_params["bias"], encode)
    lm_params = fit_lm_weight(rows, extractor) if lm else None
    if lm_params is not None:
        ex_params["lm"] = lm_params
        extractor = PhraseExtractor.from_params({"extractor": ex_params}, encode)
    x, ya, ha, ye, answerable, suites = policy_rows(rows, extractor, lm=lm)
    w = suite_weights(suites)
    section: dict[str, Any] = {"extractor": ex_params}
    lm_choice = _choose_lm_features(x, ya, ha, ye, w) if lm else None
    if lm_choice is not None and lm_choice["chosen"] == "off":
        x = _without_lm(x)
    for name, y, mask in (("answer", ya, ha > 0), ("extract", ye, np.ones(len(ye), bool))):
        fittable = len(set(y[mask])) > 1
        c = choose_c(x[mask], y[mask], w[mask]) if fittable else 1.0
        coef, b = _logistic(x[mask], y[mask], c=c, w=w[mask]) if fittable else ([0.0] * x.shape[1], -5.0)
        section[name] = {"coef": coef, "intercept": b, "n": int(mask.sum()), "positives": int(y[mask].sum()), "C": c}
    pa, pe = _oof(x, ya, ha > 0, w), _oof(x, ye, np.ones(len(ye), bool), w)
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]
    thresholds, curve, searched = {}, {}, {}
    for risk, pen in PENALTIES.items():
        thresholds[risk] = threshold_for(pen)
        curve[risk] = round(crag(pa, pe, ya, ye, thresholds[risk], pen, w), 4)
        # for the record only: where the out-of-fold curve peaks (not used: it over-fits, see threshold_for)
        searched[risk] = grid[int(np.argmax([crag(pa, pe, ya, ye, t, pen, w) for t in grid]))]
    by_suite = {s: round(crag(pa, pe, ya, ye, thresholds["balanced"], 1.0, (np.array(suites) == s).astype(float)), 4)
                for s in sorted(set(suites))}
    section["thresholds"] = thresholds
    section["fitted_on"] = {
        "questions": len(rows), "with_evidence": len(x), "answerable": int(answerable.sum()),
        "suites": sorted({r.suite for r in rows}),
        "weighting": "each suite the same total weight (suite_weights)",
        # CRAG proper (a wrong answer costs 1) at each risk's threshold, and the objective each threshold
        # is set for (a wrong answer costs PENALTIES[risk]): the two differ for cautious and eager
        "out_of_fold_crag_at_threshold": {r: round(crag(pa, pe, ya, ye, t, 1.0, w), 4) for r, t in thresholds.items()},
        "out_of_fold_objective_at_threshold": curve,
        "thresholds_rule": "p > cost / (1 + cost) for a wrong answer costing 2 / 1 / 0.5 (threshold_for)",
        "out_of_fold_peak_threshold": searched,
        "out_of_fold_crag_balanced_by_suite": by_suite,
        **({"likelihood_features": lm_choice} if lm_choice else {}),
        "oracle_crag": round(float(np.mean([max(a, e) for a, e in zip(ya, ye)]) * len(x) / max(len(rows), 1)), 4),
    }
    return section


def _cached(folder: Path | None, name: str, make: Any) -> Any:
    """`make()`, pickled under `folder/name.pkl` and re-used from there when present."""
    path = folder / f"{name}.pkl" if folder else None
    if path is not None and path.is_file():
        log.info("re-using %s", path)
        return pickle.loads(path.read_bytes())
    value = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(value))
    return value


def main(argv: list[str] | None = None) -> int:
    offline_env()
    p = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--rtqa", default=None, help="RealTimeQA 2024 folder (default ../shared/data/realtimeqa-2024)")
    p.add_argument("--rtqa-weeks", default="8", help="calibration weeks sampled (odd ISO weeks only), or 'all'")
    p.add_argument("--clapnq", default=None, help="CLAPNQ dev-a file (default ../shared/data/clapnq/dev-a.jsonl)")
    p.add_argument("--limit", type=int, help="at most N questions per suite (a quick check, not a fit to ship)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, help="folder for collected rows (pickles): reused when present")
    p.add_argument("--stage", choices=["evidence", "all"], default="all", help="evidence: fit only stage A and stop")
    p.add_argument("--keep-evidence", action="store_true", help="keep the file's evidence weights (skip stage A)")
    p.add_argument("--out", type=Path, default=None, help="policy JSON to write (default: the packaged file)")
    p.add_argument("--profile", choices=["small", "capable"], help="profile section to write (default: the LLM's)")
    p.add_argument("--per-model", action="store_true",
                   help="write a section for this model only (models.NAME), used before the profile's section")
    p.add_argument("--llm", help="a pulled model name or GGUF path to calibrate with (default: configured LLM)")
    p.add_argument("--home", type=Path)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings(**({"home": args.home} if args.home else {}))
    if args.llm:
        from evals.cli import llm_override  # the same --llm rule as citewire eval (checked up front)

        try:
            settings = settings.model_copy(update={"llm": llm_override(settings.llm, args) or settings.llm})
        except ValueError as e:
            p.error(str(e))
    weeks = None if args.rtqa_weeks == "all" else args.rtqa_weeks
    suites = [load_suite("realtimeqa", data=args.rtqa, split="calib", weeks=weeks, seed=args.seed, limit=args.limit),
              load_suite("clapnq", data=args.clapnq, split="calib", seed=args.seed, limit=args.limit)]
    from rag.policy import FEATURE_NAMES, POLICY_VERSION, default_path

    out = args.out or default_path()
    data = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    if data.get("version") != POLICY_VERSION or data.get("features") != list(FEATURE_NAMES):
        data = {"version": POLICY_VERSION, "features": list(FEATURE_NAMES), "profiles": {}}
    from rag.llm import model_name, model_profile, model_record
    from rag.policy import load_params, profile_params

    profile = args.profile or model_profile(settings.llm)
    if not data.get("profiles"):
        data["profiles"] = load_params()["profiles"]  # something to run stage B with
    # the section being fitted owns its evidence weights (its drafts are made over the evidence they choose)
    holder = data.setdefault("models", {}) if args.per_model else data["profiles"]
    name = model_name(settings.llm) if args.per_model else profile
    target = holder.setdefault(name, profile_params(data, profile))
    # stage A: how to score evidence statements (no LLM involved)
    if not args.keep_evidence or not (target.get("evidence") or data.get("evidence")):
        sent_rows = _cached(args.cache, "sentences", lambda: [r for s in suites for r in collect_sentences(s, settings)])
        target["evidence"] = fit_evidence(sent_rows)
        out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        log.info("evidence weights: %s", target["evidence"])
        if args.stage == "evidence":
            print(json.dumps(target["evidence"], indent=1))
            return 0
    evidence = target.get("evidence") or data["evidence"]
    # stage B: the LLM's drafts over that evidence, then the extractor and the policy
    settings = settings.model_copy(update={
        "retrieval": settings.retrieval.model_copy(update={"policy_path": str(out)}),
        # record the model's likelihood of the top phrases (in-process models only), to fit its re-ranking weight
        "llm": settings.llm.model_copy(update={"phrase_scoring": "always", "phrase_scoring_k": LM_COLLECT_K})})

    # the drafts depend on the evidence weights and on how many items the LLM is shown (5 keeps old cache tags)
    evidence_k = settings.retrieval.evidence_k
    key = json.dumps({**evidence, "evidence_k": evidence_k} if evidence_k != 5 else evidence, sort_keys=True)
    tag = hashlib.sha256(key.encode()).hexdigest()[:8]
    rows = _cached(args.cache, f"explain-{tag}", lambda: [r for s in suites for r in collect(s, settings)])
    from ingest.embed import Embedder

    section = fit(rows, Embedder.load(settings).encode, lm=args.per_model and settings.llm.backend == "llamacpp")
    if target.get("evidence"):
        section["evidence"] = target["evidence"]
    section["fitted_on"]["llm"] = model_record(settings.llm)
    section["fitted_on"]["evidence_k"] = evidence_k
    section["fitted_on"]["command"] = "python -m evals.calibrate " + " ".join(argv if argv is not None else sys.argv[1:])
    holder[name] = section
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"profile": profile, "thresholds": section["thresholds"], **section["fitted_on"]}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    from evals.calibrate import main as _main  # run as the importable module, so pickled rows load anywhere

    sys.exit(_main())
