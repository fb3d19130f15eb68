"""Verification: keep only the draft's sentences that the cited evidence supports.

A sentence is supported by an evidence item when most of its content words occur there and every
number and proper name in it does. Cited ids must exist; an uncited or wrongly cited sentence is
re-attributed to the evidence that supports it, or dropped. This is what makes citations
independent of the LLM behaving well: a small model's wrong number never reaches the user.

Example:
    >>> v = Verifier().verify("Russia launched 500 drones [1].", evidence)
    >>> v.claims   # [] : 500 is not in evidence [1]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import textutil as tu
from .evidence import Evidence

_MARK = re.compile(r"\[(\d+)\]")
_NOT_FOUND = re.compile(r"not found|do(?:es)? not (?:contain|say|mention|provide)|don'?t know|no (?:information|evidence)|"
                        r"cannot (?:be )?(?:answer|determin)|unable to", re.I)


@dataclass(frozen=True)
class Claim:
    text: str  # without markers
    evidence: tuple[int, ...]  # evidence numbers that support it
    reattributed: bool = False


@dataclass
class Verification:
    claims: list[Claim] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    says_not_found: bool = False


def split_claims(draft: str) -> list[tuple[str, list[int]]]:
    """Split a draft into (sentence without markers, cited numbers)."""
    from ingest.sentences import split_sentences

    draft = draft.strip()
    pieces = [draft[sp.start:sp.end] for sp in split_sentences(draft)]
    out: list[tuple[str, list[int]]] = []
    for s in pieces:
        lead = re.match(r"^(?:\s*\[\d+\])+[.]?", s)
        if lead and out:  # "... drones. [1] Next sentence": the marker belongs to the previous one
            out[-1][1].extend(int(x) for x in _MARK.findall(lead.group()))
            s = s[lead.end():]
        marks = [int(x) for x in _MARK.findall(s)]
        text = " ".join(_MARK.sub(" ", s).split()).replace(" .", ".").replace(" ,", ",")
        if text.strip(" .,;:-"):
            out.append((text, marks))
    return out


class Verifier:
    """Checks each draft sentence against numbered evidence. Use one per process; stateless."""

    def __init__(self, min_support: float = 0.6) -> None:
        self.min_support = min_support

    def support(self, claim: str, evidence_text: str, question: str = "") -> float:
        """0..1 support of `claim` by `evidence_text`; 0 when a number or name is not there, or
        when a word the claim adds beyond the question (what it asserts) is not there."""
        ev_lower = evidence_text.lower()
        if tu.numbers(claim) - tu.numbers(evidence_text):
            return 0.0
        if any(n not in ev_lower for n in tu.names(claim[1:])):
            return 0.0
        words = tu.content_words(claim)
        if not words:
            return 0.0
        ev_words = set(tu.content_words(evidence_text))
        if question:
            q_words = set(tu.content_words(question))
            if any(w not in ev_words for w in words if w not in q_words):
                return 0.0
            # What the claim asserts must be phrased as the evidence phrases it: adjacent asserted
            # words must be adjacent there too ("Ukraine's territorial gains" is not in
            # "... Ukraine abandoning its NATO bid and recognizing Russia's territorial gains").
            ev_seq = tu.content_words(evidence_text)
            ev_bigrams = set(zip(ev_seq, ev_seq[1:]))
            for a, b in zip(words, words[1:]):
                if a not in q_words and b not in q_words and (a, b) not in ev_bigrams:
                    return 0.0
        return sum(w in ev_words for w in words) / len(words)

    def verify(self, draft: str, evidence: list[Evidence], question: str = "") -> Verification:
        by_n = {e.n: e for e in evidence}
        result = Verification(says_not_found=bool(_NOT_FOUND.search(draft)))
        for text, marks in split_claims(draft):
            if _NOT_FOUND.search(text):
                continue
            if len(tu.content_words(text)) < 2:
                result.dropped.append(text)
                continue
            valid = [n for n in dict.fromkeys(marks) if n in by_n]
            if valid and self.support(text, " ".join(by_n[n].quote for n in valid), question) >= self.min_support:
                result.claims.append(Claim(text, tuple(valid)))
                continue
            best = max(evidence, key=lambda e: self.support(text, e.quote, question), default=None)
            if best is not None and self.support(text, best.quote, question) >= self.min_support:
                result.claims.append(Claim(text, (best.n,), reattributed=True))
            else:
                result.dropped.append(text)
        return result
