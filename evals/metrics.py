"""Pure scoring functions: the yardstick of `citewire eval`.

Nothing here touches an engine, a file or the network; every function takes plain values and is
tested on hand-made cases in ``tests/evals/test_metrics.py``. Undefined values (a precision with
nothing predicted, a percentile of no samples) are ``None``, never a silent 0, so that reports can
tell "bad" from "not applicable".

Conventions:
    * A *span* is ``(article_id, start, end)`` with character offsets into the stored article text.
    * A *gold unit* is one piece of gold evidence; it may occur in several places (duplicated
      passages, a sentence quoted twice), so a unit is a list of alternative spans.
    * Answers are compared after `normalize` (case, accents, quotes, punctuation, articles).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

Span = tuple[str, int, int]
GoldUnit = Sequence[Span]

_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;-]\s*\d+)*\]")
_DIGIT_SEP = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")
_NON_WORD = re.compile(r"[^\w]+|_")
_ARTICLES = {"a", "an", "the"}
_POSSESSIVE = re.compile(r"(?<=\w)'s\b")
_TRANSLATE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def strip_markers(text: str) -> str:
    """Remove citation markers like ``[1]``, ``[2, 3]`` from an answer."""
    return _MARKERS.sub("", text or "").strip()


def normalize(text: str) -> str:
    """Lower-case, strip accents, drop punctuation and the articles a/an/the, collapse spaces.

    Thousands separators are dropped (``1,000`` -> ``1000``), a possessive ``'s`` is dropped
    (``Volkswagen's plant`` contains ``Volkswagen``) and other apostrophes inside words are removed
    (``didn’t`` -> ``didnt``), so curly and straight quotes compare equal.

    >>> normalize("The 1,000-kilometer (620-mile) front line!")
    '1000 kilometer 620 mile front line'
    """
    t = unicodedata.normalize("NFKD", (text or "").translate(_TRANSLATE))
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).casefold()
    t = _DIGIT_SEP.sub("", t)
    t = _POSSESSIVE.sub("", t)
    t = re.sub(r"(?<=\w)'(?=\w)", "", t)
    words = [w for w in _NON_WORD.sub(" ", t).split() if w not in _ARTICLES]
    return " ".join(words)


def tokens(text: str) -> list[str]:
    return normalize(text).split()


_QUOTED = re.compile(r"“[^”]*”|\"[^\"\n]*\"|«[^»]*»")


def own_words(text: str) -> str:
    """The answer's own words: its text without citation markers and without quoted passages
    (“...”, "...", «...»).

    Use it to score what an answer *says*: an answer that only quotes an evidence sentence has not
    said which part of it answers the question, so a gold string inside the quote does not count.

    >>> own_words('Glasgow [1]. “The UK opened its first room in Glasgow” [1]')
    'Glasgow.'
    """
    return " ".join(_QUOTED.sub(" ", strip_markers(text or "")).split()).replace(" .", ".").strip()


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """True when some non-empty gold string occurs in `text` on word boundaries, after `normalize`.

    ``"23"`` is found in ``"at least 23 people"`` but not in ``"233 people"``.
    """
    hay = f" {normalize(strip_markers(text))} "
    for g in golds:
        n = normalize(g)
        if n and f" {n} " in hay:
            return True
    return False


def choice_correct(text: str, gold: Iterable[str], wrong: Iterable[str]) -> bool:
    """Multiple-choice correctness: a gold choice occurs in the answer and no wrong choice does."""
    gold = list(gold)
    wrong = [w for w in wrong if normalize(w) not in {normalize(g) for g in gold}]
    return contains_answer(text, gold) and not contains_answer(text, wrong)


def token_f1(prediction: str, golds: Iterable[str]) -> float | None:
    """SQuAD token F1 against the best-matching gold; None when there is no gold string.

    Both empty after normalisation -> 1.0; exactly one empty -> 0.0.
    """
    golds = list(golds)
    if not golds:
        return None
    pred = tokens(strip_markers(prediction))
    best = 0.0
    for g in golds:
        gt = tokens(g)
        if not pred or not gt:
            best = max(best, float(pred == gt))
            continue
        common = sum((Counter(pred) & Counter(gt)).values())
        if common == 0:
            continue
        p, r = common / len(pred), common / len(gt)
        best = max(best, 2 * p * r / (p + r))
    return best


def crag_point(answerable: bool, abstained: bool, right_and_cited: bool) -> int:
    """The CRAG-style score of one question: +1 answered right with a supporting citation, 0
    refused, -1 anything else answered (wrong, uncited, or an unanswerable question answered).

    Use it to compare engines that abstain at different rates: a wrong answer costs as much as a
    right one earns, so guessing never pays.

    >>> crag_point(True, False, True), crag_point(True, True, False), crag_point(False, False, False)
    (1, 0, -1)
    """
    if abstained:
        return 0
    return 1 if answerable and right_and_cited else -1


# --- spans ----------------------------------------------------------------------------------------


def overlap(a: Span, b: Span) -> int:
    """Characters shared by two spans (0 when they are in different articles)."""
    if a[0] != b[0]:
        return 0
    return max(0, min(a[2], b[2]) - max(a[1], b[1]))


def significant_overlap(a: Span, b: Span, min_frac: float = 0.5) -> bool:
    """Spans overlap by at least `min_frac` of the shorter one (so a sentence inside a chunk counts,
    a few characters shared at a chunk boundary do not)."""
    ov = overlap(a, b)
    shorter = min(a[2] - a[1], b[2] - b[1])
    return ov > 0 and ov >= min_frac * shorter


def locate(text: str, quote: str, limit: int = 20) -> list[tuple[int, int]]:
    """Where `quote` occurs in `text`: exact matches, else matches that ignore whitespace runs."""
    quote = (quote or "").strip()
    if not quote or not text:
        return []
    found: list[tuple[int, int]] = []
    i = text.find(quote)
    while i >= 0 and len(found) < limit:
        found.append((i, i + len(quote)))
        i = text.find(quote, i + 1)
    if found:
        return found
    pattern = r"\s+".join(re.escape(p) for p in quote.split())
    for m in re.finditer(pattern, text):
        found.append((m.start(), m.end()))
        if len(found) >= limit:
            break
    return found


def units_covered(span: Span, quote: str, units: Sequence[GoldUnit], answers: Sequence[str], min_frac: float = 0.5) -> set[int]:
    """Indices of gold units a retrieved or cited span covers.

    With evidence units: unit i is covered when some location of it overlaps `span` significantly.
    Without evidence (answer-only gold): the single unit 0 is covered when `quote` contains a gold
    answer.
    """
    if units:
        return {i for i, unit in enumerate(units) if any(significant_overlap(span, g, min_frac) for g in unit)}
    if answers and contains_answer(quote, answers):
        return {0}
    return set()


def n_units(units: Sequence[GoldUnit], answers: Sequence[str]) -> int:
    """How many gold units an item has (answer-only gold counts as one unit)."""
    return len(units) if units else (1 if any(normalize(a) for a in answers) else 0)


# --- retrieval ------------------------------------------------------------------------------------


def retrieval_scores(covered: Sequence[set[int]], total_units: int, k: int) -> dict[str, float | None]:
    """hit@k, recall@k and reciprocal rank for one question.

    `covered[i]` is the set of gold units the i-th retrieved passage (best first) covers. All three
    are None when the question has no gold (nothing to find).
    """
    if total_units <= 0:
        return {"hit_at_k": None, "recall_at_k": None, "rr": None}
    top = covered[: max(k, 0)]
    union: set[int] = set().union(*top) if top else set()
    rr = next((1.0 / (i + 1) for i, c in enumerate(covered) if c), 0.0)
    return {
        "hit_at_k": 1.0 if union else 0.0,
        "recall_at_k": len(union) / total_units,
        "rr": rr,
    }


# --- citations ------------------------------------------------------------------------------------


def citation_scores(
    cited_cover: Sequence[set[int]], cited_support: Sequence[bool], total_units: int
) -> dict[str, float | None]:
    """ALCE-style citation precision and recall for one answered question.

    `cited_support[i]`: the i-th citation supports the answer (contains a gold answer or overlaps
    gold evidence). `cited_cover[i]`: the gold units it covers. An answer without citations scores
    precision 0 and recall 0 (it cites nothing); recall is None when there is no gold to cite.
    """
    if not cited_support:
        return {"precision": 0.0, "recall": 0.0 if total_units > 0 else None}
    precision = sum(1 for s in cited_support if s) / len(cited_support)
    if total_units <= 0:
        return {"precision": precision, "recall": None}
    union: set[int] = set().union(*cited_cover) if cited_cover else set()
    return {"precision": precision, "recall": len(union) / total_units}


def char_precision(cited: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """Share of cited characters that lie inside gold evidence (granularity-aware precision:
    citing a whole page that contains the evidence scores low). None without citations or gold."""
    total = sum(max(0, e - s) for _, s, e in _merge(cited))
    if total == 0 or not gold:
        return None
    gold_m = _merge(gold)
    inside = sum(overlap(c, g) for c in _merge(cited) for g in gold_m)
    return inside / total


def _merge(spans: Sequence[Span]) -> list[Span]:
    """Union of spans per article, as disjoint sorted spans."""
    out: list[Span] = []
    for aid, s, e in sorted(spans):
        if out and out[-1][0] == aid and s <= out[-1][2]:
            out[-1] = (aid, out[-1][1], max(out[-1][2], e))
        else:
            out.append((aid, s, e))
    return out


def span_valid(quote: str, article_text: str | None, start: int, end: int) -> bool:
    """A citation is valid when its quote is exactly the article text at its offsets."""
    if article_text is None or not (0 <= start <= end <= len(article_text)):
        return False
    return article_text[start:end] == quote


# --- abstention -----------------------------------------------------------------------------------


def abstention_scores(unanswerable: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | None]:
    """Abstention as a classifier of unanswerable questions (positive = abstained).

    precision: of the abstentions, how many were on unanswerable questions; recall: of the
    unanswerable questions, how many were abstained on; answer_rate: of the answerable questions,
    how many were answered. Undefined ratios (0/0) are None; F1 is 0 when there were positives but
    no true positive.
    """
    if len(unanswerable) != len(abstained):
        raise ValueError("unanswerable and abstained must have the same length")
    tp = sum(1 for u, a in zip(unanswerable, abstained) if u and a)
    fp = sum(1 for u, a in zip(unanswerable, abstained) if not u and a)
    fn = sum(1 for u, a in zip(unanswerable, abstained) if u and not a)
    n_answerable = sum(1 for u in unanswerable if not u)
    answered = sum(1 for u, a in zip(unanswerable, abstained) if not u and not a)
    precision = _div(tp, tp + fp)
    recall = _div(tp, tp + fn)
    if tp + fp + fn == 0:
        f1 = None
    elif tp == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)  # type: ignore[operator]
    return {"precision": precision, "recall": recall, "f1": f1, "answer_rate": _div(answered, n_answerable)}


# --- aggregation ----------------------------------------------------------------------------------


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when there are none."""
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0..100, linear interpolation like numpy's default); None when empty."""
    vals = sorted(float(v) for v in values if v is not None)
    if not vals:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)
