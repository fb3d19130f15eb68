"""How the baseline's free-text answers are read: abstention and cited source numbers."""

from __future__ import annotations

import pytest

from evals.baseline import _CITED, says_dont_know


@pytest.mark.parametrize(
    "text",
    ["", "   ", "Empty Response", "I don't know.", "I don’t know", "I do not know the answer.",
     "The sources do not mention the population.", "The provided sources don't contain that information.",
     "It cannot be determined from the sources.", "There is no information about Odesa.",
     "This is not mentioned in the sources."],
)
def test_abstentions(text: str) -> None:
    assert says_dont_know(text)


@pytest.mark.parametrize(
    "text",
    ["The mayor of Kyiv is Vitali Klitschko [1].", "Russia launched 550 drones and missiles [1][2].",
     "Knowledge of the attack spread quickly."],
)
def test_answers(text: str) -> None:
    assert not says_dont_know(text)


def test_cited_source_numbers() -> None:
    found = sorted({int(a or b) for a, b in _CITED.findall("Kyiv was hit [1], [3] and, per Source 2, at night. Source: AP")})
    assert found == [1, 2, 3]
    assert _CITED.findall("no citations here, year 2024") == []
