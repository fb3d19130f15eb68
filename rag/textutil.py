"""Small text helpers shared by evidence scoring and verification (words, numbers, names).

Example:
    >>> numbers("At least 1,000 people and 3.8 percent")
    {'1000', '3.8'}
"""

from __future__ import annotations

import functools
import re
from typing import Literal

QType = Literal["number", "person", "date", "place", "other"]

STOP = frozenset("""a an the and or but if of to in on at by for with from as is are was were be been being it its
this that these those there their they them he she his her him we us our you your i me my do does did done have has had
what which who whom whose when where why how than then so such not no nor can could would should will shall may might
must about into over under after before during up down out off again further once all any both each few more most other
some own same too very s t just don now also said says say according tell told did many much whats who's""".split())

WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d[\d,\.]*")
_WORD = WORD
# Words that frame a question rather than name what it is about ("how long", "what kind of").
FRAMING = frozenset("""long many much kind type sort day time whether besides among across made make take place happen
happened also according said say says tell called get go new part way number amount""".split())
_NUM = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\w)|(?<![\w.])\d+(?:\.\d+)?(?!\w)")
_NAME = re.compile(r"\b([A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+)*)")
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12",
                "hundred": "100", "thousand": "1000", "million": "1000000"}
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATE = re.compile(rf"\b(?:{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|"
                   rf"overnight|night|morning|evening|week|weekend|year|month|(?:19|20)\d\d)\b", re.I)


@functools.lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    return _stemmer().stemWord(word.lower().replace("’", "'").split("'")[0])


def content_words(text: str) -> list[str]:
    """Lower-cased stems of the non-stopword words and numbers of `text`."""
    out = []
    for w in _WORD.findall(text):
        lw = w.lower().rstrip(".,")
        if not lw or lw in STOP:
            continue
        out.append(norm_number(lw) if lw[0].isdigit() else stem(lw))
    return out


def norm_number(s: str) -> str:
    s = s.replace(",", "").rstrip(".")
    if "." in s:
        s = s.rstrip("0").rstrip(".") or "0"
    return s


def numbers(text: str) -> set[str]:
    """Numbers in `text`, normalised (1,000 -> 1000), plus spelled-out small numbers."""
    found = {norm_number(m) for m in _NUM.findall(text)}
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in NUMBER_WORDS:
            found.add(NUMBER_WORDS[w])
    return found


def names(text: str) -> set[str]:
    """Capitalised words that are not sentence-initial stopwords (people, places, organisations)."""
    out = set()
    for m in _NAME.finditer(text):
        for w in m.group(1).split():
            w = re.sub(r"[’']s$", "", w).strip("’'-")
            if w and w.lower() not in STOP and len(w) > 1:
                out.add(w.lower())
    return out


def question_type(question: str) -> QType:
    q = question.lower()
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|percent|share|amount)\b|\bhow (long|far|old|big)\b", q):
        return "number"
    if re.search(r"\bwho(m|se)?\b|\bwhich (person|official|leader|president|minister|mayor)\b", q):
        return "person"
    if re.search(r"\bwhen\b|\bwhat (year|day|date|month|time)\b|\bwhich (year|day|month)\b", q):
        return "date"
    if re.search(r"\bwhere\b|\bwhich (city|country|district|region|place|state)\b|\bin what (city|country)\b", q):
        return "place"
    return "other"


def has_date(text: str) -> bool:
    return bool(_DATE.search(text))
