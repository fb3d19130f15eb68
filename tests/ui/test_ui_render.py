"""Unit tests of the UI's HTML rendering: escaping, highlighted spans, citation markers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from rag.types import Answer, Citation, Passage
from ui import render

ARTICLE_TEXT = (
    "Ukraine’s air force said Russia launched 550 drones and missiles nationwide.\n"
    "A second line with <script>window.__pwned=1</script> & an <img src=x onerror=alert(1)> tag."
)


@dataclass
class FakeArticle:
    """A stand-in with the attributes of `engine.article()` (plain data, no engine behaviour)."""

    id: str = "art1"
    title: str = "Kyiv <b>attack</b>"
    source: str = "Associated Press"
    url: str = "https://apnews.com/article/kyiv?a=1&b=2"
    published: str = "2025-07-04"
    text: str = ARTICLE_TEXT


def cite(n: int, text: str, needle: str, article_id: str = "art1") -> Citation:
    start = text.index(needle)
    return Citation(n, article_id, "Kyiv <b>attack</b>", "Associated Press", "https://apnews.com/x",
                    "2025-07-04", start, start + len(needle), needle)


class TextCollector(HTMLParser):
    """Collects text per tag so tests can read what a browser would show."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.mark_text = ""
        self.all_text = ""
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.stack.append(tag)
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.all_text += data
        if "mark" in self.stack:
            self.mark_text += data


def parse(html_text: str) -> TextCollector:
    p = TextCollector()
    p.feed(html_text)
    p.close()
    return p


def test_article_panel_escapes_script_and_marks_exact_span() -> None:
    art = FakeArticle()
    needle = "<script>window.__pwned=1</script> & an"
    c = cite(3, art.text, needle)
    panel = render.render_article(art, c.start, c.end, n=c.n)
    assert "<script" not in panel and "<img" not in panel and "<b>" not in panel
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in panel
    parsed = parse(panel)
    assert parsed.mark_text == c.quote == art.text[c.start : c.end]
    assert set(parsed.tags) <= {"div", "span", "a", "br", "mark"}
    # the whole article text survives, unchanged, as the panel's body text
    assert art.text in parsed.all_text
    assert 'id="cw-mark"' in panel and f'data-span="{c.start}:{c.end}"' in panel
    assert 'href="https://apnews.com/article/kyiv?a=1&amp;b=2"' in panel


def test_article_panel_span_is_clamped_and_unsafe_urls_are_not_links() -> None:
    art = FakeArticle(url="javascript:alert(1)")
    panel = render.render_article(art, -5, 10_000)
    assert parse(panel).mark_text == art.text
    assert "href=" not in panel  # javascript: never becomes a link
    assert render.clamp_span("abc", 2, 1) == (2, 2)


def test_answer_markers_become_links_with_quote_tooltip_and_payload() -> None:
    text = ARTICLE_TEXT
    c1 = cite(1, text, "Russia launched 550 drones and missiles")
    c2 = cite(2, text, "<script>window.__pwned=1</script>")
    ans = Answer("q", "Russia launched 550 drones [1]. Odd <i>markup</i> [2] and [7].", False, citations=[c1, c2])
    out = render.render_answer(ans)
    assert "<i>" not in out and "<script" not in out and "&lt;i&gt;markup&lt;/i&gt;" in out
    links = re.findall(r'<a class="cw-cite"[^>]*>\[(\d+)\]</a>', out)
    assert links.count("1") == 2 and links.count("2") == 2  # once inline, once in the sources list
    assert "7" not in links and "[7]" in out  # a marker without a citation stays plain text
    m = re.search(r'<a class="cw-cite" href="([^"]*)"[^>]*title="([^"]*)">\[1\]</a>', out)
    assert m is not None
    ref = render.html.unescape(m.group(1))
    assert render.parse_cite_ref(ref) == {"n": 1, "article_id": "art1", "start": c1.start, "end": c1.end}
    assert render.html.unescape(m.group(2)) == c1.quote
    assert "\n" not in out  # one raw-HTML block for the chatbot's markdown renderer
    assert 'class="cw-sources"' in out and "Associated Press" in out


def test_abstention_is_distinct_and_lists_related_passages() -> None:
    rel = Passage("art1", "Kyiv", "AP", "", "2025-07-04", 0, 20, ARTICLE_TEXT[:20], 0.3)
    ans = Answer("q", "The articles don't say who won the match.", True, related=[rel])
    out = render.render_answer(ans)
    assert "cw-abstained" in out and "Not in the articles" in out
    assert "The articles don&#x27;t say who won the match." in out
    assert "Closest related passages" in out and 'href="#cw-cite/0/art1/0/20"' in out
    assert "cw-sources" not in out
    empty = render.render_answer(Answer("q", "The articles don't say.", True))
    assert "No related passages found." in empty


def test_pending_error_and_user_messages_are_escaped() -> None:
    assert "&lt;b&gt;" in render.render_pending("generating", "<b>partial")
    assert render.render_error("boom <x>") == '<div class="cw-answer cw-error">⚠ boom &lt;x&gt;</div>'
    assert render.render_user("a <b>\nb") == '<div class="cw-user">a &lt;b&gt;<br>b</div>'


def test_cite_refs_round_trip_and_reject_garbage() -> None:
    odd = Citation(4, "id/with spaces&<x>", "t", "s", "", "", 10, 42, "q")
    ref = render.cite_ref(odd, 4)
    assert ref == "#cw-cite/4/id%2Fwith%20spaces%26%3Cx%3E/10/42"
    assert render.parse_cite_ref(ref + "|1712.5") == {"n": 4, "article_id": odd.article_id, "start": 10, "end": 42}
    for raw in ["", None, "nope", "#cw-cite/1/a/1", "#cw-cite/x/a/1/2", "#cw-cite/1/a/-1/2", "javascript:alert(1)"]:
        assert render.parse_cite_ref(raw) is None
