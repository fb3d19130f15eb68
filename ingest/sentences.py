"""Sentence splitting with character offsets, tuned for news text.

Sentences are the unit of citation, so every span returned satisfies
``text[span.start:span.end] == sentence`` with surrounding whitespace excluded.

Paragraphs (lines) are split first, so a headline or a dateline without a full stop stays its own
sentence; inside a paragraph NLTK's Punkt model (shipped inside llama-index-core, no download)
finds the boundaries, with extra news abbreviations (U.S., Gov., Sen., Lt. Col., ...).

Example:
    >>> split_sentences("Gov. Smith spoke. The U.S. sent 1,000 troops.")
    [Span(start=0, end=17), Span(start=18, end=45)]
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from .types import Span

_EXTRA_ABBREV = {
    "u.s", "u.k", "u.n", "e.u", "d.c", "gov", "sen", "rep", "reps", "gen", "lt", "col", "maj", "capt",
    "sgt", "cmdr", "adm", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "corp", "co",
    "ltd", "no", "nos", "vs", "v", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "a.m", "p.m", "e.g", "i.e", "etc", "approx", "dept", "est", "fig", "ft",
    "mt", "ave", "blvd", "rev", "hon", "pres", "supt", "atty", "calif", "fla", "mass", "wash",
}
_PARA = re.compile(r"[^\n]+")


@functools.lru_cache(maxsize=1)
def _punkt():
    import llama_index.core as lic
    import nltk
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    cache = Path(lic.__file__).parent / "_static" / "nltk_cache"
    if str(cache) not in nltk.data.path:
        nltk.data.path.append(str(cache))
    try:
        from nltk.tokenize import PunktTokenizer

        tok: PunktSentenceTokenizer = PunktTokenizer("english")
    except LookupError as e:  # pragma: no cover - only when llama-index-core's data is missing
        raise RuntimeError("NLTK Punkt data not found (expected inside llama-index-core)") from e
    tok._params.abbrev_types.update(_EXTRA_ABBREV)
    return tok


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text`, in order, non-overlapping, whitespace-trimmed."""
    tok = _punkt()
    spans: list[Span] = []
    for para in _PARA.finditer(text):
        base = para.start()
        for s, e in tok.span_tokenize(para.group()):
            chunk = para.group()[s:e]
            lead = len(chunk) - len(chunk.lstrip())
            trail = len(chunk) - len(chunk.rstrip())
            if e - trail > s + lead:
                spans.append(Span(base + s + lead, base + e - trail))
    return _merge_fragments(text, spans)


def _merge_fragments(text: str, spans: list[Span]) -> list[Span]:
    """Join pieces Punkt splits wrongly: a closing quote/attribution starting lowercase
    (“We will win,” he said.) and very short fragments inside a paragraph."""
    out: list[Span] = []
    for sp in spans:
        if out:
            prev = out[-1]
            same_para = "\n" not in text[prev.end:sp.start]
            frag = text[sp.start:sp.end]
            if same_para and (frag[:1].islower() or len(frag) < 4):
                out[-1] = Span(prev.start, sp.end)
                continue
        out.append(sp)
    return out
