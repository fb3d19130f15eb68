"""Answer-phrase grounding and extraction on hand-made evidence: offsets into the stored text."""

import pytest

from ingest.sentences import split_sentences
from ingest.types import Article
from rag.compose import compose_phrase
from rag.evidence import Evidence, EvidenceSet, is_statement
from rag.extract import DEFAULT_WEIGHTS, PhraseExtractor
from rag.grounding import find, ground, novel_part, parse_short_answer
from rag.question import Question

TEXT = ("Drug room opens\n\nThe UK’s first legal drug consumption room has opened in Glasgow, allowing users to "
        "inject drugs under supervision.\n\nWhy did it take so long?\n\nThe facility in the city’s east end cost "
        "£2.3m [2] to set up, officials said.")
ART = Article(id="a1", text=TEXT, title="t", sentences=split_sentences(TEXT))


def _ev() -> list[Evidence]:
    s1, s2 = ART.sentences[1], ART.sentences[3]
    return [Evidence(1, ART, s1.start, s1.end, 0.8, 0.7, 0.9), Evidence(2, ART, s2.start, s2.end, 0.6, 0.5, 0.4)]


def test_find_ignores_case_quotes_and_punctuation_but_returns_original_offsets() -> None:
    start, end = find("uk's first legal drug", TEXT)  # type: ignore[misc]
    assert TEXT[start:end] == "UK’s first legal drug"
    assert find("Edinburgh", TEXT) is None


def test_ground_prefers_the_cited_item_and_slices_the_article() -> None:
    g = ground("glasgow", _ev(), prefer=[2])
    assert g is not None and g.n == 1 and g.text == "Glasgow"
    assert ART.text[g.start:g.end] == "Glasgow"
    assert ground("Paris", _ev()) is None


def test_parse_short_answer() -> None:
    assert parse_short_answer("Glasgow [1].") == ("Glasgow", [1], False)
    assert parse_short_answer("NOT FOUND")[2] is True
    assert parse_short_answer("The answer is: New Glenn [2]\nmore") == ("New Glenn", [2], False)


def test_headings_and_questions_are_never_evidence() -> None:
    kinds = [is_statement(ART, i) for i in range(len(ART.sentences))]
    assert kinds == [False, True, False, True]  # heading, statement, question, statement


def test_novel_part_is_what_a_copied_sentence_adds() -> None:
    q = Question.parse("The UK opened its first legal drugs consumption room in which city?")
    assert novel_part("The UK opened its first legal drug consumption room in Glasgow.", set(q.terms)) == "Glasgow"


def test_extractor_leads_with_the_typed_phrase_and_composes_a_citation() -> None:
    q = Question.parse("The UK opened its first legal drugs consumption room in which city?")
    best = PhraseExtractor(DEFAULT_WEIGHTS).best(q, _ev())
    assert best is not None and best.text == "Glasgow" and ART.text[best.start:best.end] == "Glasgow"
    text, cites = compose_phrase(best.text, best.n, EvidenceSet(items=_ev()))
    assert text == "Glasgow [1]." and cites[0].quote == ART.text[cites[0].start:cites[0].end]
    assert "Glasgow" in cites[0].quote


def test_a_literal_marker_in_a_phrase_cannot_pose_as_a_citation() -> None:
    text, _ = compose_phrase("£2.3m [2]", 2, EvidenceSet(items=_ev()))
    assert "[2]" not in text and text.endswith("[1].")


def test_head_similarity_embeds_each_phrase_once_across_the_two_passes(embedder) -> None:
    """The engine scores the evidence before the LLM and again with its draft: the second pass re-uses
    the phrase vectors, and its head similarities equal a fresh extractor's."""
    calls: list[list[str]] = []

    def encode(texts: list[str]):
        calls.append(list(texts))
        return embedder.encode(texts)

    q = Question.parse("The UK opened its first legal drugs consumption room in which city?")
    ex = PhraseExtractor(DEFAULT_WEIGHTS, encode=encode)
    before = ex.candidates(q, _ev())
    after = ex.candidates(q, _ev(), draft="It opened in Glasgow [1].")
    assert len(calls) == 1 and calls[0][0] == "city" and len(calls[0]) > 2
    fresh = {c.text: c.features["head_sim"] for c in PhraseExtractor(DEFAULT_WEIGHTS, encode=embedder.encode).candidates(q, _ev())}
    for run in (before, after):
        assert {c.text: c.features["head_sim"] for c in run} == pytest.approx(fresh, abs=1e-5)
    assert fresh["Glasgow"] > 0.0
    assert after[0].text == "Glasgow" and after[0].features["in_draft"] == 1.0


def test_phrase_vector_cache_stays_bounded_and_complete(embedder, monkeypatch) -> None:
    import rag.extract as extract

    monkeypatch.setattr(extract, "VECTOR_CACHE", 3)
    ex = PhraseExtractor(DEFAULT_WEIGHTS, encode=embedder.encode)
    ex._vectors_of(["a", "b", "c"])
    got = ex._vectors_of(["a", "d"])  # over the bound: the cache restarts and still returns every text asked
    assert set(got) == {"a", "d"} and set(ex._vectors) == {"a", "d"}


def test_head_next_tells_the_asked_count_from_another_count_near_it() -> None:
    text = ("Air defences shot down 270 targets, including two cruise missiles, the air force said.")
    art = Article(id="a2", text=text, title="t", sentences=split_sentences(text))
    s = art.sentences[0]
    q = Question.parse("How many targets did the air defences shoot down?")
    feats = {c.text: c.features["head_next"]
             for c in PhraseExtractor(DEFAULT_WEIGHTS).candidates(q, [Evidence(1, art, s.start, s.end, 0.8, 0.7, 0.9)])}
    assert feats["270"] == 1.0 and feats["270 targets"] == 1.0  # the head follows it / ends it
    assert feats["two"] == 0.0 and feats["two cruise missiles"] == 0.0  # near the head, but not of it


def test_spelled_out_counts_are_number_candidates_with_exact_offsets() -> None:
    """News style spells out numbers below ten: "five districts" answers a how-many question like "5 districts"."""
    text = ("Emergency crews worked in five districts of the capital after a seven-hour attack, one of the longest. "
            "Officials said 10 buildings were hit in a 550-drone raid, 5% of the city.")
    art = Article(id="a2", text=text, title="t", sentences=split_sentences(text))
    ev = [Evidence(1, art, 0, len(text), 0.8, 0.7, 0.9)]
    cands = PhraseExtractor(DEFAULT_WEIGHTS).candidates(Question.parse("In how many districts did crews work?"), ev)
    numbers = {c.text for c in cands if c.kind == "number"}
    assert {"five districts", "five", "seven-hour", "seven", "10 buildings", "10", "550-drone", "550", "5%"} <= numbers
    assert "5" not in numbers  # the bare form only drops a unit word, never the "%" of "5%"
    assert not any(t.lower().startswith("one") for t in numbers)  # "one of the longest" is not a count
    five = next(c for c in cands if c.text == "five")
    assert text[five.start:five.end] == "five"
