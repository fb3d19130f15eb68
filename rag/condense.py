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
from datetime import date, timedelta
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


_REL = [
    (re.compile(r"\btoday\b", re.I), 0, 0),
    (re.compile(r"\byesterday\b", re.I), 1, 1),
    (re.compile(r"\b(last|past) week\b", re.I), 7, 0),
    (re.compile(r"\bthis week\b", re.I), 6, 0),
    (re.compile(r"\b(last|past) month\b", re.I), 31, 0),
    (re.compile(r"\bthis month\b", re.I), 30, 0),
]
_DAYS_AGO = re.compile(r"\b(\d{1,2}) days ago\b", re.I)


def resolve_relative_dates(question: str, reference: date) -> tuple[date, date] | None:
    """(since, until) for 'yesterday', 'last week', 'N days ago' etc., counted back from `reference`."""
    m = _DAYS_AGO.search(question)
    if m:
        d = reference - timedelta(days=int(m.group(1)))
        return d, d
    for rx, back, back_end in _REL:
        if rx.search(question):
            return reference - timedelta(days=back), reference - timedelta(days=back_end)
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
