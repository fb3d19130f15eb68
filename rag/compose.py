"""Compose the shown answer and its citations from a chosen candidate.

Citations are built here and only here, from evidence offsets: `quote = article.text[start:end]`.
Marker numbers in the answer text are renumbered 1..m in order of first use, so the text only
carries markers the engine produced.

Example:
    >>> text, cites = compose_phrase(grounded_or_candidate, evidence_set)
    >>> text
    'Lisbon [1].'
"""

from __future__ import annotations

import re

from . import textutil as tu
from .evidence import Evidence, EvidenceSet
from .question import Question
from .types import Citation, Passage
from .verify import Verification

# A literal "[3]" inside article text must not look like one of our markers once quoted.
_BRACKETS = str.maketrans({"[": "⟦", "]": "⟧"})


def citation(n: int, e: Evidence) -> Citation:
    a = e.article
    return Citation(n=n, article_id=a.id, title=a.title, source=a.source, url=a.url, published=a.published,
                    start=e.start, end=e.end, quote=a.text[e.start:e.end])


def passage(e: Evidence) -> Passage:
    a = e.article
    return Passage(article_id=a.id, title=a.title, source=a.source, url=a.url, published=a.published,
                   start=e.start, end=e.end, quote=a.text[e.start:e.end], score=round(e.score, 4))


def quoted(text: str) -> str:
    """Evidence text as it appears inside an answer: one line, curly-quoted, brackets neutralised."""
    return f"“{' '.join(text.split()).translate(_BRACKETS)}”"


def compose_phrase(phrase: str, n: int, ev: EvidenceSet) -> tuple[str, list[Citation]]:
    """``Lisbon [1].``: the answer phrase (as written in evidence item `n`), citing that item."""
    e = ev.by_n(n)
    if e is None:
        raise ValueError(f"no evidence item {n}")
    text = " ".join(phrase.split()).translate(_BRACKETS)
    return f"{text} [1].", [citation(1, e)]


def compose_quote(ev: EvidenceSet, max_items: int = 2) -> tuple[str, list[Citation]]:
    """The best evidence quoted (and the next one when it scores nearly as well)."""
    chosen = [ev.items[0]] + [e for e in ev.items[1:max_items] if e.score >= ev.items[0].score - 0.05]
    parts = [f"{quoted(e.quote)} [{i}]" for i, e in enumerate(chosen, 1)]
    return "According to the articles: " + " ".join(parts), [citation(i, e) for i, e in enumerate(chosen, 1)]


def compose_verified(v: Verification, ev: EvidenceSet) -> tuple[str, list[Citation]]:
    """The verified claims with renumbered markers."""
    renum: dict[int, int] = {}
    parts = []
    for c in v.claims:
        marks = []
        for n in c.evidence:
            renum.setdefault(n, len(renum) + 1)
            marks.append(f"[{renum[n]}]")
        text = c.text.rstrip().translate(_BRACKETS)
        if not text.endswith((".", "!", "?")):
            text += "."
        parts.append(f"{text[:-1]} {''.join(marks)}{text[-1]}")
    cites = [citation(new, e) for old, new in renum.items() if (e := ev.by_n(old)) is not None]
    return " ".join(parts), cites


def answers_type(q: Question, text: str) -> bool:
    """Does `text` contain what the question type asks for (a number for 'how many', ...)?"""
    text = re.sub(r"\[\d+\]", " ", text)
    if q.qtype == "number":
        return bool(tu.numbers(text) - q.numbers)
    if q.qtype in ("person", "place"):
        return bool(tu.names(text[1:]) - q.names) or bool(tu.names(text) - q.names)
    if q.qtype == "date":
        return tu.has_date(text) or bool(tu.numbers(text) - q.numbers)
    if q.qtype == "entity":
        return bool(set(tu.content_words(text)) - set(q.terms))
    return True


def abstention_text(ev: EvidenceSet) -> str:
    if ev.asked_names_missing:
        terms = ", ".join(t.title() for t in ev.asked_names_missing[:3])
        return f"The articles don't say: none of the passages found mentions {terms}."
    return "The articles don't say. The closest passages are listed below as related, not as evidence."
