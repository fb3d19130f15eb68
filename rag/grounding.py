"""Answer-phrase grounding: find a phrase (the LLM's short answer, a candidate) inside the evidence
and return its exact character offsets in the stored article.

Matching ignores case, curly vs straight quotes, punctuation and runs of whitespace, but the span
returned always points into the original text, so `article.text[start:end]` is what is cited.

Example:
    >>> g = ground("lisbon", evidence_items)
    >>> g.n, g.article.text[g.start:g.end]
    (1, 'Lisbon')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.types import Article

from . import textutil as tu
from .evidence import Evidence

_TOKEN = re.compile(r"[\w$£€%]+(?:[’'.,\-][\w%]+)*")


@dataclass(frozen=True)
class Grounded:
    """A phrase located in evidence item `n`: `article.text[start:end]` is the phrase as written there."""

    n: int
    article: Article
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.article.text[self.start:self.end]


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(normalised token, start, end) of `text`: words and numbers, lower-cased, quotes straightened,
    thousands separators dropped."""
    out = []
    for m in _TOKEN.finditer(text):
        t = m.group().replace("’", "'").lower()
        t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
        if t.endswith("'s"):
            t = t[:-2]
        out.append((t, m.start(), m.end()))
    return out


def find(phrase: str, text: str) -> tuple[int, int] | None:
    """Offsets of the first token-wise occurrence of `phrase` in `text`, else None."""
    want = [t for t, _, _ in tokens(phrase)]
    if not want:
        return None
    have = tokens(text)
    n = len(want)
    for i in range(len(have) - n + 1):
        if all(have[i + j][0] == want[j] for j in range(n)):
            return have[i][1], have[i + n - 1][2]
    return None


def ground(phrase: str, evidence: list[Evidence], prefer: list[int] | None = None) -> Grounded | None:
    """Locate `phrase` in the evidence, trying the items numbered in `prefer` (the LLM's own [n])
    first, then the others in rank order."""
    order = [e for n in (prefer or []) for e in evidence if e.n == n]
    order += [e for e in evidence if e not in order]
    for e in order:
        hit = find(phrase, e.quote)
        if hit is not None:
            return Grounded(e.n, e.article, e.start + hit[0], e.start + hit[1])
    return None


_MARK = re.compile(r"\[(\d+)\]")
_NOT_FOUND = re.compile(r"\bnot found\b|\bno answer\b|\bdoes not (?:say|mention|contain)\b|\bunknown\b", re.I)


def parse_short_answer(draft: str) -> tuple[str, list[int], bool]:
    """(phrase, cited numbers, says NOT FOUND) of a short-answer draft like ``Lisbon [1]``.

    Only the first line counts; a trailing period and wrapping quotes go."""
    line = (draft or "").strip().splitlines()[0] if (draft or "").strip() else ""
    marks = [int(x) for x in _MARK.findall(line)]
    phrase = _MARK.sub(" ", line)
    phrase = re.sub(r"^(?:answer|the answer is)\s*[:\-]?\s*", "", phrase.strip(), flags=re.I)
    phrase = " ".join(phrase.split()).strip(" .;:,\"“”'")
    return phrase, marks, bool(_NOT_FOUND.search(line)) or not phrase


def novel_part(sentence: str, question_terms: set[str]) -> str:
    """The words of `sentence` from its first to its last content word that the question does not
    contain: what a copied evidence sentence adds (the answer, usually)."""
    toks = [(m.group(), m.start(), m.end()) for m in tu.WORD.finditer(sentence)]
    new = [(s, e) for w, s, e in toks
           if w.lower() not in tu.STOP and (tu.content_words(w) or [""])[0] not in question_terms]
    if not new:
        return ""
    return sentence[new[0][0]:new[-1][1]]
