"""Compose the final answer: verified claims or extraction, citations from offsets, abstention.

Citations are built here and only here, from evidence offsets: `quote = article.text[start:end]`.
Marker numbers in the answer text are renumbered 1..m in order of first use.

Example:
    >>> text, cites = compose_extractive(question, evidence_set)
"""

from __future__ import annotations

import re

from . import textutil as tu
from .evidence import Evidence, EvidenceSet
from .types import Citation, Passage
from .verify import Verification


def citation(n: int, e: Evidence) -> Citation:
    a = e.article
    return Citation(n=n, article_id=a.id, title=a.title, source=a.source, url=a.url, published=a.published,
                    start=e.start, end=e.end, quote=a.text[e.start:e.end])


def passage(e: Evidence) -> Passage:
    a = e.article
    return Passage(article_id=a.id, title=a.title, source=a.source, url=a.url, published=a.published,
                   start=e.start, end=e.end, quote=a.text[e.start:e.end], score=round(e.score, 4))


def answer_phrase(question: str, quote: str) -> str | None:
    """The part of `quote` that answers `question` when the question type makes it findable."""
    qtype = tu.question_type(question)
    q_lower = question.lower()
    if qtype == "number":
        q_nums = tu.numbers(question)
        q_words = set(tu.content_words(question))
        low = quote.lower()
        best, best_key = None, (-1, -10**9)
        num = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\b(?:" + "|".join(tu.NUMBER_WORDS) + r")\b"
        for m in re.finditer(num, quote, flags=re.I):
            if tu.norm_number(m.group()) in q_nums or tu.NUMBER_WORDS.get(m.group().lower()) in q_nums:
                continue
            nxt = re.match(r"[^\s]*(?:[- ](?:of the [\w’']+ )?(percent|%|[A-Za-z]+(?:-[A-Za-z]+)?))?", quote[m.start():])
            noun = nxt.group(1) if nxt else None
            # prefer a number whose noun the question asks about ("11 missiles" for "how many missiles")
            hit = 1 if noun and tu.content_words(noun) and tu.content_words(noun)[0] in q_words else 0
            dist = min((abs(m.start() - low.find(k[:4])) for k in q_words if low.find(k[:4]) >= 0), default=500)
            key = (hit, -dist)
            if key > best_key:
                phrase = nxt.group() if noun and noun.lower() not in tu.STOP else m.group()
                best, best_key = phrase.strip(), key
        return best
    if qtype in ("person", "place"):
        for m in re.finditer(r"(?<!^)\b([A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)+|[A-Z][\w’'\-]{2,})", quote):
            cand = m.group(1)
            if cand.lower() not in q_lower and cand.lower() not in tu.STOP:
                return cand
    return None


def compose_extractive(question: str, ev: EvidenceSet, max_items: int = 2) -> tuple[str, list[Citation]]:
    """Quote the best evidence sentence(s); lead with the answer phrase when it can be located."""
    chosen = [ev.items[0]] + [e for e in ev.items[1:max_items] if e.score >= ev.items[0].score - 0.05]
    parts, cites = [], []
    for i, e in enumerate(chosen, 1):
        parts.append(f"“{' '.join(e.quote.split())}” [{i}]")
        cites.append(citation(i, e))
    phrase = answer_phrase(question, chosen[0].quote)
    lead = f"{phrase}: " if phrase else "According to the articles: "
    return lead + " ".join(parts), cites


def compose_verified(v: Verification, ev: EvidenceSet) -> tuple[str, list[Citation]]:
    """The verified claims with renumbered markers."""
    renum: dict[int, int] = {}
    parts = []
    for c in v.claims:
        marks = []
        for n in c.evidence:
            renum.setdefault(n, len(renum) + 1)
            marks.append(f"[{renum[n]}]")
        text = c.text.rstrip()
        if not text.endswith((".", "!", "?")):
            text += "."
        parts.append(f"{text[:-1]} {''.join(marks)}{text[-1]}")
    cites = [citation(new, ev.by_n(old)) for old, new in renum.items() if ev.by_n(old) is not None]  # type: ignore[arg-type]
    return " ".join(parts), cites


def answers_question(question: str, text: str) -> bool:
    """Does `text` contain what the question type asks for (a number for 'how many', ...)?"""
    qtype = tu.question_type(question)
    text = re.sub(r"\[\d+\]", " ", text)
    if qtype == "number":
        return bool(tu.numbers(text) - tu.numbers(question))
    if qtype in ("person", "place"):
        return bool(tu.names(text[1:]) - tu.names(question))
    if qtype == "date":
        return tu.has_date(text)
    return True


def abstention_text(ev: EvidenceSet) -> str:
    if ev.missing_terms:
        terms = ", ".join(t.title() for t in ev.missing_terms[:3])
        return f"The articles don't say: none of them mentions {terms}."
    return "The articles don't say. The closest passages are listed below as related, not as evidence."
