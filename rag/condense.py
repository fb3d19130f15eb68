"""Follow-ups: chat history -> a standalone question; relative dates -> a date filter.

With a capable LLM the question is condensed by llama-index's condense-question prompt. The
bundled 135M model is not capable, so the default for it is a deterministic rule: a follow-up that
refers back (pronouns, no subject of its own) gets the previous question's subject appended.

Example:
    >>> condense_rules([("How many drones did Russia launch?", "...")], "How many were shot down?")
    'How many were shot down? (drones Russia launch)'
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from typing import Any

from . import textutil as tu

log = logging.getLogger(__name__)

_REFERS = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|that|this|those|these|there|then|the same|"
                     r"what else|and|also|more)\b", re.I)
_WH = {"how", "many", "much", "what", "who", "whom", "whose", "when", "where", "which", "why", "did", "does", "do"}


def _subject(question: str) -> str:
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'’\-,.]*", question)
    keep = [w.strip(",.") for w in words if w.lower().strip(",.") not in tu.STOP and w.lower() not in _WH]
    return " ".join(keep)


def condense_rules(history: list[tuple[str, str]], question: str) -> str:
    """Carry the previous question's subject into a follow-up that lacks its own."""
    if not history:
        return question
    own_names = tu.names(question[1:])
    own_words = tu.content_words(question)
    refers = bool(_REFERS.search(question))
    if own_names and not refers and len(own_words) >= 2:
        return question
    if len(own_words) >= 5 and not refers:
        return question
    for prev_q, _ in reversed(history):
        subj = _subject(prev_q)
        if subj:
            return f"{question.rstrip()} ({subj})"
    return question


def condense_llm(llm: Any, history: list[tuple[str, str]], question: str) -> str:
    """llama-index's condense-question prompt, run by `llm`."""
    from llama_index.core.chat_engine.condense_question import DEFAULT_PROMPT

    chat = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-4:])
    out = llm.predict(DEFAULT_PROMPT, question=question, chat_history=chat).strip()
    return out.splitlines()[0].strip() if out else question


_RELATIVE = re.compile(rf"\b(?:today|tonight|yesterday|ago|last|this|past|previous|{'|'.join(tu.WEEKDAYS)})\b", re.I)


def resolve_relative_dates(question: str, reference: date) -> tuple[date, date] | None:
    """(since, until) for a relative date in `question` ("yesterday", "on Wednesday", "this week",
    "last month", "3 days ago"), resolved against `reference` (the question's as-of date) by
    `dateparser`; None when the question names no relative date.

    A day widens to that day and the next (news of an evening event is published the morning
    after); a week or a month covers that week or month up to `reference`.

    Example:
        >>> resolve_relative_dates("Who spoke on Wednesday?", date(2024, 1, 5))
        (datetime.date(2024, 1, 3), datetime.date(2024, 1, 4))
    """
    if not _RELATIVE.search(question):
        return None
    from dateparser.date import DateDataParser
    from dateparser.search import search_dates

    base = datetime(reference.year, reference.month, reference.day, 12)
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"}
    found = search_dates(question, languages=["en"], settings=settings) or []
    parser = DateDataParser(languages=["en"], settings={**settings, "RETURN_TIME_AS_PERIOD": True})
    for text, when in found:
        if not _RELATIVE.search(text):
            continue  # an absolute month or year ("in 2023", "May") is not relative to the as-of date
        period = parser.get_date_data(text).period or "day"
        d = min(when.date(), reference)
        if period == "week":
            return d - timedelta(days=6), min(d + timedelta(days=1), reference)
        if period == "month":
            first = d.replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            return first, min(nxt - timedelta(days=1), reference)
        if period == "year":
            return date(d.year, 1, 1), min(date(d.year, 12, 31), reference)
        return d, min(d + timedelta(days=1), reference)
    return None


def reference_date(latest_article: str, today: date | None = None) -> date:
    """Today, unless the newest article is older than a month (an archive): then its date."""
    today = today or date.today()
    if latest_article:
        try:
            latest = date.fromisoformat(latest_article[:10])
        except ValueError:
            return today
        if (today - latest).days > 31:
            return latest
    return today
