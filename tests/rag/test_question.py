"""Question analysis and relative dates: what is asked vs. framing, answer types, as-of resolution."""

from datetime import date

import pytest

from rag.condense import resolve_relative_dates
from rag.question import Question, split_asked


def test_appositive_and_leading_sentence_are_framing() -> None:
    q = Question.parse("Blue Origin, the company founded by Amazon billionaire Jeff Bezos, launched a new rocket. "
                       "What is the rocket's name?")
    assert q.asked == "What is the rocket's name?"
    assert {"amazon", "bezos", "jeff"} <= q.framing_names
    assert not q.asked_names
    assert q.head == "name" and "rocket" in q.asked_terms


def test_single_clause_question_is_all_asked() -> None:
    q = Question.parse("The UK opened its first legal drugs consumption room in which city?")
    assert q.framing == "" and q.qtype == "place" and q.head == "city"
    assert "uk" in q.asked_names


@pytest.mark.parametrize(("text", "qtype"), [
    ("How many drones did Russia launch?", "number"),
    ("How long did the bombardment last?", "number"),
    ("Who is the mayor of Kyiv?", "person"),
    ("When did the attack begin?", "date"),
    ("Where did the ceremony occur?", "place"),
    ("Why was Red No. 3 banned?", "reason"),
    ("What did Biden say in his farewell address?", "quote"),
    ("Which artificial color additive was banned?", "entity"),
    ("Which country updated its nuclear doctrine?", "place"),
    ("In what year did the war start?", "date"),
])
def test_answer_types_follow_interrogative_grammar(text: str, qtype: str) -> None:
    assert Question.parse(text).qtype == qtype


def test_split_asked_picks_the_interrogative_sentence() -> None:
    assert split_asked("Biden spoke on Wednesday. Where did the speech take place?") == (
        "Where did the speech take place?", "Biden spoke on Wednesday.")


@pytest.mark.parametrize(("text", "window"), [
    ("Who spoke on Wednesday?", (date(2024, 1, 3), date(2024, 1, 4))),
    ("What happened yesterday?", (date(2024, 1, 4), date(2024, 1, 5))),
    ("Which country updated its nuclear doctrine this week?", (date(2023, 12, 30), date(2024, 1, 5))),
    ("What did he announce last month?", (date(2023, 12, 1), date(2023, 12, 31))),
    ("How many people died 3 days ago?", (date(2024, 1, 2), date(2024, 1, 3))),
])
def test_relative_dates_resolve_against_the_as_of_date(text: str, window: tuple[date, date]) -> None:
    assert resolve_relative_dates(text, date(2024, 1, 5)) == window


@pytest.mark.parametrize("text", ["How many drones did Russia launch?", "What happened in May 2023?",
                                  "May the company sell its stake?"])
def test_absolute_or_no_dates_give_no_window(text: str) -> None:
    assert resolve_relative_dates(text, date(2024, 1, 5)) is None
