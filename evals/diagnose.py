"""Where the answer phrase is lost, measured on the calibration drafts that `python -m evals.calibrate` cached.

When to use: before changing the phrase extractor or the evidence selection, to see which step loses the
gold answer of short-answer questions, and to try a candidate re-ranking signal without a full refit. It
reads only the cache (`--cache DIR`, the pickles `evals.calibrate` writes), never a report split.

The funnel, per answerable short-answer question with evidence: the gold string is in the retrieved chunks,
in the statements shown to the LLM, in a candidate phrase of the evidence pool (`rag.answering.
phrase_candidates`, what the engine ranks), and that candidate is ranked first / in the top 3.

`--lm-rerank K` also scores each question's top K candidates by an LLM's mean per-token log-likelihood of
the phrase as the answer, given its statement and the question (`PhraseLikelihood`), and reports how often
the gold phrase is first under `extractor score + a * log-likelihood`, `a` chosen on one half of the
questions and counted on the other (2-fold by question).

Example:
    python -m evals.diagnose --cache /tmp/cal-smol
    python -m evals.diagnose --cache /tmp/cal-smol --lm-rerank 8 --llm qwen2.5-coder-0.5b
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from citewire.settings import Settings, offline_env
from evals import metrics as M
from evals.calibrate import Collected, phrase_label

log = logging.getLogger(__name__)
RERANK_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
SCORING_SYSTEM = "Answer the question with a short phrase copied from the evidence."


@dataclass
class Funnel:
    """Counts of answerable short-answer questions at each step where the gold answer can be lost."""

    questions: int = 0
    in_chunks: int = 0  # the gold string is in a retrieved chunk
    in_shown: int = 0  # ... in a statement shown to the LLM
    a_candidate: int = 0  # a candidate phrase of the evidence pool holds it
    ranked_first: int = 0
    in_top3: int = 0
    wrong_first_kinds: Counter[str] = field(default_factory=Counter)  # kind of a wrong first candidate


def short_answerable(rows: list[Collected]) -> list[Collected]:
    """The rows the funnel counts: answerable, short gold answers, and evidence found."""
    return [r for r in rows if r.item.answerable and r.item.answer_style == "short" and r.item.answers
            and r.explanation.evidence is not None and r.explanation.evidence.items]


def funnel(rows: list[Collected], extractor: Any) -> Funnel:
    """Walk each question's explanation and count where its gold answer drops out."""
    from rag.answering import phrase_candidates

    f = Funnel()
    for r in short_answerable(rows):
        x, gold = r.explanation, r.item.answers
        f.questions += 1
        f.in_chunks += M.contains_answer(" ".join(p.quote for p in x.answer.retrieved), gold)
        f.in_shown += M.contains_answer(" ".join(e.quote for e in x.evidence.items), gold)
        cands = phrase_candidates(extractor, x.question, x.evidence, x.draft)
        labels = [phrase_label(c.text, gold) for c in cands]
        if any(labels):
            f.a_candidate += 1
            f.ranked_first += labels[0] == 1.0
            f.in_top3 += 1.0 in labels[:3]
        if cands and labels[0] != 1.0:
            f.wrong_first_kinds[cands[0].kind] += 1
    return f


class PhraseLikelihood:
    """Mean per-token log-probability that an LLM answers `question` over `statement` with `phrase`.

    When to use: to try a re-ranking signal in experiments (`--lm-rerank`) without fresh drafts. The engine's
    own form (`rag.likelihood.score_phrases`) is `score_after_draft_prompt`; both run on
    `rag.likelihood.continuation_logliks`, so prompts sharing a prefix reuse the evaluated tokens.

    Example:
        >>> lm = PhraseLikelihood(Path("model.gguf"))
        >>> lm.score("At least 14 were hospitalized, said Mayor Vitali Klitschko.", "Who is the mayor?", "Vitali Klitschko")
        -0.4
    """

    def __init__(self, path: Path, n_ctx: int = 2048, threads: int = 2) -> None:
        from llama_cpp import Llama

        from rag.llm import _template_for

        self.template = _template_for(path)
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)

    def score(self, statement: str, question: str, phrase: str) -> float:
        """The phrase as the answer to `question` over `statement` alone (a short prompt of its own)."""
        from llama_index.core.llms import ChatMessage, MessageRole

        from rag.generate import neutralise

        user = f"Evidence:\n{neutralise(' '.join(statement.split()))[:700]}\n\nQuestion: {question}\nAnswer:"
        prefix = self.template.render([ChatMessage(role=MessageRole.SYSTEM, content=SCORING_SYSTEM),
                                       ChatMessage(role=MessageRole.USER, content=user)])
        return self.continuations(prefix, [phrase])[0]

    def score_after_draft_prompt(self, question: str, evidence: list[Any], phrases: list[str]) -> list[float]:
        """Each phrase as the reply to the capable draft prompt (`rag.generate.build_messages`): the prompt the
        engine has already evaluated for the draft, so at run time only the phrases' tokens would cost."""
        from rag.generate import build_messages

        prompt = self.template.render(build_messages(question, evidence, "capable", self.llm.n_ctx()))
        return self.continuations(prompt, phrases)

    def continuations(self, prefix: str, phrases: list[str]) -> list[float]:
        """Mean per-token log-probability of each phrase right after `prefix` (evaluated once), by the
        engine's own scorer (`rag.likelihood.continuation_logliks`)."""
        from rag.likelihood import continuation_logliks

        for phrase in phrases:
            if not phrase:
                raise ValueError("an empty phrase has no likelihood")
        return continuation_logliks(self.llm, self.llm.tokenize(prefix.encode(), add_bos=False, special=True), phrases)


def rerank(rows: list[Collected], extractor: Any, lm: PhraseLikelihood, k: int = 8,
           form: Literal["statement", "prompt"] = "statement") -> dict[str, Any]:
    """Gold-first counts of the extractor alone and with the LLM's likelihood added (2-fold by question).

    `form`: each phrase after its own statement and the question, or after the capable draft prompt."""
    from rag.answering import phrase_candidates

    groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (extractor score, likelihood, label)
    for r in short_answerable(rows):
        x = r.explanation
        cands = phrase_candidates(extractor, x.question, x.evidence, x.draft)[:k]
        labels = np.array([phrase_label(c.text, r.item.answers) for c in cands])
        if not labels.any():
            continue  # nothing to rank right
        if form == "prompt":
            lls = np.array(lm.score_after_draft_prompt(r.item.question, x.evidence.items, [c.text for c in cands]))
        else:
            by_n = {e.n: e for e in (x.evidence.pool or x.evidence.items)}
            lls = np.array([lm.score(by_n[c.n].quote, r.item.question, c.text) for c in cands])
        groups.append((np.array([c.score for c in cands]), lls, labels))

    def first(gs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], a: float) -> int:
        return sum(int(lab[int(np.argmax(s + a * ll))] == 1.0) for s, ll, lab in gs)

    out_of_fold = 0
    for half in (0, 1):
        train, test = groups[half::2], groups[1 - half::2]
        a = max(RERANK_WEIGHTS, key=lambda w: first(train, w))
        out_of_fold += first(test, a)
    return {"questions_with_gold_in_top_k": len(groups), "k": k, "form": form, "extractor_first": first(groups, 0.0),
            "likelihood_alone_first": sum(int(lab[int(np.argmax(ll))] == 1.0) for _, ll, lab in groups),
            "combined_first_2fold": out_of_fold}


def load_rows(cache: Path) -> list[Collected]:
    """Every `explain-*.pkl` of a calibration cache (the drafts of one or more evidence settings)."""
    files = sorted(cache.glob("explain-*.pkl"))
    if not files:
        raise FileNotFoundError(f"no explain-*.pkl in {cache}: run python -m evals.calibrate --cache {cache} first")
    rows: list[Collected] = []
    for f in files:
        rows += pickle.loads(f.read_bytes())
    return rows


def main(argv: list[str] | None = None) -> int:
    offline_env()
    p = argparse.ArgumentParser(prog="python -m evals.diagnose", description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, required=True, help="the folder given to python -m evals.calibrate --cache")
    p.add_argument("--profile", choices=["small", "capable"], default="small",
                   help="policy section whose extractor weights rank the candidates")
    p.add_argument("--lm-rerank", type=int, metavar="K", help="also re-rank the top K candidates by LLM likelihood")
    p.add_argument("--lm-form", choices=["statement", "prompt"], default="statement",
                   help="score each phrase after its own statement, or after the capable draft prompt (cheap at run time)")
    p.add_argument("--llm", help="scoring model for --lm-rerank: a pulled model name or GGUF path (default: bundled)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from evals.cli import llm_override
    from ingest.embed import Embedder
    from rag.extract import PhraseExtractor
    from rag.llm import model_file
    from rag.policy import load_params, profile_params

    settings = Settings()
    try:  # the scoring model is checked before the funnel's minute of work
        llm = llm_override(settings.llm, args) or settings.llm
    except ValueError as e:
        p.error(str(e))
    extractor = PhraseExtractor.from_params(profile_params(load_params(), args.profile), Embedder.load(settings).encode)
    rows = load_rows(args.cache)
    f = funnel(rows, extractor)
    report: dict[str, Any] = {**asdict(f), "wrong_first_kinds": dict(f.wrong_first_kinds)}
    if args.lm_rerank:
        report["lm_rerank"] = rerank(rows, extractor, PhraseLikelihood(model_file(llm).path), args.lm_rerank,
                                     args.lm_form)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    import sys

    from evals.diagnose import main as _main  # the importable module, so pickled rows load anywhere

    sys.exit(_main())
