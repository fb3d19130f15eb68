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
    return Citation(n=n, article_id=article_id, title="Kyiv <b>attack</b>", source="Associated Press",
                    url="https://apnews.com/x", published="2025-07-04", start=start, end=start + len(needle),
                    quote=needle)


class TextCollector(HTMLParser):
    """Collects what a browser would show: text per tag, and each link with its text."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.mark_text = ""
        self.all_text = ""
        self.tags: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.stack.append(tag)
        self.tags.append(tag)
        if tag == "a":
            self.links.append((dict(attrs).get("href") or "", ""))

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.all_text += data
        if "mark" in self.stack:
            self.mark_text += data
        if "a" in self.stack and self.links:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)


def parse(html_text: str) -> TextCollector:
    p = TextCollector()
    p.feed(html_text)
    p.close()
    return p


def cite_links(html_text: str) -> list[str]:
    """The texts of the citation links, in order."""
    return [text for href, text in parse(html_text).links if href.startswith("#cw-cite/")]


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
    links = cite_links(out)
    assert links == ["[1]", "[2]", "[1]", "[2]"]  # inline, then the sources list
    assert "[7]" in parse(out).all_text  # a marker without a citation stays plain text
    m = re.search(r'<a class="cw-cite" href="([^"]*)"[^>]*title="([^"]*)">&#91;1&#93;</a>', out)
    assert m is not None
    ref = render.html.unescape(m.group(1))
    assert render.parse_cite_ref(ref) == {"n": 1, "article_id": "art1", "start": c1.start, "end": c1.end}
    assert render.html.unescape(m.group(2)) == c1.quote
    assert "\n" not in out  # one raw-HTML block for the chatbot's markdown renderer
    assert 'class="cw-sources"' in out and "Associated Press" in out


def test_abstention_is_distinct_and_lists_related_passages() -> None:
    rel = Passage(article_id="art1", title="Kyiv", source="AP", url="", published="2025-07-04", start=0, end=20,
                  quote=ARTICLE_TEXT[:20], score=0.3)
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
    odd = Citation(n=4, article_id="id/with spaces&<x>", title="t", source="s", url="", published="", start=10, end=42,
                   quote="q")
    ref = render.cite_ref(odd, 4)
    assert ref == "#cw-cite/4/id%2Fwith%20spaces%26%3Cx%3E/10/42"
    assert render.parse_cite_ref(ref + "|1712.5") == {"n": 4, "article_id": odd.article_id, "start": 10, "end": 42}
    for raw in ["", None, "nope", "#cw-cite/1/a/1", "#cw-cite/x/a/1/2", "#cw-cite/1/a/-1/2", "javascript:alert(1)"]:
        assert render.parse_cite_ref(raw) is None


FERRY = (
    "The Brightwater ferry made 14 crossings a day in May, the harbor report [2] said on Tuesday.\n"
    "The ferry made 14 crossings a day in June as well, according to “the harbor report [3].\n"
)


def test_literal_markers_inside_quoted_article_text_stay_plain() -> None:
    """The extractive answer quotes articles; a "[2]" in an article is not citation 2."""
    c1 = cite(1, FERRY, "The ferry made 14 crossings a day in June as well, according to “the harbor report [3].")
    c2 = cite(2, FERRY, "The Brightwater ferry made 14 crossings a day in May, the harbor report [2] said on Tuesday.")
    c3 = cite(3, FERRY, "Brightwater")
    text = f"14 crossings: “{c1.quote}” [1] “{c2.quote}” [2]"  # what rag/compose.py writes
    out = render.render_answer_text(text, [c1, c2, c3])
    assert cite_links(out) == ["[1]", "[2]"]
    hrefs = [href for href, _ in parse(out).links]
    assert [render.parse_cite_ref(h)["start"] for h in hrefs] == [c1.start, c2.start]  # type: ignore[index]
    assert parse(out).all_text == text  # the literal brackets are shown as they are
    assert "[" not in out and "]" not in out  # ...written as &#91; &#93;: no Markdown link can form


def test_markers_count_only_after_a_space_and_with_a_citation() -> None:
    c1 = cite(1, ARTICLE_TEXT, "Russia launched 550 drones and missiles")
    c2 = cite(2, ARTICLE_TEXT, "nationwide")
    text = "550[2] drones, see “[2]” and [9] [1][2]. Ends [2]"
    spans = [m.span() for m in render.engine_markers(text, [c1, c2])]
    assert [text[s:e] for s, e in spans] == ["[1]", "[2]", "[2]"]
    assert spans[0][0] == text.index("[1][2]") and spans[2][0] == len(text) - 3
    assert render.engine_markers("no markers", [c1]) == []


def commonmark(html_text: str) -> str:
    """Render like the chatbot does: Markdown with raw HTML allowed (CommonMark, markdown-it)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).render(html_text)


HOSTILE_TITLE = "Tidal report\n\n![x](http://203.0.113.9/title.png)\n\n<img src=http://203.0.113.9/tag.png>\r\n\r\n[y]: http://203.0.113.9/ref"
HOSTILE_SOURCE = "Wire\u2028\u2028![s](http://203.0.113.9/source.png)\n\n*bold*"


def test_metadata_with_blank_lines_cannot_end_the_html_block() -> None:
    needle = "Russia launched 550 drones and missiles"
    start = ARTICLE_TEXT.index(needle)
    c = Citation(n=1, article_id="art1", title=HOSTILE_TITLE, source=HOSTILE_SOURCE, url="http://203.0.113.9/u",
                 published="2025-07-04\n\n![p](http://203.0.113.9/published.png)", start=start,
                 end=start + len(needle), quote=needle + "\n\n![q](http://203.0.113.9/quote.png)")
    rel = Passage(article_id="art1", title=HOSTILE_TITLE, source=HOSTILE_SOURCE, url="", published="", start=0,
                  end=5, quote="Hello\n\n![r](http://203.0.113.9/related.png)", score=0.5)
    naive = f'<div class="cw-answer"><span class="cw-title">{render.html.escape(HOSTILE_TITLE)}</span></div>'
    assert "<img" in commonmark(naive)  # the attack works against escaping alone
    messages = [
        render.render_answer(Answer("q", "550 drones [1].", False, citations=[c], note="LLM down\n\n![n](http://x/n)")),
        render.render_answer(Answer("q", "The articles don't say.\n\n![a](http://203.0.113.9/a.png)", True,
                                    related=[rel])),
        render.render_user("hi\n\n![u](http://203.0.113.9/u.png)"),
        render.render_error("boom\n\n![e](http://203.0.113.9/e.png)"),
        render.render_pending("generating", "draft\n\n![d](http://203.0.113.9/d.png)"),
    ]
    for msg in messages:
        for terminator in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029":
            assert terminator not in msg
        md = commonmark(msg)
        assert "<img" not in md and "<em>" not in md and "<p>" not in md, md
        assert "203.0.113.9" not in "".join(href for href, _ in parse(md).links)
    title = parse(messages[0])
    assert "Tidal report ![x](http://203.0.113.9/title.png) <img src=http://203.0.113.9/tag.png>" in title.all_text
    panel = render.render_article(FakeArticle(title=HOSTILE_TITLE, source=HOSTILE_SOURCE), 0, 5)
    assert "<img" not in panel and "Tidal report ![x]" in parse(panel).all_text


def test_esc_writes_line_breaks_and_brackets_as_references() -> None:
    assert render.esc("a\nb\r\u2028[1]") == "a&#10;b&#13;&#8232;&#91;1&#93;"
    assert render.inline("  Kyiv\n\n attack \t") == "Kyiv attack"
    assert parse(render.render_article(FakeArticle(text="one\ntwo [2]"))).all_text.endswith("one\ntwo [2]")


def test_answer_footer_shows_mode_and_note_muted_and_escaped() -> None:
    c1 = cite(1, ARTICLE_TEXT, "Russia launched 550 drones and missiles")
    out = render.render_answer(Answer("q", "550 [1].", False, citations=[c1], mode="extractive",
                                      note="LLM unavailable (<timeout>); extractive answer"))
    foot = parse(out[out.index('<div class="cw-foot">'):])
    assert "Quoted from the articles" in foot.all_text
    assert "LLM unavailable (<timeout>); extractive answer" in foot.all_text and "<timeout>" not in out
    assert "cw-mode-extractive" in out
    plain = render.render_answer(Answer("q", "550 [1].", False, citations=[c1], mode="generated"))
    assert "cw-note" not in plain and "checked against its cited source" in plain
    abstained = render.render_answer(Answer("q", "The articles don't say.", True, mode="abstained"))
    assert "cw-foot" not in abstained
