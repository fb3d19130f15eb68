"""The chat handlers on a real engine (generation off): as-of dates, bounded inputs, notes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from ui.chat import ALL_SOURCES, ChatController, Conversation

pytestmark = pytest.mark.slow


class RecordingEngine:
    """The real engine, recording the keyword arguments of each `stream` call."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.calls: list[dict[str, Any]] = []

    def stream(self, question: str, **kwargs: Any) -> Iterator[Any]:
        self.calls.append(kwargs)
        return self.engine.stream(question, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def final_message(ctl: ChatController, question: str, as_of: str = "", top_k: Any = 8, risk: str = "") -> str:
    out = list(ctl.respond(question, Conversation(), ALL_SOURCES, "", "", top_k, as_of, risk))
    messages, _conv, box = out[-1]
    assert box == ""
    return messages[-1]["content"]


def cited_ids(html: str) -> set[str]:
    from ui.render import parse_cite_ref

    refs = (parse_cite_ref(h) for h in re.findall(r'href="(#cw-cite/[^"]*)"', html))
    return {r["article_id"] for r in refs if r}


def test_yesterday_resolves_against_the_as_of_date(safety_app: Any) -> None:
    """Two articles differ only in date and count: the as-of date decides which one answers."""
    rec = RecordingEngine(safety_app.engine)
    ctl = ChatController(rec, safety_app.settings)
    may = final_message(ctl, safety_app.YESTERDAY_QUESTION, as_of="2025-05-07")
    june = final_message(ctl, safety_app.YESTERDAY_QUESTION, as_of="2025-06-04")
    assert cited_ids(may) == {safety_app.may_id} and "9,000" in may, may
    assert cited_ids(june) == {safety_app.june_id} and "12,000" in june, june
    final_message(ctl, safety_app.YESTERDAY_QUESTION)  # no date given: today
    assert [c["as_of"] for c in rec.calls] == [date(2025, 5, 7), date(2025, 6, 4), date.today()]
    assert [c["top_k"] for c in rec.calls] == [8, 8, 8]
    assert [c["risk"] for c in rec.calls] == [None, None, None]  # empty: the configured level


def test_answer_readiness_reaches_the_engine(safety_app: Any) -> None:
    rec = RecordingEngine(safety_app.engine)
    ctl = ChatController(rec, safety_app.settings)
    final_message(ctl, safety_app.YESTERDAY_QUESTION, as_of="2025-05-07", risk="eager")
    final_message(ctl, safety_app.YESTERDAY_QUESTION, as_of="2025-05-07", risk="Cautious")
    assert [c["risk"] for c in rec.calls] == ["eager", "cautious"]


@pytest.mark.parametrize(("as_of", "top_k", "risk"),
                         [("04/06/2025", 8, ""), ("", 500, ""), ("", "many", ""), ("", 8, "reckless")])
def test_bad_inputs_never_reach_the_engine(safety_app: Any, as_of: str, top_k: Any, risk: str) -> None:
    rec = RecordingEngine(safety_app.engine)
    ctl = ChatController(rec, safety_app.settings)
    conv = Conversation()
    out = list(ctl.respond(safety_app.YESTERDAY_QUESTION, conv, ALL_SOURCES, "", "", top_k, as_of, risk))
    assert len(out) == 1
    messages, _, box = out[0]
    assert messages == [] and box == safety_app.YESTERDAY_QUESTION  # the question stays in the box
    assert rec.calls == []


def test_quoted_brackets_from_an_article_stay_plain_text(safety_app: Any) -> None:
    """The cited sentence contains a literal "[2]": wherever the answer or its sources list
    shows it, it is plain text, and each link points at the citation the engine gave it."""
    from ui.render import engine_markers, parse_cite_ref

    ans = safety_app.engine.ask(safety_app.BRACKET_QUESTION)
    literal = [m.group() for c in ans.citations for m in re.finditer(r"report \[\d\]", c.quote)]
    assert literal, ans  # both sentences of the article carry one: "report [2] said", "report [3]."
    html = final_message(ChatController(safety_app.engine, safety_app.settings), safety_app.BRACKET_QUESTION)
    text_part = html[: html.index('<div class="cw-sources">')]
    refs = [parse_cite_ref(h) for h in re.findall(r'href="(#cw-cite/[^"]*)"', text_part)]
    by_n = {c.n: c for c in ans.citations}
    assert len(refs) == len(engine_markers(ans.text, ans.citations)) >= 1
    for r in refs:
        assert r is not None and (r["article_id"], r["start"], r["end"]) == (
            by_n[r["n"]].article_id, by_n[r["n"]].start, by_n[r["n"]].end)
    for text in literal:  # the sources list quotes it as text
        assert text.replace("[", "&#91;").replace("]", "&#93;") in html
    assert html.count('class="cw-cite"') == 2 * len(refs) == 2 * len(ans.citations)
