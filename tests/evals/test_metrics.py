"""The yardstick: metric functions on hand-made cases, edge cases included."""

from __future__ import annotations

import pytest

from evals import metrics as M

# --- normalization and answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The 1,000-kilometer (620-mile) front line!", "1000 kilometer 620 mile front line"),
        ("I didn’t make any “progress”", "i didnt make any progress"),
        ("I didn't make any \"progress\"", "i didnt make any progress"),
        ("Zelenskyy’s CAFÉ — naïve", "zelenskyy cafe naive"),
        ("  An apple, a pear and the fig.  ", "apple pear and fig"),
        ("", ""),
        ("!!! ... ---", ""),
        ("ＡＢＣ１２３", "abc123"),  # full-width forms fold (NFKD)
        ("snake_case", "snake case"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert M.normalize(raw) == expected


def test_strip_markers() -> None:
    assert M.strip_markers("Russia launched 550 drones [1][2]. Kyiv was hit [3, 4].") == "Russia launched 550 drones. Kyiv was hit."
    assert M.strip_markers("") == ""


def test_contains_answer_word_boundaries() -> None:
    assert M.contains_answer("At least 23 people were injured [1].", ["23"])
    assert not M.contains_answer("233 people", ["23"])
    assert not M.contains_answer("the 23rd", ["23"])
    assert M.contains_answer("along the 1000-kilometer front", ["1,000-kilometer"])
    assert M.contains_answer("He said “I didn't make any progress”", ["didn’t make any progress"])
    assert M.contains_answer("Volkswagen’s Chattanooga plant [2]", ["Volkswagen"])  # possessive
    assert not M.contains_answer("the Volkswagens", ["Volkswagen"])
    assert M.contains_answer("KLITSCHKO said", ["Vitali Klitschko", "Klitschko"])


def test_contains_answer_empty_cases() -> None:
    assert not M.contains_answer("anything", [])
    assert not M.contains_answer("anything", ["", "  ", "the"])  # golds that normalize to nothing never match
    assert not M.contains_answer("", ["23"])
    assert not M.contains_answer("[1]", ["1"])  # a citation marker is not an answer


def test_choice_correct() -> None:
    choices = ["Tsai Ing-wen", "Hou Yu-ih", "Lai Ching-te", "Ko Wen-je"]
    assert M.choice_correct("Tsai Ing-wen is not a candidate.", ["Tsai Ing-wen"], choices)
    assert not M.choice_correct("Tsai Ing-wen or Hou Yu-ih", ["Tsai Ing-wen"], choices)  # hedging over choices
    assert not M.choice_correct("Lai Ching-te", ["Tsai Ing-wen"], choices)


def test_token_f1() -> None:
    assert M.token_f1("Vitali Klitschko", ["Vitali Klitschko"]) == 1.0
    assert M.token_f1("The mayor is Vitali Klitschko [1].", ["Vitali Klitschko"]) == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert M.token_f1("nothing in common", ["Vitali Klitschko"]) == 0.0
    # best of several golds
    assert M.token_f1("Sumy", ["Dnipropetrovsk", "Sumy"]) == 1.0
    # repeated tokens count once per occurrence
    assert M.token_f1("drones drones drones", ["drones"]) == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))


def test_token_f1_edge_cases() -> None:
    assert M.token_f1("anything", []) is None  # no gold: not applicable
    assert M.token_f1("", ["Klitschko"]) == 0.0  # empty answer
    assert M.token_f1("the", ["a"]) == 1.0  # both empty after normalization
    assert M.token_f1("Klitschko", [""]) == 0.0


# --- spans ----------------------------------------------------------------------------------------


def test_overlap_and_significance() -> None:
    assert M.overlap(("a", 0, 10), ("a", 5, 20)) == 5
    assert M.overlap(("a", 0, 10), ("b", 0, 10)) == 0  # other article
    assert M.overlap(("a", 0, 10), ("a", 10, 20)) == 0  # half-open: touching is not overlapping
    # a sentence inside a chunk is significant; a few shared chars at a boundary are not
    assert M.significant_overlap(("a", 0, 1000), ("a", 400, 500))
    assert not M.significant_overlap(("a", 0, 1000), ("a", 995, 1100))
    assert M.significant_overlap(("a", 0, 100), ("a", 50, 150))  # exactly half of the shorter


def test_locate_exact_and_whitespace_tolerant() -> None:
    text = "Kyiv was hit.\n\nKyiv was  hit again. Kyiv was hit."
    assert M.locate(text, "Kyiv was hit.") == [(0, 13), (36, 49)]
    assert M.locate(text, "hit. Kyiv was  hit") == [(9, 28)]  # a paragraph break matches a space
    assert M.locate(text, "Kyiv was struck") == []  # words differ: no match
    assert M.locate(text, "was hit again.") == [(20, 35)]  # the two spaces in the text match one
    assert M.locate("a b\n\nc", "b c") == [(2, 6)]
    assert M.locate(text, "") == []
    assert M.locate("", "x") == []


def test_units_covered() -> None:
    units = [[("a", 100, 200)], [("a", 300, 350), ("b", 0, 50)]]
    assert M.units_covered(("a", 0, 1000), "", units, []) == {0, 1}
    assert M.units_covered(("b", 0, 40), "", units, []) == {1}  # second location of unit 1
    assert M.units_covered(("a", 195, 400), "", units, []) == {1}  # 5 chars of unit 0 do not count
    # without evidence: the quote must contain the answer
    assert M.units_covered(("a", 0, 10), "launched 550 drones", [], ["550"]) == {0}
    assert M.units_covered(("a", 0, 10), "launched drones", [], ["550"]) == set()
    # evidence that could not be located covers nothing (and still counts in n_units)
    assert M.units_covered(("a", 0, 10), "550", [[]], ["550"]) == set()
    assert M.n_units([[]], ["550"]) == 1
    assert M.n_units([], ["550"]) == 1
    assert M.n_units([], []) == 0
    assert M.n_units([], ["", "the"]) == 0


# --- retrieval ------------------------------------------------------------------------------------


def test_retrieval_scores() -> None:
    covered = [set(), {1}, set(), {0, 1}]
    r = M.retrieval_scores(covered, total_units=2, k=2)
    assert r == {"hit_at_k": 1.0, "recall_at_k": 0.5, "rr": 0.5}
    r = M.retrieval_scores(covered, total_units=2, k=4)
    assert r["recall_at_k"] == 1.0
    r = M.retrieval_scores(covered, total_units=2, k=1)
    assert r["hit_at_k"] == 0.0 and r["recall_at_k"] == 0.0 and r["rr"] == 0.5  # MRR looks at the whole list


def test_retrieval_edge_cases() -> None:
    assert M.retrieval_scores([], total_units=0, k=5) == {"hit_at_k": None, "recall_at_k": None, "rr": None}
    assert M.retrieval_scores([], total_units=1, k=5) == {"hit_at_k": 0.0, "recall_at_k": 0.0, "rr": 0.0}
    assert M.retrieval_scores([{0}], total_units=1, k=0)["hit_at_k"] == 0.0


# --- citations ------------------------------------------------------------------------------------


def test_citation_scores() -> None:
    # two citations: one on gold unit 0, one unsupported; two gold units
    cs = M.citation_scores([{0}, set()], [True, False], total_units=2)
    assert cs == {"precision": 0.5, "recall": 0.5}
    # a citation that contains the answer supports it without covering evidence
    cs = M.citation_scores([set()], [True], total_units=1)
    assert cs == {"precision": 1.0, "recall": 0.0}


def test_citation_edge_cases() -> None:
    assert M.citation_scores([], [], total_units=2) == {"precision": 0.0, "recall": 0.0}  # answered, cited nothing
    assert M.citation_scores([], [], total_units=0) == {"precision": 0.0, "recall": None}
    assert M.citation_scores([set()], [True], total_units=0) == {"precision": 1.0, "recall": None}


def test_char_precision() -> None:
    gold = [("a", 100, 200)]
    assert M.char_precision([("a", 100, 200)], gold) == 1.0
    assert M.char_precision([("a", 0, 1000)], gold) == pytest.approx(0.1)  # a whole page around the evidence
    assert M.char_precision([("a", 150, 250), ("a", 150, 250)], gold) == 0.5  # duplicates count once
    assert M.char_precision([("b", 100, 200)], gold) == 0.0
    assert M.char_precision([], gold) is None
    assert M.char_precision([("a", 0, 10)], []) is None
    assert M.char_precision([("a", 5, 5)], gold) is None  # zero-length spans cite nothing


def test_span_valid() -> None:
    text = "Kyiv Mayor Vitali Klitschko said."
    assert M.span_valid("Vitali Klitschko", text, 11, 27)
    assert not M.span_valid("Vitali Klitschko", text, 10, 26)  # off by one
    assert not M.span_valid("x", None, 0, 1)  # unknown article
    assert not M.span_valid("", text, 30, 100)  # out of range
    assert M.span_valid("", text, 3, 3)


# --- abstention -----------------------------------------------------------------------------------


def test_abstention_scores() -> None:
    unanswerable = [True, True, False, False, False]
    abstained = [True, False, True, False, False]
    s = M.abstention_scores(unanswerable, abstained)
    assert s["precision"] == 0.5 and s["recall"] == 0.5 and s["f1"] == 0.5
    assert s["answer_rate"] == pytest.approx(2 / 3)


def test_abstention_all_abstain_and_zero_division() -> None:
    s = M.abstention_scores([True, False], [True, True])  # abstains on everything
    assert s == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "answer_rate": 0.0}
    s = M.abstention_scores([True, True], [False, False])  # never abstains
    assert s["precision"] is None and s["recall"] == 0.0 and s["f1"] == 0.0 and s["answer_rate"] is None
    s = M.abstention_scores([False, False], [False, False])  # nothing to abstain on, no abstention
    assert s == {"precision": None, "recall": None, "f1": None, "answer_rate": 1.0}
    s = M.abstention_scores([False], [True])  # wrongly abstained, no unanswerable question
    assert s["precision"] == 0.0 and s["recall"] is None and s["f1"] == 0.0
    assert M.abstention_scores([], []) == {"precision": None, "recall": None, "f1": None, "answer_rate": None}
    with pytest.raises(ValueError):
        M.abstention_scores([True], [])


# --- aggregation ----------------------------------------------------------------------------------


def test_mean_and_percentile() -> None:
    assert M.mean([1, None, 3]) == 2.0
    assert M.mean([None, float("nan")]) is None
    assert M.mean([]) is None
    assert M.percentile([], 50) is None
    assert M.percentile([None, 2.0], 95) == 2.0
    assert M.percentile([1, 2, 3, 4], 50) == 2.5
    assert M.percentile([4, 1, 3, 2], 95) == pytest.approx(3.85)  # order does not matter; numpy-compatible
    assert M.percentile([1, 2], 0) == 1 and M.percentile([1, 2], 100) == 2
    with pytest.raises(ValueError):
        M.percentile([1], 101)


def test_own_words_drops_markers_and_quotes() -> None:
    assert M.own_words('Glasgow [1]. “The UK opened its first room in Glasgow” [1]') == "Glasgow."
    assert M.own_words('He said "no progress" today [2].') == "He said today."
    assert M.own_words("") == ""


def test_crag_point() -> None:
    assert M.crag_point(True, False, True) == 1
    assert M.crag_point(True, True, False) == 0 and M.crag_point(False, True, False) == 0
    assert M.crag_point(True, False, False) == -1 and M.crag_point(False, False, True) == -1
