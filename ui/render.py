"""HTML rendering of answers, citations and the article side panel.

Every piece of text that comes from an article, a question or the LLM goes through `html.escape`
before it is placed in markup, so an article containing ``<script>`` is shown as text and never
runs. The output is one line of HTML (newlines become ``<br>``) so that the chatbot's markdown
renderer keeps it as a single raw-HTML block.

Example:
    >>> from rag.types import Answer, Citation
    >>> c = Citation(1, "a1", "Title", "AP", "https://x", "2025-07-04", 0, 5, "Hello")
    >>> html_out = render_answer(Answer("q", "Hi [1].", False, citations=[c]))
    >>> 'class="cw-cite"' in html_out
    True
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import quote, unquote

from rag.types import Answer, Citation, Passage

log = logging.getLogger(__name__)

MARKER_RE = re.compile(r"\[(\d{1,3})\]")
QUOTE_PREVIEW_CHARS = 300


class ArticleLike(Protocol):
    """What the side panel needs from `engine.article(id)`."""

    id: str
    title: str
    source: str
    url: str
    published: str
    text: str


def esc(value: Any) -> str:
    """Escape any value for use in HTML text or a double-quoted attribute.

    Example:
        >>> esc('<b a="1">')
        '&lt;b a=&quot;1&quot;&gt;'
    """
    return html.escape("" if value is None else str(value), quote=True)


def _text_block(text: str) -> str:
    """Escape free text and keep its line breaks without emitting newlines."""
    return "<br>".join(esc(line) for line in text.splitlines()) if text else ""


def _safe_url(url: str) -> str:
    """Only http(s) URLs become links; anything else (javascript:, data:) is shown as text."""
    return url if re.match(r"^https?://", url or "", re.IGNORECASE) else ""


def _preview(quote: str, limit: int = QUOTE_PREVIEW_CHARS) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= limit else quote[: limit - 1].rstrip() + "…"


def cite_ref(c: Citation | Passage, n: int = 0) -> str:
    """The ``href`` of a citation marker: ``#cw-cite/<n>/<article id>/<start>/<end>``.

    The chatbot's HTML sanitizer drops ``data-*`` attributes but keeps fragment links, so the
    span travels in the href; citations.js sends it back to the server when the marker is clicked.

    Example:
        >>> cite_ref(c, 1)
        '#cw-cite/1/a1/0/5'
    """
    return f"#cw-cite/{int(n)}/{quote(str(c.article_id), safe='')}/{int(c.start)}/{int(c.end)}"


_REF_RE = re.compile(r"#cw-cite/(\d{1,4})/([^/|]+)/(\d{1,9})/(\d{1,9})(?:\|.*)?")


def parse_cite_ref(raw: str | None) -> dict[str, Any] | None:
    """Parse what a marker click sends (its href, optionally ``|nonce``); None if malformed.

    Example:
        >>> parse_cite_ref("#cw-cite/1/a1/0/5|1712.3")
        {'n': 1, 'article_id': 'a1', 'start': 0, 'end': 5}
    """
    m = _REF_RE.fullmatch((raw or "").strip())
    if not m:
        if raw:
            log.warning("ignoring malformed citation reference: %.200r", raw)
        return None
    return {"n": int(m.group(1)), "article_id": unquote(m.group(2)), "start": int(m.group(3)),
            "end": int(m.group(4))}


def _cite_link(c: Citation | Passage, n: int, label: str) -> str:
    return (
        f'<a class="cw-cite" href="{esc(cite_ref(c, n))}" role="button" title="{esc(_preview(c.quote))}">'
        f"{esc(label)}</a>"
    )


def render_answer_text(text: str, citations: Sequence[Citation]) -> str:
    """Escape the answer and turn each ``[n]`` that has a citation into a clickable marker.

    Markers without a matching citation stay plain text.

    Example:
        >>> render_answer_text("550 drones [1].", [c])
        '550 drones <a class="cw-cite" ...>[1]</a>.'
    """
    by_n = {c.n: c for c in citations}
    out: list[str] = []
    pos = 0
    for m in MARKER_RE.finditer(text):
        out.append(_text_block(text[pos : m.start()]))
        n = int(m.group(1))
        cit = by_n.get(n)
        out.append(_cite_link(cit, n, f"[{n}]") if cit else esc(m.group(0)))
        pos = m.end()
    out.append(_text_block(text[pos:]))
    return "".join(out)


def _meta(source: str, published: str) -> str:
    bits = [esc(b) for b in (source, published) if b]
    return f'<span class="cw-meta">{" · ".join(bits)}</span>' if bits else ""


def render_sources(citations: Sequence[Citation]) -> str:
    """The 'Sources' list under an answer: marker, article title, source, date and quote.

    Example:
        >>> render_sources([c]).startswith('<div class="cw-sources">')
        True
    """
    if not citations:
        return ""
    items = []
    for c in sorted(citations, key=lambda c: c.n):
        items.append(
            f'<li class="cw-source">{_cite_link(c, c.n, f"[{c.n}]")} '
            f'<span class="cw-title">{esc(c.title or c.article_id)}</span> {_meta(c.source, c.published)}'
            f'<blockquote class="cw-quote">{esc(_preview(c.quote))}</blockquote></li>'
        )
    return f'<div class="cw-sources"><div class="cw-h">Sources</div><ol>{"".join(items)}</ol></div>'


def render_related(passages: Sequence[Passage]) -> str:
    """The closest passages shown when the engine abstains; each opens in the side panel.

    Example:
        >>> render_related(ans.related)
        '<div class="cw-related">...'
    """
    if not passages:
        return '<div class="cw-related"><div class="cw-h">No related passages found.</div></div>'
    items = []
    for p in passages:
        items.append(
            f'<li class="cw-source">{_cite_link(p, 0, "open")} '
            f'<span class="cw-title">{esc(p.title or p.article_id)}</span> {_meta(p.source, p.published)}'
            f'<blockquote class="cw-quote">{esc(_preview(p.quote))}</blockquote></li>'
        )
    return (
        '<div class="cw-related"><div class="cw-h">Closest related passages</div>'
        f'<ol>{"".join(items)}</ol></div>'
    )


def render_answer(answer: Answer) -> str:
    """A final answer as chat-message HTML: text with markers, then sources (or, when the
    engine abstained, a distinct notice with the closest related passages).

    Example:
        >>> render_answer(engine.ask("How many drones did Russia launch?"))
        '<div class="cw-answer">Russia launched 550 ... <a class="cw-cite" ...'
    """
    if answer.abstained:
        text = answer.text or "The articles don't say."
        return (
            '<div class="cw-answer cw-abstained"><div class="cw-abstain-note">'
            f'<span class="cw-badge">Not in the articles</span> {_text_block(text)}</div>'
            f"{render_related(answer.related)}</div>"
        )
    return (
        f'<div class="cw-answer"><div class="cw-text">{render_answer_text(answer.text, answer.citations)}</div>'
        f"{render_sources(answer.citations)}</div>"
    )


def render_pending(stage: str, partial: str = "") -> str:
    """The message shown while an answer streams: pipeline stage and tokens so far (escaped).

    Example:
        >>> render_pending("retrieving")
        '<div class="cw-answer cw-pending"><span class="cw-stage">retrieving…</span></div>'
    """
    body = f'<div class="cw-text">{_text_block(partial)}</div>' if partial else ""
    return f'<div class="cw-answer cw-pending"><span class="cw-stage">{esc(stage)}…</span>{body}</div>'


def render_error(message: str) -> str:
    """An error shown inside the chat, visibly different from an answer.

    Example:
        >>> render_error("The LLM backend is unreachable.")
        '<div class="cw-answer cw-error">⚠ The LLM backend is unreachable.</div>'
    """
    return f'<div class="cw-answer cw-error">⚠ {_text_block(message)}</div>'


def render_user(question: str) -> str:
    """The user's question as chat content, escaped.

    Example:
        >>> render_user("<b>hi</b>")
        '<div class="cw-user">&lt;b&gt;hi&lt;/b&gt;</div>'
    """
    return f'<div class="cw-user">{_text_block(question)}</div>'


def clamp_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Clip a (start, end) span to the text; an inverted span becomes empty.

    Example:
        >>> clamp_span("abc", -4, 99)
        (0, 3)
    """
    start = max(0, min(int(start), len(text)))
    end = max(start, min(int(end), len(text)))
    return start, end


def render_article(article: ArticleLike, start: int | None = None, end: int | None = None, n: int = 0) -> str:
    """The side panel: article header (title, source, date, url) and its full text with the
    cited span wrapped in ``<mark id="cw-mark">``. Each piece is escaped separately, so the
    marked text is exactly ``article.text[start:end]``.

    Example:
        >>> art = engine.article(c.article_id)
        >>> panel = render_article(art, c.start, c.end, n=c.n)
        >>> '<mark id="cw-mark"' in panel
        True
    """
    text = article.text or ""
    url = _safe_url(article.url)
    link = (
        f'<a class="cw-url" href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{esc(url)}</a>'
        if url
        else (f'<span class="cw-url">{esc(article.url)}</span>' if article.url else "")
    )
    label = f"[{n}] " if n else ""
    header = (
        '<div class="cw-article-head">'
        f'<div class="cw-article-title">{esc(label)}{esc(article.title or article.id)}</div>'
        f"{_meta(article.source, article.published)}{'<br>' if link else ''}{link}</div>"
    )
    span = ""
    if start is None or end is None:
        body = esc(text)
    else:
        s, e = clamp_span(text, start, end)
        span = f' data-span="{s}:{e}"'
        body = f'{esc(text[:s])}<mark id="cw-mark" class="cw-mark">{esc(text[s:e])}</mark>{esc(text[e:])}'
    return (f'<div class="cw-article" data-article="{esc(article.id)}"{span}>{header}'
            f'<div class="cw-article-text">{body}</div></div>')


def render_panel_placeholder(message: str = "Click a citation marker like [1] to see the source article here.") -> str:
    """The side panel before any citation was clicked (or after an error).

    Example:
        >>> render_panel_placeholder()
        '<div class="cw-article cw-empty">Click a citation ...</div>'
    """
    return f'<div class="cw-article cw-empty">{esc(message)}</div>'
