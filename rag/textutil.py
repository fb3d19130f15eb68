"""Small text helpers shared by question analysis, evidence scoring and verification.

Stop words are NLTK's English list (shipped inside llama-index-core, so nothing downloads): a
standard list, never words picked from evaluation questions. Stems come from PyStemmer (Snowball).

Example:
    >>> numbers("At least 1,000 people and 3.8 percent")
    {'1000', '3.8'}
    >>> content_words("The drones were launched overnight")
    ['drone', 'launch', 'overnight']
"""

from __future__ import annotations

import functools
import re
from pathlib import Path


@functools.lru_cache(maxsize=1)
def _nltk_stopwords() -> frozenset[str]:
    import llama_index.core as lic
    import nltk
    from nltk.corpus import stopwords

    cache = Path(lic.__file__).parent / "_static" / "nltk_cache"
    if str(cache) not in nltk.data.path:
        nltk.data.path.append(str(cache))
    words = {w.lower() for w in stopwords.words("english")}
    # the list spells contractions with a straight apostrophe; news text often uses a curly one
    return frozenset(words | {w.replace("'", "’") for w in words})


STOP: frozenset[str] = _nltk_stopwords()

WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d[\d,\.]*")
_NUM = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\w)|(?<![\w.])\d+(?:\.\d+)?(?!\w)")
_NAME = re.compile(r"\b([A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+)*)")
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12",
                "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DATE = re.compile(rf"\b(?:{'|'.join(MONTHS)}|{'|'.join(WEEKDAYS)}|yesterday|today|tonight|overnight|"
                   rf"(?:19|20)\d\d)\b", re.I)


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem of one word, lower-cased, possessive dropped (``Russia’s`` -> ``russia``)."""
    return str(_stemmer().stemWord(word.lower().replace("’", "'").split("'")[0]))


def content_words(text: str) -> list[str]:
    """Lower-cased stems of the non-stopword words and the normalised numbers of `text`, in order."""
    out = []
    for w in WORD.findall(text):
        lw = w.lower().rstrip(".,")
        if not lw or lw in STOP or lw.replace("’", "'") in STOP:
            continue
        out.append(norm_number(lw) if lw[0].isdigit() else stem(lw))
    return out


def norm_number(s: str) -> str:
    s = s.replace(",", "").rstrip(".")
    if "." in s:
        s = s.rstrip("0").rstrip(".") or "0"
    return s


def numbers(text: str) -> set[str]:
    """Numbers in `text`, normalised (1,000 -> 1000), plus spelled-out ones (seven -> 7)."""
    found = {norm_number(m) for m in _NUM.findall(text)}
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in NUMBER_WORDS:
            found.add(NUMBER_WORDS[w])
    return found


def names(text: str) -> set[str]:
    """Capitalised words that are not stop words (people, places, organisations), lower-cased.

    Pass ``text[1:]`` to ignore a sentence-initial capital."""
    out = set()
    for m in _NAME.finditer(text):
        for w in m.group(1).split():
            w = re.sub(r"[’']s$", "", w).strip("’'-")
            if w and w.lower() not in STOP and len(w) > 1:
                out.add(w.lower())
    return out


def has_date(text: str) -> bool:
    """Does `text` name a day, month, weekday or year?"""
    return bool(_DATE.search(text))


def normalize(text: str) -> str:
    """Lower-case, curly quotes straightened, punctuation to spaces, whitespace collapsed: for
    matching a phrase against evidence text."""
    t = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').lower()
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    return " ".join(re.sub(r"[^\w'%$.]+|(?<!\d)\.|\.(?!\d)", " ", t).split())
