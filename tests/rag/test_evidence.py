"""Evidence selection's answerability signals, with the real embedding model."""

from __future__ import annotations

from rag.evidence import EvidenceSelector
from rag.question import Question


def test_coverage_matches_content_words_closely_but_names_only_exactly(embedder) -> None:
    """"struck" covers "strike" (an embedding neighbour), but "Russia" does not cover "Moscow": a name
    is an identity, and a passage about another place leaves the asked one unmatched."""
    sel = EvidenceSelector(lambda texts: embedder.encode(texts))
    q = Question.parse("How many drones did Ukraine launch at Moscow?")
    assert "moscow" in q.asked_names
    other_place = "Ukraine's air force said Russia launched 550 drones nationwide during the night."
    same_place = "Ukraine launched 337 drones at Moscow during the night, officials said."
    assert sel.coverage(q, same_place) == 1.0
    assert sel.coverage(q, other_place) < 0.8  # moscow (a name, weight 2 of 6) is missing
    verb = Question.parse("Which city did the missiles strike?")
    assert sel.coverage(verb, "The missiles struck the city of Lviv at dawn.") == 1.0  # strike ~ struck, soft match
