"""HTML rendering of answers, citations and the article side panel.

Rules that keep article content inert (each has a unit test and a browser test):

- Every piece of text from an article, its metadata, a question or the LLM goes through `esc`,
  so an article containing ``<script>`` is shown as text and never runs.
- No rendered chat message contains a line break: `esc` writes line terminators as character
  references and multi-line text becomes ``<br>``. The chatbot renders Markdown, and a blank line
  inside a title would end the message's raw-HTML block and let Markdown after it render (e.g. a
  remote image ``![x](http://...)``). `esc` also writes ``[`` and ``]`` as references, so no
  Markdown link or image can form from article text even outside an HTML block.
- Only markers the engine produced become clickable (`engine_markers`): a ``[n]`` inside a quote
  of an article, glued to a word, or without a citation ``n`` stays plain text.

Example:
    >>> from rag.types import Answer, Citation
    >>> c = Citation(n=1, article_id="a1", title="Title", source="AP", url="https://x", published="2025-07-04",
    ...              start=0, end=5, quote="Hello")
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


# Line terminators (str.splitlines' set) and Markdown's link brackets, as character references.
_ENTITIES = str.maketrans({ch: f"&#{ord(ch)};" for ch in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029[]"})


def esc(value: Any) -> str:
    """Escape any value for use in HTML text or a double-quoted attribute. Line terminators and
    square brackets become character references: the browser shows the same text, but the
    markup has no line break (that could end a Markdown HTML block) and no ``[`` (a Markdown link).

    Example:
        >>> esc('<b a="1">[2]\n')
        '&lt;b a=&quot;1&quot;&gt;&#91;2&#93;&#10;'
    """
    return html.escape("" if value is None else str(value), quote=True).translate(_ENTITIES)


def inline(value: Any) -> str:
    """Escape one-line metadata (title, source, date) with all whitespace collapsed.

    Example:
        >>> inline("Kyiv\n\n![x](http://example.org/x.png)")
        'Kyiv !&#91;x&#93;(http://example.org/x.png)'
    """
    return esc(" ".join(("" if value is None else str(value)).split()))


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


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _quoted_ranges(text: str, citations: Sequence[Citation]) -> list[tuple[int, int]]:
    """Spans of `text` that quote an article: every occurrence of a citation's quote (as the
    engine writes it, whitespace collapsed) and every balanced “…” pair."""
    ranges: list[tuple[int, int]] = []
    for c in citations:
        q = _collapse(c.quote or "")
        if len(q) < 3:
            continue
        i = text.find(q)
        while i >= 0:
            ranges.append((i, i + len(q)))
            i = text.find(q, i + 1)
    depth, opened = 0, 0
    for i, ch in enumerate(text):
        if ch == "“":
            if depth == 0:
                opened = i
            depth += 1
        elif ch == "”" and depth:
            depth -= 1
            if depth == 0:
                ranges.append((opened, i + 1))
    return ranges


def engine_markers(text: str, citations: Sequence[Citation]) -> list[re.Match[str]]:
    """The ``[n]`` markers of an answer that the engine put there, in order.

    The engine writes a marker after a space (or right after another marker), outside any quoted
    article text, and only for a citation it returns. A ``[2]`` that is part of an article's
    text (inside a quote, or glued to a word like ``550[2]``) or that has no citation 2 is not
    one, so it is rendered as plain text and never opens a source.

    Example:
        >>> [m.group() for m in engine_markers("“Ferries [2] run” [1].", [c1, c2])]
        ['[1]']
    """
    numbers = {c.n for c in citations}
    quoted = _quoted_ranges(text, citations)
    out: list[re.Match[str]] = []
    prev_end = -1
    for m in MARKER_RE.finditer(text):
        s, e = m.span()
        after_space = s == 0 or text[s - 1].isspace() or s == prev_end
        inside_quote = any(qs <= s and e <= qe for qs, qe in quoted)
        if after_space and not inside_quote and int(m.group(1)) in numbers:
            out.append(m)
            prev_end = e
    return out


def render_answer_text(text: str, citations: Sequence[Citation]) -> str:
    """Escape the answer and turn each engine-produced ``[n]`` into a clickable marker
    (see `engine_markers`); every other bracket stays plain text.

    Example:
        >>> render_answer_text("550 drones [1].", [c])
        '550 drones <a class="cw-cite" ...>&#91;1&#93;</a>.'
    """
    by_n = {c.n: c for c in citations}
    out: list[str] = []
    pos = 0
    for m in engine_markers(text, citations):
        out.append(_text_block(text[pos : m.start()]))
        n = int(m.group(1))
        out.append(_cite_link(by_n[n], n, f"[{n}]"))
        pos = m.end()
    out.append(_text_block(text[pos:]))
    return "".join(out)


def _meta(source: str, published: str) -> str:
    bits = [inline(b) for b in (source, published) if b and str(b).strip()]
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
            f'<span class="cw-title">{inline(c.title or c.article_id)}</span> {_meta(c.source, c.published)}'
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
            f'<span class="cw-title">{inline(p.title or p.article_id)}</span> {_meta(p.source, p.published)}'
            f'<blockquote class="cw-quote">{esc(_preview(p.quote))}</blockquote></li>'
        )
    return (
        '<div class="cw-related"><div class="cw-h">Closest related passages</div>'
        f'<ol>{"".join(items)}</ol></div>'
    )


MODE_LABELS = {
    "generated": "Written by the language model; each sentence checked against its cited source.",
    "extractive": "Quoted from the articles (extractive answer).",
}


def render_footer(answer: Answer) -> str:
    """The small, muted line under an answer: how it was made (`Answer.mode`) and why it is
    degraded when it is (`Answer.note`, e.g. "LLM unavailable (...); extractive answer").

    Example:
        >>> render_footer(Answer("q", "x [1].", False, mode="extractive", note="LLM unavailable"))
        '<div class="cw-foot"><span class="cw-mode">Quoted from ...</span> <span class="cw-note">LLM ...</span></div>'
    """
    bits = []
    label = "" if answer.abstained else MODE_LABELS.get(str(answer.mode), "")
    if label:
        bits.append(f'<span class="cw-mode">{esc(label)}</span>')
    note = str(getattr(answer, "note", "") or "").strip()
    if note:
        bits.append(f'<span class="cw-note">{inline(note)}</span>')
    return f'<div class="cw-foot">{" ".join(bits)}</div>' if bits else ""


def render_answer(answer: Answer) -> str:
    """A final answer as chat-message HTML: text with markers, then sources (or, when the
    engine abstained, a distinct notice with the closest related passages), then the footer.

    Example:
        >>> render_answer(engine.ask("How many drones did Russia launch?"))
        '<div class="cw-answer cw-mode-generated">Russia launched 550 ... <a class="cw-cite" ...'
    """
    if answer.abstained:
        text = answer.text or "The articles don't say."
        return (
            '<div class="cw-answer cw-abstained"><div class="cw-abstain-note">'
            f'<span class="cw-badge">Not in the articles</span> {_text_block(text)}</div>'
            f"{render_related(answer.related)}{render_footer(answer)}</div>"
        )
    mode = re.sub(r"[^a-z]", "", str(answer.mode).lower())
    return (
        f'<div class="cw-answer cw-mode-{mode}"><div class="cw-text">'
        f"{render_answer_text(answer.text, answer.citations)}</div>"
        f"{render_sources(answer.citations)}{render_footer(answer)}</div>"
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
        f'<div class="cw-article-title">{esc(label)}{inline(article.title or article.id)}</div>'
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
