"""The phrase-loss funnel and the LLM-likelihood scorer of `evals/diagnose.py`, on real explanations."""

from __future__ import annotations

import pickle

import pytest

from evals.calibrate import Collected
from evals.diagnose import PhraseLikelihood, funnel, load_rows
from evals.loaders import EvalItem

STATEMENT = "At least 14 people were hospitalized, according to Kyiv Mayor Vitali Klitschko."


def _row(engine, question: str, answers: list[str], answerable: bool = True) -> Collected:
    x = engine.explain(question)
    return Collected("seed", EvalItem(id=question, question=question, answers=answers, answerable=answerable), x, {})


@pytest.mark.slow
def test_the_funnel_counts_where_each_gold_answer_drops_out(seed_engine) -> None:
    # with the bundled LLM's draft (which names him), the mayor's name is the first candidate
    rows = [
        _row(seed_engine, "Who is the mayor of Kyiv?", ["Vitali Klitschko"]),
        # a gold answer the demo article never says: lost at the first step
        _row(seed_engine, "Who is the mayor of Kyiv?", ["Oleksandr Omelchenko"]),
        # not counted: unanswerable, and long-form gold
        _row(seed_engine, "What is the population of Kyiv?", [], answerable=False),
    ]
    rows.append(Collected("seed", EvalItem(id="long", question="Who is the mayor of Kyiv?", answers=["Klitschko"],
                                           answer_style="long"), rows[0].explanation, {}))
    f = funnel(rows, seed_engine.extractor)
    assert f.questions == 2
    assert (f.in_chunks, f.in_shown, f.a_candidate, f.ranked_first, f.in_top3) == (1, 1, 1, 1, 1)
    # the second question's first candidate is the same name, wrong for its gold
    assert f.wrong_first_kinds == {"name": 1}


def test_load_rows_reads_every_explain_pickle_and_names_the_command_when_there_is_none(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m evals.calibrate --cache"):
        load_rows(tmp_path)
    item = EvalItem(id="q", question="Who?", answers=["A"])
    (tmp_path / "explain-aaaa.pkl").write_bytes(pickle.dumps([Collected("seed", item, None, {})]))
    (tmp_path / "explain-bbbb.pkl").write_bytes(pickle.dumps([Collected("seed", item, None, {})] * 2))
    (tmp_path / "sentences.pkl").write_bytes(pickle.dumps(["not explanations"]))
    assert len(load_rows(tmp_path)) == 3


@pytest.mark.slow
def test_the_likelihood_prefers_the_copied_answer_and_survives_prefix_reuse() -> None:
    from rag.llm import bundled_gguf

    lm = PhraseLikelihood(bundled_gguf(), n_ctx=512, threads=1)
    right = lm.score(STATEMENT, "Who is the mayor of Kyiv?", "Vitali Klitschko")
    absent = lm.score(STATEMENT, "Who is the mayor of Kyiv?", "Solomianskyi district")
    other_q = lm.score(STATEMENT, "How many people were hospitalized?", "Vitali Klitschko")
    assert right < 0 and absent < right  # log-probabilities; a phrase not in the statement is less likely
    # the second prompt shares the first's prefix up to the question: re-evaluating it gives the same number
    assert lm.score(STATEMENT, "Who is the mayor of Kyiv?", "Vitali Klitschko") == pytest.approx(right, abs=1e-3)
    assert other_q < right  # the question moves the likelihood: it is not a property of the phrase alone
    with pytest.raises(ValueError, match="empty phrase"):
        lm.score(STATEMENT, "Who?", "")


def test_an_unknown_scoring_model_is_a_usage_error_before_any_work(tmp_path, capsys) -> None:
    from evals.diagnose import main

    with pytest.raises(SystemExit) as exc:
        main(["--cache", str(tmp_path), "--lm-rerank", "4", "--llm", "no-such-model"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--llm no-such-model: unknown model" in err and "qwen2.5-coder-0.5b" in err


@pytest.mark.slow
def test_phrases_scored_after_the_draft_prompt_share_one_prefix(seed_engine) -> None:
    from rag.llm import bundled_gguf

    x = seed_engine.explain("Who is the mayor of Kyiv?")
    lm = PhraseLikelihood(bundled_gguf(), n_ctx=2048, threads=1)
    both = lm.score_after_draft_prompt(x.question.text, x.evidence.items, ["Vitali Klitschko", "Solomianskyi district"])
    assert both[0] > both[1]  # the name the shown evidence gives, over a phrase it never says
    alone = lm.score_after_draft_prompt(x.question.text, x.evidence.items, ["Solomianskyi district"])
    assert alone[0] == pytest.approx(both[1], abs=1e-3)  # scoring one phrase does not leak into the next
