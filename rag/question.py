"""Question analysis: what a question asks for, and which of its words only frame it.

News questions carry context the answer does not need ("Blue Origin, the company founded by Amazon
billionaire Jeff Bezos, launched a new rocket. What is the rocket's name?"). The *asked* part is the
sentence with the interrogative (without appositive clauses between commas); everything else is
*framing*. Evidence must match what is asked; framing words only help to find it.

The answer type comes from English interrogative grammar (how many -> number, who -> person, when
-> date, where -> place, why -> reason, what did X say -> quote, which/what NOUN -> entity typed by
its head noun), not from any evaluation question.

Example:
    >>> q = Question.parse("Blue Origin, the company founded by Jeff Bezos, launched a rocket. What is its name?")
    >>> q.qtype, sorted(q.framing_names), q.asked
    ('entity', ['bezos', 'blue', 'jeff', 'origin'], 'What is its name?')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from . import textutil as tu

QType = Literal["number", "person", "date", "place", "reason", "quote", "entity", "other"]

_SENT = re.compile(r"(?<=[.?!])\s+(?=[A-Z“\"'])")
_WH = re.compile(r"\b(how|what|which|who|whom|whose|when|where|why)\b", re.I)
_AUX = frozenset([
    "is", "are", "was", "were", "be", "been", "did", "does", "do", "has", "have", "had", "will", "would",
    "can", "could", "should", "may", "might", "must",
])
# Interrogatives whose answer type is fixed by English grammar, tried in this order.
_WH_TYPES: tuple[tuple[str, QType], ...] = ((r"\b(why|how come)\b", "reason"), (r"\b(who|whom|whose)\b", "person"), (r"\bwhen\b", "date"),
             (r"\bwhere\b", "place"))
# Head nouns whose type is fixed by English semantics (not by any evaluation question).
_PLACE_HEADS = frozenset([
    "city", "town", "country", "nation", "state", "province", "region", "district", "county", "village",
    "capital", "island", "continent", "place", "location", "neighborhood", "neighbourhood", "area", "venue",
    "stadium", "airport", "port",
])
_PERSON_HEADS = frozenset([
    "person", "man", "woman", "people", "official", "leader", "president", "minister", "mayor", "governor",
    "senator", "representative", "judge", "player", "athlete", "actor", "actress", "singer", "rapper",
    "artist", "author", "writer", "director", "ceo", "founder", "candidate", "celebrity", "star", "coach",
    "chancellor", "king", "queen", "prince", "princess", "pope", "lawmaker", "politician", "journalist",
    "scientist", "who",
])
_DATE_HEADS = frozenset(["year", "day", "date", "month", "time", "week", "season", "decade", "century"])
_NUMBER_HEADS = frozenset(["number", "amount", "percentage", "percent", "share", "total", "count", "sum", "price", "age", "cost", "rate"])


@dataclass(frozen=True)
class Question:
    """A parsed question. Build it with `Question.parse(text)`.

    When to use: anywhere a rule must tell what a question asks from how it is framed (evidence
    scoring, answer extraction, the answer policy's features).
    """

    text: str
    qtype: QType
    asked: str  # the clause that asks (interrogative sentence without appositives)
    framing: str  # everything else
    head: str | None  # head noun of "which/what NOUN" ("city", "rocket"), lower-case
    asked_terms: tuple[str, ...] = ()  # content stems of the asked part, minus the interrogative phrase
    framing_terms: tuple[str, ...] = ()
    asked_names: frozenset[str] = field(default_factory=frozenset)
    framing_names: frozenset[str] = field(default_factory=frozenset)
    numbers: frozenset[str] = field(default_factory=frozenset)

    @property
    def terms(self) -> tuple[str, ...]:
        return self.asked_terms + tuple(t for t in self.framing_terms if t not in self.asked_terms)

    @property
    def names(self) -> frozenset[str]:
        return self.asked_names | self.framing_names

    @classmethod
    def parse(cls, text: str) -> Question:
        text = " ".join((text or "").split())
        asked, framing = split_asked(text)
        qtype, head, wh_span = answer_type(asked)
        asked_wo_wh = asked[:wh_span[0]] + " " + asked[wh_span[1]:] if wh_span else asked
        asked_terms = tuple(dict.fromkeys(tu.content_words(asked_wo_wh)))
        framing_terms = tuple(t for t in dict.fromkeys(tu.content_words(framing)) if t not in asked_terms)
        asked_names = frozenset(_names(asked, text))
        framing_names = frozenset(_names(framing, text) - asked_names)
        return cls(text=text, qtype=qtype, asked=asked, framing=framing, head=head, asked_terms=asked_terms,
                   framing_terms=framing_terms, asked_names=asked_names, framing_names=framing_names,
                   numbers=frozenset(tu.numbers(text)))


def _names(part: str, whole: str) -> set[str]:
    """Names in `part`; a capital at the very start of the question does not make a name."""
    if not part:
        return set()
    if whole.startswith(part):
        return tu.names(part[1:]) | {w for w in tu.names(part) if part.lower().find(w) > 0}
    return tu.names(part)


def split_asked(text: str) -> tuple[str, str]:
    """(asked, framing): the interrogative sentence without appositive clauses, and the rest.

    Example:
        >>> split_asked("Biden spoke on Wednesday. Where did the speech take place?")
        ('Where did the speech take place?', 'Biden spoke on Wednesday.')
    """
    sents = [s for s in _SENT.split(text) if s.strip()] or [text]
    idx = next((i for i in range(len(sents) - 1, -1, -1) if sents[i].rstrip().endswith("?")), None)
    if idx is None:
        idx = next((i for i in range(len(sents) - 1, -1, -1) if _WH.search(sents[i])), len(sents) - 1)
    asked = sents[idx]
    framing = [s for i, s in enumerate(sents) if i != idx]
    # ", the company founded by ..., " : an appositive without the interrogative frames the subject
    parts = [p for p in re.split(r"(,\s+)", asked)]
    segs = [p for p in parts if not re.fullmatch(r",\s+", p)]
    if len(segs) >= 3:
        keep: list[str] = [segs[0]]
        drop: list[str] = []
        for s in segs[1:-1]:
            (drop if not _WH.search(s) else keep).append(s)
        keep.append(segs[-1])
        if drop:
            asked = ", ".join(keep)
            framing.extend(drop)
    return asked.strip(), " ".join(framing).strip()


def answer_type(asked: str) -> tuple[QType, str | None, tuple[int, int] | None]:
    """(type, head noun, span of the interrogative phrase) of the asked clause."""
    q = asked.lower()
    m = re.search(r"\bhow (many|much|long|far|old|often|big|large|tall|high|deep|fast)\b", q)
    if m:
        if m.group(1) == "long" and re.search(r"\bhow long ago\b", q):
            return "date", None, m.span()
        head = _head(q[m.end():]) if m.group(1) in ("many", "much") else None
        return "number", head, m.span()
    m = re.search(r"\bwhat did (.+?) (say|tell|write|announce|post|warn|claim)\b", q)
    if m:
        return "quote", None, (m.start(), m.start() + len("what did"))
    for pattern, qtype in _WH_TYPES:
        m = re.search(pattern, q)
        if m:
            return qtype, None, m.span()
    m = re.search(r"\b(which|what)\b((?:\s+[\w’'\-]+){1,4})", q)
    if m:
        head = _head(m.group(2))
        return _typed(head), head, (m.start(), m.end(1))
    if re.search(r"\bhow\b", q):
        return "other", None, re.search(r"\bhow\b", q).span()  # type: ignore[union-attr]
    return "other", None, None


def _head(words: str) -> str | None:
    """The head noun of a noun phrase: its last word before a verb/preposition/stopword."""
    toks = re.findall(r"[\w’'\-]+", words.lower())
    got: list[str] = []
    copula = bool(toks) and toks[0] in _AUX  # "what is the rocket's name": the head follows the copula
    for t in toks:
        base = t.replace("’", "'").split("'")[0]
        if base in tu.STOP or base in _AUX:
            if got:
                break
            if not copula:
                return None  # "which of the following", "what did": no noun right after the interrogative
            continue
        got.append(base)
        if got and base.endswith("ed") and len(got) > 1:  # "which company launched": a verb ends the phrase
            got.pop()
            break
    return got[-1] if got else None


def _typed(head: str | None) -> QType:
    if head is None:
        return "entity"
    h = head.rstrip("s") if head.endswith("s") and head[:-1] in (_PLACE_HEADS | _PERSON_HEADS | _DATE_HEADS) else head
    if h in _PLACE_HEADS:
        return "place"
    if h in _PERSON_HEADS:
        return "person"
    if h in _DATE_HEADS:
        return "date"
    if h in _NUMBER_HEADS:
        return "number"
    return "entity"
