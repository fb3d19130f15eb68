"""Answer extraction: the short phrase of the evidence that answers the question.

Candidates are the names, quoted titles, numbers, dates and short noun runs (1-4 words between stop
words or punctuation) of the evidence items that the question does not already contain. Each gets
named features (does its kind fit the question type, is it next to the question's head noun or its
other terms, how well does its item score, does the LLM's draft contain it, how often does it recur)
and a linear score whose weights are fitted with the answer policy (`rag/data/policy.json`, see
`evals/calibrate.py`). The best candidate leads an extractive answer ("Lisbon [1]").

Example:
    >>> ex = PhraseExtractor(DEFAULT_WEIGHTS)
    >>> best = ex.best(Question.parse("In which city did it open?"), evidence.items, draft="")
    >>> best.text, best.n
    ('Lisbon', 1)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from . import textutil as tu
from .evidence import Evidence
from .grounding import find, tokens
from .question import Question

Kind = Literal["name", "quoted", "number", "date", "run"]
KINDS: tuple[Kind, ...] = ("name", "quoted", "number", "date", "run")
FEATURES: tuple[str, ...] = (
    "type_match", "kind_name", "kind_quoted", "kind_number", "kind_date", "kind_run", "q_overlap",
    "head_near", "term_near", "term_density", "head_sim", "item_rank", "item_score", "in_draft", "recurs",
    "chunk_recurs", "partial_name", "n_tokens", "sentence_start", "head_next",
)
HEAD_SIM_TOP = 40
LM_K = 8  # candidates the LLM scores at run time when a section is fitted with `lm` (~0.35 s with a 0.5B model)
VECTOR_CACHE = 4096  # phrase vectors kept (a few questions' worth; ~6 MB)
_TYPE_WORDS = {"person": "person", "place": "place", "date": "date", "number": "number"}

_CONNECT = r"(?:of|de|del|la|le|the|and|for|on|in|at|&|von|van|da|du|der|No\.|St\.)"
_CAP = r"(?:[A-Z][\w’'\-\.&]*[\w]|[A-Z]|\d+)"
_NAME = re.compile(rf"(?:[A-Z][\w’'\-\.&]*[\w]|[A-Z])(?:\s+(?:{_CONNECT}\s+)?{_CAP})*")
_QUOTED = re.compile(r"[“\"]([^”\"\n]{2,80})[”\"]")
_UNIT = r"(?:[ -](?!(?:and|or|the|of|to|in)\b)[a-z]+)?"
_BARE_DIGITS = re.compile(r"(?:[$£€]\s?)?\d[\d,]*(?:\.\d+)?")
_NUMBER = re.compile(_BARE_DIGITS.pattern + r"(?:\s?(?:%|(?:percent|million|billion|trillion|thousand|m|bn)\b))?"
                     + _UNIT)
# News style (AP, Reuters) spells out numbers below 10 ("five people", "a seven-hour attack"), and tens often:
# those are number candidates too, with the unit that follows them, like their digit forms. ("one" is left
# out: in "one of the", "no one" it is rarely a count.)
_UNITS_WORDS = "two|three|four|five|six|seven|eight|nine"
_TEENS_TENS = ("ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|"
               "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety")
_BARE_WORD_NUMBER = re.compile(rf"\b(?i:{_TEENS_TENS}|{_UNITS_WORDS})(?:-(?i:one|{_UNITS_WORDS}))?\b")
_WORD_NUMBER = re.compile(_BARE_WORD_NUMBER.pattern + _UNIT)
_BARE_NUMBER = {_NUMBER: _BARE_DIGITS, _WORD_NUMBER: _BARE_WORD_NUMBER}  # each number pattern's form without its unit
_DATE = re.compile(rf"\b(?:(?:{'|'.join(m.title() for m in tu.MONTHS)}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
                   rf"\.?(?:\s+\d{{1,2}})?(?:,?\s+\d{{4}})?|(?:{'|'.join(d.title() for d in tu.WEEKDAYS)})|(?:19|20)\d\d)\b")
_RUN = re.compile(r"[A-Za-z][\w’'\-]*(?:\s+[A-Za-z][\w’'\-]*){0,3}")
_TYPE_KINDS: dict[str, tuple[Kind, ...]] = {
    "number": ("number",), "date": ("date", "number"), "person": ("name",), "place": ("name",),
    "entity": ("name", "quoted", "run"), "other": ("name", "quoted", "run", "number"), "reason": ("run",),
    "quote": ("quoted",),
}

# Hand-set starting weights; `evals/calibrate.py` refits them on the calibration split.
DEFAULT_WEIGHTS: dict[str, float] = {
    "type_match": 1.5, "kind_name": 0.3, "kind_quoted": 0.2, "kind_number": 0.0, "kind_date": 0.0, "kind_run": -0.6,
    "q_overlap": -3.0, "head_near": 0.8, "term_near": 0.8, "item_rank": 0.8, "item_score": 1.0, "in_draft": 1.2,
    "recurs": 0.5, "n_tokens": -0.1, "sentence_start": -0.2, "term_density": 0.5, "head_sim": 1.0, "partial_name": -0.5,
    "chunk_recurs": 1.0, "head_next": 1.0,
}


@dataclass(frozen=True)
class Candidate:
    """One phrase of evidence item `n` at `article.text[start:end]`, with its features and score."""

    text: str
    kind: Kind
    n: int
    start: int
    end: int
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


class PhraseExtractor:
    """Ranks candidate answer phrases of the evidence with a linear model over named features.

    When to use: to lead an extractive answer with what the question asks for, and to ground a
    small model's draft (a copied sentence) to the phrase that answers.

    Example:
        >>> PhraseExtractor(DEFAULT_WEIGHTS).best(q, ev.items, draft="Lisbon [1]").text
        'Lisbon'
    """

    def __init__(self, weights: dict[str, float], bias: float = 0.0,
                 encode: Callable[[list[str]], np.ndarray] | None = None, lm_weight: float = 0.0, lm_k: int = LM_K) -> None:
        self.weights = {f: float(weights.get(f, 0.0)) for f in FEATURES}
        self.bias = bias
        self.encode = encode
        # the LLM-likelihood re-ranking of the top `lm_k` candidates (`rag/likelihood.py`); 0 = off
        self.lm_weight, self.lm_k = float(lm_weight), int(lm_k)
        # phrase vectors of recent questions: the engine scores the same evidence before and after the
        # LLM's draft, and the second pass must not embed the same phrases again
        self._vectors: dict[str, np.ndarray] = {}

    @classmethod
    def from_params(cls, section: dict[str, object], encode: Callable[[list[str]], np.ndarray] | None = None
                    ) -> PhraseExtractor:
        """The extractor of a fitted policy section (`rag.policy.profile_params`)."""
        ex = section.get("extractor") or {}
        assert isinstance(ex, dict)
        lm = ex.get("lm") or {}
        return cls(ex.get("weights") or DEFAULT_WEIGHTS, float(ex.get("bias", 0.0)), encode,
                   float(lm.get("weight", 0.0)), int(lm.get("k", LM_K)))

    def rerank(self, cands: list[Candidate], logliks: dict[str, float] | None) -> list[Candidate]:
        """`cands` with the top `lm_k` re-ordered by score + lm_weight * the LLM's log-likelihood of each
        (`rag.likelihood.score_phrases`); unchanged without scores or with the re-ranking off."""
        return rerank(cands, logliks, self.lm_weight, self.lm_k)

    def candidates(self, q: Question, items: list[Evidence], draft: str = "", contexts: list[str] | None = None
                   ) -> list[Candidate]:
        """Every candidate phrase of `items` with its features and score, best first.

        `contexts` (the retrieved chunks' texts) measure redundancy: news repeats the answer."""
        ctx = [f" {tu.normalize(c)} " for c in contexts or []]
        q_terms = set(q.terms)
        head_stem = tu.stem(q.head) if q.head else None
        allowed = _TYPE_KINDS.get(q.qtype, KINDS)
        raw = [r for e in items for r in _spans(e)]
        norm_counts: dict[str, int] = {}
        for phrase, *_ in raw:
            key = tu.normalize(phrase)
            norm_counts[key] = norm_counts.get(key, 0) + 1
        names = {tu.normalize(p) for p, kind, *_ in raw if kind == "name" and " " in p}
        best_score = max((e.score for e in items), default=1.0) or 1.0
        kept: list[tuple[str, Kind, Evidence, int, int, dict[str, float]]] = []
        for phrase, kind, e, s, t in raw:
            stems = tu.content_words(phrase)
            if not stems or len(phrase.split()) > 6:
                continue
            words = [w for w in stems if not (kind == "number" and w[:1].isdigit())] or stems
            overlap = sum(1 for w in words if w in q_terms) / len(words)
            if kind == "number" and any(w[:1].isdigit() and w not in q.numbers for w in stems):
                overlap = min(overlap, 0.5)  # a new number with the asked unit ("550 drones") is the answer
            if overlap >= 1.0:
                continue
            norm = tu.normalize(phrase)
            f = {name: 0.0 for name in FEATURES}
            f["type_match"] = float(kind in allowed[:1]) + 0.5 * float(kind in allowed[1:])
            f[f"kind_{kind}"] = 1.0
            f["q_overlap"] = overlap
            f["head_near"] = float(head_stem is not None and _near(e.quote, s, t, {head_stem}, 25))
            f["head_next"] = float(head_stem is not None and _names_head(e.quote, s, t, head_stem))
            f["term_near"] = float(_near(e.quote, s, t, q_terms, 40))
            f["term_density"] = _density(e.quote, s, t, q_terms, 80)
            f["item_rank"] = 1.0 / e.n
            f["item_score"] = e.score / best_score
            f["in_draft"] = float(bool(draft) and find(phrase, draft) is not None)
            aliases = sum(c for k, c in norm_counts.items() if k != norm and (k.endswith(" " + norm) or k.startswith(norm + " ")))
            f["recurs"] = min(norm_counts.get(norm, 1) - 1 + aliases, 3) / 3
            f["chunk_recurs"] = (sum(1 for c in ctx if f" {norm} " in c) / len(ctx)) if ctx else 0.0
            f["partial_name"] = float(kind == "name" and any(n != norm and (n.endswith(" " + norm)) for n in names))
            f["n_tokens"] = float(len(tokens(phrase)))
            f["sentence_start"] = float(s == 0)
            kept.append((phrase, kind, e, s, t, f))
        if self.encode is not None and kept:
            self._head_similarity(q, kept)
        out: dict[tuple[int, int, int], Candidate] = {}
        for phrase, kind, e, s, t, f in kept:
            score = self.bias + sum(self.weights[k] * v for k, v in f.items())
            span = (e.n, e.start + s, e.start + t)
            if span not in out or out[span].score < score:
                out[span] = Candidate(phrase, kind, e.n, e.start + s, e.start + t, f, score)
        return sorted(out.values(), key=lambda c: -c.score)

    def _head_similarity(self, q: Question, kept: list[tuple[str, Kind, Evidence, int, int, dict[str, float]]]) -> None:
        """How much each phrase looks like what is asked for: cosine between the phrase and the
        question's head noun ("country" ~ "South Korea"), or its answer type ("person", "place")."""
        assert self.encode is not None
        head = q.head or _TYPE_WORDS.get(q.qtype)
        if not head:
            return
        partial = sorted(kept, key=lambda r: -sum(self.weights[k] * v for k, v in r[5].items()))
        phrases = list(dict.fromkeys(p for p, *_ in partial))[:HEAD_SIM_TOP]  # embedding every n-gram costs too much
        vec = self._vectors_of([head, *phrases])
        sims = {p: float(vec[p] @ vec[head]) for p in phrases}
        for p, *_, f in kept:
            f["head_sim"] = float(sims.get(p, 0.0))

    def _vectors_of(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Embeddings of `texts`, computing only those not seen in the last few questions."""
        assert self.encode is not None
        cache = self._vectors  # read once: a UI thread may restart the cache meanwhile
        got = {t: cache[t] for t in texts if t in cache}
        missing = [t for t in dict.fromkeys(texts) if t not in got]
        if missing:
            got.update(zip(missing, self.encode(missing)))
        if len(cache) + len(missing) > VECTOR_CACHE:
            self._vectors = cache = dict(got)
        else:
            cache.update((t, got[t]) for t in missing)
        return got

    def best(self, q: Question, items: list[Evidence], draft: str = "", contexts: list[str] | None = None
             ) -> Candidate | None:
        cands = self.candidates(q, items, draft, contexts)
        return cands[0] if cands else None


def rerank(cands: list[Candidate], logliks: dict[str, float] | None, weight: float, k: int = LM_K) -> list[Candidate]:
    """The top `k` of `cands` re-scored by `score + weight * logliks[text]`, then the rest as they were.

    A phrase without a score (not among those the LLM scored) gets the lowest score of the question's
    scored phrases. The log-likelihood is kept as the candidate's `lm_loglik` feature."""
    if not logliks or not weight or not cands:
        return cands
    floor = min(logliks.values())
    top = [replace(c, score=c.score + weight * logliks.get(c.text, floor),
                   features={**c.features, "lm_loglik": logliks.get(c.text, floor)}) for c in cands[:k]]
    return sorted(top, key=lambda c: -c.score) + cands[k:]


_SPLIT_AT = re.compile(r"\s+(?:in|on|at|for|and|of the)\s+")


def _spans(e: Evidence) -> list[tuple[str, Kind, Evidence, int, int]]:
    """Candidate spans of one evidence item: (phrase, kind, item, start, end) with item-local offsets.

    Names are also split at connectors ("Park Fire in Northern California" -> "Park Fire",
    "Northern California") and shortened from the left to their last two or more words ("Finance Minister
    Jane Doe" -> "Jane Doe"), runs into their 1-3 word n-grams, numbers with a unit also bare."""
    text = e.quote
    out: list[tuple[str, Kind, Evidence, int, int]] = []

    def add(kind: Kind, s: int, t: int) -> None:
        s, t = _trim(text, s, t)
        if t > s:
            out.append((text[s:t], kind, e, s, t))

    for kind, rx in (("number", _WORD_NUMBER), ("quoted", _QUOTED), ("date", _DATE), ("number", _NUMBER),
                     ("name", _NAME), ("run", _RUN)):
        for m in rx.finditer(text):
            g = 1 if kind == "quoted" else 0
            s, t = m.start(g), m.end(g)
            add(kind, s, t)  # type: ignore[arg-type]
            if kind == "number":  # with a unit also bare: "550 drones" -> "550", "seven-hour" -> "seven"
                bare = _BARE_NUMBER[rx].match(text, s, t)
                if bare and bare.end() < t and text[bare.end()] in " -":
                    add("number", s, bare.end())
            elif kind == "name":
                pos = s
                for sep in _SPLIT_AT.finditer(text, s, t):
                    add("name", pos, sep.start())
                    pos = sep.end()
                if pos > s:
                    add("name", pos, t)
                # a title run before a name ("Finance Minister Jane Doe", "Acme Corp CEO John Smith"):
                # its last two or more words are a candidate too
                words = [(w.start(), w.end()) for w in re.finditer(r"\S+", text[s:t])]
                for i in range(1, len(words) - 1):
                    add("name", s + words[i][0], t)
            elif kind == "run":
                words = [(w.start(), w.end()) for w in re.finditer(r"\S+", text[s:t])]
                for n in (1, 2, 3):
                    if n >= len(words):
                        break
                    for i in range(len(words) - n + 1):
                        add("run", s + words[i][0], s + words[i + n - 1][1])
    return out


def _density(text: str, s: int, t: int, stems: set[str], width: int) -> float:
    """Share of `stems` found within `width` characters around text[s:t]."""
    if not stems:
        return 0.0
    window = set(tu.content_words(text[max(0, s - width):s] + " " + text[t:t + width]))
    return len(stems & window) / len(stems)


def _trim(text: str, s: int, t: int) -> tuple[int, int]:
    """Drop leading stop words ("The FDA" -> "FDA") and trailing punctuation/possessives."""
    while s < t:
        m = re.match(r"([A-Za-z’']+)\s+", text[s:t])
        if m and m.group(1).lower() in tu.STOP:
            s += m.end()
            continue
        break
    while t > s and text[t - 1] in ".,;:’'\"”)":
        t -= 1
    if text[s:t].endswith(("’s", "'s")):
        t -= 2
    return s, t


_NEXT_WORD = re.compile(r"[\s\-]+([A-Za-z][\w’'\-]*)")


def _names_head(text: str, s: int, t: int, head_stem: str) -> bool:
    """Does text[s:t] name a thing of the asked head noun's kind: the head ends the phrase ("270 targets",
    "the Park Fire") or comes right after it ("270" in "270 targets")? `head_near` only says the head is
    within 25 characters, which "two" in "270 targets, including two cruise missiles" also is."""
    words = tu.WORD.findall(text[s:t])
    if words and tu.stem(words[-1]) == head_stem:
        return True
    m = _NEXT_WORD.match(text, t)
    return m is not None and tu.stem(m.group(1)) == head_stem


def _near(text: str, s: int, t: int, stems: set[str], width: int) -> bool:
    """Is a word with one of `stems` within `width` characters of text[s:t] (outside it)?"""
    window = text[max(0, s - width):s] + " " + text[t:t + width]
    return any(w in stems for w in tu.content_words(window))
